"""Per-domain QEMU logs (/var/log/libvirt/qemu/<domain>.log): errors and warnings, explained
(knowledge/probes/qemu-log.yaml), one finding per kind of line with every domain it hit."""

from __future__ import annotations

import re
from typing import Any

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, finding, knowledge

_QEMU_LINE = re.compile(r"qemu-system-\w+: |shutting down, reason=|Could not access KVM|failed to initialize kvm", re.I)
_MAX_EVIDENCE = 5


def probe(host: Host) -> Outcome:
    """Scan every domain log; lines matching the same knowledge entry make one finding."""
    logs = host.glob("/var/log/libvirt/qemu/*.log")
    if not logs:
        return Outcome((Check("libvirt/qemu-logs", "skipped", "no /var/log/libvirt/qemu/*.log"),))
    hits: dict[int, list[Evidence]] = {}
    for path in logs:
        for number, line in enumerate((host.file(path) or "").splitlines(), 1):
            if _QEMU_LINE.search(line):
                index = _classify(line)
                if index is not None:
                    hits.setdefault(index, []).append(Evidence(host.name, path, number, line.strip()))
    entries = knowledge("qemu-log.yaml")
    findings = tuple(_finding(entries[i], lines) for i, lines in sorted(hits.items()))
    status = "problem" if any(f.severity != "info" for f in findings) else "ok"
    return Outcome((Check("libvirt/qemu-logs", status, f"{len(logs)} domain log(s), {sum(map(len, hits.values()))} "
                          "line(s) worth a look"),), findings)


def _classify(line: str) -> int | None:
    for index, entry in enumerate(knowledge("qemu-log.yaml")):
        if re.search(entry["match"], line):
            return None if entry.get("ignore") else index
    return None


def _finding(entry: dict[str, Any], lines: list[Evidence]) -> Finding:
    m = re.search(entry["match"], lines[0].text)
    cause = entry["cause"].format(*(m.groups() if m else ()), **(m.groupdict() if m else {}))
    domains = sorted({e.file.rsplit("/", 1)[-1].removesuffix(".log") for e in lines})
    slug = re.sub(r"[^a-z0-9]+", "-", entry["title"].lower()).strip("-")
    return finding(entry["severity"], f"qemu/{slug}", entry["title"], f"{cause} Domains: {', '.join(domains)}.",
                   entry["fix"], "qemu", lines[:_MAX_EVIDENCE])
