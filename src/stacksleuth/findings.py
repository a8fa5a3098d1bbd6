"""What diagnosis produces: findings with their evidence, in the stable `stacksleuth/diagnosis/v1` schema."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from stacksleuth.events import Event

SCHEMA = "stacksleuth/diagnosis/v1"
SEVERITY_ORDER = {"critical": 0, "error": 1, "warning": 2, "info": 3}


@dataclass(frozen=True, slots=True)
class Evidence:
    """A real log line that supports a finding, and where to find it."""

    host: str
    file: str
    line: int
    text: str

    @classmethod
    def of(cls, event: Event) -> Evidence:
        """Evidence pointing at an event's first line."""
        return cls(event.host, event.file, event.line, f"{event.ts or ''} {event.level} {event.logger} {event.message}".strip())


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: where it broke, why, how to fix it, and the lines that prove it."""

    severity: str
    title: str
    operation: str | None
    instance: str | None
    request_id: str | None
    stage: str | None
    component: str
    symptom: str
    cause: str
    fix: tuple[str, ...]
    rule: str
    confidence: float
    evidence: tuple[Evidence, ...]
    count: int = 1  # how many matching events the bundle holds
    related: tuple[str, ...] = field(default_factory=tuple)  # other rules that matched the same operation
    origin: str = ""  # not from the logs: what it was read from (a saved `check cloud` capture); "" for logs

    def to_json(self) -> dict[str, Any]:
        """A plain dict for the JSON report."""
        data = asdict(self)
        data["fix"] = list(self.fix)
        data["related"] = list(self.related)
        data["evidence"] = [asdict(e) for e in self.evidence]
        if not self.origin:
            del data["origin"]  # findings from logs (and `check`'s own) keep the keys they always had
        return data

    def sort_key(self) -> tuple[int, int, float]:
        """Most important first: by severity, then an operation's root cause before a bundle-wide problem."""
        return (SEVERITY_ORDER[self.severity], 0 if self.operation else 1, -self.confidence)
