"""Run every probe on a host and build the `stacksleuth/diagnosis/v1` document with its `checks` section."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stacksleuth.errors import SourceError
from stacksleuth.findings import SCHEMA, Finding
from stacksleuth.probes import (
    dns,
    iscsi,
    kvm,
    libvirt,
    memcached,
    multipath,
    netmanagers,
    netpath,
    network,
    openstack,
    packages,
    pools,
    qemu_logs,
    resources,
    snapshots,
)
from stacksleuth.probes.host import Host
from stacksleuth.probes.ini import gmr_service, is_gmr, parse_gmr, parse_ini
from stacksleuth.probes.interface import Outcome, Probe

PROBES: tuple[Probe, ...] = (kvm.probe, libvirt.probe, qemu_logs.probe, snapshots.probe, pools.probe, resources.probe,
                             openstack.probe, network.probe, dns.probe, packages.probe,
                             multipath.probe, iscsi.probe, memcached.probe, netmanagers.probe)


def check_host(host: Host) -> dict[str, Any]:
    """Every probe on `host`, findings most important first."""
    outcomes = [probe(host) for probe in PROBES]
    source = {"host": host.name, "root": None if host.live else str(host.root), "live": host.live}
    return document(source, outcomes)


def check_network(host: Host, instance: str, port: str | None = None) -> dict[str, Any]:
    """One instance's network path on `host` (probes/netpath.py), then the host's network checks."""
    source = {"host": host.name, "root": None if host.live else str(host.root), "live": host.live, "instance": instance}
    return document(source, [netpath.walk(network.facts(host), instance, port)])


def check_file(path: Path) -> dict[str, Any]:
    """One config file or Guru Meditation Report (its Configuration section), outside any host root."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror})") from exc
    if is_gmr(text):
        service, settings, gmr = gmr_service(text), parse_gmr(text, str(path)), True
    else:
        service = next((s for s in openstack.CONFIG_FILES if path.name.startswith(s)), path.name.split(".")[0])
        settings, gmr = parse_ini(text, str(path)), False
    outcome = openstack.check_settings(path.name, {service: [(str(path), settings)]}, gmr=gmr)
    return document({"host": None, "root": str(path), "live": False}, [outcome])


def document(source: dict[str, Any], outcomes: list[Outcome]) -> dict[str, Any]:
    """The JSON document: the diagnosis schema (no operations here) plus what was checked."""
    findings: list[Finding] = sorted((f for o in outcomes for f in o.findings), key=Finding.sort_key)
    return {"schema": SCHEMA, "source": source, "findings": [f.to_json() for f in findings], "operations": [],
            "checks": [c.to_json() for o in outcomes for c in o.checks]}
