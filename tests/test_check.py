"""`stacksleuth check`: host roots built from real files (our lab's configs and captures, Debian's libvirt
files, a Guru Meditation Report), broken the ways the seeds describe; secrets must never be printed."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli

DATA = Path(__file__).parent / "data" / "check"
RABBIT_SECRET = "Rabb1tS3cret"
PASSWORD = "N0vaPassw0rd"


def _root(tmp_path: Path, nova_edits: dict[str, str] | None = None, guests: str | None = None,
          libvirtd: str | None = None) -> Path:
    """A host root laid out like /: the lab's configs, Debian's libvirt files, the lab's captured outputs."""
    root = tmp_path / "cmp1"
    for rel, src in {"etc/nova/nova.conf": "nova__nova.conf", "etc/nova/nova-compute.conf": "nova__nova-compute.conf",
                     "etc/neutron/neutron.conf": "neutron__neutron.conf", "etc/glance/glance-api.conf": "glance__glance-api.conf",
                     "etc/placement/placement.conf": "placement__placement.conf", "etc/default/libvirt-guests": "libvirt-guests",
                     "etc/libvirt/libvirtd.conf": "libvirtd.conf", "proc/cpuinfo": "cpuinfo",
                     "sos_commands/libvirt/virt-host-validate": "virt-host-validate.txt",
                     "var/log/libvirt/qemu/instance-00000006.log": "qemu-instance-00000006.log"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / src, root / rel)
        (root / rel).chmod(0o644)
    (root / "etc" / "hostname").write_text("cmp1\n")
    (root / "dev").mkdir()
    (root / "dev" / "kvm").touch()  # a root that kept /dev: KVM was there
    for name, text in (("etc/default/libvirt-guests", guests), ("etc/libvirt/libvirtd.conf", libvirtd)):
        if text is not None:
            (root / name).write_text(text)
    # the lab's configs are redacted; give them real-looking secrets that must not leak
    for conf in root.glob("etc/*/*.conf"):
        text = conf.read_text().replace("password = <redacted-lab-value>", f"password = {PASSWORD}")
        text = text.replace("transport_url = <redacted-lab-value>", f"transport_url = rabbit://openstack:{RABBIT_SECRET}@10.0.0.5:5672/")
        conf.write_text(text.replace("connection = <redacted-lab-value>", f"connection = mysql+pymysql://nova:{PASSWORD}@10.0.0.5/nova"))
    nova = root / "etc" / "nova" / "nova.conf"
    for old, new in (nova_edits or {}).items():
        assert old in nova.read_text()
        nova.write_text(nova.read_text().replace(old, new))
    return root


def _check(*args: str) -> tuple[int, dict[str, Any], str]:
    code, out, _ = run_cli("check", "--json", *args)
    _, text, _ = run_cli("check", *args)
    return code, json.loads(out), out + text


def _rules(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["rule"]: f for f in document["findings"]}


def test_lab_host_kvm_under_nesting_is_info_not_failure(tmp_path: Path) -> None:
    code, doc, _ = _check(str(_root(tmp_path)))
    rules = _rules(doc)
    assert doc["schema"] == "stacksleuth/diagnosis/v1" and doc["source"]["host"] == "cmp1"
    assert rules["check/kvm/flags-hidden-nested"]["severity"] == "info"
    vhv = rules["check/virt-host-validate/for-hardware-virtualization"]
    assert vhv["severity"] == "info" and "nested" in vhv["cause"]
    assert vhv["evidence"][0]["file"] == "sos_commands/libvirt/virt-host-validate"
    assert rules["check/virt-host-validate/if-device-dev-vhost-net-exists"]["severity"] == "warning"
    assert {c["id"]: c["status"] for c in doc["checks"]}["kvm/acceleration"] == "info"
    assert code == 1


def test_no_kvm_and_no_flags_is_an_error(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "dev" / "kvm").unlink()
    (root / "sos_commands" / "kernel").mkdir(parents=True)
    shutil.copy(DATA / "cpuinfo", root / "sos_commands" / "kernel" / "lsmod")  # a capture with no kvm module
    rules = _rules(_check(str(root))[1])
    assert rules["check/kvm/not-available"]["severity"] == "error"
    assert rules["check/virt-host-validate/for-hardware-virtualization"]["severity"] == "error"


def test_debian_libvirt_guests_defaults_do_not_resume_guests(tmp_path: Path) -> None:
    finding = _rules(_check(str(_root(tmp_path)))[1])["check/libvirt/guests-not-resumed-after-reboot"]
    assert finding["severity"] == "warning" and "ON_BOOT=start" in " ".join(finding["fix"])
    assert "not set in the file" in finding["evidence"][0]["text"]


def test_libvirt_guests_start_and_suspend_is_fine(tmp_path: Path) -> None:
    guests = (DATA / "libvirt-guests").read_text().replace("#ON_BOOT=ignore", "ON_BOOT=start").replace(
        "#ON_SHUTDOWN=shutdown", "ON_SHUTDOWN=suspend").replace("#START_DELAY=0", "START_DELAY=5")
    doc = _check(str(_root(tmp_path, guests=guests)))[1]
    assert not [r for r in _rules(doc) if r.startswith("check/libvirt/guests-")]
    assert "ON_BOOT=start, ON_SHUTDOWN=suspend, START_DELAY=5" in {c["id"]: c for c in doc["checks"]}[
        "libvirt/libvirt-guests-settings"]["summary"]


def test_log_level_is_deprecated_use_log_filters(tmp_path: Path) -> None:
    conf = (DATA / "libvirtd.conf").read_text().replace("#log_level = 3", "log_level = 1")
    finding = _rules(_check(str(_root(tmp_path, libvirtd=conf)))[1])["check/libvirt/log-level-deprecated"]
    assert "4.4.0" in finding["cause"] and 'log_filters="3:remote 4:event' in finding["fix"][0]
    assert finding["evidence"][0]["text"] == "log_level = 1"


def test_qemu_log_cpu_feature_warning_explained(tmp_path: Path) -> None:
    rules = _rules(_check(str(_root(tmp_path)))[1])
    finding = rules["check/qemu/the-guest-cpu-model-asks-for-features-the-host-cpu-lacks"]
    assert "instance-00000006" in finding["cause"] and finding["evidence"][0]["line"] > 0


def test_broken_config_found_without_leaking_secrets(tmp_path: Path) -> None:
    root = _root(tmp_path, {"auth_strategy = keystone": "auth_strategy = keyston",
                            "username = placement": "username = ="})
    neutron = root / "etc" / "neutron" / "neutron.conf"
    neutron.write_text(neutron.read_text().replace("@10.0.0.5:5672/", "@10.0.0.6:5672/"))
    code, doc, printed = _check(str(root))
    rules = _rules(doc)
    invalid = rules["check/config/invalid-value"]
    assert invalid["title"] == "[api] auth_strategy = keyston: not one of keystone, noauth2"
    assert invalid["evidence"][0]["file"] == "/etc/nova/nova.conf"
    assert rules["check/config/malformed-value"]["title"] == "[placement] username is '='"
    brokers = rules["check/config/different-message-broker"]
    assert "10.0.0.5:5672" in brokers["cause"] and "10.0.0.6:5672" in brokers["cause"]
    assert code == 1
    for secret in (RABBIT_SECRET, PASSWORD):
        assert secret not in printed


def test_unknown_option_moved_or_misspelt(tmp_path: Path) -> None:
    root = _root(tmp_path, {"[libvirt]\n": "[libvirt]\nvirt_tpye = kvm\n", "log_dir = /var/log/nova": "log_dir = /var/log/nova\nauth_strategy = keystone"})
    unknown = [f for f in _check(str(root))[1]["findings"] if f["rule"] == "check/config/unknown-option"]
    causes = {f["title"]: f["cause"] for f in unknown}
    assert "Did you mean virt_type?" in causes["nova does not know [libvirt] virt_tpye"]
    assert "reads `auth_strategy` from [api]" in causes["nova does not know [DEFAULT] auth_strategy"]


def test_empty_password_in_auth_section(tmp_path: Path) -> None:
    root = _root(tmp_path)
    nova = root / "etc" / "nova" / "nova.conf"
    text = nova.read_text()
    at = text.index("[neutron]")
    nova.write_text(text[:at] + text[at:].replace(f"password = {PASSWORD}", "password =", 1))
    finding = _rules(_check(str(root))[1])["check/config/credentials-missing"]
    assert finding["title"] == "[neutron] has no password"
    assert all("***" in e["text"] or PASSWORD not in e["text"] for e in finding["evidence"])


def test_guru_meditation_report_config_section(tmp_path: Path) -> None:
    report = tmp_path / "nova-api-gmr.txt"
    report.write_text((DATA / "gmr-nova-api.txt").read_text().replace("auth_strategy = keystone", "auth_strategy = keyston"))
    code, doc, printed = _check(str(report))
    assert [f["title"] for f in doc["findings"]] == ["[DEFAULT] auth_strategy = keyston: not one of keystone, noauth2"]
    assert code == 1
    clean_code, clean, _ = _check(str(DATA / "gmr-nova-api.txt"))
    assert clean_code == 0 and clean["findings"] == []


def test_sosreport_tarball_same_as_directory(tmp_path: Path) -> None:
    root = _root(tmp_path)
    archive = tmp_path / "sosreport-cmp1-2026-11-21-abcdef.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        tar.add(root, arcname="sosreport-cmp1-2026-11-21-abcdef")
    from_dir, from_tar = _check(str(root))[1], _check(str(archive))[1]
    assert sorted(_rules(from_dir)) == sorted(_rules(from_tar))


def test_empty_root_checks_are_skipped_not_failed(tmp_path: Path) -> None:
    code, doc, _ = _check(str(tmp_path))
    assert code == 0 and doc["findings"] == []
    assert {c["status"] for c in doc["checks"]} <= {"skipped", "info"}


@pytest.mark.parametrize("bad", ["missing-dir", "broken.tar.gz"])
def test_bad_input_exit_2(tmp_path: Path, bad: str) -> None:
    if bad.endswith(".tar.gz"):
        (tmp_path / bad).write_bytes(b"\x1f\x8b\x08not really gzip")
    code, out, err = run_cli("check", str(tmp_path / bad))
    assert code == 2 and "Traceback" not in out + err


def test_live_host_runs() -> None:
    """The live machine, whatever it has: a v1 document and an exit code scripts understand."""
    code, out, _ = run_cli("check", "--json")
    assert code in (0, 1) and json.loads(out)["schema"] == "stacksleuth/diagnosis/v1"
