"""Inputs: sosreport-like directories, multi-node tarballs, compressed rotations, and bad input via the CLI."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from conftest import EXAMPLES, run_cli
from stacksleuth.sources.discover import discover

COMPUTE = EXAMPLES / "fault-b-disk-full" / "nova__nova-compute.log"
SCHEDULER = EXAMPLES / "fault-b-disk-full" / "nova__nova-conductor.log"


def _sosreport(root: Path, host: str) -> Path:
    (root / "var" / "log" / "nova").mkdir(parents=True)
    (root / "sos_commands" / "host").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "sos_commands" / "host" / "hostname").write_text(f"{host}\n")
    (root / "sos_commands" / "host" / "uptime").write_text(" 10:00:00 up 3 days\n")  # not a log: not read
    (root / "etc" / "nova.conf").write_text("[DEFAULT]\n")
    shutil.copy(COMPUTE, root / "var" / "log" / "nova" / "nova-compute.log")
    return root


def test_sosreport_directory_host_and_logs_only(tmp_path: Path) -> None:
    root = _sosreport(tmp_path / "sosreport-cmp1-2026-11-21-abcdef", "cmp1.example.org")
    inventory = discover([root])
    assert [(log.host, log.service) for log in inventory.logs] == [("cmp1.example.org", "nova-compute")]


def test_sosreport_name_when_no_hostname_file(tmp_path: Path) -> None:
    root = _sosreport(tmp_path / "sosreport-ctl-01-2026-11-21-xyzabc", "x")
    (root / "sos_commands" / "host" / "hostname").unlink()
    assert {log.host for log in discover([root]).logs} == {"ctl-01"}


def test_var_log_given_by_itself_is_named_after_its_host(tmp_path: Path) -> None:
    """`diagnose <root>/var/log` (the live host's /var/log, or one copied off a node): the host is the one the
    directory belongs to, not "log"."""
    root = tmp_path / "node7"
    (root / "var" / "log" / "nova").mkdir(parents=True)
    (root / "etc").mkdir()
    shutil.copy(COMPUTE, root / "var" / "log" / "nova" / "nova-compute.log")
    (root / "etc" / "hostname").write_text("compute-7\n")
    assert {log.host for log in discover([root / "var" / "log"]).logs} == {"compute-7"}
    (root / "etc" / "hostname").unlink()
    assert {log.host for log in discover([root / "var" / "log"]).logs} == {"node7"}


def test_single_file_named_by_its_directory_and_host(tmp_path: Path) -> None:
    """`diagnose <root>/var/log/neutron/server.log`: the service is neutron-server (not "server") and the host is
    the one whose var/log holds it."""
    root = tmp_path / "net1"
    (root / "var" / "log" / "neutron").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc" / "hostname").write_text("network-1\n")
    target = root / "var" / "log" / "neutron" / "server.log"
    shutil.copy(EXAMPLES / "fault-b-disk-full" / "neutron__neutron-api.log", target)
    assert [(log.host, log.service) for log in discover([target]).logs] == [("network-1", "neutron-server")]


@pytest.mark.parametrize("mode,suffix", [("w:xz", ".tar.xz"), ("w:gz", ".tar.gz"), ("w:bz2", ".tar.bz2")])
def test_multi_node_tarball(tmp_path: Path, mode: str, suffix: str) -> None:
    nodes = tmp_path / "nodes"
    _sosreport(nodes / "sosreport-ctl", "ctl")
    _sosreport(nodes / "sosreport-cmp1", "cmp1")
    shutil.copy(SCHEDULER, nodes / "sosreport-ctl" / "var" / "log" / "nova" / "nova-conductor.log")
    archive = tmp_path / f"bundle{suffix}"
    with tarfile.open(archive, mode) as tar:
        tar.add(nodes, arcname="bundle")
    inventory = discover([archive], tmp_path / "work")
    assert sorted((log.host, log.service) for log in inventory.logs) == [
        ("cmp1", "nova-compute"), ("ctl", "nova-compute"), ("ctl", "nova-conductor")]
    assert all(log.display.startswith(f"bundle{suffix}:") for log in inventory.logs)
    code, out, _ = run_cli("diagnose", "--json", str(archive))
    doc = json.loads(out)
    assert doc["parse"]["hosts"] == ["cmp1", "ctl"] and doc["parse"]["unparsed"] == 0


@pytest.mark.parametrize("opener,suffix", [(gzip.open, ".gz"), (bz2.open, ".bz2"), (lzma.open, ".xz")])
def test_rotated_compressed_files_read_transparently(tmp_path: Path, opener, suffix: str) -> None:
    host = tmp_path / "cmp1" / "var" / "log" / "nova"
    host.mkdir(parents=True)
    with opener(host / f"nova-compute.log.1{suffix}", "wb") as fh:
        fh.write(COMPUTE.read_bytes())
    shutil.copy(COMPUTE, host / "nova-compute.log")
    code, out, _ = run_cli("diagnose", "--json", str(tmp_path / "cmp1"))
    files = {f["file"].rsplit("/", 1)[-1]: f for f in json.loads(out)["parse"]["per_file"]}
    plain, rotated = files["nova-compute.log"], files[f"nova-compute.log.1{suffix}"]
    assert rotated["lines"] == plain["lines"] > 0 and rotated["events"] == plain["events"] and rotated["unparsed"] == 0
    assert rotated["service"] == "nova-compute"


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_missing_path(tmp_path: Path) -> None:
    code, _, err = run_cli("diagnose", str(tmp_path / "nope"))
    assert code == 2 and "nope: no such file or directory" in _one_line(err)
    code, out, _ = run_cli("diagnose", "--json", str(tmp_path / "nope"), str(COMPUTE))
    assert code in (0, 1) and any("nope: no such file" in p for p in json.loads(out)["parse"]["problems"])


def test_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli("diagnose", str(tmp_path / "empty"))
    assert code == 2 and "empty" in _one_line(err)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "host"
    bundle.mkdir()
    secret = bundle / "nova-conductor.log"
    secret.write_text("2026-11-21 04:52:37.490 2596 INFO nova.x [-] hello\n")
    secret.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the open fail the way it would for a user
        import stacksleuth.sources.openers as openers

        real_open = open

        def deny(file, *args, **kwargs):
            if Path(file) == secret:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(openers, "open", deny, raising=False)
    code, _, err = run_cli("diagnose", str(secret))
    assert code == 2 and "nova-conductor.log: cannot read (PermissionError" in _one_line(err)
    shutil.copy(COMPUTE, bundle / "nova-compute.log")
    code, out, _ = run_cli("diagnose", "--json", str(bundle))
    doc = json.loads(out)
    assert code in (0, 1) and any("nova-conductor.log: cannot read" in p for p in doc["parse"]["problems"])
    assert doc["parse"]["events"] > 0


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "core.log").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    code, _, err = run_cli("diagnose", str(tmp_path / "core.log"))
    assert code == 2 and "core.log: binary file" in _one_line(err)


def test_truncated_archive_keeps_what_was_extracted(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes"
    _sosreport(nodes / "sosreport-ctl", "ctl")
    big = nodes / "sosreport-ctl" / "var" / "log" / "nova" / "zz-nova-api.log"
    big.write_bytes(os.urandom(2_000_000).hex().encode())  # last member, incompressible: cut in the middle
    archive = tmp_path / "bundle.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(nodes, arcname="bundle")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    code, out, err = run_cli("diagnose", "--json", str(archive))
    doc = json.loads(out)
    assert code in (0, 1) and not err.count("Traceback")
    assert any("bundle.tar.gz: archive is damaged or truncated" in p for p in doc["parse"]["problems"])
    assert any(f["file"].endswith("nova-compute.log") and f["events"] > 0 for f in doc["parse"]["per_file"])
    (tmp_path / "tiny.tar.xz").write_bytes(lzma.compress(b"x" * 10)[:8])
    code, _, err = run_cli("diagnose", str(tmp_path / "tiny.tar.xz"))
    assert code == 2 and "tiny.tar.xz" in _one_line(err)


def test_garbage_line_in_the_middle_of_a_real_log(tmp_path: Path) -> None:
    lines = COMPUTE.read_bytes().splitlines(keepends=True)
    log = tmp_path / "cmp1" / "nova-compute.log"
    log.parent.mkdir()
    log.write_bytes(b"".join(lines[:10] + [b"\x00\x13\x88\xfe\xff garbage\x07\n"] + lines[10:]))
    code, out, err = run_cli("diagnose", str(log.parent))
    assert code in (0, 1) and "Traceback" not in err
    assert "nova-compute.log: 1 unparsed, e.g. line 11" in " ".join(out.split())
    code, out, _ = run_cli("diagnose", "--json", str(log.parent))
    (entry,) = json.loads(out)["parse"]["per_file"]
    assert entry["unparsed"] == 1 and entry["unparsed_samples"][0]["line"] == 11
    assert entry["lines"] == len(lines) + 1


def test_fault_injection_answer_key_is_never_read(shared_data: Path) -> None:
    """The injector's trigger log and the workload's verdicts are the test's answer key, not cloud logs."""
    round_dir = shared_data / "dessertlab-fault-injection-dataset/core/Nova/Test_23/logs/round_1"
    inventory = discover([round_dir])
    read = [log.display for log in inventory.logs]
    assert not any("trigger_log" in name or "foreground_wl" in name or "trace_" in name for name in read)
    assert any(name.endswith("trigger_log") for name in inventory.skipped)
