"""`check debug-logging on|off`, snapshots per domain and storage pools, against a real libvirtd that these tests
start: a system-mode libvirtd (root) in its own mount and network namespaces, whose /etc/libvirt, /var/lib/libvirt,
/run/libvirt, /var/cache/libvirt and /var/log/libvirt are directories of the test, so the machine's own libvirtd
and its guests are never touched. Its sockets are in a test directory; virsh and virt-admin reach it by
`?socket=`. Its state directories double as a host root, the way a sosreport lays them out."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from stacksleuth.probes import pools, snapshots, virtadmin
from stacksleuth.probes.host import Host

DATA = Path(__file__).parent / "data" / "check" / "libvirt"
_NEEDED = {"libvirtd": "libvirt-daemon", "virsh": "libvirt-clients", "virt-admin": "libvirt-clients",
           "qemu-img": "qemu-utils", "qemu-system-x86_64": "qemu-system-x86", "unshare": "util-linux"}
_DIRS = ("etc/libvirt", "var/lib/libvirt", "run/libvirt", "var/cache/libvirt", "var/log/libvirt")
KBASE = "3:remote 4:event 3:util.json 3:util.object 3:util.dbus 3:util.netlink 3:node_device 3:rpc 3:access 1:*"


@dataclass(frozen=True)
class Libvirtd:
    """Our daemon: its host root (its own /etc/libvirt, /var/lib/libvirt, …), URIs, and the instance disks."""

    base: Path
    root: Path
    uri: str
    admin_uri: str

    def virsh(self, *args: str) -> str:
        return subprocess.run(["virsh", "-c", self.uri, *args], check=True, capture_output=True, text=True).stdout

    def admin(self, *args: str) -> str:
        return subprocess.run(["virt-admin", "-c", self.admin_uri, *args], check=True, capture_output=True,
                              text=True).stdout


def _start(base: Path) -> tuple[subprocess.Popen[bytes], Libvirtd]:
    root, sock = base / "root", base / "sock"
    for directory in _DIRS:
        (root / directory).mkdir(parents=True)
    (root / "var/lib/libvirt/images").mkdir()
    (root / "var/lib/libvirt/small").mkdir()
    sock.mkdir()
    (root / "etc/libvirt/libvirtd.conf").write_text(
        f'unix_sock_dir = "{sock}"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\nlisten_tls = 0\nlisten_tcp = 0\n'
        'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n')
    # as root, without the libvirt-qemu user Debian's libvirt-daemon-system would create; no guest is started
    (root / "etc/libvirt/qemu.conf").write_text('user = "root"\ngroup = "root"\nsecurity_driver = "none"\n')
    # without libvirt-daemon-system (CI) some mount points do not exist yet: create them, empty, as it would
    binds = "".join(f'mkdir -p "/{d}"\nmount --bind "{root / d}" "/{d}"\n' for d in _DIRS)
    script = (f"set -e\n{binds}mount -t tmpfs -o size=32m small /var/lib/libvirt/small\n"
              f'exec libvirtd -f /etc/libvirt/libvirtd.conf -p "{base / "libvirtd.pid"}"\n')
    log = (base / "libvirtd.out").open("wb")
    proc = subprocess.Popen(["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", script],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    daemon = Libvirtd(base, root, f"qemu:///system?socket={sock}/libvirt-sock",
                      f"libvirtd:///system?socket={sock}/libvirt-admin-sock")
    return proc, daemon


def _wait(proc: subprocess.Popen[bytes], daemon: Libvirtd) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = (daemon.base / "libvirtd.out").read_text(errors="replace").strip()
            if "unshare failed" in said and "Operation not permitted" in said:
                pytest.skip(f"no mount namespace for a libvirtd of our own here: {said.splitlines()[-1]}")
            pytest.fail(f"our libvirtd exited ({proc.returncode}): {said[-2000:]}")
        # the admin server answers once the drivers are up; `virsh version` would probe every qemu-system-*
        if subprocess.run(["virt-admin", "-c", daemon.admin_uri, "server-list"], capture_output=True).returncode == 0:
            return
        time.sleep(0.2)
    pytest.fail("our libvirtd did not answer within 60 s")


def _domain(daemon: Libvirtd, name: str, snapshots: int) -> str:
    """A real domain with a real qcow2 disk laid out like nova's (instances/<uuid>/disk), and real snapshots."""
    instance = str(uuid.uuid4())
    disk = daemon.base / "instances" / instance / "disk"
    disk.parent.mkdir(parents=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    xml = daemon.base / f"{name}.xml"
    xml.write_text(f"""<domain type='qemu'><name>{name}</name><uuid>{instance}</uuid><memory unit='MiB'>64</memory>
  <vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>
      <target dev='vda' bus='virtio'/></disk></devices></domain>""")
    daemon.virsh("define", str(xml))
    for number in range(1, snapshots + 1):
        daemon.virsh("snapshot-create-as", name, f"before-upgrade-{number}")
    return instance


@pytest.fixture(scope="module")
def libvirtd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Libvirtd]:
    """Our libvirtd with two domains (3 snapshots and 1) and two dir pools (one on a 32 MB tmpfs)."""
    missing = [f"{binary} (package {package})" for binary, package in _NEEDED.items() if shutil.which(binary) is None]
    if missing:
        pytest.skip("a real libvirtd needs " + ", ".join(missing))
    if os.geteuid() != 0:
        pytest.skip("a system-mode libvirtd of our own needs root (it runs in its own mount namespace)")
    proc, daemon = _start(tmp_path_factory.mktemp("libvirtd"))
    try:
        _wait(proc, daemon)
        _domain(daemon, "instance-00000001", 3)
        _domain(daemon, "instance-00000002", 1)
        for pool, path in (("default", "/var/lib/libvirt/images"), ("small", "/var/lib/libvirt/small")):
            daemon.virsh("pool-define-as", pool, "dir", "--target", path)
            daemon.virsh("pool-start", pool)
        yield daemon
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where `debug-logging on` saves the daemon's settings ($XDG_STATE_HOME, instead of /var/lib/stacksleuth)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return tmp_path / "stacksleuth"


def _settings(daemon: Libvirtd) -> tuple[str, str]:
    found = virtadmin.connect(daemon.admin_uri)
    return virtadmin.filters(found), virtadmin.outputs(found)


# --- debug-logging on|off ------------------------------------------------------------------------------------


def test_debug_logging_on_sets_kbase_filters_and_a_debug_file_then_off_restores(libvirtd: Libvirtd,
                                                                                state: Path) -> None:
    before = _settings(libvirtd)
    assert before == ("", "3:file:/var/log/libvirt/libvirtd.log")
    code, out, err = run_cli("check", "debug-logging", "on", "--uri", libvirtd.admin_uri)
    assert code == 0, err
    filters, outputs = _settings(libvirtd)
    assert virtadmin.as_given(filters) == KBASE
    assert outputs == "3:file:/var/log/libvirt/libvirtd.log 1:file:/var/log/libvirt/libvirtd-debug.log"
    saved = list(state.glob("debug-logging-libvirtd-*.json"))
    assert len(saved) == 1 and str(saved[0]) in out
    assert json.loads(saved[0].read_text())["filters"] == ""
    assert "/var/log/libvirt/libvirtd-debug.log" in out and "stacksleuth check debug-logging off" in out
    # the daemon really writes debug lines there (in its own /var/log/libvirt)
    libvirtd.virsh("list", "--all")
    debug_log = libvirtd.root / "var/log/libvirt/libvirtd-debug.log"
    assert " debug : " in debug_log.read_text()

    code, out, err = run_cli("check", "debug-logging", "off", "--uri", libvirtd.admin_uri)
    assert code == 0, err
    assert _settings(libvirtd) == before
    assert "back to what they were" in out and not list(state.glob("*.json"))


def test_debug_logging_restores_exactly_what_the_daemon_had(libvirtd: Libvirtd, state: Path) -> None:
    libvirtd.admin("daemon-log-filters", "1:qemu 3:remote 4:*event*")
    libvirtd.admin("daemon-log-outputs", "2:file:/var/log/libvirt/libvirtd.log")
    before = _settings(libvirtd)
    assert before[0] == "1:*qemu* 3:*remote* 4:**event**"  # libvirt reports each match wrapped in '*'
    try:
        assert run_cli("check", "debug-logging", "on", "--uri", libvirtd.admin_uri)[0] == 0
        # a second `on` keeps the values saved by the first, not the debug set now in force
        code, out, _ = run_cli("check", "debug-logging", "on", "--uri", libvirtd.admin_uri)
        assert code == 0 and "already switched on" in out
        assert run_cli("check", "debug-logging", "off", "--uri", libvirtd.admin_uri)[0] == 0
        assert _settings(libvirtd) == before
    finally:
        libvirtd.admin("daemon-log-filters", "")
        libvirtd.admin("daemon-log-outputs", "3:file:/var/log/libvirt/libvirtd.log")


def test_debug_logging_off_without_on_is_one_line(libvirtd: Libvirtd, state: Path) -> None:
    before = _settings(libvirtd)
    code, out, err = run_cli("check", "debug-logging", "off", "--uri", libvirtd.admin_uri)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "debug-logging on` first" in err and str(state) in err
    assert _settings(libvirtd) == before


def test_debug_logging_daemon_not_running_is_one_line(tmp_path: Path, state: Path) -> None:
    if shutil.which("virt-admin") is None:
        pytest.skip("virt-admin is not installed (package libvirt-clients)")
    uri = f"libvirtd:///system?socket={tmp_path}/no-such-admin-sock"
    code, out, err = run_cli("check", "debug-logging", "on", "--uri", uri)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "No such file or directory" in err and "is libvirtd running?" in err
    assert not state.exists()  # nothing saved for a daemon we could not reach


def test_debug_logging_without_virt_admin_is_one_line(tmp_path: Path, state: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no virt-admin on it
    code, out, err = run_cli("check", "debug-logging", "on")
    assert code == 2 and err.count("\n") == 1 and "libvirt-clients" in err


def test_modular_daemon_names_its_own_debug_file() -> None:
    daemon = virtadmin.Daemon("virtqemud:///system")
    assert (daemon.name, daemon.session) == ("virtqemud", False)
    assert virtadmin.Daemon("libvirtd:///session?socket=/run/user/1000/libvirt/libvirt-admin-sock").session


# --- snapshots and pools, live -------------------------------------------------------------------------------


@pytest.fixture
def live(libvirtd: Libvirtd, monkeypatch: pytest.MonkeyPatch) -> Host:
    """This machine, with virsh pointed at our daemon the way an operator points it elsewhere."""
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", libvirtd.uri)
    return Host("test", Path("/"), live=True)


def test_live_three_snapshots_is_a_finding_with_the_free_space(libvirtd: Libvirtd, live: Host) -> None:
    outcome = snapshots.probe(live)
    [found] = outcome.findings
    assert found.rule == "check/libvirt/too-many-snapshots" and found.title == "instance-00000001 has 3 snapshots"
    assert "before-upgrade-1, before-upgrade-2, before-upgrade-3" in found.cause
    assert "3 in libvirt's metadata; 3 internal in disk" in found.cause  # virsh and qemu-img agree
    assert f"GB free ({libvirtd.base}/instances/" in found.cause and "statvfs" in found.cause
    assert [e.file for e in found.evidence] == ["$ virsh -r snapshot-list instance-00000001"] * 3
    [check] = outcome.checks
    assert check.status == "problem" and "instance-00000001 3, instance-00000002 1" in check.summary


def test_live_snapshots_taken_behind_libvirts_back_are_counted(libvirtd: Libvirtd, live: Host) -> None:
    instance = _domain(libvirtd, "instance-00000003", 0)
    disk = libvirtd.base / "instances" / instance / "disk"
    try:
        for tag in ("a", "b", "c", "d"):
            subprocess.run(["qemu-img", "snapshot", "-c", tag, str(disk)], check=True)
        found = {f.title: f for f in snapshots.probe(live).findings}["instance-00000003 has 4 snapshots"]
        assert "4 internal in disk" in found.cause and found.evidence[0].file.startswith("$ qemu-img snapshot -l -U")
    finally:
        libvirtd.virsh("undefine", "instance-00000003")


def test_live_pool_short_of_space_is_a_finding(libvirtd: Libvirtd, live: Host) -> None:
    outcome = pools.probe(live)
    statuses = {c.id: c.status for c in outcome.checks}
    assert statuses["libvirt/pool:small"] == "problem" and "libvirt/pool:default" in statuses
    [found] = [f for f in outcome.findings if "small" in f.title]
    assert found.severity == "error" and found.title.endswith(" MB available") and "(dir, /var/lib/libvirt/small)" in found.cause
    assert " of 32 MB (0 MB allocated)" in found.cause and found.evidence[0].text.startswith("<available unit='bytes'>")


# --- the same daemon's files as a host root ------------------------------------------------------------------


def test_host_root_snapshot_metadata_files(libvirtd: Libvirtd) -> None:
    """/var/lib/libvirt/qemu/snapshot/<domain>/*.xml and /etc/libvirt/qemu/<domain>.xml, as the daemon wrote them."""
    root = Host("cmp1", libvirtd.root, live=False)
    [found] = snapshots.probe(root).findings
    assert found.title == "instance-00000001 has 3 snapshots" and "(instance " in found.cause
    assert found.evidence[0].file.startswith("/var/lib/libvirt/qemu/snapshot/instance-00000001/")
    assert found.evidence[0].text.startswith("<name>before-upgrade-")
    assert "not known here" in found.cause  # a bare root has no df capture


def _sos_root(tmp_path: Path) -> Path:
    """A sosreport-like root from committed captures of our daemon (see tests/data/check/libvirt/README)."""
    root = tmp_path / "sosreport-cmp1"
    shutil.copytree(DATA / "sosreport-cmp1", root)
    return root


def test_sosreport_ls_capture_and_df_give_the_finding_and_free_space(tmp_path: Path) -> None:
    code, out, _ = run_cli("check", "--json", str(_sos_root(tmp_path)))
    document: dict[str, Any] = json.loads(out)
    rules = {f["title"]: f for f in document["findings"] if f["rule"].startswith("check/libvirt/")}
    found = rules["instance-00000001 has 3 snapshots"]
    assert found["evidence"][0]["file"] == "sos_commands/libvirt/ls_-lR_.var.lib.libvirt.qemu"
    assert "GB free" in found["cause"] and "sos_commands/filesys/df_-al_-x_autofs" in found["cause"]
    assert "instance-00000002 has" not in " ".join(rules)
    [pool] = [f for title, f in rules.items() if title.startswith("Storage pool small has only ")]
    assert pool["evidence"][0]["file"] == "sos_commands/virsh/virsh_-r_pool-dumpxml_small"
    checks = {c["id"]: c["status"] for c in document["checks"]}
    assert checks["libvirt/snapshots"] == "problem" and checks["libvirt/pool:small"] == "problem"
    assert code == 1


def test_one_snapshot_each_is_fine(tmp_path: Path) -> None:
    root = _sos_root(tmp_path)
    listing = root / "sos_commands/libvirt/ls_-lR_.var.lib.libvirt.qemu"
    listing.write_text("".join(line for line in listing.read_text().splitlines(keepends=True)
                               if "before-upgrade-2" not in line and "before-upgrade-3" not in line))
    outcome = snapshots.probe(Host("cmp1", root, live=False))
    assert not outcome.findings and outcome.checks[0].status == "ok"


def test_nova_instances_path_is_where_instance_space_is_measured(tmp_path: Path) -> None:
    """nova.conf's instances_path on the 32 MB mount: the free-space check follows it."""
    root = _sos_root(tmp_path)
    (root / "etc/nova").mkdir(parents=True)
    nova = (DATA.parent / "nova__nova.conf").read_text()
    (root / "etc/nova/nova.conf").write_text(nova.replace("[DEFAULT]\n", "[DEFAULT]\ninstances_path = "
                                                          "/var/lib/libvirt/small/instances/\n", 1))
    (root / "var/lib/libvirt/small/instances").mkdir(parents=True)
    document = json.loads(run_cli("check", "--json", str(root))[1])
    checks = {c["id"]: c for c in document["checks"]}
    assert checks["host/free-space:/var/lib/libvirt/small/instances"]["status"] == "problem"
    assert "host/free-space:/var/lib/nova/instances" not in checks
    [found] = [f for f in document["findings"] if f["title"] == "Only 0.0 GB free under /var/lib/libvirt/small/instances"]
    assert found["severity"] == "error" and found["evidence"][0]["file"] == "sos_commands/filesys/df_-al_-x_autofs"
