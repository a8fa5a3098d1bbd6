"""Host facts for `stacksleuth check`: DNS, package repositories and releases, multipath/iSCSI, OVS flows, and
the option definitions of the installed services.

Inputs are real: tests/data/host/debian12-zed/ is captured from our Debian 12 + Zed lab machine (its resolv.conf,
hosts, apt sources, Debian's sshd_config and iscsid.conf, `dpkg -l`, `ps`; tests/data/host/README.md says how),
broken the ways the seeds describe; the hotsos scenarios' `dpkg -l` captures come from ../shared/data; the live
checks run on this machine and send nothing beyond loopback."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import run_cli
from stacksleuth.probes import dns, flows, installed_options, iscsi, multipath, packages
from stacksleuth.probes.host import Host, open_host
from stacksleuth.probes.installed_options import SYSTEM_PYTHON
from stacksleuth.probes.interface import Outcome
from stacksleuth.probes.optdump import NAMESPACES

DATA = Path(__file__).parent / "data" / "host"
ZED = DATA / "debian12-zed"


def _root(tmp_path: Path, name: str = "debian12-zed") -> Path:
    root = tmp_path / name
    shutil.copytree(DATA / name, root)
    return root


def _host(root: Path) -> Host:
    return Host("vm", root, live=False)


def _rules(outcome: Outcome) -> dict[str, Any]:
    return {f.rule: f for f in outcome.findings}


def _checks(outcome: Outcome) -> dict[str, Any]:
    return {c.id: c for c in outcome.checks}


def _check(root: Path) -> tuple[int, dict[str, Any]]:
    code, out, _ = run_cli("check", "--json", str(root))
    return code, json.loads(out)


# --- DNS -------------------------------------------------------------------------------------------------------

def test_captured_host_resolves_its_name_from_hosts(tmp_path: Path) -> None:
    outcome = dns.probe(_host(_root(tmp_path)))
    checks = _checks(outcome)
    assert checks["dns/servers"].status == "ok" and "10.255.255.53" in checks["dns/servers"].summary
    assert checks["dns/own-name"].status == "ok" and "/etc/hosts line 3" in checks["dns/own-name"].summary
    assert checks["dns/sshd-usedns"].status == "ok"  # Debian's sshd_config leaves UseDNS at its default (no)
    assert outcome.findings == ()


def test_no_nameserver_is_an_error(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "etc" / "resolv.conf").write_text("search example.org\n")
    finding = _rules(dns.probe(_host(root)))["check/dns/no-nameserver"]
    assert finding.severity == "error" and "repair one machine only" in finding.cause
    assert finding.evidence[0].file == "/etc/resolv.conf"


def test_missing_resolv_conf(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "etc" / "resolv.conf").unlink()
    assert _rules(dns.probe(_host(root)))["check/dns/no-resolv-conf"].severity == "error"


def test_resolved_stub_without_resolved_running(tmp_path: Path) -> None:
    """systemd's own stub resolv.conf (127.0.0.53) on a host whose process list has no systemd-resolved."""
    stub = Path("/usr/lib/systemd/resolv.conf")
    if not stub.is_file():
        pytest.skip("no systemd on this machine")
    root = _root(tmp_path)
    shutil.copy(stub, root / "etc" / "resolv.conf")
    finding = _rules(dns.probe(_host(root)))["check/dns/stub-without-resolved"]
    assert finding.severity == "error" and "127.0.0.53" in finding.title
    assert "no systemd-resolved process" in finding.cause
    (root / "sos_commands" / "process" / "ps_auxwww").unlink()  # nothing says whether it runs: no verdict
    outcome = dns.probe(_host(root))
    assert "check/dns/stub-without-resolved" not in _rules(outcome)
    assert _checks(outcome)["dns/servers"].status == "info"


def test_sshd_usedns_from_an_included_drop_in(tmp_path: Path) -> None:
    """Debian's sshd_config includes sshd_config.d/*.conf before its own settings: a drop-in's UseDNS wins."""
    root = _root(tmp_path)
    (root / "etc" / "ssh" / "sshd_config.d").mkdir()
    (root / "etc" / "ssh" / "sshd_config.d" / "50-cloud.conf").write_text("UseDNS yes\n")
    finding = _rules(dns.probe(_host(root)))["check/dns/use-dns"]
    assert finding.severity == "info" and finding.evidence[0].file == "/etc/ssh/sshd_config.d/50-cloud.conf"
    assert "takes a long time to log in" in finding.cause
    (root / "etc" / "resolv.conf").write_text("")  # and DNS is broken: the logins hang now
    rules = _rules(dns.probe(_host(root)))
    assert rules["check/dns/use-dns"].severity == "warning" and "check/dns/no-nameserver" in rules


def test_own_name_not_in_hosts(tmp_path: Path) -> None:
    root = _root(tmp_path)
    hosts = root / "etc" / "hosts"
    hosts.write_text("".join(line for line in hosts.read_text().splitlines(True) if " vm" not in line))
    finding = _rules(dns.probe(_host(root)))["check/dns/not-in-hosts"]
    assert finding.severity == "info" and "rabbit@vm" in finding.cause  # DNS servers are configured: maybe DNS has it
    (root / "etc" / "resolv.conf").write_text("")
    assert _rules(dns.probe(_host(root)))["check/dns/not-in-hosts"].severity == "warning"


def test_live_own_name_resolves_from_hosts() -> None:
    """getaddrinfo of this machine's name, answered from /etc/hosts (nothing is sent when files answer first)."""
    name = socket.gethostname()
    with open_host(None) as host:
        entry = dns.hosts_entry(host, name)
        nsswitch = host.file("/etc/nsswitch.conf") or ""
        hosts_line = next((line.split() for line in nsswitch.splitlines() if line.startswith("hosts:")), [])
        if entry is None or hosts_line[1:2] != ["files"]:
            pytest.skip("this machine's name is not answered from /etc/hosts first: resolving it would query DNS")
        checks = _checks(dns.probe(host))
    assert checks["dns/own-name"].status == "ok"
    assert entry[1].split()[0] in checks["dns/own-name"].summary  # the address /etc/hosts gives


# --- packages and repositories -------------------------------------------------------------------------------

def test_captured_zed_packages_are_one_release(tmp_path: Path) -> None:
    host = _host(_root(tmp_path))
    installed = packages.packages(host)
    assert installed["nova-common"] == "2:26.2.2-1~deb12u5" and installed["libvirt0"].startswith("9.0.0")
    outcome = packages.probe(host)
    checks = _checks(outcome)
    release = checks["packages/openstack-release"]
    assert release.status == "ok" and "nova 26.2.2 (zed)" in release.summary and "neutron 21.0.0 (zed)" in release.summary
    assert "python3-neutron-lib" not in str(release.summary)  # a library with its own versions
    rules = _rules(outcome)
    assert "check/packages/mixed-releases" not in rules and "check/packages/project-versions-differ" not in rules
    # the machine's two repositories switched off by renaming the file: apt reads only *.list and *.sources
    disabled = rules["check/packages/repositories-disabled"]
    assert disabled.severity == "info" and len(disabled.evidence) == 2
    assert "apt reads only *.list and *.sources" in disabled.evidence[0].text
    assert checks["packages/repositories"].summary.startswith("apt: 2 enabled (deb http://deb.debian.org/debian bookworm")


def test_every_repository_disabled(tmp_path: Path) -> None:
    """deb822 `Enabled: no` on Debian's own sources: nothing left to install from (the Eucalyptus lesson)."""
    root = _root(tmp_path)
    sources = root / "etc" / "apt" / "sources.list.d" / "debian.sources"
    sources.write_text(sources.read_text().replace("Types: deb\n", "Types: deb\nEnabled: no\n"))
    finding = _rules(packages.probe(_host(root)))["check/packages/no-repository"]
    assert finding.severity == "warning" and "Unable to locate package" in finding.cause
    assert "Enabled: no" in finding.cause and "apt-get update" in finding.fix


def test_half_upgraded_project(tmp_path: Path) -> None:
    root = _root(tmp_path)
    dpkg = root / "sos_commands" / "dpkg" / "dpkg_-l"
    lines = dpkg.read_text().splitlines(True)
    number = next(i for i, line in enumerate(lines) if line.startswith("ii  nova-compute "))
    lines[number] = lines[number].replace("2:26.2.2-1~deb12u5", "2:26.2.3-1~deb12u1")
    dpkg.write_text("".join(lines))
    finding = _rules(packages.probe(_host(root)))["check/packages/project-versions-differ"]
    assert finding.title == "nova packages at different versions: 26.2.2, 26.2.3"
    assert any(e.line == number + 1 and "nova-compute" in e.text for e in finding.evidence)


def test_unparsed_dpkg_lines_are_counted(tmp_path: Path) -> None:
    root = _root(tmp_path)
    dpkg = root / "sos_commands" / "dpkg" / "dpkg_-l"
    dpkg.write_text(dpkg.read_text() + "this is not a dpkg line\n")
    check = _checks(packages.probe(_host(root)))["packages/installed"]
    assert check.status == "problem" and "1 line(s) not understood" in check.summary and "line 106" in check.summary


def _hotsos_roots(shared: Path, tmp_path: Path) -> dict[str, Path]:
    """Each hotsos scenario that captured `dpkg -l`, as a host root holding its data-root files."""
    roots = {}
    for scenario in sorted((shared / "hotsos-fixtures" / "scenarios").rglob("*.yaml")):
        files = (yaml.safe_load(scenario.read_text()).get("data-root") or {}).get("files") or {}
        if "sos_commands/dpkg/dpkg_-l" not in files:
            continue
        root = tmp_path / scenario.relative_to(shared / "hotsos-fixtures" / "scenarios").with_suffix("")
        for rel, text in files.items():
            if not rel.startswith("/"):
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text(str(text or ""))
        roots[str(scenario.relative_to(shared / "hotsos-fixtures"))] = root
    return roots


def test_hotsos_mixed_releases_and_quiet_others(shared_data: Path, tmp_path: Path) -> None:
    """hotsos raises 'packages from more than one release: ussuri, victoria' for one scenario; no other of its
    `dpkg -l` captures mixes releases or versions (python3-neutron-dynamic-routing is its own deliverable)."""
    roots = _hotsos_roots(shared_data, tmp_path)
    assert len(roots) > 50
    raised = {name: sorted(r for r in _rules(packages.probe(_host(root))) if "releases" in r or "versions" in r)
              for name, root in roots.items()}
    assert {n: r for n, r in raised.items() if r} == {
        "scenarios/openstack/pkgs_from_mixed_releases_found.yaml": ["check/packages/mixed-releases"]}
    finding = _rules(packages.probe(_host(roots["scenarios/openstack/pkgs_from_mixed_releases_found.yaml"])))
    assert finding["check/packages/mixed-releases"].title.endswith("ussuri, victoria")


def test_cloud_archive_packages_without_the_cloud_archive(shared_data: Path, tmp_path: Path) -> None:
    """Ubuntu Cloud Archive packages (`~cloud0`, from a hotsos capture) on a host whose apt has no cloud-archive
    repository: updates for that OpenStack release never come."""
    roots = _hotsos_roots(shared_data, tmp_path / "hotsos")
    root = next(r for r in roots.values() if "~cloud" in (r / "sos_commands/dpkg/dpkg_-l").read_text())
    shutil.copytree(ZED / "etc" / "apt", root / "etc" / "apt")
    finding = _rules(packages.probe(_host(root)))["check/packages/origin-not-configured"]
    assert finding.severity == "warning" and "Ubuntu Cloud Archive" in finding.title
    (root / "etc" / "apt" / "sources.list").write_text(
        "deb http://ubuntu-cloud.archive.canonical.com/ubuntu jammy-updates/antelope main\n")
    assert "check/packages/origin-not-configured" not in _rules(packages.probe(_host(root)))


def test_live_packages_are_host_facts() -> None:
    with open_host(None) as host:
        installed = packages.packages(host)
        if not any(packages.project_of(name) for name in installed):
            pytest.skip("no OpenStack package installed on this machine")
        outcome = packages.probe(host)
    nova = {n: v for n, v in installed.items() if packages.project_of(n) == "nova"}
    assert nova and all(packages.release_of("nova", v) for v in nova.values())
    assert _checks(outcome)["packages/openstack-release"].status in ("ok", "problem")


def test_check_cli_reports_host_facts(tmp_path: Path) -> None:
    code, document = _check(_root(tmp_path))
    ids = {c["id"]: c["status"] for c in document["checks"]}
    assert ids["dns/servers"] == "ok" and ids["packages/openstack-release"] == "ok"
    assert code in (0, 1) and document["source"]["host"] == "vm"


# --- option definitions of the installed services ---------------------------------------------------------------

def test_live_host_uses_its_installed_option_definitions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine has the services installed: their own definitions are generated once (optdump.py under
    /usr/bin/python3), cached per package versions, and named in the report; a host root gets the bundled table."""
    with open_host(None) as host:
        installed = packages.packages(host)
        if not any(packages.project_of(n) in NAMESPACES for n in installed) or not Path(SYSTEM_PYTHON).is_file():
            pytest.skip("no OpenStack service installed on this machine")
        monkeypatch.setenv("STACKSLEUTH_CACHE", str(tmp_path / "cache"))
        generated = installed_options.for_host(host)
        cached = list((tmp_path / "cache").glob("options-*.json"))
        assert len(cached) == 1 and "installed services' definitions" in generated.source
        again = installed_options.for_host(host)
    assert f"cached in {cached[0]}" in again.source and again.groups == generated.groups
    for service in generated.versions:
        assert generated.version(service) == packages.upstream(installed[f"python3-{service}"])
    assert generated.spec("nova", "api", "auth_strategy") == {"choices": ["keystone", "noauth2"]}
    code, out, _ = run_cli("check", "--json")
    checks = {c["id"]: c["summary"] for c in json.loads(out)["checks"]}
    if "openstack/option-definitions" in checks:  # the host has config files to check
        assert "installed services' definitions" in checks["openstack/option-definitions"]
    assert installed_options.for_host(_host(ZED)).source.startswith("the bundled table")


# --- OVS flows ------------------------------------------------------------------------------------------------
# tests/data/host/ovs/<case>/: real `ovs-vsctl show`, `ovs-ofctl show|dump-flows` of Open vSwitch 3.1 with the
# bridges, ports and flows neutron's OVS agent programs (ovs/capture.sh says how; nothing touched the host)

OVS = DATA / "ovs"
DEAD_TAP = "tap7b2e9f40-1a"


def _ovs(case: str, root: Path | None = None) -> Outcome:
    host = _host(root or OVS / case)
    return flows.checks(host, flows.ovs(host))


def test_healthy_ovs_bridges() -> None:
    outcome = _ovs("healthy")
    checks = _checks(outcome)
    assert checks["ovs/flows:br-int"].summary.startswith("18 flow(s) in table(s) 0, 23, 24, 25, 59, 60, 61; 6 port(s)")
    assert {c.status for c in outcome.checks} == {"ok"} and outcome.findings == ()


def test_openflow13_dump_reads_like_openflow10() -> None:
    captured = OVS / "healthy" / "sos_commands" / "openvswitch"
    for bridge in ("br-int", "br-ex", "br-tun"):
        of10, unparsed10 = flows.parse_flows((captured / f"ovs-ofctl_dump-flows_{bridge}").read_text())
        of13, unparsed13 = flows.parse_flows((captured / f"ovs-ofctl_-O_OpenFlow13_dump-flows_{bridge}").read_text())
        assert unparsed10 == unparsed13 == [] and of10
        assert [(f.table, f.priority, f.match) for f in of10] == [(f.table, f.priority, f.match) for f in of13]


def test_dead_port(tmp_path: Path) -> None:
    """neutron's port_dead(): VLAN 4095 and `priority=2,in_port=5 actions=drop`; also from the OpenFlow 1.3 dump."""
    finding = _rules(_ovs("port-dead"))["check/ovs-flows/port-dead"]
    assert finding.title == f"OVS port {DEAD_TAP} is dead on br-int: tag 4095, table 0 drops in_port=5"
    assert [(e.file.rsplit("/", 1)[1], e.text.split()[-1]) for e in finding.evidence] == [
        ("ovs-vsctl_-t_5_show", "4095"), ("ovs-ofctl_dump-flows_br-int", "actions=drop")]
    root = tmp_path / "port-dead"
    shutil.copytree(OVS / "port-dead", root)
    (root / "sos_commands" / "openvswitch" / "ovs-ofctl_dump-flows_br-int").unlink()
    again = _rules(_ovs("port-dead", root))["check/ovs-flows/port-dead"]
    assert again.evidence[1].file.endswith("ovs-ofctl_-O_OpenFlow13_dump-flows_br-int")
    assert "check/ovs-flows/port-dead" not in _rules(_ovs("healthy"))


def test_dead_port_is_where_the_network_path_fails() -> None:
    code, out, _ = run_cli("check", "network", "--instance", "e2b7c9d0-4f13-4a86-b2e5-93a1c6d0f4b7", "--port",
                           "7b2e9f40-1a6c-4d83-95e2-c40f8b1d6a27", "--json", str(OVS / "port-dead"))
    lead = json.loads(out)["findings"][0]
    assert code == 1 and lead["rule"] == "check/network-path/tap" and "dead in OVS" in lead["title"]
    assert lead["component"] == "neutron-openvswitch-agent"


def test_external_bridge_without_normal() -> None:
    finding = _rules(_ovs("br-ex-flows-lost"))["check/ovs-flows/external-bridge-no-normal"]
    assert finding.title.startswith("br-ex switches nothing") and "Floating IPs" in finding.cause
    assert set(_rules(_ovs("br-ex-flows-lost"))) == {"check/ovs-flows/external-bridge-no-normal"}


def test_secure_bridge_with_only_drops(tmp_path: Path) -> None:
    """br-tun left with just its drop flows (the agent's resync deleted the rest and died)."""
    root = tmp_path / "healthy"
    shutil.copytree(OVS / "healthy", root)
    for dump in (root / "sos_commands" / "openvswitch").glob("ovs-ofctl*dump-flows_br-tun"):
        dump.write_text("".join(line for line in dump.read_text().splitlines(True) if "actions=" not in line or line.endswith("actions=drop\n")))
    finding = _rules(_ovs("healthy", root))["check/ovs-flows/bridge-forwards-nothing"]
    assert finding.title == "br-tun forwards nothing: 3 flow(s), none but drops"


def test_unparsed_flow_lines_are_counted(tmp_path: Path) -> None:
    root = tmp_path / "healthy"
    shutil.copytree(OVS / "healthy", root)
    dump = root / "sos_commands" / "openvswitch" / "ovs-ofctl_dump-flows_br-ex"
    dump.write_text(dump.read_text() + "ovs-ofctl: br-ex is not a bridge or a socket\n")
    check = _checks(_ovs("healthy", root))["ovs/flows:br-ex"]
    assert check.status == "problem" and "1 line(s) not understood (line 5)" in check.summary


# --- multipath and iSCSI -------------------------------------------------------------------------------------
# tests/data/host/storage/<case>/: real `multipath -ll`, /proc/net/bonding/bond0, `ip -d address` and iscsiadm
# records from a QEMU guest (Debian 12 kernel and tools; storage/capture_guest.py says how): one LUN on two
# virtio-scsi controllers (two paths) and one on one; a path set offline and read through; a bond in 802.3ad mode

STORAGE = DATA / "storage"
TARGET = "iqn.2010-10.org.openstack:volume-0d7d2c4e-9b8a-4c41-a1f3-6e2b5d9c8f10"


def _storage(case: str, root: Path | None = None) -> Outcome:
    host = _host(root or STORAGE / case)
    outcomes = (multipath.probe(host), iscsi.probe(host))
    return Outcome(tuple(c for o in outcomes for c in o.checks), tuple(f for o in outcomes for f in o.findings))


def _copy_storage(tmp_path: Path, case: str) -> Path:
    root = tmp_path / case
    shutil.copytree(STORAGE / case, root)
    return root


def test_multipath_healthy_maps() -> None:
    outcome = _storage("multipath-healthy")
    checks = _checks(outcome)
    assert checks["storage/multipath-paths"].summary == "mpatha: 2/2 path(s) up; mpathb: 1/1 path(s) up"
    assert checks["storage/multipath-conf"].status == "ok" and "find_multipaths no" in checks["storage/multipath-conf"].summary
    assert sorted(_rules(outcome)) == ["check/storage-paths/single-path"]  # mpathb: one controller only


def test_multipath_failed_path() -> None:
    finding = _rules(_storage("multipath-path-failed"))["check/storage-paths/path-failed"]
    assert finding.title == "mpatha: 1 of 2 path(s) failed (sdc)" and finding.severity == "error"
    assert finding.evidence[1].text == "`- 1:0:0:0 sdc 8:32 failed faulty offline" and finding.evidence[1].line == 5
    assert "1 path(s) still carry the I/O" in finding.cause


def test_multipathd_not_running() -> None:
    finding = _rules(_storage("multipath-no-multipathd"))["check/storage-paths/multipathd-not-running"]
    assert finding.severity == "warning" and finding.evidence[0].line == 1


def test_multipath_conf_blacklisting_everything(tmp_path: Path) -> None:
    root = _copy_storage(tmp_path, "multipath-healthy")
    conf = root / "etc" / "multipath.conf"
    conf.write_text(conf.read_text().replace("blacklist {\n", 'blacklist {\n    devnode ".*"\n'))
    finding = _rules(_storage("", root))["check/storage-paths/blacklist-all"]
    assert finding.title == 'multipath.conf blacklists every device (devnode ".*")' and finding.evidence[0].line == 7
    conf.write_text(conf.read_text() + 'blacklist_exceptions {\n    wwid "35000c50015ea71ac"\n}\n')
    assert "check/storage-paths/blacklist-all" not in _rules(_storage("", root))


def test_multipath_conf_unclosed_section(tmp_path: Path) -> None:
    root = _copy_storage(tmp_path, "multipath-healthy")
    conf = root / "etc" / "multipath.conf"
    conf.write_text(conf.read_text().replace("}\nblacklist", "blacklist", 1))
    finding = _rules(_storage("", root))["check/storage-paths/conf-unreadable"]
    assert finding.title == "/etc/multipath.conf: section `defaults` is never closed (missing `}`) (line 1)"


def test_unparsed_multipath_lines_are_counted(tmp_path: Path) -> None:
    root = _copy_storage(tmp_path, "multipath-healthy")
    listing = root / "sos_commands" / "multipath" / "multipath_-ll"
    listing.write_text("multipath: command not found\n" + listing.read_text())
    check = _checks(_storage("", root))["storage/multipath-paths"]
    assert check.status == "problem" and check.summary.endswith("1 line(s) not understood (line 1)")


def test_iscsi_paths_on_separate_subnets() -> None:
    outcome = _storage("iscsi-separate-subnets")
    paths = _checks(outcome)[f"storage/iscsi-paths:{TARGET}"]
    assert paths.status == "ok" and "via dummy4 (10.40.1.0/24)" in paths.summary and "via dummy5 (10.40.2.0/24)" in paths.summary
    assert outcome.findings == ()


def test_iscsi_paths_sharing_a_subnet() -> None:
    finding = _rules(_storage("iscsi-same-subnet"))["check/storage-paths/paths-same-subnet"]
    assert finding.title.endswith("share one subnet (10.30.0.0/24)")
    assert [e.text for e in finding.evidence] == ["node.conn[0].address = 10.30.0.10 (iface iface-a)",
                                                  "node.conn[0].address = 10.30.0.11 (iface iface-b)"]


def test_iscsi_over_lacp(tmp_path: Path) -> None:
    """The bond seen by the kernel, then by `ip -d address`, then only in ifupdown's configuration."""
    finding = _rules(_storage("iscsi-lacp"))["check/storage-paths/lacp-under-iscsi"]
    assert (finding.evidence[0].file, finding.evidence[0].line) == ("/proc/net/bonding/bond0", 3)
    assert "one TCP connection" in finding.cause
    root = _copy_storage(tmp_path, "iscsi-lacp")
    shutil.rmtree(root / "proc")
    finding = _rules(_storage("", root))["check/storage-paths/lacp-under-iscsi"]
    assert finding.evidence[0].file == "sos_commands/networking/ip_-d_address" and finding.evidence[0].text == "bond mode 802.3ad"
    shutil.rmtree(root / "sos_commands")
    (root / "etc" / "network").mkdir()
    (root / "etc" / "network" / "interfaces").write_text(
        "auto bond0\niface bond0 inet static\n    address 10.20.0.5/24\n    bond-slaves eno1 eno2\n    bond-mode 802.3ad\n")
    finding = _rules(_storage("", root))["check/storage-paths/lacp-under-iscsi"]
    assert (finding.evidence[0].file, finding.evidence[0].line) == ("/etc/network/interfaces", 5)


def test_replacement_timeout_with_multipath(tmp_path: Path) -> None:
    """Debian's iscsid.conf gives new records replacement_timeout = 120: too long once multipath is in use."""
    root = _copy_storage(tmp_path, "iscsi-separate-subnets")
    assert _checks(_storage("", root))["storage/iscsi-timeouts"].status == "ok"
    shutil.copy(STORAGE / "multipath-healthy" / "etc" / "multipath.conf", root / "etc" / "multipath.conf")
    finding = _rules(_storage("", root))["check/storage-paths/replacement-timeout"]
    assert finding.title == "iSCSI replacement_timeout is 120 s with multipath" and len(finding.evidence) == 2
    for record in (root / "etc" / "iscsi" / "nodes").rglob("iface-*"):  # iscsiadm -m node -o update … -v 5
        record.write_text(record.read_text().replace("replacement_timeout = 120", "replacement_timeout = 5"))
    assert "check/storage-paths/replacement-timeout" not in _rules(_storage("", root))


def test_missing_initiator_name(tmp_path: Path) -> None:
    root = _copy_storage(tmp_path, "iscsi-separate-subnets")
    (root / "etc" / "iscsi" / "initiatorname.iscsi").write_text("## DO NOT EDIT OR REMOVE THIS FILE!\n")
    assert _rules(_storage("", root))["check/storage-paths/no-initiator-name"].severity == "error"
