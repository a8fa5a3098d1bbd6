"""Where every command ends: a stacksleuth error becomes one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from stacksleuth.errors import ExitCode, StacksleuthError


def guarded(run: Callable[[], int | None], prog: str = "stacksleuth") -> None:
    """Run a command body and exit with its code (0 for None); `prog` names the command in error lines."""
    try:
        code = run()
    except StacksleuthError as exc:
        click.echo(f"{prog}: error: {exc}", err=True)
        sys.exit(ExitCode.USAGE)
    sys.exit(code or 0)
