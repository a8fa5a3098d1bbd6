"""dnsmasq's own log file (`--log-facility=<file>`, neutron's `dnsmasq_base_log_dir`): syslog time, no host.

Samples in dnsmasq's documented format (`log.c`: `%h %e %H:%M:%S dnsmasq[pid]: …`, -dhcp/-tftp/-script tags):

    Nov 21 04:53:33 dnsmasq[12345]: started, version 2.80 cachesize 150
    Nov 21 04:53:41 dnsmasq-dhcp[12345]: DHCPDISCOVER(tap1a2b3c4d-5e) fa:16:3e:12:34:56
    Nov 21 04:53:41 dnsmasq-dhcp[12345]: DHCPACK(tap1a2b3c4d-5e) 10.0.0.5 fa:16:3e:12:34:56 host-10-0-0-5
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.parsers import timestamps
from stacksleuth.parsers.interface import FileMeta, ParseStats
from stacksleuth.parsers.lines import fold, new_row

_LINE = re.compile(r"([A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d) (dnsmasq(?:-[a-z]+)?)\[(\d+)\]: (.*)")
_PROBLEMS = ("failed", "no address range", "error", "cannot", "refused", "illegal")


class DnsmasqParser:
    """One row per dnsmasq line; the tag (dnsmasq, dnsmasq-dhcp, …) is the logger."""

    name = "dnsmasq"
    sniff = re.compile(r"[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d dnsmasq(?:-[a-z]+)?\[\d+\]: ")

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield rows; the year comes from the file (`FileMeta.year`)."""

        def recognise(line: str, lineno: int) -> list[object] | None:
            m = _LINE.match(line)
            if m is None:
                return None
            stamp, tag, pid, message = m.groups()
            ts = timestamps.syslog(stamp, meta.year) if meta.year is not None else None
            lowered = message.lower()
            level = "WARNING" if any(w in lowered for w in _PROBLEMS) else "INFO"
            return new_row(meta, lineno, ts, level, tag, message, pid=pid)

        return fold(lines, recognise, stats, meta)
