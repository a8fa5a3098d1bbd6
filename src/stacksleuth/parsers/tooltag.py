"""Helper-script logs kept beside oslo logs (os-log-merger's contrib captures): tcpdump, ping, ovs-fdb, ansible.

oslo's time, then a tag (the tool, or the host for ansible) and a level, with no pid. Real samples
(os-log-merger-contrib/debug-live-migration/logs/hp-ms-01-c29/var/log/…):

    2015-10-29 10:52:20.959 pinger DEBUG 64 bytes from 192.168.233.100: icmp_seq=1 ttl=63 time=1.97 ms
    2015-10-29 10:52:24.719 tcpdump DEBUG tcpdump: WARNING: br-int: no IPv4 address assigned
    2015-10-29 10:52:36.051 hp-ms-01-c29 DEBUG starting migration to c29
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.parsers.interface import FileMeta, ParseStats
from stacksleuth.parsers.lines import fold, new_row

_LINE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ([A-Za-z][\w.-]*) (DEBUG|INFO|WARNING|ERROR|CRITICAL) ?(.*)")


class ToolTagParser:
    """One row per tool line; the tag is the logger. Multi-line tool output continues the line above."""

    name = "tool-tag"
    sniff = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [A-Za-z][\w.-]* (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) ")

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield rows with oslo-style timestamps."""

        def recognise(line: str, lineno: int) -> list[object] | None:
            m = _LINE.match(line)
            if m is None:
                return None
            ts, tag, level, message = m.groups()
            return new_row(meta, lineno, ts, level, tag, message)

        return fold(lines, recognise, stats, meta)
