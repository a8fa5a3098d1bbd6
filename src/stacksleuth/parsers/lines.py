"""The loop shared by the line-oriented formats: a header starts a record, other lines continue it."""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.parsers.interface import ParseStats

#: Turns one physical line into a new record (a mutable row) or None when the line has no header.
Recogniser = Callable[[str, int], "list[object] | None"]

_MESSAGE, _DETAIL = 11, 12


def fold(lines: Iterable[str], recognise: Recogniser, stats: ParseStats) -> Iterator[Row]:
    """Yield records; headerless lines join the record above (or fill its empty message).

    A headerless line before any record is counted as unparsed, never dropped silently.
    """
    pending: list[object] | None = None
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        row = recognise(line, lineno)
        if row is None:
            if not line.strip():
                stats.blank += 1
            elif pending is None:
                stats.reject(lineno, line)
            else:
                stats.continuation += 1
                if not pending[_MESSAGE]:
                    pending[_MESSAGE] = line.strip()
                else:
                    pending[_DETAIL] = f"{pending[_DETAIL]}\n{line}" if pending[_DETAIL] else line
            continue
        if pending is not None:
            yield tuple(pending)
        pending = row
        stats.events += 1
    if pending is not None:
        yield tuple(pending)
