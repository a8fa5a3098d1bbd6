"""The loop shared by the line-oriented formats: a header starts a record, other lines continue it.

Every physical line is counted once: an event (a header, or a headerless line with nothing above it to
continue, kept as a `raw` record), a continuation, blank, or unparsed. Unparsed is reserved for garbage:
control characters or undecodable bytes (`interface.GARBAGE`); such a line is sampled with its number and
never folded into the record above.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import cast

from stacksleuth.events import Row
from stacksleuth.parsers.interface import ANSI, FileMeta, ParseStats, is_garbage

#: Turns one physical line into a new record (a mutable row) or None when the line has no header.
Recogniser = Callable[[str, int], "list[object] | None"]

_MESSAGE, _DETAIL = 11, 12
_RAW_ERRORS = ("segmentation fault", "unable to load app", "no python application", "error", "failed", "fatal",
               "address already in use", "permission denied")


def raw_level(line: str) -> str:
    """Headerless output has no level; words like 'Segmentation Fault' or 'FAILED' make it an error."""
    lowered = line.lower()
    return "ERROR" if any(word in lowered for word in _RAW_ERRORS) else "INFO"


def is_annotation(line: str) -> bool:
    """Collector notes in the lab's `sample-*.log` files: `# real log sample from …`, `##### startup …`."""
    return line.startswith(("# real log sample ", "##### "))


def new_row(meta: FileMeta, lineno: int, ts: str | None, level: str, logger: str, message: str, *,
            service: str | None = None, pid: str | None = None, global_request_id: str | None = None,
            request_id: str | None = None, instance: str | None = None, status: int | None = None) -> list[object]:
    """A new record in `events.COLUMNS` order (mutable: continuation lines are folded in before it is yielded)."""
    return [meta.host, meta.display, lineno, ts, service or meta.service, level, logger, pid, global_request_id,
            request_id, instance, message, "", None, status]


def headerless(meta: FileMeta, lineno: int, line: str, ts: str | None) -> list[object]:
    """A record for a line that has no header and nothing to continue (daemon banners, collector notes)."""
    if is_annotation(line):
        return new_row(meta, lineno, ts, "INFO", "annotation", line)
    return new_row(meta, lineno, ts, raw_level(line), "raw", line.strip())


def fold(lines: Iterable[str], recognise: Recogniser, stats: ParseStats, meta: FileMeta | None = None) -> Iterator[Row]:
    """Yield records; headerless lines join the record above (or fill its empty message).

    With `meta`, a headerless line before any record becomes a `raw` record; without it, it is unparsed.
    """
    pending: list[object] | None = None
    lineno = 0
    try:
        for raw in lines:
            lineno += 1
            line = raw.rstrip("\r\n")
            if "\x1b" in line:
                line = ANSI.sub("", line)
            row = recognise(line, lineno)
            if row is None:
                if not line.strip():
                    stats.blank += 1
                elif is_garbage(line):
                    stats.reject(lineno, line)
                elif pending is None or is_annotation(line):
                    if meta is None:
                        stats.reject(lineno, line)
                        continue
                    if pending is not None:
                        yield tuple(pending)
                    pending = headerless(meta, lineno, line, cast("str | None", pending[3]) if pending else None)
                    stats.events += 1
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
    finally:
        stats.lines = lineno
