"""oslo.log, the format of every OpenStack service, with the uwsgi and eventlet lines mixed into its files.

Real samples (Zed lab; ≤yoga dessertlab; a traceback line, which repeats the header without the bracket):

    2026-11-21 04:52:37.490 2596 INFO placement.requestlog [req-569dd95d-dfc3-4f1b-825a-66d096e1d601 req-53b9df8b-4f34-451d-a2af-159c5d7d8370 83a26f1fa1eb40d89294129144334c43 30fd975c9ea74164875f4afb3065a833 - - default default] 127.0.0.1 "GET /allocation_candidates?limit=1000" status: 200 len: 1918 microversion: 1.36
    2018-07-02 20:12:16.842 9397 DEBUG nova.api.openstack.wsgi [req-8b4f890a-dd01-4a35-b1ba-5d5f98dbefd3 34449420d71643ff9c143c132ecdb7b4 0d772b180b3c41e2ae2eba61c236b149 - default default] Calling method …
    2026-11-21 04:56:18.222 26382 ERROR nova.compute.manager [instance: 87209c3b-04dc-4071-ae0a-46e6fcc3f1e3]   File "/usr/lib/python3/dist-packages/nova/compute/manager.py", line 2774, in _build_resources

Tracebacks fold into the record they belong to (same time, pid and logger, no request bracket: oslo's
`logging_exception_prefix`); lines without any header are continuations of the previous record.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.services import service_for
from stacksleuth.parsers import exceptions, timestamps
from stacksleuth.parsers.interface import ANSI, FileMeta, ParseStats

_HEAD = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) +(\d+) (DEBUG|INFO|WARNING|ERROR|CRITICAL|TRACE|AUDIT|WARN) (\S+) ?(.*)"
)
_UWSGI = re.compile(
    r"\[pid: (\d+)\|app: [-\d]+\|req: [-\d]+/\d+\] (\S+) \(.*?\) \{.*?\} \[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\] "
    r"(.*? => generated \d+ bytes in \d+ msecs \(HTTP/[\d.]+ (\d{3})\).*)"
)
_ACCESS_STATUS = re.compile(r'HTTP/1\.[01]" (\d{3}) ')
# control characters or undecodable bytes: not text any service wrote
_GARBAGE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffd]")
_RAW_ERRORS = ("segmentation fault", "unable to load app", "no python application", "error", "failed", "fatal")
_LEVEL_ALIASES = {"TRACE": "ERROR", "WARN": "WARNING", "AUDIT": "INFO"}


def _context(rest: str) -> tuple[str | None, str | None, str | None, str, bool]:
    """Split `[global req ident] [instance: uuid] message` → (global, request, instance, message, bracketed)."""
    glob = req = inst = None
    bracketed = False
    if rest.startswith("[instance: "):
        return None, None, rest[11:47], rest[49:], False
    if rest.startswith("["):
        end = rest.find("] ")
        if end < 0 and rest.endswith("]"):
            end = len(rest) - 1
        if end > 0:
            bracketed = True
            inner = rest[1:end]
            rest = rest[end + 2 :]
            if inner != "-":
                parts = inner.split(" ", 2)
                first = parts[0]
                second = parts[1] if len(parts) > 1 else ""
                if second.startswith("req-"):
                    glob = first if first.startswith("req-") else None
                    req = second
                elif first.startswith("req-"):
                    req = first
    if rest.startswith("[instance: "):
        inst = rest[11:47]
        rest = rest[49:]
    return glob, req, inst, rest, bracketed


class OsloParser:
    """oslo.log lines; `prefixed` for Loghub's files, where each line starts with the source file name."""

    sniff = re.compile(r"(?:\S+\.log\S* )?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? +\d+ [A-Z]+ \S+ ")

    def __init__(self, prefixed: bool = False) -> None:
        self.prefixed = prefixed
        self.name = "oslo-prefixed" if prefixed else "oslo"

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield one row per oslo record, uwsgi request line, or eventlet access line."""
        host, display, default_service = meta.host, meta.display, meta.service
        head_match = _HEAD.match
        pending: list[object] | None = None
        detail: list[str] = []
        lineno = 0
        last_ts: str | None = None
        for raw in lines:
            lineno += 1
            line = raw.rstrip("\r\n")
            if "\x1b" in line:
                line = ANSI.sub("", line)
            service = default_service
            if self.prefixed and line:
                name, _, line = line.partition(" ")
                service = _service_of(name)
            m = head_match(line)
            if m is None:
                if not line.strip():
                    stats.blank += 1
                    continue
                u = _UWSGI.match(line)
                if u is not None:
                    if pending is not None:
                        yield _finish(pending, detail)
                        detail = []
                    last_ts = timestamps.ctime(u.group(3))
                    pending = [host, display, lineno, last_ts, service, "INFO", "uwsgi",
                               u.group(1), None, None, None, u.group(4), "", None, int(u.group(5))]
                    stats.events += 1
                elif _GARBAGE.search(line):
                    stats.reject(lineno, line)
                elif pending is not None:
                    detail.append(line)
                    stats.continuation += 1
                else:
                    # daemon output with no header (uwsgi banners, stderr): kept as an event at the last known time
                    pending = [host, display, lineno, last_ts, service, _raw_level(line), "raw", None, None, None,
                               None, line, "", None, None]
                    stats.events += 1
                continue
            ts, pid, level, logger, rest = m.groups()
            if (
                pending is not None
                and level in ("ERROR", "TRACE")
                and pid == pending[7]
                and logger == pending[6]
                and (not rest.startswith("[") or rest.startswith("[instance: "))
                and (level == "TRACE" or timestamps.oslo(ts) == pending[3])
            ):
                # a traceback line repeating the record's header (oslo's logging_exception_prefix)
                detail.append(rest[49:] if rest.startswith("[instance: ") else rest)
                stats.continuation += 1
                continue
            if pending is not None:
                yield _finish(pending, detail)
                detail = []
            glob, req, inst, msg, _ = _context(rest)
            status = None
            if '" status: ' in msg:
                tail = msg[msg.index('" status: ') + 10 :]
                status = int(tail[:3]) if tail[:3].isdigit() else None
            elif "HTTP/1." in msg:
                s = _ACCESS_STATUS.search(msg)
                status = int(s.group(1)) if s else None
            last_ts = timestamps.oslo(ts)
            pending = [host, display, lineno, last_ts, service, _LEVEL_ALIASES.get(level, level), logger,
                       pid, glob, req, inst, msg, "", None, status]
            stats.events += 1
        if pending is not None:
            yield _finish(pending, detail)


def _raw_level(line: str) -> str:
    """Headerless daemon output has no level; words like 'Segmentation Fault' make it an error."""
    lowered = line.lower()
    return "ERROR" if any(word in lowered for word in _RAW_ERRORS) else "INFO"


def _finish(pending: list[object], detail: list[str]) -> Row:
    """Attach folded lines and name the exception the record carries."""
    exc = None
    if detail:
        text = "\n".join(detail)
        pending[12] = text
        exc = exceptions.from_traceback(text)
    if exc is None and pending[5] in ("WARNING", "ERROR", "CRITICAL"):
        exc = exceptions.from_message(str(pending[11]))
    pending[13] = exc
    return tuple(pending)


def _service_of(file_name: str) -> str:
    """'nova-api.log.1.2017-05-16_13:53:08' → 'nova-api' (Loghub's per-line file names)."""
    return service_for((file_name,))
