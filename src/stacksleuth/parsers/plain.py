"""Whole-file free text with no per-line format, picked by file name: RabbitMQ's `startup_log`/`startup_err`
and a guest's serial `console.log` (kernel, udhcpc and cloud-init lines with no time of their own).

Real samples (hotsos fake_data_root/rabbitmq/var/log/rabbitmq/):

      ##  ##      RabbitMQ 3.8.2
    starting queue supervisor and queue recovery                          ...BOOT ERROR: FAILED
    Error: {node_start_failed,normal}
    systemd unit for activation check: "rabbitmq-server.service"

Every non-blank line is a record without a time; words like `ERROR`/`FAILED` make it an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.parsers.interface import FileMeta, ParseStats, is_garbage
from stacksleuth.parsers.lines import fold, headerless


class PlainParser:
    """One `raw` row per non-blank line."""

    name = "plain"
    sniff = re.compile(r"(?!)")  # never chosen by content, only by file name

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield one row per line, in file order."""

        def recognise(line: str, lineno: int) -> list[object] | None:
            if not line.strip() or is_garbage(line):
                return None  # blank, or garbage: counted by fold
            return headerless(meta, lineno, line, None)

        return fold(lines, recognise, stats, meta)
