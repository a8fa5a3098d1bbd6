"""Syslog files (/var/log/syslog, kern.log, messages, daemon.log) and `journalctl` text exports.

Real samples (hotsos scenario snippets; `journalctl -o short-iso`):

    Apr  6 06:36:09 kermath Keepalived_vrrp[23396]: Unknown configuration entry 'no_track' for ip address - ignoring
    Feb  9 17:24:13 compute4 kernel: [13526370.730586] o-hm0: dropped over-mtu packet: 1760 > 1500
    2022-02-10T17:52:37+0100 juju-9c28ce-ubuntu-11 systemd[1]: Starting Open vSwitch Forwarding Unit...
    -- Logs begin at Tue 2023-08-01 10:42:07 UTC, end at Sat 2023-08-05 10:29:26 UTC. --

RFC 3164 lines carry no year: the file's modification year is used (`FileMeta.year`).
The program is the logger and its pid the pid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.parsers import timestamps
from stacksleuth.parsers.interface import FileMeta, ParseStats
from stacksleuth.parsers.lines import fold, new_row, raw_level

_BSD = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d\d:\d\d:\d\d)(?:\.\d+)? (\S+) ([^\s:\[]+)(?:\[(\d+)\])?: ?(.*)")
_ISO = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:?\d\d|Z)?) (\S+) ([^\s:\[]+)(?:\[(\d+)\])?: ?(.*)")
_MARKER = re.compile(r"-- (?:Logs begin at|Journal begins at|No entries|Reboot|Boot ).*")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_KERNEL_ERRORS = ("error", "fail", "oom", "killed process", "segfault", "call trace", "blocked for more than")


class SyslogParser:
    """One row per syslog/journal line."""

    name = "syslog"
    sniff = re.compile(
        r"[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)? \S+ [^\s:\[]+(?:\[\d+\])?: "
        r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:?\d\d|Z)? \S+ [^\s:\[]+(?:\[\d+\])?: |-- (?:Logs|Journal) begin"
    )

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield rows; the level comes from the words of the message (syslog files do not keep the priority)."""
        year = meta.year

        def recognise(line: str, lineno: int) -> list[object] | None:
            m = _BSD.match(line)
            if m is not None:
                month, day, clock, _host, prog, pid, message = m.groups()
                if month not in _MONTHS:
                    return None
                ts = timestamps.syslog(f"{month} {day} {clock}", year) if year is not None else None
                return _row(meta, lineno, ts, prog, pid, message)
            m = _ISO.match(line)
            if m is not None:
                stamp, _host, prog, pid, message = m.groups()
                return _row(meta, lineno, timestamps.with_offset(stamp), prog, pid, message)
            if _MARKER.match(line):
                return new_row(meta, lineno, None, "INFO", "journal", line)
            return None

        return fold(lines, recognise, stats, meta)


def _row(meta: FileMeta, lineno: int, ts: str | None, prog: str, pid: str | None, message: str) -> list[object]:
    lowered = message.lower()
    level = "ERROR" if prog == "kernel" and any(w in lowered for w in _KERNEL_ERRORS) else raw_level(message)
    if level == "ERROR" and ("warn" in lowered[:40]):
        level = "WARNING"
    return new_row(meta, lineno, ts, level, prog, message, pid=pid)
