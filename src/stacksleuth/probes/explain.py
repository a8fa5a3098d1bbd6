"""Findings whose words are data: `knowledge/probes/<file>.yaml` holds, per finding id, its severity, title,
cause and fix with `{placeholders}`; a probe supplies the values it saw and the evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.interface import ProbeError, finding, knowledge


def explained(source: str, finding_id: str, component: str, evidence: Sequence[Evidence] = (),
              **values: Any) -> Finding:
    """The finding `finding_id` of `knowledge/probes/<source>`, its texts filled with `values`.
    The rule is `check/<area>/<finding_id>`, the area being the file's name without `.yaml`."""
    entry = knowledge(source).get("findings", {}).get(finding_id)
    if entry is None:
        raise ProbeError(f"knowledge/probes/{source}: no finding '{finding_id}'")
    try:
        title = entry["title"].format(**values)
        cause = " ".join(entry["cause"].split()).format(**values)
        fix = [line.format(**values) for line in entry.get("fix", [])]
        severity = entry["severity"].format(**values)  # a few depend on what else was seen
    except (KeyError, IndexError) as exc:
        raise ProbeError(f"knowledge/probes/{source}: finding '{finding_id}' uses {exc} that the probe does not give") from exc
    area = source.removesuffix(".yaml")
    return finding(severity, f"{area}/{finding_id}", title, cause, fix, component, tuple(evidence),
                   symptom=entry.get("symptom", "").format(**values), confidence=float(entry.get("confidence", 0.9)))
