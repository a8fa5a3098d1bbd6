"""Memory and disk against what a KVM/OpenStack compute host needs: RAM left for the host, and free space
where instance disks and libvirt's default pool live (nova's instances_path, /var/lib/libvirt/images)."""

from __future__ import annotations

import os
import re

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.host import Host
from stacksleuth.probes.ini import parse_ini
from stacksleuth.probes.interface import Check, Outcome, finding

MIN_MEMORY_MB = 4096  # a compute node below this has little left for guests after the host and nova's 512 MB reserve
MIN_FREE_GB = 10  # one typical 10-20 GB root disk must still fit, plus its image cache copy
_MEMINFO = re.compile(r"^(MemTotal|MemAvailable):\s+(\d+) kB", re.M)
STORAGE = ("/var/lib/nova/instances", "/var/lib/libvirt/images")
_NOVA_CONFS = ("/etc/nova/nova-compute.conf", "/etc/nova/nova.conf")  # nova-compute reads both; the later one wins


def probe(host: Host) -> Outcome:
    """Memory, then free space under each instance/pool directory."""
    memory = _memory(host)
    disk = _disk(host)
    return Outcome(memory.checks + disk.checks, memory.findings + disk.findings)


def _memory(host: Host) -> Outcome:
    text = host.file("/proc/meminfo")
    values = {k: int(v) // 1024 for k, v in _MEMINFO.findall(text or "")}
    if "MemTotal" not in values:
        return Outcome((Check("host/memory", "skipped", "no /proc/meminfo"),))
    total, available = values["MemTotal"], values.get("MemAvailable", values["MemTotal"])
    summary = f"{total} MB total, {available} MB available"
    if total >= MIN_MEMORY_MB:
        return Outcome((Check("host/memory", "ok", summary),))
    evidence = [Evidence(host.name, "/proc/meminfo", 1, f"MemTotal: {total} MB")]
    return Outcome((Check("host/memory", "problem", summary),), (finding(
        "warning", "host/memory-below-minimum", f"Only {total} MB of RAM",
        f"A KVM compute host needs at least {MIN_MEMORY_MB} MB: the host itself, nova's reserved_host_memory_mb "
        "(512 MB by default) and QEMU's overhead per guest come before any guest memory; the scheduler then "
        "finds no host for larger flavors ('No valid host') or the OOM killer ends a guest.",
        ["free -m", "openstack hypervisor show <host> -c memory_mb -c memory_mb_used"], "host", evidence),))


def _disk(host: Host) -> Outcome:
    checks: list[Check] = []
    findings: list[Finding] = []
    for path in storage_dirs(host):
        free = free_gb(host, path) if host.live or host.exists(path) else None
        if free is None:
            continue
        gb, where = free
        ok = gb >= MIN_FREE_GB
        checks.append(Check(f"host/free-space:{path}", "ok" if ok else "problem", f"{gb:.1f} GB free ({where})"))
        if not ok:
            findings.append(finding(
                "error" if gb < 1 else "warning", "host/low-disk-space", f"Only {gb:.1f} GB free under {path}",
                f"Instance disks, their image cache and libvirt's storage pool live under {path}; with under "
                f"{MIN_FREE_GB} GB free a spawn fails with 'No space left on device' or a running guest pauses on "
                "an I/O error when its qcow2 grows.",
                [f"df -h {path}", "du -sh /var/lib/nova/instances/_base  # the image cache",
                 "virsh pool-info default"], "host", [Evidence(host.name, where, 0, f"{path}: {gb:.1f} GB free")]))
    if not checks:
        checks.append(Check("host/free-space", "skipped", "no instance or storage pool directory, no df output"))
    return Outcome(tuple(checks), tuple(findings))


def storage_dirs(host: Host) -> tuple[str, str]:
    """Where instance disks live (nova's [DEFAULT] instances_path, /var/lib/nova/instances unless set) and
    libvirt's default pool directory."""
    for conf in _NOVA_CONFS:
        for setting in parse_ini(host.file(conf) or "", conf):
            if setting.section == "DEFAULT" and setting.key == "instances_path" and setting.value.startswith("/"):
                return setting.value.rstrip("/"), STORAGE[1]
    return STORAGE[0], STORAGE[1]


def free_gb(host: Host, path: str) -> tuple[float, str] | None:
    """Free GB of the filesystem holding `path`, and where that was read: statvfs live (None when `path` is
    no directory), else the root's captured df (longest mount prefix; the path itself need not be captured)."""
    if host.live:
        if not os.path.isdir(path):
            return None
        stat = os.statvfs(path)
        return stat.f_bavail * stat.f_frsize / 2**30, f"statvfs {path}"
    captured = host.command("df")
    if captured is None:
        return None
    best: tuple[int, float] | None = None
    for line in captured[0].splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 6 and fields[3].isdigit() and (path + "/").startswith(fields[5].rstrip("/") + "/"):
            if best is None or len(fields[5]) > best[0]:
                best = (len(fields[5]), int(fields[3]) / 2**20)
    return (best[1], captured[1]) if best else None
