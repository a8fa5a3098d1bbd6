"""KVM readiness: the CPU's vmx/svm flags, a working /dev/kvm, and virt-host-validate's verdicts explained.

The flags and the device can disagree: under nested virtualisation the outer hypervisor often hides
vmx/svm from /proc/cpuinfo while /dev/kvm works (our lab machines). The device is what QEMU uses, so
that case is information, not a failure.
"""

from __future__ import annotations

import os
import re

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, finding, knowledge

_FLAGS = re.compile(r"^flags\s*:.*?\b(vmx|svm)\b", re.M)
_VALIDATE = re.compile(r"^\s*(?P<check>\w+: Checking .*?)\s*:\s*(?P<verdict>PASS|WARN|FAIL)(?: \((?P<reason>.*)\))?\s*$")
_KVM_MODULE = re.compile(r"^kvm(_intel|_amd)?\s", re.M)


def kvm_works(host: Host) -> bool | None:
    """Whether KVM is usable: live, /dev/kvm opens read-write; on a root, /dev/kvm or the kvm module
    (sosreport lsmod) is there. None when the root says nothing either way."""
    if host.live:
        try:
            os.close(os.open("/dev/kvm", os.O_RDWR))
        except OSError:
            return False
        return True
    if host.exists("/dev/kvm"):
        return True
    lsmod = host.file("sos_commands/kernel/lsmod")
    if lsmod is not None:
        return _KVM_MODULE.search(lsmod) is not None
    return None


def probe(host: Host) -> Outcome:
    """CPU flags vs /dev/kvm, then virt-host-validate."""
    works = kvm_works(host)
    flags = _cpu_flags(host)
    checks, findings = _flags_vs_device(host, flags, works)
    validate = _validate(host, works)
    return Outcome(checks + validate.checks, findings + validate.findings)


def _cpu_flags(host: Host) -> str | None:
    """'vmx', 'svm', '' (none) or None (no /proc/cpuinfo to read)."""
    cpuinfo = host.file("/proc/cpuinfo")
    if cpuinfo is None:
        return None
    match = _FLAGS.search(cpuinfo)
    return match.group(1) if match else ""


def _flags_vs_device(host: Host, flags: str | None, works: bool | None) -> tuple[tuple[Check, ...], tuple[Finding, ...]]:
    said = f"CPU flag {flags}" if flags else "no vmx/svm CPU flag" if flags == "" else "no /proc/cpuinfo"
    device = {True: "/dev/kvm works", False: "/dev/kvm missing or not usable", None: "/dev/kvm state unknown"}[works]
    check = Check("kvm/acceleration", "ok" if works else "problem" if works is False else "info", f"{said}; {device}")
    evidence = [Evidence(host.name, "/proc/cpuinfo", 0, said), Evidence(host.name, "/dev/kvm", 0, device)]
    if works and flags == "":
        return (Check(check.id, "info", check.summary),), (finding(
            "info", "kvm/flags-hidden-nested", "KVM works although the CPU shows no vmx/svm flag (nested virtualisation)",
            "/proc/cpuinfo has no vmx/svm flag but /dev/kvm works: this host is itself a virtual machine whose "
            "hypervisor passes KVM through without advertising the flag. Guests get KVM acceleration; tools that "
            "only read the flags (virt-host-validate, `egrep vmx|svm /proc/cpuinfo`) report a false failure.",
            ["ls -l /dev/kvm", "grep -c hypervisor /proc/cpuinfo  # >0: this host is a VM"], "kvm", evidence),)
    if works is False:
        cause = ("The CPU supports virtualisation but /dev/kvm is missing or not accessible: the kvm module is not "
                 "loaded, or the qemu user is not in group kvm." if flags else
                 "Neither the vmx/svm CPU flag nor a usable /dev/kvm: virtualisation is off in the firmware, or this "
                 "is a VM whose hypervisor does not offer nested virtualisation. Guests can only run emulated "
                 "([libvirt] virt_type=qemu), many times slower; virt_type=kvm fails to spawn.")
        return (check,), (finding("error", "kvm/not-available", "KVM is not available on this host", cause,
                                  ["enable VT-x/AMD-V in the firmware, or nested=1 on the outer hypervisor",
                                   "modprobe kvm_intel  # or kvm_amd", "ls -l /dev/kvm"], "kvm", evidence),)
    return (check,), ()


def _validate(host: Host, works: bool | None) -> Outcome:
    """virt-host-validate's FAIL/WARN lines, each explained (knowledge/probes/virt-host-validate.yaml)."""
    captured = host.command("virt-host-validate")
    if captured is None:
        return Outcome((Check("kvm/virt-host-validate", "skipped", "virt-host-validate not installed or not captured"),))
    output, where = captured
    findings: list[Finding] = []
    verdicts = {"PASS": 0, "WARN": 0, "FAIL": 0}
    for number, line in enumerate(output.splitlines(), 1):
        m = _VALIDATE.match(line)
        if not m:
            continue
        verdicts[m["verdict"]] += 1
        if m["verdict"] != "PASS":
            findings.append(_explain(host, m["check"], m["reason"] or "", Evidence(host.name, where, number, line.strip()), works))
    summary = ", ".join(f"{n} {v}" for v, n in verdicts.items())
    status = "problem" if any(f.severity in ("error", "warning") for f in findings) else "ok"
    return Outcome((Check("kvm/virt-host-validate", status, summary),), tuple(findings))


def _explain(host: Host, check: str, reason: str, evidence: Evidence, works: bool | None) -> Finding:
    for entry in knowledge("virt-host-validate.yaml"):
        if re.search(entry["match"], check):
            break
    slug = re.sub(r"[^a-z0-9]+", "-", check.split("Checking", 1)[-1].lower()).strip("-")
    if works and entry.get("kvm_works"):
        return finding("info", f"virt-host-validate/{slug}", f"{entry['title']}? No: KVM works (nested)",
                       entry["kvm_works"], [], "kvm", [evidence])
    cause = entry["cause"] + (f" virt-host-validate says: {reason}." if reason else "")
    return finding(entry["severity"], f"virt-host-validate/{slug}", entry["title"], cause, entry["fix"], "kvm", [evidence])
