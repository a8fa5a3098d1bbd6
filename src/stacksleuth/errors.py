"""Errors each stage raises, and the exit codes the CLI turns them into."""

from enum import IntEnum


class ExitCode(IntEnum):
    """What a script can read from `stacksleuth`'s exit status."""

    OK = 0  # nothing wrong found
    PROBLEMS = 1  # findings of severity warning or worse
    USAGE = 2  # bad usage or unreadable input


class StacksleuthError(Exception):
    """Base for every error the CLI reports as one line, never a traceback."""


class SourceError(StacksleuthError):
    """An input path cannot be read (missing, empty, truncated archive...)."""


class KnowledgeError(StacksleuthError):
    """A rule or workflow file is malformed; names the file and the key."""


class UsageError(StacksleuthError):
    """An option's value cannot be understood (a time, a duration)."""
