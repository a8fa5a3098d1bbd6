"""The typed record every parser produces, and its column layout in the index.

Parsers emit plain tuples in `COLUMNS` order (fast); the index stores them as columns; code that
reasons about single events reads them back as `Event`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Column order of an event row, shared by parsers (tuples) and the index (Arrow/DuckDB schema).
COLUMNS: tuple[str, ...] = (
    "host",  # node the file came from
    "file",  # path of the file inside its source, as the user would find it
    "line",  # 1-based line number of the event's first physical line
    "ts",  # 'YYYY-MM-DD HH:MM:SS.mmm' (UTC when the format says so, else as logged)
    "service",  # nova-compute, neutron-server, libvirtd, qemu, rabbitmq...
    "level",  # DEBUG INFO WARNING ERROR CRITICAL (TRACE/AUDIT mapped)
    "logger",  # python logger or libvirt function
    "pid",  # process (or thread) id as text
    "global_request_id",  # first field of a >=zed oslo bracket, or None
    "request_id",  # req-… of the service that logged the line
    "instance",  # uuid from `[instance: …]`, qemu `-uuid`, or the message
    "message",  # first line of the record, ANSI codes removed
    "detail",  # continuation and traceback lines folded into this record ('' if none)
    "exception",  # exception class named by the record, if any
    "status",  # HTTP status of an access line, else None
)

LEVELS: dict[str, int] = {"DEBUG": 10, "INFO": 20, "AUDIT": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Event:
    """One log record: a line, or a line with its continuation lines folded in."""

    host: str
    file: str
    line: int
    ts: str | None
    service: str
    level: str
    logger: str
    pid: str | None
    global_request_id: str | None
    request_id: str | None
    instance: str | None
    message: str
    detail: str
    exception: str | None
    status: int | None

    @classmethod
    def from_row(cls, row: Row) -> Event:
        """Build an event from a row in `COLUMNS` order."""
        return cls(*row)

    @property
    def severity(self) -> int:
        """Numeric level, for comparisons (`logging` numbers)."""
        return LEVELS.get(self.level, 20)
