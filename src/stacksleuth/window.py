"""The part of a bundle to diagnose: a time window and/or one id (`diagnose --since/--until/--last/--about`).

A host's whole /var/log holds weeks of unrelated failures; at 3 a.m. the operator knows when it broke, or which
server broke. Times are the logs' own (the index keeps each line's timestamp as written); `--last` counts back
from the newest line in the bundle, not from now, so it works the same on a sosreport taken last week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from stacksleuth.durations import duration
from stacksleuth.errors import UsageError

_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
            "%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class Window:
    """What the user asked to look at; `resolve` turns it into index timestamps once the newest line is known."""

    since: datetime | None = None
    until: datetime | None = None
    last: timedelta | None = None
    about: str | None = None

    @property
    def limits_time(self) -> bool:
        return self.since is not None or self.until is not None or self.last is not None

    def resolve(self, newest: str | None) -> tuple[str | None, str | None]:
        """(since, until) in the index's 'YYYY-MM-DD HH:MM:SS.mmm' form."""
        since = self.since
        if self.last is not None and newest:
            back = datetime.fromisoformat(newest) - self.last
            since = max(since, back) if since else back
        return _stamp(since), _stamp(self.until)


def parse_time(text: str, option: str) -> datetime:
    """'2026-11-21 07:15', '2026-11-21T07:15:30', '2026-11-21' → datetime; a bad value is a usage error."""
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise UsageError(f"{option} {text!r}: expected a time like '2026-11-21 07:15' (the logs' own clock)")


def parse_duration(text: str) -> timedelta:
    """'90m', '2h', '1d', '1h30m' → timedelta; a bad value is a usage error."""
    found = duration(text)
    if found is None:
        raise UsageError(f"--last {text!r}: expected a duration like 30m, 2h, 1d or 1h30m")
    return found


def _stamp(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")[:23] if at else None
