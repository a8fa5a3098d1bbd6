"""RabbitMQ node logs: the 3.9+ one-line format and the older `=LEVEL REPORT==== date ===` blocks.

Real samples (Zed lab; hotsos fixture):

    2026-11-21 04:53:33.529831+00:00 [warning] <0.1727.0> client unexpectedly closed TCP connection
    2021-05-07 11:22:06.487 [info] <0.31125.1> accepting AMQP connection <0.31125.1> (10.5.0.55:57086 -> 10.5.1.137:5672)
    =ERROR REPORT==== 7-May-2021::11:22:06 ===
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from stacksleuth.events import Row
from stacksleuth.parsers import timestamps
from stacksleuth.parsers.interface import FileMeta, ParseStats
from stacksleuth.parsers.lines import fold, new_row

# the Erlang pid is missing on some lager lines: `… [warning]  lager_file_backend dropped 12 messages …`
_LINE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+(?:[+-]\d\d:\d\d)?) \[([a-z]+)\] (?:(<[\d.]+>(?:@\S+)?) ?| ?)(.*)")
_REPORT = re.compile(r"=(\w+) REPORT==== (\d+-\w+-\d{4})::(\d\d:\d\d:\d\d)(?:\.\d+)? ===")
_LEVELS = {"debug": "DEBUG", "info": "INFO", "notice": "INFO", "warning": "WARNING", "error": "ERROR",
           "critical": "CRITICAL", "alert": "CRITICAL", "emergency": "CRITICAL", "warn": "WARNING"}


class RabbitmqParser:
    """One row per log entry; indented lines and report bodies fold into the entry above."""

    name = "rabbitmq"
    sniff = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+(?:[+-]\d\d:\d\d)? \[[a-z]+\] [< ]|=\w+ REPORT==== )")

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield rows with the Erlang process id as pid."""
        return fold(lines, lambda line, lineno: _record(line, lineno, meta), stats, meta)


def _record(line: str, lineno: int, meta: FileMeta) -> list[object] | None:
    m = _LINE.match(line)
    if m is not None:
        stamp, level, proc, message = m.groups()
        ts = timestamps.with_offset(stamp) if ("+" in stamp[19:] or "-" in stamp[19:]) else timestamps.oslo(stamp)
        return new_row(meta, lineno, ts, _LEVELS.get(level.lower(), "INFO"), "rabbit", message, pid=proc)
    m = _REPORT.match(line)
    if m is not None:
        day = datetime.strptime(m.group(2), "%d-%b-%Y").strftime("%Y-%m-%d")
        level = {"ERROR": "ERROR", "WARNING": "WARNING", "CRASH": "ERROR", "SUPERVISOR": "ERROR"}.get(m.group(1), "INFO")
        return new_row(meta, lineno, f"{day} {m.group(3)}.000", level, "rabbit", "")
    return None
