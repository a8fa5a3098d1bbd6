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
from collections.abc import Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.parsers import exceptions, timestamps
from stacksleuth.parsers.interface import ANSI, FileMeta, ParseStats, is_garbage
from stacksleuth.parsers.lines import headerless, is_annotation, new_row
from stacksleuth.services import service_for

_HEAD = re.compile(
    r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) +(\d+) (DEBUG|INFO|WARNING|ERROR|CRITICAL|TRACE|AUDIT|WARN) (\S+) ?(.*)"
)
_LEVELS = frozenset(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "TRACE", "AUDIT", "WARN"))
_UWSGI = re.compile(
    r"\[pid: (\d+)\|app: [-\d]+\|req: [-\d]+/\d+\] (\S+) \(.*?\) \{.*?\} \[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\] "
    r"(.*? => generated \d+ bytes in \d+ msecs \(HTTP/[\d.]+ (\d{3})\).*)"
)
# uwsgi master output in a uwsgi-served log (no timestamp): each line is a record of its own, unlike the
# Python tracebacks uwsgi prints, which continue the line above. Real samples (Zed lab nova__nova-api.log):
#   *** Starting uWSGI 2.0.21-debian (64bit) on [Sat Nov 21 04:43:50 2026] ***
#   unable to load app 0 (mountpoint='') (callable not found or import error)
#   --- no python application found, check your startup logs for errors ---
#   !!! uWSGI process 28780 got Segmentation Fault !!!
# (the C backtrace frames below `*** backtrace of N ***` continue it)
_DAEMON = re.compile(
    r"\*\*\* |!!! |--- |spawned uWSGI |uwsgi socket \d+ |detected (?:number|binary|max) |your "
    r"|compiled with version: |os: |nodename: |machine: |clock source: |pcre jit |current working directory: "
    r"|chdir\(\) to |lock engine: |thunder lock: |Python version: |Python main interpreter |python threads support "
    r"|mapped \d+ bytes |worker \d+ buried |SIGINT/SIGTERM received|goodbye to uWSGI|unable to load app |\[deadlock-detector\] "
    r"|WSGI app \d+ |[A-Z][a-z]{2} [A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d \d{4} - "
    r"|probably another instance of uWSGI |bind\(\): |uWSGI running as |mounting "
)
#: The banner's start time ('*** Starting uWSGI 2.0.21-debian (64bit) on [Sat Nov 21 06:53:23 2026] ***') dates
#: the untimestamped start-up lines after it, so a bind failure can be placed next to the requests it broke.
_UWSGI_START = re.compile(r"\*\*\* Starting uWSGI .* on \[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\] \*\*\*")
#: First characters a `_DAEMON` line can start with: most continuation lines (indented tracebacks, XML,
#: command output) are ruled out without running the regex.
_DAEMON_FIRST = frozenset("*!-[bcdglmnopstuwyFMPSTW")
_ACCESS_STATUS = re.compile(r'HTTP/1\.[01]" (\d{3}) ')
_LEVEL_ALIASES = {"TRACE": "ERROR", "WARN": "WARNING", "AUDIT": "INFO"}
#: Levels whose message is searched for an exception name when the record is finished.
_NOTABLE = frozenset(("WARNING", "ERROR", "CRITICAL"))


def header(line: str) -> tuple[str, str, str, str, str] | None:
    """(ts, pid, level, logger, rest) of an oslo line, or None.

    The fast path is fixed-position checks and one `split` (no regex): '2026-11-21 04:52:37.490 2596 INFO x …'.
    Odd spacing or a timestamp without milliseconds falls back to the regex.
    """
    if len(line) > 26 and line[19] == "." and line[23] == " " and line[4] == "-" and line[10] == " ":
        parts = line.split(" ", 5)
        if len(parts) > 4 and parts[3] in _LEVELS and parts[2].isdigit():
            return line[:23], parts[2], parts[3], parts[4], parts[5] if len(parts) > 5 else ""
    m = _HEAD.match(line)
    if m is None:
        return None
    ts, pid, level, logger, rest = m.groups()
    return timestamps.oslo(ts), pid, level, logger, rest


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


def _status(msg: str) -> int | None:
    """HTTP status of an access line inside an oslo message (nova/placement `status: 200`, eventlet `" 200 `)."""
    if '" status: ' in msg:
        tail = msg[msg.index('" status: ') + 10 :]
        return int(tail[:3]) if tail[:3].isdigit() else None
    if "HTTP/1." in msg:
        s = _ACCESS_STATUS.search(msg)
        return int(s.group(1)) if s else None
    return None


def record(line: str, meta: FileMeta, lineno: int, service: str | None = None) -> list[object] | None:
    """A full row for one oslo line (used by formats that wrap an oslo line, e.g. apache's mod_wsgi log)."""
    head = header(line)
    if head is None:
        return None
    ts, pid, level, logger, rest = head
    glob, req, inst, msg, _ = _context(rest)
    return new_row(meta, lineno, ts, _LEVEL_ALIASES.get(level, level), logger, msg, service=service,
                   pid=pid, global_request_id=glob, request_id=req, instance=inst, status=_status(msg))


class OsloParser:
    """oslo.log lines; `prefixed` for Loghub's files, where each line starts with the source file name."""

    sniff = re.compile(
        r"(?:\S+\.log\S* )?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? +\d+ [A-Z]+ \S+ |\[pid: \d+\|app: [-\d]+\|req: "
    )

    def __init__(self, prefixed: bool = False) -> None:
        self.prefixed = prefixed
        self.name = "oslo-prefixed" if prefixed else "oslo"

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield one row per oslo record, uwsgi request line, or eventlet access line.

        Hot path (measured, see formats.md §7): fixed-position checks and `split`/`find`/slices instead of
        regexes, `_context` and `_status` inlined, records kept as tuples and rebuilt only when a traceback
        or an exception name has to be added. Regexes only run on lines that are not oslo headers.
        """
        host, display, default_service = meta.host, meta.display, meta.service
        prefixed = self.prefixed
        levels = _LEVELS
        notable = _NOTABLE
        head_match = _HEAD.match
        daemon_match = _DAEMON.match
        daemon_first = _DAEMON_FIRST
        aliases = _LEVEL_ALIASES
        pending: Row | None = None
        detail: list[str] = []
        lineno = events = continuation = blank = 0  # local counters: attribute updates cost per line
        last_ts: str | None = None
        service = default_service
        try:
            for raw in lines:
                lineno += 1
                line = raw.rstrip("\r\n")
                if "\x1b" in line:
                    line = ANSI.sub("", line)
                if prefixed and line:
                    name, _, line = line.partition(" ")
                    service = _service_of(name)
                # header(), inlined: this loop runs once per line of every OpenStack log
                if len(line) > 26 and line[19] == "." and line[23] == " " and line[4] == "-" and line[10] == " ":
                    parts = line.split(" ", 5)
                    if len(parts) > 4 and parts[3] in levels and parts[2].isdigit():
                        ts = line[:23]
                        pid = parts[2]
                        level = parts[3]
                        logger = parts[4]
                        rest = parts[5] if len(parts) > 5 else ""
                    else:
                        head = header(line)
                        if head is None:
                            ts = None
                        else:
                            ts, pid, level, logger, rest = head
                else:
                    m = head_match(line) if line[:2] == "20" else None
                    if m is None:
                        ts = None
                    else:
                        ts, pid, level, logger, rest = m.groups()
                        ts = timestamps.oslo(ts)
                if ts is None:
                    if not line or line.isspace():
                        blank += 1
                        continue
                    u = _UWSGI.match(line) if line[0] == "[" else None
                    if u is not None:
                        if pending is not None:
                            yield _finish(pending, detail) if detail or pending[5] in notable else pending
                            detail = []
                        last_ts = timestamps.ctime(u.group(3))
                        pending = (host, display, lineno, last_ts, service, "INFO", "uwsgi",
                                   u.group(1), None, None, None, u.group(4), "", None, int(u.group(5)))
                        events += 1
                    elif is_garbage(line):
                        stats.reject(lineno, line)
                    elif pending is not None and not (
                        (line[0] == "#" and is_annotation(line))
                        or (line[0] in daemon_first and daemon_match(line) is not None)
                    ):
                        detail.append(line)
                        continuation += 1
                    else:
                        # daemon output with no header (uwsgi banners, stderr) or a collector's note:
                        # kept as an event at the last known time
                        if pending is not None:
                            yield _finish(pending, detail) if detail or pending[5] in notable else pending
                            detail = []
                        started = _UWSGI_START.match(line) if line[0] == "*" else None
                        if started is not None:
                            last_ts = timestamps.ctime(started.group(1))
                        pending = tuple(headerless(FileMeta(host, display, service), lineno, line, last_ts))
                        events += 1
                    continue
                c = rest[:1]
                if (
                    pending is not None
                    and (level == "ERROR" or level == "TRACE")
                    and pid == pending[7]
                    and logger == pending[6]
                    and (c != "[" or rest[1:10] == "instance:")
                    and (level == "TRACE" or ts == pending[3])
                ):
                    # a traceback line repeating the record's header (oslo's logging_exception_prefix)
                    detail.append(rest[49:] if c == "[" else rest)
                    continuation += 1
                    continue
                if pending is not None:
                    yield _finish(pending, detail) if detail or pending[5] in notable else pending
                    detail = []
                # _context(), inlined: [global req ident] [instance: uuid] message
                glob = req = inst = None
                msg = rest
                if c == "[":
                    if rest[1:10] == "instance:":
                        inst = rest[11:47]
                        msg = rest[49:]
                    else:
                        end = rest.find("] ")
                        if end < 0 and rest[-1] == "]":
                            end = len(rest) - 1
                        if end > 0:
                            inner = rest[1:end]
                            msg = rest[end + 2 :]
                            if inner != "-":
                                sp = inner.find(" ")
                                first = inner if sp < 0 else inner[:sp]
                                if sp > 0 and inner[sp + 1 : sp + 5] == "req-":
                                    sp2 = inner.find(" ", sp + 1)
                                    req = inner[sp + 1 :] if sp2 < 0 else inner[sp + 1 : sp2]
                                    glob = first if first[:4] == "req-" else None
                                elif first[:4] == "req-":
                                    req = first
                            if msg[:11] == "[instance: ":
                                inst = msg[11:47]
                                msg = msg[49:]
                # _status(), inlined
                status = None
                if '" status: ' in msg:
                    tail = msg[msg.index('" status: ') + 10 :]
                    status = int(tail[:3]) if tail[:3].isdigit() else None
                elif "HTTP/1." in msg:
                    s = _ACCESS_STATUS.search(msg)
                    status = int(s.group(1)) if s else None
                last_ts = ts
                pending = (host, display, lineno, ts, service, aliases.get(level, level), logger,
                           pid, glob, req, inst, msg, "", None, status)
                events += 1
            if pending is not None:
                yield _finish(pending, detail)
        finally:
            stats.lines = lineno
            stats.events += events
            stats.continuation += continuation
            stats.blank += blank


def _finish(pending: Row, detail: list[str]) -> Row:
    """Attach folded lines and name the exception the record carries."""
    exc = None
    message, text = pending[11], pending[12]
    if detail:
        if not message:  # `… DEBUG x [req-…] ` then the text on the next lines: the first one is the message
            message, detail = detail[0].strip(), detail[1:]
        text = "\n".join(detail)
        exc = exceptions.from_traceback(text) if text else None
    if exc is None and pending[5] in _NOTABLE:
        exc = exceptions.from_message(str(message))
    return pending[:11] + (message, text, exc) + pending[14:]


def _service_of(file_name: str) -> str:
    """'nova-api.log.1.2017-05-16_13:53:08' → 'nova-api' (Loghub's per-line file names)."""
    return service_for((file_name,))
