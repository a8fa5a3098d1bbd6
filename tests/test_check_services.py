"""Host checks of the services around OpenStack that only a look at the host shows: memcached at its connection
limit (the seeds' slow dashboard) and two network managers on the same interfaces (the seeds' default route that
cannot be deleted).

Inputs are real: tests/data/host/memcached/ is captured by its capture.sh from Debian 12's memcached started the
way its unit starts it (tests/data/host/README.md); the live tests start a private memcached on 127.0.0.1 and a free
port, fill it with real connections and read it with Debian's memcached-tool; tests/data/host/netmanagers/ holds the
configuration files the real packages and tools write (its capture.sh says which)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stacksleuth.probes import memcached, netmanagers
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Outcome

DATA = Path(__file__).parent / "data" / "host"
CHECK = Path(__file__).parent / "data" / "check"
MEMCACHED = DATA / "memcached"
NETMANAGERS = DATA / "netmanagers"


def _root(tmp_path: Path, case: str, base: Path = MEMCACHED) -> Path:
    root = tmp_path / case
    shutil.copytree(base / case, root)
    return root


def _host(root: Path) -> Host:
    return Host(root.name, root, live=False)


def _rules(outcome: Outcome) -> dict[str, Any]:
    return {f.rule: f for f in outcome.findings}


def _checks(outcome: Outcome) -> dict[str, Any]:
    return {c.id: c for c in outcome.checks}


def _with_nova(root: Path, servers: str) -> Path:
    """The lab's nova.conf with keystonemiddleware's cache pointed at `servers`, as the install guides set it."""
    nova = root / "etc" / "nova" / "nova.conf"
    nova.parent.mkdir(parents=True)
    text = (CHECK / "nova__nova.conf").read_text()
    assert "[keystone_authtoken]\n" in text
    nova.write_text(text.replace("[keystone_authtoken]\n", f"[keystone_authtoken]\nmemcached_servers = {servers}\n"))
    return nova


# --- memcached: captured roots ---------------------------------------------------------------------------------

def test_memcached_with_room_is_quiet(tmp_path: Path) -> None:
    outcome = memcached.probe(_host(_root(tmp_path, "healthy")))
    checks = _checks(outcome)
    assert "1024 connections, memcached's default" in checks["memcached/limit:127.0.0.1:11211"].summary
    assert checks["memcached/connections:127.0.0.1:11211"].status == "ok"
    assert "curr_connections 6 of max_connections 1024" in checks["memcached/connections:127.0.0.1:11211"].summary
    assert outcome.findings == ()


def test_memcached_that_turned_connections_away(tmp_path: Path) -> None:
    """`-c 64` and 80 clients: memcached's own counters say it turned connections away; nova's keystonemiddleware
    caches tokens there, so it is named as a user."""
    root = _root(tmp_path, "limit-reached")
    _with_nova(root, "127.0.0.1:11211")
    finding = _rules(memcached.probe(_host(root)))["check/memcached/limit-reached"]
    assert finding.severity == "error"
    assert "limit of 64 connections" in finding.title and "connections turned away" in finding.title
    assert "dashboard" in finding.symptom and "token validation" in finding.symptom
    assert "nova ([keystone_authtoken] memcached_servers = 127.0.0.1:11211, /etc/nova/nova.conf line" in finding.cause
    assert any("ss -tnp '( sport = :11211 )'" in f for f in finding.fix)
    assert any("MAXCONN" in f and "-c 4096" in f for f in finding.fix)
    texts = {e.text for e in finding.evidence}
    rejected = next(t for t in texts if t.startswith("rejected_connections "))
    assert int(rejected.split()[1]) > 0 and "max_connections 64" in texts
    assert any(t.startswith("/usr/bin/memcached ") and "-c 64" in t for t in texts)  # the process, from ps


def test_horizon_sessions_in_the_full_memcached(tmp_path: Path) -> None:
    """Debian's horizon local_settings.py with its memcached CACHES block uncommented, as the install guide says:
    the dashboard is named among memcached's users; the commented-out block alone names nobody."""
    root = _root(tmp_path, "limit-reached")
    settings = root / "etc" / "openstack-dashboard" / "local_settings.py"
    assert "horizon (" not in _rules(memcached.probe(_host(root)))["check/memcached/limit-reached"].cause
    lines = settings.read_text().splitlines(keepends=True)
    start = next(n for n, line in enumerate(lines) if line.startswith("#CACHES = {"))
    for n in range(start, start + 6):
        lines[n] = lines[n].removeprefix("#")
    settings.write_text("".join(lines))
    finding = _rules(memcached.probe(_host(root)))["check/memcached/limit-reached"]
    assert "horizon ('LOCATION': '127.0.0.1:11211'," in finding.cause
    assert any(e.file == "/etc/openstack-dashboard/local_settings.py" for e in finding.evidence)


def test_memcached_that_refuses_the_stats_connection(tmp_path: Path) -> None:
    """While 80 clients hold it, memcached-tool is turned away too: it prints its header and nothing else."""
    finding = _rules(memcached.probe(_host(_root(tmp_path, "full-now"))))["check/memcached/stats-refused"]
    assert finding.severity == "warning" and "Too many open connections" in finding.cause
    assert finding.evidence[0].text.startswith("#127.0.0.1:11211")


def test_memcached_limit_raised_but_not_restarted(tmp_path: Path) -> None:
    """The seeds' fix (a higher limit) written to memcached.conf while the running process keeps `-c 64`."""
    root = _root(tmp_path, "limit-reached")
    conf = root / "etc" / "memcached.conf"
    assert "\n-c 64\n" in conf.read_text()
    conf.write_text(conf.read_text().replace("\n-c 64\n", "\n-c 65536\n"))
    finding = _rules(memcached.probe(_host(root)))["check/memcached/limit-not-applied"]
    assert "65536" in finding.title and "64" in finding.title and "systemctl restart memcached" in finding.fix


def test_memcached_limit_from_rhel_sysconfig(tmp_path: Path) -> None:
    """No process list: the limit is the configured one — RHEL's MAXCONN, as the seeds' fix sets it."""
    root = _root(tmp_path, "healthy")
    (root / "sos_commands" / "process" / "ps_auxwww").unlink()
    (root / "etc" / "memcached.conf").unlink()
    (root / "etc" / "sysconfig").mkdir()
    (root / "etc" / "sysconfig" / "memcached").write_text('PORT="11211"\nUSER="memcached"\nMAXCONN="65536"\n'
                                                          'CACHESIZE="1024"\nOPTIONS=""\n')
    checks = _checks(memcached.probe(_host(root)))
    assert "65536 connections, MAXCONN in /etc/sysconfig/memcached line 3" in checks["memcached/limit:127.0.0.1:11211"].summary


def test_services_pointing_at_a_memcached_that_does_not_run(tmp_path: Path) -> None:
    root = _root(tmp_path, "healthy")
    ps = root / "sos_commands" / "process" / "ps_auxwww"
    ps.write_text("".join(line for line in ps.read_text().splitlines(keepends=True) if "/usr/bin/memcached" not in line))
    _with_nova(root, "localhost:11211")
    finding = _rules(memcached.probe(_host(root)))["check/memcached/not-running"]
    assert "localhost:11211" in finding.title and finding.evidence[0].file == "/etc/nova/nova.conf"


def test_memcached_stats_parse_both_forms() -> None:
    """memcached-tool's table and memcached's own `STAT` lines give the same counters."""
    text = (MEMCACHED / "limit-reached" / "sos_commands" / "memcached"
            / "usr.share.memcached.scripts.memcached-tool_127.0.0.1_11211_stats").read_text()
    tool = {k: v for k, (_, v) in memcached.parse_stats(text).items()}
    raw = "".join(f"STAT {k} {v}\r\n" for k, v in tool.items()) + "END\r\n"
    assert {k: v for k, (_, v) in memcached.parse_stats(raw).items()} == tool
    assert tool["max_connections"] == "64"


# --- memcached: live, a private instance -----------------------------------------------------------------------

@pytest.fixture
def private_memcached() -> Iterator[int]:
    """Debian's memcached on 127.0.0.1 and a free port with `-c 64` (memcached keeps 20 for its own threads)."""
    binary = shutil.which("memcached")
    if binary is None or not Path("/usr/share/memcached/scripts/memcached-tool").exists():
        pytest.skip("memcached is not installed (apt-get install memcached)")
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    process = subprocess.Popen([binary, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-c", "64", *user],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        process.kill()
        process.wait()


def _wait_for_room(port: int) -> None:
    """Until memcached has seen clients leave and answers `stats` again (a busy machine may take a moment)."""
    for _ in range(50):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(b"stats\r\n")
            if client.recv(100).startswith(b"STAT "):
                return
        time.sleep(0.1)
    pytest.fail("memcached did not make room after clients left")


def _live() -> Host:
    return Host(socket.gethostname(), Path("/"), live=True)


def test_live_private_memcached_full_then_counted(private_memcached: int) -> None:
    """80 real clients against `-c 64`: while they are all connected memcached is full; once 10 leave, memcached's
    rejected_connections says what happened. Both come from the live process list and memcached-tool."""
    server = f"127.0.0.1:{private_memcached}"
    clients = []
    try:
        for _ in range(80):
            clients.append(socket.create_connection(("127.0.0.1", private_memcached), timeout=5))
        assert clients[-1].recv(100).startswith(b"ERROR Too many open connections")  # memcached's own words
        outcome = memcached.probe(_live())
        assert "-c 64 on its command line" in _checks(outcome)[f"memcached/limit:{server}"].summary
        # memcached-tool is turned away too (stats-refused), or — on a busy machine, where turned-away connections
        # still hold their descriptors a moment — gets in at a lower count and reads the rejections (limit-reached)
        seen = {f.rule for f in outcome.findings if server in f.title}
        assert seen & {"check/memcached/stats-refused", "check/memcached/limit-reached"}, outcome.checks
        for client in clients[:10]:
            client.close()
        _wait_for_room(private_memcached)
        outcome = memcached.probe(_live())
    finally:
        for client in clients:
            client.close()
    reached = [f for f in outcome.findings if f.rule == "check/memcached/limit-reached" and server in f.title]
    assert reached, [c for c in outcome.checks if server in c.id]
    assert "limit of 64 connections" in reached[0].title
    assert any(e.file.startswith("$ timeout 10 /usr/share/memcached/scripts/memcached-tool") for e in reached[0].evidence)


def test_live_private_memcached_with_room(private_memcached: int) -> None:
    server = f"127.0.0.1:{private_memcached}"
    with socket.create_connection(("127.0.0.1", private_memcached), timeout=3):
        outcome = memcached.probe(_live())
    assert _checks(outcome)[f"memcached/connections:{server}"].status == "ok"
    assert not [f for f in outcome.findings if server in f.title]


# --- two network managers on one interface ---------------------------------------------------------------------

def test_nm_leaves_ifupdown_interfaces_as_debian_ships_it(tmp_path: Path) -> None:
    """network-manager's own NetworkManager.conf ([ifupdown] managed=false): the running NetworkManager says eth0 is
    unmanaged, so ifupdown alone configures it."""
    outcome = netmanagers.probe(_host(_root(tmp_path, "ifupdown-nm-default", NETMANAGERS)))
    devices = _checks(outcome)["network-managers/devices"]
    assert devices.status == "ok" and "eth0: ifupdown" in devices.summary and "NetworkManager leaves it" in devices.summary
    assert "NetworkManager running" in _checks(outcome)["network-managers/services"].summary
    assert outcome.findings == ()


def test_nm_managing_ifupdown_interfaces(tmp_path: Path) -> None:
    """[ifupdown] managed=true: the real NetworkManager started DHCP on eth0 while interfaces.d sets it static."""
    finding = _rules(netmanagers.probe(_host(_root(tmp_path, "ifupdown-nm-managed", NETMANAGERS))))[
        "check/network-managers/nm-and-ifupdown"]
    assert finding.severity == "error" and finding.title.startswith("eth0: NetworkManager and ifupdown")
    assert "default route" in finding.symptom and "cannot be deleted" in finding.cause
    assert any("managed=false" in f for f in finding.fix) and any("unmanaged-devices=interface-name:eth0" in f for f in finding.fix)
    files = {(e.file, e.text) for e in finding.evidence}
    assert ("/etc/network/interfaces.d/50-cloud-init", "iface eth0 inet static") in files
    assert ("sos_commands/networkmanager/nmcli_dev", "eth0 ethernet connecting (getting IP configuration)") in files
    assert ("sos_commands/process/ps_auxwww", "/usr/sbin/NetworkManager --no-daemon") in files


def test_nm_and_networkd_on_one_interface(tmp_path: Path) -> None:
    finding = _rules(netmanagers.probe(_host(_root(tmp_path, "networkd-and-nm", NETMANAGERS))))[
        "check/network-managers/nm-and-networkd"]
    assert finding.severity == "error" and "systemd-networkd" in finding.title
    assert "/etc/systemd/network/10-cloud-init-eth0.network" in finding.cause
    assert any(e.text == "/lib/systemd/systemd-networkd" for e in finding.evidence)


def test_nm_told_to_leave_the_networkd_interface(tmp_path: Path) -> None:
    outcome = netmanagers.probe(_host(_root(tmp_path, "networkd-nm-unmanaged", NETMANAGERS)))
    assert _checks(outcome)["network-managers/devices"].status == "ok" and outcome.findings == ()


@pytest.mark.parametrize("case", ["ifupdown-nm-default", "ifupdown-nm-managed", "networkd-and-nm", "networkd-nm-unmanaged"])
def test_nm_settings_predict_what_nm_did(tmp_path: Path, case: str) -> None:
    """Without `nmcli dev`, NetworkManager's settings (plugins, [ifupdown] managed, unmanaged-devices) must lead to
    what the real NetworkManager did with the same files."""
    root = _root(tmp_path, case, NETMANAGERS)
    said = {f.rule for f in netmanagers.probe(_host(root)).findings}
    (root / "sos_commands" / "networkmanager" / "nmcli_dev").unlink()
    outcome = netmanagers.probe(_host(root))
    assert {f.rule for f in outcome.findings} == said
    assert "nmcli" not in _checks(outcome)["network-managers/devices"].summary


def _with_processes(root: Path, case: str) -> None:
    """A process list captured with NetworkManager running (from another captured root)."""
    (root / "sos_commands" / "process").mkdir(parents=True)
    shutil.copy(NETMANAGERS / case / "sos_commands" / "process" / "ps_auxwww", root / "sos_commands" / "process")


def test_ifcfg_with_nm_controlled_no(tmp_path: Path) -> None:
    """cloud-init's ifcfg-eth0 (centos) says NM_CONTROLLED=no: NetworkManager leaves it to the network service."""
    root = _root(tmp_path, "ifcfg", NETMANAGERS)
    _with_processes(root, "ifupdown-nm-default")
    outcome = netmanagers.probe(_host(root))
    devices = _checks(outcome)["network-managers/devices"]
    assert devices.status == "ok" and "NM_CONTROLLED=no (/etc/sysconfig/network-scripts/ifcfg-eth0 line" in devices.summary
    assert outcome.findings == ()


def test_ifcfg_without_nm_controlled(tmp_path: Path) -> None:
    """The same ifcfg without NM_CONTROLLED=no while NetworkManager runs: both take eth0. Nothing says whether the
    network service is enabled, so it is a warning (RHEL 7's initscripts enable it)."""
    root = _root(tmp_path, "ifcfg", NETMANAGERS)
    _with_processes(root, "ifupdown-nm-default")
    ifcfg = root / "etc" / "sysconfig" / "network-scripts" / "ifcfg-eth0"
    assert "NM_CONTROLLED=no\n" in ifcfg.read_text()
    ifcfg.write_text(ifcfg.read_text().replace("NM_CONTROLLED=no\n", ""))
    finding = _rules(netmanagers.probe(_host(root)))["check/network-managers/nm-and-network-scripts"]
    assert finding.severity == "warning" and "package enables it at boot" in finding.cause
    assert any(f.startswith("NM_CONTROLLED=no in /etc/sysconfig/network-scripts/ifcfg-eth0") for f in finding.fix)


def test_netplan_keeps_nm_off_its_networkd_devices(tmp_path: Path) -> None:
    """netplan generate put eth0 on NetworkManager's deny-list (90-netplan.rules): networkd and NetworkManager both
    run, and that is no conflict."""
    root = _root(tmp_path, "netplan", NETMANAGERS)
    assert "NM_UNMANAGED" in (root / "run" / "udev" / "rules.d" / "90-netplan.rules").read_text()
    _with_processes(root, "networkd-and-nm")
    outcome = netmanagers.probe(_host(root))
    devices = _checks(outcome)["network-managers/devices"]
    assert devices.status == "ok" and "eth0: netplan" in devices.summary and "deny-list" in devices.summary
    assert outcome.findings == ()


def test_broken_files_are_named_not_raised(tmp_path: Path) -> None:
    """A netplan file that is not netplan YAML and a memcached config with options missing their values."""
    root = _root(tmp_path, "netplan", NETMANAGERS)
    _with_processes(root, "networkd-and-nm")
    (root / "etc" / "netplan" / "50-cloud-init.yaml").write_text("network: [eth0\n")
    services = _checks(netmanagers.probe(_host(root)))["network-managers/services"]
    assert "netplan files not parsed: /etc/netplan/50-cloud-init.yaml" in services.summary
    root = _root(tmp_path, "healthy")
    (root / "sos_commands" / "process" / "ps_auxwww").unlink()
    (root / "etc" / "memcached.conf").write_text("-p\n-c many\n")
    assert "1024 connections, memcached's default" in _checks(memcached.probe(_host(root)))["memcached/limit:127.0.0.1:11211"].summary
