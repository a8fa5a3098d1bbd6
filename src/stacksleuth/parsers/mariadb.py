"""MariaDB/MySQL error log. The hour is not zero-padded in MariaDB 10.x.

Real sample (Zed lab): `2026-11-21  5:17:08 0 [Warning] Could not increase number of max_open_files to more than 1024`
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.parsers.interface import FileMeta, ParseStats
from stacksleuth.parsers.lines import fold, new_row

_LINE = re.compile(r"(\d{4}-\d\d-\d\d) +(\d{1,2}):(\d\d:\d\d)(?:\.\d+)? +(\d+) \[(\w+)\] (.*)")
# MySQL 5.5 / MariaDB 5.x: `170517 14:03:11 [ERROR] mysqld: Table './mysql/user' is marked as crashed`
_OLD = re.compile(r"(\d\d)(\d\d)(\d\d) +(\d{1,2}):(\d\d:\d\d) (?:(\d+) )?\[(\w+)\] (.*)")
_LEVELS = {"Note": "INFO", "Warning": "WARNING", "ERROR": "ERROR", "Error": "ERROR", "System": "INFO"}


class MariadbParser:
    """One row per error-log line; other lines continue the previous one."""

    name = "mariadb"
    sniff = re.compile(r"(?:\d{4}-\d\d-\d\d +\d{1,2}:\d\d:\d\d(?:\.\d+)? +\d+|\d{6} +\d{1,2}:\d\d:\d\d(?: \d+)?) \[(Note|Warning|ERROR|Error|System)\] ")

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield rows with the connection/thread id as pid."""

        def recognise(line: str, lineno: int) -> list[object] | None:
            m = _LINE.match(line)
            if m is None:
                o = _OLD.match(line)
                if o is None:
                    return None
                yy, mm, dd, hour, rest, thread, level, message = o.groups()
                return new_row(meta, lineno, f"20{yy}-{mm}-{dd} {int(hour):02d}:{rest}.000",
                               _LEVELS.get(level, "INFO"), "mysqld", message, pid=thread)
            day, hour, rest, thread, level, message = m.groups()
            return new_row(meta, lineno, f"{day} {int(hour):02d}:{rest}.000", _LEVELS.get(level, "INFO"), "mysqld",
                           message, pid=thread)

        return fold(lines, recognise, stats, meta)
