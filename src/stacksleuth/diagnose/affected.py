"""Known bugs against the installed packages: a finding of a rule with `affects` is raised only where it can be.

A sosreport keeps weeks of logs; a traceback from before the upgrade that fixed the bug is history. When a host's
package list (`sos_commands/dpkg/dpkg_-l`, `installed-rpms`, or `dpkg -l` on the live host) shows a version
outside the rule's ranges, the finding is set aside and reported as such, never silently dropped. Versions are
compared as Debian does (epoch, `~` before anything); rpm versions compare well enough the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from debian.debian_support import Version

from stacksleuth.diagnose.rulebook import Affects, Rule
from stacksleuth.findings import Finding
from stacksleuth.probes.host import Host
from stacksleuth.probes.packages import packages


@dataclass(frozen=True, slots=True)
class Spared:
    """A finding not raised because every host it came from has a fixed version."""

    rule: str
    package: str
    versions: dict[str, str]  # host → installed version

    def to_json(self) -> dict[str, object]:
        return {"rule": self.rule, "package": self.package, "versions": self.versions}


def host_packages(roots: dict[str, Path]) -> dict[str, dict[str, str]]:
    """host → {package: version} for each host root that lists its packages (the live host asks dpkg)."""
    found: dict[str, dict[str, str]] = {}
    for name, root in roots.items():
        if root.name == "log" and root.parent.name == "var":  # `diagnose <root>/var/log`: the files beside var/
            root = root.resolve().parent.parent
        listed = packages(Host(name, root, live=root == Path("/")))
        if listed:
            found[name] = listed
    return found


def affected(affects: Affects, version: str) -> bool:
    """True when `version` falls in one of the bug's ranges."""
    have = Version(version)
    for low, high, under in affects.ranges:
        if low is not None and have < Version(low):
            continue
        if high is not None and have > Version(high):
            continue
        if under is not None and have >= Version(under):
            continue
        return True
    return False


def set_aside(findings: list[Finding], rules: list[Rule],
              installed: dict[str, dict[str, str]]) -> tuple[list[Finding], list[Spared]]:
    """The findings to raise, and those of known bugs every evidence host is past (by its package versions)."""
    by_id = {r.id: r for r in rules}
    kept: list[Finding] = []
    spared: list[Spared] = []
    for finding in findings:
        rule = by_id.get(finding.rule)
        hosts = {e.host for e in finding.evidence}
        if rule is None or rule.affects is None or not hosts:
            kept.append(finding)
            continue
        versions = {h: installed.get(h, {}).get(rule.affects.package) for h in sorted(hosts)}
        if all(v is not None and not affected(rule.affects, v) for v in versions.values()):
            spared.append(Spared(rule.id, rule.affects.package, {h: str(v) for h, v in versions.items()}))
        else:
            kept.append(finding)
    return kept, spared
