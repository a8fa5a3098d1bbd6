"""QEMU per-domain logs, /var/log/libvirt/qemu/instance-0000000N.log, written by libvirt and qemu.

The instance uuid is only in the command line (`-uuid …`), so every row of the file carries it.
Real samples (Zed lab):

    2026-11-21 04:52:47.289+0000: starting up libvirt version: 9.0.0, package: 9.0.0-4+deb12u2 (Debian), qemu version: 7.2.22Debian 1:7.2+dfsg-7+deb12u18+b3, kernel: 6.18.44-fc-v669, hostname: vm
    -uuid 877ae74c-fe20-4bc8-a0ac-218327dc0f92 \\
    2026-11-21T05:06:32.607149Z qemu-system-x86_64: warning: …
    2026-11-21 05:10:12.001+0000: shutting down, reason=destroyed
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.parsers import timestamps
from stacksleuth.parsers.interface import FileMeta, ParseStats
from stacksleuth.parsers.lines import fold, new_row

_LIBVIRT = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}): (.*)")
_QEMU = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (qemu-\S+?|\S+?): (.*)")
_UUID = re.compile(r"-uuid ([0-9a-f-]{36})")
_BAD_STOP = ("reason=crashed", "reason=failed")


class QemuParser:
    """Rows for the start/stop lines and qemu's own messages; the command line folds into the start row."""

    name = "qemu"
    sniff = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}: (starting up|shutting down)|\d{4}-\d\d-\d\dT[\d:.]+Z qemu-)")

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Read the whole (small) file once to learn the uuid, then yield its records."""
        text = list(lines)
        uuids = [m.group(1) for line in text if (m := _UUID.search(line))]
        instance = uuids[0] if uuids else None
        return fold(text, lambda line, lineno: self._record(line, lineno, meta, instance), stats, meta)

    @staticmethod
    def _record(line: str, lineno: int, meta: FileMeta, instance: str | None) -> list[object] | None:
        """A new record for a timestamped line, or None for a continuation."""
        m = _LIBVIRT.match(line)
        if m is not None:
            message = m.group(2)
            level = "ERROR" if message.startswith("shutting down") and message.endswith(_BAD_STOP) else "INFO"
            return new_row(meta, lineno, timestamps.with_offset(m.group(1)), level, "libvirt", message,
                           instance=instance)
        m = _QEMU.match(line)
        if m is not None:
            message = m.group(3)
            lowered = message.lower()
            level = "WARNING" if lowered.startswith("warning") else "INFO" if "terminating on signal" in lowered else "ERROR"
            return new_row(meta, lineno, timestamps.with_offset(m.group(1)), level, m.group(2), message,
                           instance=instance)
        return None
