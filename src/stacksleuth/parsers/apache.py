"""Apache httpd (mod_wsgi hosting keystone, horizon, octavia, cinder… ): the error log and the access log.

Error log, both the default `ErrorLogFormat` and the charms' `%{cu}t %M`, which carry the service's oslo line
(re-read with the oslo parser, so its request id and logger are kept). Real samples (hotsos scenario snippets):

    [Thu Mar 07 00:02:53.076952 2024] [wsgi:error] [pid 19692:tid 140252996032064] 2024-03-07 00:02:53.076 19692 ERROR octavia.api.drivers.driver_factory [-] Unable to load provider driver ovn due to: …
    2025-07-21 11:57:24.730343 2025-07-21 11:57:24.729 3890533 WARNING keystonemiddleware.auth_token [req-47565f8f-… 3478b4aca2d14940828884edc5779ac3 …] Authorization failed for token

Access log, common/combined format (`%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"` and a %D tail):

    10.5.0.12 - - [21/Nov/2026:04:53:33 +0000] "GET /v3/auth/tokens HTTP/1.1" 200 5342 "-" "python-keystoneclient" 8731
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from stacksleuth.events import Row
from stacksleuth.parsers import oslo, timestamps
from stacksleuth.parsers.interface import FileMeta, ParseStats
from stacksleuth.parsers.lines import fold, new_row

_ERROR = re.compile(
    r"\[(\w{3} (\w{3}) +(\d+) (\d\d:\d\d:\d\d)(\.\d+)? (\d{4}))\] \[([\w-]*):(\w+)\] "
    r"\[pid (\d+)(?::tid \d+)?\] (?:\[client [^\]]+\] )?(.*)"
)
_ISO_ERROR = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) (.*)")
_ACCESS = re.compile(
    r'(\S+) \S+ (\S+) \[(\d\d)/(\w{3})/(\d{4}):(\d\d:\d\d:\d\d) ([+-]\d{4})\] "([^"]*)" (\d{3}) (?:\d+|-)(?: .*)?'
)
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_LEVELS = {"emerg": "CRITICAL", "alert": "CRITICAL", "crit": "CRITICAL", "error": "ERROR", "warn": "WARNING",
           "notice": "INFO", "info": "INFO", "debug": "DEBUG"}


class ApacheErrorParser:
    """One row per error-log line; a wrapped oslo line becomes that oslo record."""

    name = "apache-error"
    sniff = re.compile(r"\[\w{3} \w{3} +\d+ \d\d:\d\d:\d\d(?:\.\d+)? \d{4}\] \[[\w-]*:\w+\] \[pid \d+|"
                       r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \d+ [A-Z]+ ")

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield rows; the wsgi application's own oslo line wins over apache's wrapper."""

        def recognise(line: str, lineno: int) -> list[object] | None:
            m = _ERROR.match(line)
            if m is not None:
                _, month, day, clock, frac, year, module, level, pid, message = m.groups()
                inner = oslo.record(message, meta, lineno)
                if inner is not None:
                    return inner
                ts = f"{year}-{_MONTHS.get(month, 1):02d}-{int(day):02d} {clock}{(frac or '.000')[:4].ljust(4, '0')}"
                return new_row(meta, lineno, ts, _LEVELS.get(level, "INFO"), module or "httpd", message, pid=pid)
            m = _ISO_ERROR.match(line)
            if m is not None:
                inner = oslo.record(m.group(2), meta, lineno)
                if inner is not None:
                    return inner
                return new_row(meta, lineno, timestamps.oslo(m.group(1)), "INFO", "httpd", m.group(2))
            return None

        return fold(lines, recognise, stats, meta)


class ApacheAccessParser:
    """One row per request, with its HTTP status; 5xx are errors, 4xx warnings."""

    name = "apache-access"
    sniff = re.compile(r'\S+ \S+ \S+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "[^"]*" \d{3} ')

    def parse(self, lines: Iterable[str], meta: FileMeta, stats: ParseStats) -> Iterator[Row]:
        """Yield rows in UTC."""

        def recognise(line: str, lineno: int) -> list[object] | None:
            m = _ACCESS.match(line)
            if m is None:
                return None
            _client, _user, day, month, year, clock, zone, _request, status = m.groups()
            ts = timestamps.with_offset(f"{year}-{_MONTHS.get(month, 1):02d}-{day} {clock}.000{zone}")
            code = int(status)
            level = "ERROR" if code >= 500 else "WARNING" if code >= 400 else "INFO"
            return new_row(meta, lineno, ts, level, "httpd.access", line, status=code)

        return fold(lines, recognise, stats, meta)
