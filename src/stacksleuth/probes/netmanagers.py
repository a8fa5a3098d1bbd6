"""NetworkManager next to another network manager on the same interface (knowledge/probes/network-managers.yaml):
the seeds' default route that cannot be deleted. Which managers run or start at boot comes from `ps` and systemd's
unit lists; which interfaces each configures from their files (probes/netclaims.py); whether NetworkManager really
takes an interface from `nmcli dev` (live or sosreport's capture), else from its own settings."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes import netclaims
from stacksleuth.probes.explain import explained
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, knowledge
from stacksleuth.probes.netclaims import Claim, NMSettings
from stacksleuth.probes.processes import Process, Unit, processes, units

_ON = ("running", "active", "enabled")
_FINDING = {"ifupdown": "nm-and-ifupdown", "network-scripts": "nm-and-network-scripts",
            "systemd-networkd": "nm-and-networkd", "netplan": "nm-and-networkd"}
_SERVICE = {"ifupdown": "ifupdown", "network-scripts": "network-scripts", "systemd-networkd": "systemd-networkd",
            "netplan": "systemd-networkd"}


@dataclass(frozen=True, slots=True)
class Service:
    """A network manager's state: running/active (now), enabled (at boot), stopped, disabled or unknown, and how seen."""

    name: str
    state: str
    seen: str
    evidence: Evidence | None


def services(host: Host) -> dict[str, Service]:
    """Each manager of knowledge's `services`: its process in `ps`, else systemd's unit and unit-file lists."""
    ps = processes(host)
    listed = units(host, "systemctl-units")
    files = units(host, "systemctl-unit-files")
    found = {}
    for name, spec in knowledge("network-managers.yaml")["services"].items():
        found[name] = _service(host, name, spec, ps, listed, files)
    return found


def _service(host: Host, name: str, spec: dict[str, list[str]], ps: tuple[list[Process], str] | None,
             listed: tuple[dict[str, Unit], str] | None, files: tuple[dict[str, Unit], str] | None) -> Service:
    if ps is not None:
        for process in ps[0]:
            if process.name in spec["processes"]:
                return Service(name, "running", f"{ps[1]} line {process.line}: {process.command}",
                               Evidence(host.name, ps[1], process.line, process.command))
    for table, listing in ((listed, "units"), (files, "unit-files")):
        for unit in spec["units"] if table is not None else []:
            row = table[0].get(unit.removesuffix(".service")) if table is not None else None
            if table is not None and row is not None and (state := _unit_state(listing, row)):
                return Service(name, state, f"{table[1]}: {row.text}", Evidence(host.name, table[1], row.line, row.text))
    if ps is not None and spec["processes"]:
        return Service(name, "stopped", f"no {spec['processes'][0]} process in {ps[1]}", None)
    return Service(name, "unknown", "no process or systemd unit list says", None)


def _unit_state(listing: str, row: Unit) -> str:
    """`systemctl list-units` (load, active, sub): active or nothing; `list-unit-files` (state, preset): enabled/disabled."""
    if listing == "units":
        return "active" if row.columns[1] == "active" else ""
    return {"enabled": "enabled", "disabled": "disabled", "masked": "disabled"}.get(row.columns[0], "")


# --- the probe ---------------------------------------------------------------------------------------------

def probe(host: Host) -> Outcome:
    """Every interface another manager configures, checked against what NetworkManager does with it."""
    running = services(host)
    by_networkd, _, broken = netclaims.netplan(host)
    claims = netclaims.ifupdown(host) + netclaims.network_scripts(host) + netclaims.networkd(host) + by_networkd
    nm = running["NetworkManager"]
    nmcli = host.command("nmcli-dev")
    devices = netclaims.nmcli_devices(nmcli[0]) if nmcli else None
    if nm.state not in _ON and devices and any(s != "unmanaged" for _, _, s in devices.values()):
        nm = Service(nm.name, "running", f"{nmcli[1] if nmcli else ''}: NetworkManager answers", None)
    claimed = {_SERVICE[c.manager] for c in claims} | {"NetworkManager"}
    summary = "; ".join(f"{s.name} {s.state} ({s.seen})" for s in running.values() if s.state != "unknown" or s.name in claimed)
    checks = [Check("network-managers/services", "info", summary + (f"; netplan files not parsed: {', '.join(broken)}" if broken else ""))]
    if nm.state not in _ON:
        status = "skipped" if nm.state == "unknown" else "ok"
        return Outcome(tuple(checks) + (Check("network-managers/devices", status, f"NetworkManager {nm.state}: {nm.seen}"),))
    if not claims:
        return Outcome(tuple(checks) + (Check("network-managers/devices", "ok",
                                              "NetworkManager alone: no interface in ifupdown, ifcfg, networkd or netplan files"),))
    settings = netclaims.nm_settings(host)
    lines: list[str] = []
    findings: list[Finding] = []
    for claim in claims:
        for device in _devices(claim, devices):
            line, finding = _one(host, claim, device, nm, running[_SERVICE[claim.manager]], settings, devices, nmcli)
            lines.append(line)
            findings += [finding] if finding else []
    checks.append(Check("network-managers/devices", "problem" if findings else "ok", "; ".join(lines)))
    return Outcome(tuple(checks), tuple(findings))


def _devices(claim: Claim, devices: dict[str, tuple[int, str, str]] | None) -> list[str]:
    """The interface names a claim covers: a glob (networkd's Name=en*) is matched against `nmcli dev` when there is one."""
    if devices is None or not any(ch in claim.device for ch in "*?["):
        return [claim.device]
    return [d for d in devices if fnmatch.fnmatchcase(d, claim.device)] or [claim.device]


def _nm_takes(host: Host, claim: Claim, device: str, settings: NMSettings | None,
              devices: dict[str, tuple[int, str, str]] | None, nmcli: tuple[str, str] | None) -> tuple[bool, str, Evidence | None]:
    """Whether NetworkManager manages `device`, why, and the `nmcli dev` line that says so."""
    if devices is not None and nmcli is not None:
        if device not in devices:
            return False, f"{nmcli[1]} does not list {device}", None
        number, kind, state = devices[device]
        return state != "unmanaged", f"{nmcli[1]}: {device} {state}", Evidence(host.name, nmcli[1], number, f"{device} {kind} {state}")
    if claim.nm_off:
        return False, claim.nm_off, None
    if settings is not None and (spec := netclaims.unmanaged_by(settings, device)):
        return False, f"unmanaged-devices {spec[0]} ({spec[1]} line {spec[2]})", None
    if (claim.manager == "ifupdown" and settings is not None and "ifupdown" in (settings.plugins or ())
            and not settings.ifupdown_managed):
        return False, f"its ifupdown plugin with [ifupdown] managed=false ({settings.plugins_at[0]})", None
    where = ", ".join(settings.files) if settings else "no NetworkManager.conf"
    managed = (f"; [ifupdown] managed=true ({settings.ifupdown_at[0]} line {settings.ifupdown_at[1]})"
               if claim.manager == "ifupdown" and settings and settings.ifupdown_managed else "")
    return True, f"nothing in its settings leaves {device} alone ({where}){managed}", None


def _one(host: Host, claim: Claim, device: str, nm: Service, other: Service, settings: NMSettings | None,
         devices: dict[str, tuple[int, str, str]] | None, nmcli: tuple[str, str] | None) -> tuple[str, Finding | None]:
    takes, how, seen_by_nm = _nm_takes(host, claim, device, settings, devices, nmcli)
    assumed = other.state == "unknown" and other.name in knowledge("network-managers.yaml")["assumed_on"]
    other_on = other.state in _ON or assumed
    line = (f"{device}: {claim.manager} ({claim.file} line {claim.line}, {other.name} {other.state}); "
            f"NetworkManager {'takes it' if takes else 'leaves it'} ({how})")
    if not (takes and other_on):
        return line, None
    certain = nm.state in ("running", "active") and other.state in _ON and (devices is not None or claim.manager != "netplan")
    other_seen = other.seen if not assumed else f"{other.seen}; its package enables it at boot"
    evidence = [Evidence(host.name, claim.file, claim.line, claim.text)]
    evidence += [e for e in (seen_by_nm, nm.evidence, other.evidence) if e is not None]
    text = {"network-scripts": claim.file,
            "systemd-networkd": f"{claim.file} matches {device} (`{claim.text}`, line {claim.line})",
            "netplan": f"{claim.file} gives {device} to systemd-networkd (`{claim.text}`)",
            }.get(claim.manager, f"{claim.file} line {claim.line} configures {device} (`{claim.text}`)")
    return line, explained("network-managers.yaml", _FINDING[claim.manager], "network", evidence, device=device, claim=text,
                           other_seen=other_seen, nm_seen=nm.seen, nm_how=how, file=claim.file,
                           severity="error" if certain else "warning")
