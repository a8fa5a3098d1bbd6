"""An event pattern, as rules and workflows write it, and how it becomes a SQL condition over the index.

Patterns use RE2 syntax (DuckDB's regex engine), which Python's `re` also reads, so named groups can be
filled in from a matched event in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from stacksleuth.errors import KnowledgeError
from stacksleuth.events import LEVELS, Event

_KEYS = {"service", "logger", "level", "message", "text", "exception", "status"}


@dataclass(frozen=True, slots=True)
class Pattern:
    """Conditions on one event; every given field must hold."""

    service: str | None = None  # regex, whole service name
    logger: str | None = None  # regex, searched
    level: str | None = None  # minimum level
    message: str | None = None  # regex searched in the first line
    text: str | None = None  # regex searched in the first line and the folded lines
    exception: str | None = None  # regex searched in the exception class
    status: str | None = None  # regex on the HTTP status, e.g. '5\d\d'

    @classmethod
    def load(cls, data: Any, where: str) -> Pattern:
        """Build from YAML, naming `where` (file and key) in any error."""
        if not isinstance(data, dict) or not data:
            raise KnowledgeError(f"{where}: a pattern must be a mapping with some of {sorted(_KEYS)}")
        unknown = set(data) - _KEYS
        if unknown:
            raise KnowledgeError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
        if "level" in data and data["level"] not in LEVELS:
            raise KnowledgeError(f"{where}: level must be one of {sorted(LEVELS)}")
        for key in ("service", "logger", "message", "text", "exception", "status"):
            if key in data:
                try:
                    re.compile(str(data[key]))
                except re.error as exc:
                    raise KnowledgeError(f"{where}.{key}: bad regex: {exc}") from exc
        return cls(**{k: str(v) for k, v in data.items()})

    def sql(self) -> tuple[str, list[Any]]:
        """The WHERE condition for this pattern, with its parameters."""
        parts: list[str] = []
        params: list[Any] = []
        if self.level:
            wanted = [name for name, value in LEVELS.items() if value >= LEVELS[self.level]]
            parts.append(f"level IN ({', '.join('?' for _ in wanted)})")
            params.extend(wanted)
        if self.service:
            parts.append("regexp_full_match(service, ?)")
            params.append(self.service)
        if self.logger:
            parts.append("regexp_matches(logger, ?)")
            params.append(self.logger)
        if self.message:
            parts.append("regexp_matches(message, ?)")
            params.append(self.message)
        if self.text:
            parts.append("(regexp_matches(message, ?) OR regexp_matches(detail, ?))")
            params.extend([self.text, self.text])
        if self.exception:
            parts.append("regexp_matches(coalesce(exception, ''), ?)")
            params.append(self.exception)
        if self.status:
            parts.append("regexp_full_match(CAST(status AS VARCHAR), ?)")
            params.append(self.status)
        return (" AND ".join(parts) or "TRUE"), params

    def matches(self, event: Event) -> bool:
        """The same test in Python, for events already in memory."""
        if self.level and event.severity < LEVELS[self.level]:
            return False
        if self.service and not re.fullmatch(self.service, event.service):
            return False
        if self.logger and not re.search(self.logger, event.logger):
            return False
        if self.message and not re.search(self.message, event.message):
            return False
        if self.text and not (re.search(self.text, event.message) or re.search(self.text, event.detail)):
            return False
        if self.exception and not re.search(self.exception, event.exception or ""):
            return False
        if self.status and not (event.status is not None and re.fullmatch(self.status, str(event.status))):
            return False
        return True

    def groups(self, event: Event) -> dict[str, str]:
        """Named groups the pattern captured from the event, to fill a rule's text."""
        found: dict[str, str] = {}
        for regex, value in ((self.message, event.message), (self.text, f"{event.message}\n{event.detail}"),
                             (self.logger, event.logger), (self.exception, event.exception or "")):
            if regex:
                m = re.search(regex, value)
                if m:
                    found.update({k: v for k, v in m.groupdict().items() if v is not None})
        return found
