"""What every parser is given and returns: rows in `events.COLUMNS` order, and honest counts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from stacksleuth.events import Row

ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: Control characters (not tab or CR) or undecodable bytes (U+FFFD): no service writes these; a line holding
#: them is garbage (a corrupted or binary region) and is counted as unparsed, never folded into a record.
GARBAGE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def is_garbage(line: str) -> bool:
    """True for a line holding control characters or U+FFFD (`GARBAGE`).

    `str.isprintable` (C speed) clears almost every line first; it is False for tabs, and U+FFFD counts as
    printable, hence the two explicit checks.
    """
    return "\ufffd" in line or (not line.isprintable() and GARBAGE.search(line) is not None)

#: How many unparsed lines per file are kept verbatim for the report.
SAMPLE_LIMIT = 5


@dataclass(slots=True)
class ParseStats:
    """Counts for one file: every physical line is an event, a continuation, blank, or unparsed."""

    lines: int = 0
    events: int = 0
    continuation: int = 0
    blank: int = 0
    unparsed: int = 0
    samples: list[tuple[int, str]] = field(default_factory=list)  # (line number, text) of unparsed lines

    def reject(self, lineno: int, text: str) -> None:
        """Count a line no format explains, keeping the first few for the report."""
        self.unparsed += 1
        if len(self.samples) < SAMPLE_LIMIT:
            self.samples.append((lineno, text[:200]))


@dataclass(frozen=True, slots=True)
class FileMeta:
    """Who wrote the file: stamped on every row it yields."""

    host: str
    display: str
    service: str
    year: int | None = None  # the file's modification year, for formats whose lines carry no year (syslog)


class Parser(Protocol):
    """A log format: how to recognise it, and how to read it."""

    name: str
    sniff: re.Pattern[str]  # matches typical lines of the format (used to pick a parser)

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield one row per record; fold continuation lines; count everything in `stats` (`lines` included)."""
        ...
