"""Snapshots per libvirt domain, and the free space of the storage holding them (seed 000: more than one or two
snapshots on a domain is a finding). Sources: libvirt's snapshot metadata (`virsh snapshot-list` live; on a host
root /var/lib/libvirt/qemu/snapshot/<domain>/*.xml, or sosreport's `ls -lR /var/lib/libvirt/qemu`) and, live,
qcow2 internal snapshots of the domains' and nova's instance disks (`qemu-img snapshot -l`), which also shows
snapshots taken with qemu-img behind libvirt's back."""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, finding, knowledge
from stacksleuth.probes.resources import free_gb, storage_dirs

_SNAPSHOT_DIR = "/var/lib/libvirt/qemu/snapshot"
_QEMU_IMG_ROW = re.compile(r"^(\d+)\s+(\S+)\s")
_LS_SECTION = re.compile(r"^(/\S*?):$")


@dataclass(frozen=True, slots=True)
class Disk:
    """A file-backed disk of a domain."""

    target: str
    path: str
    format: str


@dataclass(frozen=True, slots=True)
class Snapshots:
    """One domain's (or one lone disk's) snapshots: their names, how they were seen, the lines that show them."""

    owner: str
    uuid: str
    disks: tuple[Disk, ...]
    libvirt: tuple[str, ...]
    internal: tuple[str, ...]
    evidence: tuple[Evidence, ...]

    @property
    def count(self) -> int:
        """libvirt's internal snapshots are also the qcow2's, so the larger of the two, not the sum."""
        return max(len(self.libvirt), len(self.internal))


def probe(host: Host) -> Outcome:
    """Every domain's snapshots, then nova disks no domain claims (live); a finding past the maximum."""
    seen = [_domain(host, name) for name in _domain_names(host)]
    if host.live:
        claimed = {d.path for s in seen for d in s.disks}
        nova_disks = host.glob(f"{storage_dirs(host)[0]}/*/disk")
        seen += [s for path in nova_disks if path not in claimed and (s := _lone_disk(host, path))]
    if not seen:
        return Outcome((Check("libvirt/snapshots", "skipped", "no libvirt domain or nova instance disk found"),))
    data = knowledge("libvirt-storage.yaml")["snapshots"]
    findings = tuple(_finding(host, s, data) for s in seen if s.count > data["max_per_domain"])
    counted = ", ".join(f"{s.owner} {s.count}" for s in seen if s.count) or "none"
    summary = f"{len(seen)} domain(s); snapshots: {counted} (more than {data['max_per_domain']} is a finding)"
    return Outcome((Check("libvirt/snapshots", "problem" if findings else "ok", summary),), findings)


def _domain_names(host: Host) -> list[str]:
    """Domains from `virsh list --all`; on a root also those with a definition or snapshot metadata on disk."""
    names: list[str] = []
    listed = host.command("virsh-list")
    if listed is not None:
        names += [row.split()[1] for _, row in _table_rows(listed[0]) if len(row.split()) >= 2]
    if not host.live:
        names += [posixpath.basename(p).removesuffix(".xml") for p in host.glob("/etc/libvirt/qemu/*.xml")]
        names += [posixpath.basename(p) for p in host.glob(f"{_SNAPSHOT_DIR}/*")]
        names += list(_ls_snapshots(host))
    return sorted(set(names))


def _domain(host: Host, name: str) -> Snapshots:
    """A domain's identity and disks (its XML), libvirt's snapshots of it, and, live, its disks' internal ones."""
    libvirt, evidence = _libvirt_snapshots(host, name)
    xml = host.command("virsh-dumpxml", domain=name)
    root = _parse(xml[0]) if xml else None
    if root is None and not host.live:  # a snapshot's metadata carries the domain's definition too
        snapshot_files = host.glob(f"{_SNAPSHOT_DIR}/{name}/*.xml")
        snapshot = _parse(host.file(snapshot_files[0]) or "") if snapshot_files else None
        root = snapshot.find("domain") if snapshot is not None else None
    uuid = (root.findtext("uuid") or "").strip() if root is not None else ""
    disks = _disks(root) if root is not None else ()
    per_disk = [_internal_snapshots(host, d.path) for d in disks if d.format == "qcow2"]
    internal, lines = max(per_disk, key=lambda found: len(found[0]), default=((), ()))
    return Snapshots(name, uuid, disks, libvirt, internal, evidence if len(libvirt) >= len(internal) else lines)


def _lone_disk(host: Host, path: str) -> Snapshots | None:
    """A nova instance disk no defined domain uses (its domain undefined, or defined elsewhere)."""
    names, lines = _internal_snapshots(host, path)
    uuid = posixpath.basename(posixpath.dirname(path))
    return Snapshots(path, uuid, (Disk("", path, "qcow2"),), (), names, lines) if names else None


def _libvirt_snapshots(host: Host, domain: str) -> tuple[tuple[str, ...], tuple[Evidence, ...]]:
    """Snapshot names libvirt keeps for `domain`, with the line that shows each."""
    if host.live:
        listed = host.command("virsh-snapshot-list", domain=domain)
        if listed is None:
            return (), ()
        rows = _table_rows(listed[0])
        return (tuple(row.split()[0] for _, row in rows),
                tuple(Evidence(host.name, listed[1], n, row.strip()) for n, row in rows))
    names: list[str] = []
    evidence: list[Evidence] = []
    for path in host.glob(f"{_SNAPSHOT_DIR}/{domain}/*.xml"):
        for number, line in enumerate((host.file(path) or "").splitlines(), 1):
            if m := re.match(r"\s*<name>(.*)</name>", line):  # the snapshot's own name comes before its <domain>
                names.append(m[1])
                evidence.append(Evidence(host.name, path, number, line.strip()))
                break
    if not names:
        for name, item in _ls_snapshots(host).get(domain, []):
            names.append(name)
            evidence.append(item)
    return tuple(names), tuple(evidence)


def _ls_snapshots(host: Host) -> dict[str, list[tuple[str, Evidence]]]:
    """sosreport's `ls -lR /var/lib/libvirt/qemu`: the snapshot XML files listed under snapshot/<domain>."""
    captured = host.command("ls-libvirt-qemu")
    found: dict[str, list[tuple[str, Evidence]]] = {}
    if captured is None:
        return found
    domain = None
    for number, line in enumerate(captured[0].splitlines(), 1):
        if m := _LS_SECTION.match(line.strip()):
            parent, _, leaf = m[1].rstrip("/").rpartition("/")
            domain = leaf if parent == _SNAPSHOT_DIR else None
        elif domain and line.startswith("-") and line.rstrip().endswith(".xml") and len(line.split()) >= 9:
            name = line.split(None, 8)[8].strip().removesuffix(".xml")
            found.setdefault(domain, []).append((name, Evidence(host.name, captured[1], number, line.strip())))
    return found


def _internal_snapshots(host: Host, path: str) -> tuple[tuple[str, ...], tuple[Evidence, ...]]:
    """qcow2 internal snapshots of a disk image (live only: a root has no images to open)."""
    if not host.live:
        return (), ()
    listed = host.command("qemu-img-snapshots", path=path)
    if listed is None:
        return (), ()
    rows = [(n, m[2], line) for n, line in enumerate(listed[0].splitlines(), 1) if (m := _QEMU_IMG_ROW.match(line))]
    return tuple(tag for _, tag, _ in rows), tuple(Evidence(host.name, listed[1], n, line.strip()) for n, _, line in rows)


def _disks(root: ET.Element) -> tuple[Disk, ...]:
    disks = []
    for disk in root.iterfind("devices/disk"):
        source = disk.find("source")
        path = source.get("file") if source is not None else None
        if disk.get("device", "disk") == "disk" and path:
            driver = disk.find("driver")
            target = disk.find("target")
            disks.append(Disk(target.get("dev", "") if target is not None else "", path,
                              driver.get("type", "") if driver is not None else ""))
    return tuple(disks)


def _parse(text: str) -> ET.Element | None:
    try:
        return ET.fromstring(text)
    except ET.ParseError:
        return None


def _table_rows(text: str) -> list[tuple[int, str]]:
    """The rows of a virsh table with their line numbers: the lines after its `----` rule, blank ones dropped."""
    lines = list(enumerate(text.splitlines(), 1))
    rule = next((i for i, (_, line) in enumerate(lines) if line.strip() and set(line.strip()) == {"-"}), None)
    return [(n, line) for n, line in lines[rule + 1:] if line.strip()] if rule is not None else []


def _finding(host: Host, seen: Snapshots, data: dict[str, Any]) -> Finding:
    disk = seen.disks[0] if seen.disks else None
    directory = posixpath.dirname(disk.path) if disk else "/var/lib/libvirt/images"
    free = free_gb(host, directory) if disk else None
    if free is not None:
        storage = data["storage_known"].format(free=free[0], path=directory, where=free[1])
    else:
        storage = data["storage_unknown" if disk else "storage_none"].format(path=directory)
    kinds = "; ".join(part for part in (
        f"{len(seen.libvirt)} in libvirt's metadata" if seen.libvirt else "",
        f"{len(seen.internal)} internal in {posixpath.basename(disk.path) if disk else 'the disk'}" if seen.internal
        else "") if part)
    values = {"domain": seen.owner, "count": seen.count, "names": ", ".join((seen.libvirt or seen.internal)[:10]),
              "instance": f" (instance {seen.uuid})" if seen.uuid else "", "kinds": kinds, "storage": storage,
              "disk": disk.path if disk else "<disk>", "directory": directory}
    low = free is not None and free[0] < 1
    return finding("error" if low else "warning", "libvirt/too-many-snapshots", data["title"].format(**values),
                   data["cause"].format(**values), [f.format(**values) for f in data["fix"]], "libvirt",
                   seen.evidence[:5])
