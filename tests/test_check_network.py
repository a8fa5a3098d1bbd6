"""`stacksleuth check network --instance UUID ROOT`: a VM's network path walked over host roots captured with real
commands on the live lab (Debian Zed, linuxbridge + DHCP agent; tests/data/check/network/<case>/), each with a
running VM (tiny image) on the provider network:

- healthy: its security group lets ICMP and SSH in; sg-closed: the default group (another VM, whose iPXE got a lease);
- tap-not-in-bridge: `brctl delif` of the VM's tap; dnsmasq-stopped: the network's dnsmasq killed;
- dhcp-tap-out-of-bridge: dnsmasq's own tap out of brq… (no VM);

each broken for real and restored. The lab has no l3 agent: the router steps use a qrouter namespace added
here in the l3 agent's format; the console logs are the lab guest's (consoles/)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli

DATA = Path(__file__).parent / "data" / "check" / "network"
NET = "6ebf92af-b1fd-425c-aa51-8f9f1d34fa9a"
NS = f"qdhcp-{NET}"


def _uuid(case: Path) -> str:
    """The captured instance: the one directory under var/lib/nova/instances/."""
    return next((case / "var" / "lib" / "nova" / "instances").iterdir()).name


def _walk(root: Path, uuid: str | None = None, *extra: str) -> tuple[int, dict[str, Any], str]:
    uuid = uuid or _uuid(root)
    code, out, _ = run_cli("check", "network", "--instance", uuid, "--json", *extra, str(root))
    _, text, _ = run_cli("check", "network", "--instance", uuid, *extra, str(root))
    return code, json.loads(out), text


def _steps(document: dict[str, Any]) -> dict[str, dict[str, str]]:
    """network-path/NN-step → the check, keyed by the step name."""
    return {c["id"].split("/", 1)[1].split("-", 1)[1] if c["id"].startswith("network-path/") else c["id"]: c
            for c in document["checks"]}


def _status(document: dict[str, Any]) -> dict[str, str]:
    return {k: v["status"] for k, v in _steps(document).items()}


def _copy(tmp_path: Path, case: str, name: str | None = None) -> Path:
    root = tmp_path / (name or case)
    shutil.copytree(DATA / case, root)
    return root


def _healthy(tmp_path: Path) -> Path:
    return _copy(tmp_path, "healthy")


def test_healthy_path_has_no_failing_step(tmp_path: Path) -> None:
    root = _healthy(tmp_path)
    code, doc, text = _walk(root)
    status = _status(doc)
    assert code == 0, doc["findings"]
    assert doc["schema"] == "stacksleuth/diagnosis/v1" and doc["source"]["instance"] == _uuid(root)
    for step in ("port", "security-group", "tap", "dhcp-namespace", "dnsmasq", "dhcp-port", "dhcp-host"):
        assert status[step] == "ok", (step, _steps(doc)[step])
    assert status["dhcp-lease"] == "info"  # captured 10 s after boot: the guest's iPXE had not asked yet
    port = _steps(doc)["port"]["summary"]
    assert "tap" in port and "203.0.113." in port and NET in port
    assert "icmp" in _steps(doc)["security-group"]["summary"]
    # steps without facts: "not checked", with the exact command
    assert status["reachability"] == "skipped" and status["floating-ip"] == "skipped"
    ip = port.split("IP ")[1].split(",")[0]
    assert f"ip netns exec {NS} ping -c 3 {ip}" in _steps(doc)["reachability"]["summary"]
    summary = doc["findings"][0]
    assert summary["rule"] == "check/network-path/no-failure" and summary["severity"] == "info"
    assert f"ip netns exec {NS} ping -c 3 {ip}" in summary["fix"]
    assert "No problem found" in text


def test_security_group_closed_fails_first() -> None:
    code, doc, _ = _walk(DATA / "sg-closed")
    first = doc["findings"][0]
    assert code == 1 and first["rule"] == "check/network-path/security-group"
    assert first["title"].startswith(f"Network path of {_uuid(DATA / 'sg-closed')[:8]} fails first at 'security group")
    assert any("--protocol icmp" in f for f in first["fix"]) and any("--dst-port 22" in f for f in first["fix"])
    assert first["evidence"][0]["file"] == "sos_commands/firewall_tables/iptables-save"
    assert first["instance"] == _uuid(DATA / "sg-closed") and first["stage"] == "networking"
    assert _status(doc)["dhcp-lease"] == "ok"  # the rest of the path is fine


def test_tap_out_of_its_bridge_fails_first() -> None:
    code, doc, _ = _walk(DATA / "tap-not-in-bridge")
    first = doc["findings"][0]
    assert code == 1 and first["rule"] == "check/network-path/tap" and first["severity"] == "error"
    assert "in no bridge" in first["title"] and any(f.startswith("brctl show") for f in first["fix"])
    assert any("neutron-linuxbridge-agent" in f for f in first["fix"])
    assert _status(doc)["security-group"] == "ok"


def test_dnsmasq_killed_fails_first_and_host_check_sees_it() -> None:
    root = DATA / "dnsmasq-stopped"
    code, doc, _ = _walk(root)
    first = doc["findings"][0]
    assert code == 1 and first["rule"] == "check/network-path/dnsmasq" and NET in first["title"]
    assert "systemctl restart neutron-dhcp-agent" in first["fix"]
    assert [f for f in doc["findings"] if f["rule"] == "check/network/dnsmasq-not-running"] == []  # not twice
    code, out, _ = run_cli("check", "--json", str(root))  # the plain host check
    host = json.loads(out)
    assert code == 1 and "check/network/dnsmasq-not-running" in {f["rule"] for f in host["findings"]}
    assert _status(host)[f"network/dnsmasq:{NET}"] == "problem"


def test_dhcp_tap_out_of_bridge(tmp_path: Path) -> None:
    """The real capture shows brq… without dnsmasq's tap; on the VM's path it is the dhcp-port step."""
    code, out, _ = run_cli("check", "--json", str(DATA / "dhcp-tap-out-of-bridge"))
    assert "tapc41a9b09-2b" not in _steps(json.loads(out))["network/bridges"]["summary"]
    root = _healthy(tmp_path)
    path = root / "sos_commands/networking/brctl_show"
    path.write_text(path.read_text().replace("\t\t\t\t\t\t\ttapc41a9b09-2b\n", ""))
    (root / "sos_commands/networking/bridge_link_show").unlink()
    _, doc, _ = _walk(root)
    first = doc["findings"][0]
    assert first["rule"] == "check/network-path/dhcp-port" and "tapc41a9b09-2b" in first["title"]
    assert f"brctl show brq{NET[:11]}" in first["fix"]


def test_host_check_reports_namespaces_bridges_and_chains() -> None:
    code, out, _ = run_cli("check", "--json", str(DATA / "sg-closed"))
    doc = _steps(json.loads(out))
    assert doc["network/namespaces"]["status"] == "ok" and NS in doc["network/namespaces"]["summary"]
    assert f"brq{NET[:11]}" in doc["network/bridges"]["summary"]
    assert "neutron-linuxbri-i" in doc["network/security-groups"]["summary"]
    assert doc[f"network/dnsmasq:{NET}"]["status"] == "ok"


def test_missing_dhcp_namespace_is_an_error(tmp_path: Path) -> None:
    root = _healthy(tmp_path)
    (root / "sos_commands" / "networking" / "ip_netns").write_text("")
    code, doc, _ = _walk(root)
    assert doc["findings"][0]["rule"] == "check/network-path/dhcp-namespace"
    assert any(f == "ip netns" for f in doc["findings"][0]["fix"])


def test_port_found_from_logs_without_libvirt_xml(tmp_path: Path) -> None:
    root = _healthy(tmp_path)
    shutil.rmtree(root / "etc" / "libvirt")
    _, doc, _ = _walk(root)
    assert _status(doc)["port"] == "ok" and _status(doc)["dhcp-host"] == "ok"
    port = _steps(doc)["port"]["summary"]  # the id from nova's network-vif-plugged line, the MAC from the tap (fe:…)
    assert "port 2eff9b04-da74-4448-ad31-accb790b547b" in port and "MAC fa:16:3e:" in port


def test_unknown_instance_says_how_to_find_its_port() -> None:
    code, doc, _ = _walk(DATA / "sg-closed", "00000000-1111-2222-3333-444444444444")
    first = doc["findings"][0]
    assert code == 1 and first["rule"] == "check/network-path/port"
    assert "openstack port list --server 00000000-1111-2222-3333-444444444444 --long" in first["fix"]


def test_explicit_port_option(tmp_path: Path) -> None:
    root = _healthy(tmp_path)
    shutil.rmtree(root / "etc" / "libvirt")
    shutil.rmtree(root / "var" / "log")
    uuid = _uuid(root)
    assert _status(_walk(root, uuid)[1])["port"] == "problem"  # no domain XML, no log line
    port = json.loads(run_cli("check", "network", "--instance", uuid, "--json", str(DATA / "healthy"))[1])
    port_id = _steps(port)["port"]["summary"].split("port ")[2].split(",")[0]
    assert _status(_walk(root, uuid, "--port", port_id)[1])["dhcp-host"] == "ok"  # the MAC from the tap


@pytest.mark.parametrize(("console", "first"), [("dhcp-failed", "console-dhcp"), ("dhcp-ok", None)])
def test_console_log_dhcp_and_metadata(tmp_path: Path, console: str, first: str | None) -> None:
    """Real guest consoles from the lab (udhcpc failing with the DHCP agent down; a good boot)."""
    root = _healthy(tmp_path)
    shutil.copy(DATA / "consoles" / f"{console}.console.log", root / "var/lib/nova/instances" / _uuid(root) / "console.log")
    _, doc, _ = _walk(root)
    status = _status(doc)
    assert status["metadata"] == "problem"  # the lab has no metadata service: the guest says so
    if first:
        assert doc["findings"][0]["rule"] == f"check/network-path/{first}"
        assert any("tcpdump" in f for f in doc["findings"][0]["fix"])
        assert doc["findings"][0]["evidence"][0]["text"] in ("udhcpc: no lease, failing",
                                                              "stacksleuth-guest: dhcp failed: no lease for eth0 (fa:16:3e:19:f1:3f)")
    else:
        assert status["console-dhcp"] == "ok" and doc["findings"][0]["rule"] == "check/network-path/metadata"


def _with_router(root: Path, ip: str, snat: bool = True) -> None:
    """A qrouter namespace as neutron's l3 agent builds it (rules in its iptables format; the lab has no l3 agent)."""
    router = "qrouter-0d6f3b8e-2a1c-4a57-9f0e-6c2b1f4e7a10"
    (root / "sos_commands/networking/ip_netns").write_text(f"{router} (id: 1)\n{NS} (id: 0)\n")
    ns = root / "sos_commands/networking/namespaces" / router
    ns.mkdir(parents=True)
    rules = ["*nat", ":neutron-l3-agent-PREROUTING - [0:0]", ":neutron-l3-agent-float-snat - [0:0]",
             f"-A neutron-l3-agent-PREROUTING -d 172.24.4.57/32 -j DNAT --to-destination {ip}",
             f"-A neutron-l3-agent-OUTPUT -d 172.24.4.57/32 -j DNAT --to-destination {ip}",
             "-A neutron-l3-agent-snat -o qg-5a1b2c3d-4e -j SNAT --to-source 172.24.4.2 --random-fully"]
    if snat:
        rules.append(f"-A neutron-l3-agent-float-snat -s {ip}/32 -j SNAT --to-source 172.24.4.57 --random-fully")
    (ns / f"ip_netns_exec_{router}_iptables-save").write_text("\n".join(rules + ["COMMIT"]) + "\n")
    (ns / f"ip_netns_exec_{router}_ip_-d_address_show").write_text(
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n"
        "2: qg-5a1b2c3d-4e@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP\n"
        "    inet 172.24.4.2/24 brd 172.24.4.255 scope global qg-5a1b2c3d-4e\n"
        "    inet 172.24.4.57/32 brd 172.24.4.57 scope global qg-5a1b2c3d-4e\n")
    (ns / f"ip_netns_exec_{router}_ip_route_show_table_all").write_text(
        "default via 172.24.4.1 dev qg-5a1b2c3d-4e proto static\n172.24.4.0/24 dev qg-5a1b2c3d-4e proto kernel scope link src 172.24.4.2\n")


@pytest.mark.parametrize("snat", [True, False])
def test_floating_ip_nat_and_gateway(tmp_path: Path, snat: bool) -> None:
    root = _healthy(tmp_path)
    ip = _steps(_walk(DATA / "healthy")[1])["port"]["summary"].split("IP ")[1].split(",")[0]
    _with_router(root, ip, snat)
    _, doc, _ = _walk(root)
    steps = _steps(doc)
    assert steps["gateway"]["status"] == "ok" and "default via 172.24.4.1" in steps["gateway"]["summary"]
    if snat:
        assert steps["floating-ip"]["status"] == "ok" and f"172.24.4.57 ↔ {ip}" in steps["floating-ip"]["summary"]
        assert "172.24.4.57" in steps["network/floating-ips"]["summary"]
    else:
        first = doc["findings"][0]
        assert first["rule"] == "check/network-path/floating-ip" and "only DNAT" in steps["floating-ip"]["summary"]
        assert any(f.startswith("ip netns exec qrouter-0d6f3b8e") for f in first["fix"])


def test_missing_router_namespace_from_l3_state(tmp_path: Path) -> None:
    root = _healthy(tmp_path)
    (root / "var/lib/neutron/ha_confs/0d6f3b8e-2a1c-4a57-9f0e-6c2b1f4e7a10").mkdir(parents=True)
    code, out, _ = run_cli("check", "--json", str(root))
    rules = {f["rule"]: f for f in json.loads(out)["findings"]}
    assert rules["check/network/namespace-missing-router"]["title"] == "qrouter-0d6f3b8e-2a1c-4a57-9f0e-6c2b1f4e7a10 is missing"
    assert code == 1


def test_no_network_facts_everything_not_checked(tmp_path: Path) -> None:
    code, doc, _ = _walk(tmp_path, "00000000-1111-2222-3333-444444444444")
    assert code == 1 and doc["findings"][0]["rule"] == "check/network-path/port"
    assert _status(doc)["network/namespaces"] == "skipped"


def test_network_needs_an_instance() -> None:
    code, _, err = run_cli("check", "network", str(DATA / "sg-closed"))
    assert code == 2 and "--instance" in err
