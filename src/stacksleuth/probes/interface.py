"""What every probe returns: the checks it ran and the findings they produced, in `findings.Finding` form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from stacksleuth.errors import StacksleuthError
from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.host import Host
from stacksleuth.probes.redaction import redact


class ProbeError(StacksleuthError):
    """A probe's knowledge file is missing or malformed (names the file)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One thing that was looked at: `ok`, `problem`, `info`, or `skipped` (the input had nothing to look at)."""

    id: str
    status: str
    summary: str

    def to_json(self) -> dict[str, str]:
        """A plain dict for the JSON report."""
        return {"id": self.id, "status": self.status, "summary": self.summary}


@dataclass(frozen=True, slots=True)
class Outcome:
    """A probe's result."""

    checks: tuple[Check, ...] = ()
    findings: tuple[Finding, ...] = field(default_factory=tuple)


Probe = Callable[[Host], Outcome]


def finding(severity: str, rule: str, title: str, cause: str, fix: list[str] | tuple[str, ...], component: str,
            evidence: list[Evidence] | tuple[Evidence, ...] = (), symptom: str = "", confidence: float = 0.9) -> Finding:
    """A host/config finding: no operation, instance or stage; evidence texts are redacted here, once for all."""
    clean = tuple(Evidence(e.host, e.file, e.line, redact(e.text)) for e in evidence)
    return Finding(severity=severity, title=title, operation=None, instance=None, request_id=None, stage=None,
                   component=component, symptom=symptom, cause=cause, fix=tuple(fix), rule=f"check/{rule}",
                   confidence=confidence, evidence=clean, count=max(1, len(clean)))


@cache
def knowledge(name: str) -> Any:
    """A data file from `stacksleuth/knowledge/probes/` (parsed once per process)."""
    path = resources.files("stacksleuth.knowledge") / "probes" / name
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise ProbeError(f"knowledge/probes/{name}: {exc}") from exc
