"""libvirt storage pools and the space left in each: `virsh pool-list` / `pool-dumpxml` live or as sosreport's
virsh plugin captured them, else the pool definitions in /etc/libvirt/storage with the root's df. A pool whose
directory `resources.py` already reports (instances, default images) is listed but not reported twice."""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, finding, knowledge
from stacksleuth.probes.resources import MIN_FREE_GB, free_gb, storage_dirs

_GB = 2**30
_UNITS = {"bytes": 1, "b": 1, "kib": 2**10, "k": 2**10, "mib": 2**20, "m": 2**20, "gib": _GB, "g": _GB,
          "tib": 2**40, "t": 2**40, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}


@dataclass(frozen=True, slots=True)
class Pool:
    """A pool's type, where it keeps volumes, and its space in GB (None: not known, e.g. an inactive pool)."""

    name: str
    type: str
    path: str
    capacity: float | None
    allocation: float | None
    available: float | None
    where: str
    line: tuple[int, str]  # the line that says how much is available, where there is one


def probe(host: Host) -> Outcome:
    """A check per pool; a finding for each pool short of space that no other check covers."""
    pools = [p for name in _pool_names(host) if (p := _pool(host, name)) is not None]
    if not pools:
        return Outcome((Check("libvirt/storage-pools", "skipped", "no libvirt storage pool listed or defined"),))
    checks: list[Check] = []
    findings: list[Finding] = []
    for pool in pools:
        if pool.available is None:
            checks.append(Check(f"libvirt/pool:{pool.name}", "skipped", f"{pool.type} pool at {pool.path}: space "
                                "not known (inactive, or no capture of it)"))
            continue
        short = pool.available < MIN_FREE_GB and not _covered(host, pool.path)
        checks.append(Check(f"libvirt/pool:{pool.name}", "problem" if short else "ok",
                            f"{pool.type} pool at {pool.path}: {_size(pool.available)} available ({pool.where})"))
        if short:
            findings.append(_finding(host, pool))
    return Outcome(tuple(checks), tuple(findings))


def _pool_names(host: Host) -> list[str]:
    """Active pools from `virsh pool-list`; on a root without that capture, the defined ones."""
    listed = host.command("virsh-pool-list")
    if listed is not None:
        lines = listed[0].splitlines()
        rule = next((i for i, line in enumerate(lines) if line.strip() and set(line.strip()) == {"-"}), len(lines))
        return [line.split()[0] for line in lines[rule + 1:] if line.strip()]
    if host.live:
        return []
    return [posixpath.basename(p).removesuffix(".xml") for p in host.glob("/etc/libvirt/storage/*.xml")]


def _pool(host: Host, name: str) -> Pool | None:
    captured = host.command("virsh-pool-dumpxml", pool=name)
    try:
        root = ET.fromstring(captured[0]) if captured else None
    except ET.ParseError:
        root = None
    if root is None or captured is None:
        return None
    path = (root.findtext("target/path") or root.findtext("source/name") or "").strip()
    sizes = {key: _gb(root.find(key)) for key in ("capacity", "allocation", "available")}
    where = captured[1]
    line = next(((n, text.strip()) for n, text in enumerate(captured[0].splitlines(), 1) if "<available" in text),
                (0, ""))
    if not sizes["capacity"] and path.startswith("/"):  # a definition, not a live pool: ask the filesystem
        free = free_gb(host, path)
        sizes = {"capacity": None, "allocation": None, "available": free[0] if free else None}
        where, line = (free[1], (0, f"{path}: {free[0]:.2f} GB free")) if free else (where, line)
    return Pool(name, root.get("type", "?"), path, sizes["capacity"], sizes["allocation"], sizes["available"],
                where, line)


def _gb(element: ET.Element | None) -> float | None:
    if element is None or not (element.text or "").strip().isdigit():
        return None
    return int((element.text or "0").strip()) * _UNITS.get(element.get("unit", "bytes").lower(), 1) / _GB


def _size(gb: float) -> str:
    """Small pools in MB: "0.0 GB" would hide whether anything is left."""
    return f"{gb * 1024:.0f} MB" if gb < 1 else f"{gb:.1f} GB"


def _covered(host: Host, path: str) -> bool:
    """Whether resources.py reports this directory's free space already (the same condition it uses)."""
    return path.rstrip("/") in storage_dirs(host) and (host.live or host.exists(path)) and free_gb(host, path) is not None


def _finding(host: Host, pool: Pool) -> Finding:
    data: dict[str, Any] = knowledge("libvirt-storage.yaml")["pools"]
    size = f" of {_size(pool.capacity)} ({_size(pool.allocation or 0)} allocated)" if pool.capacity else ""
    values = {"pool": pool.name, "type": pool.type, "path": pool.path, "free": _size(pool.available or 0),
              "size": size, "minimum": MIN_FREE_GB}
    return finding("error" if (pool.available or 0) < 1 else "warning", "libvirt/pool-low-space",
                   data["title"].format(**values), data["cause"].format(**values),
                   [f.format(**values) for f in data["fix"]], "libvirt", [Evidence(host.name, pool.where, *pool.line)])
