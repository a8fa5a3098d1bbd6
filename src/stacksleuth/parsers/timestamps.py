"""Turn the timestamp styles of the formats we read into one sortable text: 'YYYY-MM-DD HH:MM:SS.mmm'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}


def oslo(date_time: str) -> str:
    """'2026-11-21 04:52:37.490' as is; pad or cut the fraction to milliseconds."""
    if len(date_time) == 23:
        return date_time
    if len(date_time) == 19:
        return date_time + ".000"
    return date_time[:23]


def with_offset(stamp: str) -> str:
    """ISO with a zone ('…T05:06:32.607149Z', '… 04:53:33.529831+00:00', '…+0000') → UTC text."""
    text = stamp.replace("T", " ", 1)
    if text.endswith("Z"):
        return oslo(text[:-1])
    sign_at = max(text.rfind("+"), text.rfind("-", 19))
    if sign_at < 19:
        return oslo(text)
    zone = text[sign_at + 1 :].replace(":", "")
    offset = timedelta(hours=int(zone[:2]), minutes=int(zone[2:4] or 0))
    if offset == timedelta(0):
        return oslo(text[:sign_at])
    local = datetime.fromisoformat(oslo(text[:sign_at]))
    utc = local - offset if text[sign_at] == "+" else local + offset
    return utc.replace(tzinfo=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:23]


def ctime(stamp: str) -> str:
    """uwsgi's 'Sat Nov 21 04:52:37 2026' → '2026-11-21 04:52:37.000'."""
    _, month, day, clock, year = stamp.split()
    return f"{year}-{_MONTHS[month]:02d}-{int(day):02d} {clock}.000"


def syslog(stamp: str, year: int) -> str:
    """'Nov 21 04:53:33' (no year in the line) → with the year the caller infers."""
    month, day, clock = stamp.split()
    return f"{year}-{_MONTHS[month]:02d}-{int(day):02d} {clock}.000"
