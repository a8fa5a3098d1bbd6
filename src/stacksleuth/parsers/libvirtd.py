"""libvirtd (and virtqemud) file output, `virLogFormatString` in libvirt's src/util/virlog.c.

Real samples (Zed lab):

    2026-11-21 04:42:01.882+0000: 3111: info : libvirt version: 9.0.0, package: 9.0.0-4+deb12u2 (Debian)
    2026-11-21 04:42:07.305+0000: 3240: error : virGDBusGetSystemBus:99 : internal error: Unable to get system bus connection: Could not connect: No such file or directory
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.parsers import timestamps
from stacksleuth.parsers.interface import FileMeta, ParseStats
from stacksleuth.parsers.lines import fold, new_row

_LINE = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}): (\d+): (debug|info|warning|error) : (?:(\w+):\d+ : )?(.*)"
)
_LEVELS = {"debug": "DEBUG", "info": "INFO", "warning": "WARNING", "error": "ERROR"}


class LibvirtdParser:
    """One row per libvirtd line; lines without the header continue the previous message."""

    name = "libvirtd"
    sniff = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}: \d+: (debug|info|warning|error) : ")

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield rows with the thread id as pid and the libvirt function as logger."""

        def recognise(line: str, lineno: int) -> list[object] | None:
            m = _LINE.match(line)
            if m is None:
                return None
            stamp, thread, level, function, message = m.groups()
            return new_row(meta, lineno, timestamps.with_offset(stamp), _LEVELS[level], function or "libvirt",
                           message, pid=thread)

        return fold(lines, recognise, stats, meta)
