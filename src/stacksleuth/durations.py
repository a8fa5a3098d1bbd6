"""Durations as people write them ('90s', '10m', '2h', '1d', '1h30m'), for rule thresholds and `diagnose --last`."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> timedelta | None:
    """The duration `text` says, or None when it is not one (or is zero)."""
    compact = re.sub(r"\s+", "", text)
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        return None
    total = sum((timedelta(**{_UNITS[u]: int(n)}) for n, u in parts), timedelta())
    return total or None
