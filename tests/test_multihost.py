"""Several hosts at once: a controller and a compute node, each its own directory or tarball."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from conftest import EXAMPLES, diagnose_json

COMPUTE_FILES = ("nova__nova-compute.log",)


def _split(case: str, root: Path) -> tuple[Path, Path]:
    """The lab capture split the way a real deployment lays it out: controller and compute node."""
    ctl, cmp1 = root / "ctl", root / "cmp1"
    for host in (ctl, cmp1):
        host.mkdir()
    for path in (EXAMPLES / case).iterdir():
        if path.name == "hostname":
            continue  # the split hosts are named by their directories
        shutil.copy(path, (cmp1 if path.name in COMPUTE_FILES else ctl) / path.name)
    return ctl, cmp1


def test_two_host_directories(tmp_path: Path) -> None:
    ctl, cmp1 = _split("fault-b-disk-full", tmp_path)
    code, doc = diagnose_json(ctl, cmp1)
    assert code == 1
    assert doc["parse"]["hosts"] == ["cmp1", "ctl"]
    top = doc["findings"][0]
    assert top["rule"] == "compute/no-space-left"
    assert top["evidence"][0]["host"] == "cmp1"
    (op,) = [o for o in doc["operations"] if o["instance"] == top["instance"]]
    assert op["hosts"] == ["cmp1", "ctl"]


def test_two_host_tarballs(tmp_path: Path) -> None:
    ctl, cmp1 = _split("fault-d-compute-down", tmp_path)
    tarballs = []
    for host, mode in ((ctl, "w:xz"), (cmp1, "w:gz")):
        name = tmp_path / f"sosreport-{host.name}.tar.{mode[2:]}"
        with tarfile.open(name, mode) as tar:
            tar.add(host, arcname=f"sosreport-{host.name}")
        tarballs.append(name)
    code, doc = diagnose_json(*tarballs)
    assert code == 1
    assert doc["findings"][0]["rule"] == "scheduler/compute-not-heard-from"
    assert len(doc["parse"]["hosts"]) == 2
