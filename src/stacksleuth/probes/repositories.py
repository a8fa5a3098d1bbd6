"""Package repositories: apt's sources.list, sources.list.d/*.list and deb822 *.sources, or yum/dnf's
/etc/yum.repos.d/*.repo. None enabled, some disabled, or OpenStack packages from a repository that is no longer
configured (the seeds' Eucalyptus lesson: check the package sources first)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.explain import explained
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, knowledge

_APT_LINE = re.compile(r"^\s*(?P<comment>#\s*)?(?P<type>deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(?P<uri>\S+://\S+|cdrom:\S+|file:\S+)\s+(?P<rest>.*)$")
_APT_MANAGER = {"manager": "apt", "list_command": "grep -rv '^#' /etc/apt/sources.list /etc/apt/sources.list.d/",
                "refresh_command": "apt-get update"}
_YUM_MANAGER = {"manager": "yum/dnf", "list_command": "dnf repolist --all  # or: yum repolist all",
                "refresh_command": "dnf clean all && dnf makecache"}


@dataclass(frozen=True, slots=True)
class Repo:
    """One configured repository: where it is defined, what it points at, and why it is off when it is."""

    file: str
    line: int
    name: str  # URI and suites (apt) or the [section] and its URL (yum)
    disabled: str | None  # None when enabled, else how: "commented out", "Enabled: no", "enabled=0", …

    def evidence(self, host: Host) -> Evidence:
        """Where the repository is defined."""
        return Evidence(host.name, self.file, self.line, self.name + (f" ({self.disabled})" if self.disabled else ""))


def apt_repos(host: Host) -> list[Repo]:
    """Every repository apt is configured with (or would be, were it not disabled)."""
    repos = _one_line(host, "/etc/apt/sources.list", None)
    for path in host.glob("/etc/apt/sources.list.d/*"):
        ignored = None if path.endswith((".list", ".sources")) else f"apt reads only *.list and *.sources, not {path.rsplit('/', 1)[1]}"
        text = host.file(path) or ""
        repos += _deb822(host, path, ignored) if re.search(r"^\s*(Types|URIs):", text, re.M) else _one_line(host, path, ignored)
    return repos


def _one_line(host: Host, path: str, ignored: str | None) -> list[Repo]:
    repos = []
    for number, line in enumerate((host.file(path) or "").splitlines(), 1):
        if m := _APT_LINE.match(line):
            name = f"{m['type']} {m['uri']} {' '.join(m['rest'].split('#', 1)[0].split())}"
            repos.append(Repo(path, number, name, ignored or ("commented out" if m["comment"] else None)))
    return repos


def _deb822(host: Host, path: str, ignored: str | None) -> list[Repo]:
    """deb822 stanzas (blank-line separated `Field: value`); `Enabled: no` turns one off."""
    repos: list[Repo] = []
    fields: dict[str, str] = {}
    start = 0
    for number, line in enumerate([*(host.file(path) or "").splitlines(), ""], 1):
        if not line.strip():
            if "URIs" in fields:
                off = ignored or ("Enabled: no" if fields.get("Enabled", "yes").lower() in ("no", "false", "0") else None)
                repos.append(Repo(path, start, f"{fields.get('Types', 'deb')} {fields['URIs']} {fields.get('Suites', '')} "
                                                f"{fields.get('Components', '')}".strip(), off))
            fields = {}
        elif not line.lstrip().startswith("#") and ":" in line and not line[0].isspace():
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
            start = start if len(fields) > 1 else number
    return repos


def yum_repos(host: Host) -> list[Repo]:
    """Every [section] of /etc/yum.repos.d/*.repo; `enabled` defaults to 1."""
    repos = []
    for path in host.glob("/etc/yum.repos.d/*.repo"):
        section: tuple[str, int] | None = None
        settings: dict[str, str] = {}
        for number, line in enumerate([*(host.file(path) or "").splitlines(), "[]"], 1):
            if m := re.match(r"^\s*\[(?P<name>[^\]]*)\]", line):
                if section:
                    url = settings.get("baseurl") or settings.get("mirrorlist") or settings.get("metalink") or "no URL"
                    off = "enabled=0" if settings.get("enabled", "1").strip() in ("0", "false", "no") else None
                    repos.append(Repo(path, section[1], f"[{section[0]}] {url}", off))
                section, settings = (m["name"], number), {}
            elif "=" in line and not line.lstrip().startswith(("#", ";")):
                key, _, value = line.partition("=")
                settings[key.strip().lower()] = value.strip()
    return repos


def probe(host: Host, installed: dict[str, str]) -> Outcome:
    """apt or yum/dnf repositories, whichever the host has; `installed` (package → version) for origins."""
    if host.exists("/etc/apt"):
        return _judge(host, apt_repos(host), _APT_MANAGER, installed)
    if host.exists("/etc/yum.repos.d"):
        return _judge(host, yum_repos(host), _YUM_MANAGER, installed)
    return Outcome((Check("packages/repositories", "skipped", "no /etc/apt or /etc/yum.repos.d"),))


def _judge(host: Host, repos: list[Repo], manager: dict[str, str], installed: dict[str, str]) -> Outcome:
    enabled = [r for r in repos if r.disabled is None]
    disabled = [r for r in repos if r.disabled is not None]
    findings: list[Finding] = []
    detail = "; ".join(f"{r.name} in {r.file} ({r.disabled})" for r in disabled)
    if not enabled:
        findings.append(explained("packages.yaml", "no-repository", manager["manager"],
                                  [r.evidence(host) for r in disabled][:6] or [Evidence(host.name, "/etc", 0, "no repository file")],
                                  disabled=f" ({len(disabled)} configured but disabled: {detail})" if disabled else "", **manager))
    elif disabled:
        findings.append(explained("packages.yaml", "repositories-disabled", manager["manager"],
                                  [r.evidence(host) for r in disabled][:6], count=len(disabled),
                                  ies="y" if len(disabled) == 1 else "ies", detail=detail, **manager))
    findings += _origins(host, enabled, installed)
    summary = (f"{manager['manager']}: {len(enabled)} enabled ({', '.join(r.name for r in enabled[:4])}"
               f"{'…' if len(enabled) > 4 else ''}), {len(disabled)} disabled")
    status = "problem" if any(f.severity != "info" for f in findings) else "info" if findings else "ok"
    return Outcome((Check("packages/repositories", status, summary),), tuple(findings))


def _origins(host: Host, enabled: list[Repo], installed: dict[str, str]) -> list[Finding]:
    """Packages marked as coming from a special archive (Ubuntu Cloud Archive) with that archive not enabled."""
    findings = []
    for origin in knowledge("packages.yaml")["origins"]:
        marked = sorted(n for n, v in installed.items() if origin["marker"] in v)
        if not marked or any(mark in r.name for r in enabled for mark in origin["repos"]):
            continue
        sample = next((n for n in marked if n.startswith(("nova", "neutron", "python3-"))), marked[0])
        findings.append(explained("packages.yaml", "origin-not-configured", "packages",
                                  [r.evidence(host) for r in enabled][:3] or [Evidence(host.name, "/etc/apt", 0, "no enabled repository")],
                                  origin=origin["name"], marker=origin["marker"], count=len(marked), sample=sample,
                                  version=installed[sample]))
    return findings
