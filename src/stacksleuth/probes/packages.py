"""Installed packages as host facts (`packages(host)`), OpenStack packages from more than one release or a
half-done upgrade, and the package repositories (knowledge/probes/packages.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes import repositories
from stacksleuth.probes.explain import explained
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, knowledge

# `dpkg -l`: desired state, current state, error flag; then name, version, architecture, description
_DPKG = re.compile(r"^(?P<want>[uirph])(?P<state>[ncuihfwt])(?P<err>[ R]?)\s+(?P<name>\S+)\s+(?P<version>\S+)")
_DPKG_HEADER = re.compile(r"^(?:Desired=|\| Status=|\|/ Err\?=|\|\|/ Name|\+\+\+-)")
# `rpm -qa` / sosreport's installed-rpms: name-version-release.arch, maybe followed by the install date
_RPM = re.compile(r"^(?P<name>\S+)-(?P<version>[^-\s]+)-(?P<release>[^-\s]+?)"
                  r"\.(?:noarch|x86_64|i686|aarch64|ppc64le|s390x)(?:\s|$)")


@dataclass(frozen=True, slots=True)
class Inventory:
    """The installed packages as one capture lists them: name → version, the line each came from, and the
    lines that were not understood (counted, never dropped silently)."""

    where: str
    versions: dict[str, str]
    lines: dict[str, tuple[int, str]]
    unparsed: tuple[int, ...]

    def evidence(self, host: Host, name: str) -> Evidence:
        """The capture's line for package `name`."""
        number, text = self.lines[name]
        return Evidence(host.name, self.where, number, " ".join(text.split())[:300])


def inventory(host: Host) -> Inventory | None:
    """`dpkg -l` (live or sos_commands/dpkg/dpkg_-l), else `rpm -qa` (installed-rpms); None when neither exists."""
    captured = host.command("dpkg-l")
    if captured is not None:
        return _parse(captured, _DPKG, installed=lambda m: m["state"] in "ih", header=_DPKG_HEADER)
    captured = host.command("rpm-qa")
    if captured is not None:
        return _parse(captured, _RPM, installed=lambda m: True, header=None)
    return None


def packages(host: Host) -> dict[str, str]:
    """Installed package → version (`2:26.2.2-1~deb12u5`, `26.2.0-1.el9`); {} when the host lists none."""
    found = inventory(host)
    return dict(found.versions) if found else {}


def _parse(captured: tuple[str, str], pattern: re.Pattern[str], installed: Any, header: re.Pattern[str] | None) -> Inventory:
    text, where = captured
    versions: dict[str, str] = {}
    lines: dict[str, tuple[int, str]] = {}
    unparsed = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or (header and header.match(line)):
            continue
        m = pattern.match(line.strip() if header else line)
        if m is None:
            unparsed.append(number)
        elif installed(m):
            name = m["name"].split(":", 1)[0]  # dpkg's multiarch `libfoo:amd64`
            versions[name] = m["version"] if header else f"{m['version']}-{m['release']}"
            lines[name] = (number, line)
    return Inventory(where, versions, lines, tuple(unparsed))


# --- OpenStack releases ------------------------------------------------------------------------------------

def project_of(package: str) -> str | None:
    """The OpenStack project a package belongs to (`nova-compute` → nova), None for anything else."""
    data = knowledge("packages.yaml")
    name = next((package[len(p):] for p in data["prefixes"] if package.startswith(p)), package)
    project, _, rest = name.partition("-")
    if project not in data["projects"] or rest.split("-", 1)[0] in data["other_deliverables"]:
        return None
    return project


def upstream(version: str) -> str:
    """The upstream part of a package version: `2:26.2.2-1~deb12u5` → 26.2.2, `26.2.0-1.el9` → 26.2.0."""
    return version.split(":", 1)[-1].rsplit("-", 1)[0].split("~", 1)[0]


def release_of(project: str, version: str) -> str | None:
    """The OpenStack series a project's version belongs to (nova 26.x → zed), None when unknown."""
    return _series(project).get(upstream(version).split(".", 1)[0])


@cache
def _series(project: str) -> dict[str, str]:
    data = knowledge("packages.yaml")
    (first, major), = data["projects"][project].items()
    start = data["series"].index(first)
    return {str(major + i): name for i, name in enumerate(data["series"][start:])}


def openstack(found: Inventory) -> dict[str, dict[str, str]]:
    """project → {package: version} of the installed OpenStack packages."""
    projects: dict[str, dict[str, str]] = {}
    for name, version in sorted(found.versions.items()):
        if (project := project_of(name)) is not None:
            projects.setdefault(project, {})[name] = version
    return projects


# --- the probe ---------------------------------------------------------------------------------------------

def probe(host: Host) -> Outcome:
    """Installed packages, OpenStack releases among them, the package repositories."""
    found = inventory(host)
    repos = repositories.probe(host, found.versions if found else {})
    if found is None:
        return Outcome((Check("packages/installed", "skipped", "no `dpkg -l` or `rpm -qa` output"),) + repos.checks,
                       repos.findings)
    projects = openstack(found)
    unparsed = (f"; {len(found.unparsed)} line(s) not understood ({found.where} line "
                f"{', '.join(map(str, found.unparsed[:5]))}{'…' if len(found.unparsed) > 5 else ''})" if found.unparsed else "")
    summary = f"{len(found.versions)} packages installed ({found.where}){unparsed}"
    checks = [Check("packages/installed", "problem" if found.unparsed else "info", summary)]
    findings = _mixed(host, found, projects)
    releases = {p: sorted({release_of(p, v) or f"{p} {upstream(v)} (unknown release)" for v in pkgs.values()})
                for p, pkgs in projects.items()}
    checks.append(Check("packages/openstack-release", "problem" if findings else "ok" if projects else "skipped",
                        "; ".join(f"{p} {', '.join(sorted({upstream(v) for v in pkgs.values()}))} ({', '.join(releases[p])})"
                                  for p, pkgs in projects.items()) or "no OpenStack package installed"))
    return Outcome(tuple(checks) + repos.checks, tuple(findings) + repos.findings)


def _mixed(host: Host, found: Inventory, projects: dict[str, dict[str, str]]) -> list[Finding]:
    findings = []
    by_release: dict[str, list[str]] = {}
    for project, pkgs in projects.items():
        for name, version in pkgs.items():
            if (series := release_of(project, version)) is not None:
                by_release.setdefault(series, []).append(name)
        if len({upstream(v) for v in pkgs.values()}) > 1:
            detail = ", ".join(f"{n} {v}" for n, v in pkgs.items())
            findings.append(explained("packages.yaml", "project-versions-differ", project,
                                      [found.evidence(host, n) for n in pkgs][:6], project=project,
                                      versions=", ".join(sorted({upstream(v) for v in pkgs.values()})), detail=detail))
    if len(by_release) > 1:
        order = knowledge("packages.yaml")["series"]
        releases = sorted(by_release, key=order.index)
        detail = "; ".join(f"{series}: {', '.join(names[:4])}{'…' if len(names) > 4 else ''}" for series, names in
                           sorted(by_release.items(), key=lambda kv: order.index(kv[0])))
        sample = [names[0] for names in by_release.values()]
        findings.insert(0, explained("packages.yaml", "mixed-releases", "packages",
                                     [found.evidence(host, n) for n in sample], releases=", ".join(releases),
                                     detail=detail, projects_regex="|".join(sorted(projects)), sample=" ".join(sample)))
    return findings
