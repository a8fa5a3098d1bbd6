"""Open vSwitch and OVN daemons (ovs-vswitchd, ovsdb-server, ovn-controller, ovn-northd): the vlog file format.

`%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c|%p|%m`, UTC. Real samples (hotsos fake_data_root):

    2022-02-04T09:38:32.504Z|00001|vlog|INFO|opened log file /var/log/openvswitch/ovs-vswitchd.log
    2022-02-17T00:58:04.667Z|27574|jsonrpc|WARN|ssl:127.0.0.1:36842: receive error: Protocol error
    2022-02-16T09:03:17.364Z|348290|patch|ERR|Dropped 1 log messages in last 28 seconds (most recently, 28 seconds ago) due to excessive rate

The module may hold parentheses (`dpif_netlink(handler10)`); the sequence number grows past 5 digits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.parsers import timestamps
from stacksleuth.parsers.interface import FileMeta, ParseStats
from stacksleuth.parsers.lines import fold, new_row

_LINE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d{1,2}(?:\.\d+)?Z)\|(\d+)\|([^|]+)\|(EMER|ERR|WARN|INFO|DBG)\|(.*)")
_LEVELS = {"EMER": "CRITICAL", "ERR": "ERROR", "WARN": "WARNING", "INFO": "INFO", "DBG": "DEBUG"}


class VlogParser:
    """One row per vlog line; the vlog module is the logger. Other lines continue the line above."""

    name = "vlog"
    sniff = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\|\d+\|[^|]+\|(?:EMER|ERR|WARN|INFO|DBG)\|")

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield rows with the time in UTC."""

        def recognise(line: str, lineno: int) -> list[object] | None:
            m = _LINE.match(line)
            if m is None:
                return None
            stamp, _seq, module, level, message = m.groups()
            if stamp[18] == ".":  # hand-edited one-digit seconds seen in field snippets: 14:03:0.947Z
                stamp = f"{stamp[:17]}0{stamp[17:]}"
            return new_row(meta, lineno, timestamps.with_offset(stamp), _LEVELS[level], module, message)

        return fold(lines, recognise, stats, meta)
