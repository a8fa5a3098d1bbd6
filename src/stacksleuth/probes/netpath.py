"""`stacksleuth check network --instance UUID`: walk one VM's network path the way operators debug it
(seeds 001/003): its port → security group → tap and bridge → console.log DHCP → qdhcp namespace →
dnsmasq (process, its port on the bridge, host entry, lease) → metadata → ping/ssh from the namespace →
floating IP NAT → the router's external gateway → DNS. Each step is decided from the facts the host shows
(probes/network.py); the first failing step leads, with the commands to run next; a step without facts is
"not checked" and names the command that would check it. Nothing is sent on the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.flows import dead_port
from stacksleuth.probes.interface import Check, Outcome, finding, knowledge
from stacksleuth.probes.network import _UUID, Facts, host_checks, nat_rules, parse_links, port_chains

_DOMAIN_UUID = re.compile(r"<uuid>\s*(" + _UUID + r")\s*</uuid>")
_INTERFACE = re.compile(r"<interface\b.*?</interface>", re.S)
_NOVA_PORT = re.compile(r'<nova:port uuid="(' + _UUID + r')">\s*(?:<nova:ip [^>]*address="([^"]+)")?', re.S)
_PLUGGED = re.compile(r"(?:plugged vif|Successfully (?:updated|created|bound) port:?)\s.*?(?:\bid=|port:?\s+)(" + _UUID + ")")
_VIF_EVENT = re.compile(r"network-vif-(?:plugged|unplugged|deleted|changed)-(" + _UUID + ")|'tag': '(" + _UUID + ")'")
_PORT_WORD = re.compile(r"\bport[\s_:=]+(?:id[\s:=]+)?['\"]?(" + _UUID + ")", re.I)
_LOGS = ("/var/log/nova/nova-compute.log", "/var/log/neutron/neutron-linuxbridge-agent.log",
         "/var/log/neutron/neutron-openvswitch-agent.log", "/var/log/neutron/neutron-server.log",
         "/var/log/neutron/neutron-api.log", "/var/log/neutron/neutron-rpc-server.log")
_LEASE_OK = re.compile(r"lease of (?P<ip>[\d.]+) obtained|\bbound to (?P<ip2>[\d.]+)|DHCPv4 address (?P<ip3>[\d.]+)"
                       r"|dhcp ok: (?P<ip4>[\d.]+)", re.I)
_LEASE_FAIL = re.compile(r"no lease, failing|dhcp failed|No DHCPOFFERS received|DHCP.*(?:timed out|giving up)"
                         r"|Sending discover\.\.\.\s*$", re.I)
_METADATA_FAIL = re.compile(r"169\.254\.169\.254.*(?:unreachable|fail|error|timed out|refused)"
                            r"|(?:failed|error|unreachable).*169\.254\.169\.254", re.I)
_METADATA_OK = re.compile(r"(?:metadata ok|fetched .*169\.254\.169\.254|Authorized keys from)", re.I)
_INGRESS_ALL = re.compile(r"^-A \S+ (?:-m comment --comment \"[^\"]*\" )?-j RETURN\s*$")


@dataclass
class Port:
    """The instance's port as far as this host tells: at least the id or its first 11 characters (from the tap)."""

    id: str
    mac: str | None = None
    ip: str | None = None
    network: str | None = None
    tap: str = ""
    bridge: str | None = None
    domain: str | None = None
    sources: list[Evidence] = field(default_factory=list)


@dataclass
class Step:
    """One step's verdict: ok, problem, info or skipped ("not checked")."""

    id: str
    status: str
    seen: str
    evidence: list[Evidence] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    severity: str = "error"


def walk(found: Facts, uuid: str, port_id: str | None = None) -> Outcome:
    """The steps for one instance, the first failure leading; plus the host-level checks."""
    port = find_port(found, uuid, port_id)
    steps = _steps(found, uuid, port)
    return _report(found, uuid, port, steps)


# --- the instance's port -------------------------------------------------------------------------------

def find_port(found: Facts, uuid: str, port_id: str | None = None) -> Port | None:
    """The instance's port from its libvirt domain XML, else the nova/neutron logs, then completed from the
    dnsmasq host files and the bridges (port id prefix = tap name minus `tap`)."""
    host = found.host
    port: Port | None = Port(port_id, tap=f"tap{port_id[:11]}") if port_id else None
    for path in host.glob("/etc/libvirt/qemu/*.xml") + host.glob("/run/libvirt/qemu/*.xml") + host.glob(f"/var/lib/nova/instances/{uuid}/libvirt.xml"):
        xml = host.file(path) or ""
        if not (m := _DOMAIN_UUID.search(xml)) or m[1] != uuid:
            continue
        domain = re.search(r"<name>([^<]+)</name>", xml)
        nova_ports = _NOVA_PORT.findall(xml)
        for number, interface in enumerate(_INTERFACE.findall(xml)):
            mac = re.search(r"<mac address=['\"]([^'\"]+)", interface)
            tap = re.search(r"<target dev=['\"]([^'\"]+)", interface)
            bridge = re.search(r"<source bridge=['\"]([^'\"]+)", interface)
            if tap is None:
                continue
            full = next((p for p, _ in nova_ports if tap[1][3:] and p.startswith(tap[1][3:])), tap[1][3:])
            ip = next((a for p, a in nova_ports if p == full and a), None)
            if port is None or port.id.startswith(full[:11]) or full.startswith(port.id[:11]):
                line = xml[:xml.find(interface)].count("\n") + 1
                port = Port(full if len(full) > len(port.id if port else "") else (port.id if port else full),
                            mac[1] if mac else None, ip, None, tap[1], bridge[1] if bridge else None,
                            domain[1] if domain else None,
                            [Evidence(host.name, path, line, " ".join(interface.split())[:300])])
                break
            del number
        if port is not None:
            break
    if port is None or len(port.id) < 36:
        port = _from_logs(found, uuid, port)
    if port is None:
        return None
    _complete(found, port)
    return port


def _from_logs(found: Facts, uuid: str, port: Port | None) -> Port | None:
    for path in _LOGS:
        for number, line in enumerate((found.host.file(path) or "").splitlines(), 1):
            if uuid not in line:
                continue
            m = _PLUGGED.search(line) or _VIF_EVENT.search(line) or _PORT_WORD.search(line)
            candidate = next((g for g in m.groups() if g), None) if m else None
            if candidate and candidate != uuid and (port is None or candidate.startswith(port.id[:11])):
                evidence = Evidence(found.host.name, path, number, line.strip()[:400])
                if port is None:
                    return Port(candidate, tap=f"tap{candidate[:11]}", sources=[evidence])
                port.id = candidate
                port.sources.append(evidence)
                return port
    return port


def _complete(found: Facts, port: Port) -> None:
    """Fill MAC, IP and network from the dnsmasq host files (tag `set:port-<id>` or the MAC), else the bridge."""
    port.tap = port.tap or f"tap{port.id[:11]}"
    link = (found.links or {}).get(port.tap)
    if port.mac is None and link and link.mac and link.mac.startswith("fe:16:3e:"):
        port.mac = "fa" + link.mac[2:]  # libvirt gives the tap the guest's MAC with its first byte set to fe
    for net, d in found.dnsmasq.items():
        for number, entry in enumerate(d.hosts, 1):
            tagged = any(part.startswith(f"set:port-{port.id[:11]}") or part.startswith(f"set:{port.id[:11]}") for part in entry)
            if tagged or (port.mac and entry and entry[0].lower() == port.mac.lower()):
                port.network = net
                port.mac = port.mac or entry[0]
                port.ip = port.ip or next((p for p in entry[1:] if re.fullmatch(r"[\d.]+|\[?[0-9a-f:]+\]?", p)), None)
                if tagged and len(port.id) < 36:
                    port.id = next(p for p in entry if port.id[:11] in p).split("port-", 1)[-1].removeprefix("set:")
                port.sources.append(Evidence(found.host.name, f"/var/lib/neutron/dhcp/{net}/host", number, ",".join(entry)))
                return
    bridge = port.bridge or _bridge_of(found, port.tap)
    if bridge and bridge.startswith("brq"):  # linuxbridge: brq + the network id's first 11 characters
        port.network = next((net for net in found.dnsmasq if net.startswith(bridge[3:])), None)


def _bridge_of(found: Facts, device: str) -> str | None:
    for bridge, ports in (found.bridges or {}).items():
        if device in ports or f"qvo{device[3:]}" in ports or f"qvb{device[3:]}" in ports:
            return bridge
    link = (found.links or {}).get(device)
    return link.master if link else None


# --- the steps -----------------------------------------------------------------------------------------

def _steps(found: Facts, uuid: str, port: Port | None) -> list[Step]:
    if port is None:
        return [Step("port", "problem", f"no libvirt domain, log line or dnsmasq host entry ties {uuid} to a port")]
    seen = f"port {port.id}, tap {port.tap}" + (f", MAC {port.mac}" if port.mac else "") + (f", IP {port.ip}" if port.ip else "") \
        + (f", network {port.network}" if port.network else "")
    steps = [Step("port", "ok", seen, port.sources[:2])]
    console = _console(found, uuid, port)
    steps += [_security_group(found, port), _tap(found, port), console]
    steps += _dhcp(found, port, quiet_console=console.status in ("info", "ok"))
    steps += [_metadata(found, uuid, port), Step("reachability", "skipped", "not checked: needs traffic to the guest")]
    steps += _router(found, port)
    steps.append(_dns(found, port))
    return steps


def _security_group(found: Facts, port: Port) -> Step:
    if found.iptables is None:
        return Step("security-group", "skipped", "not checked: no iptables-save output")
    if not any(line.startswith(":neutron-") for line in found.iptables):
        return Step("security-group", "info", "no neutron chain in iptables: firewall_driver noop or OVS native firewall "
                    "(check with: ovs-ofctl dump-flows br-int table=82)")
    chains = port_chains(found.iptables, port.id)
    trusted = [line for line in found.iptables if f"--physdev-out {port.tap} " in line and "trusted" in line]
    if not chains:
        if trusted:
            return Step("security-group", "ok", f"port {port.id[:11]} is trusted (port security off): all traffic accepted",
                        [found.line_of("iptables", trusted[0])])
        return Step("security-group-chain", "problem", f"no neutron-…-[ios]{port.id[:10]} chain in iptables-save",
                    [found.evidence("iptables", f"{sum(r.startswith(':neutron-') for r in found.iptables)} neutron chains, none for {port.id[:10]}")],
                    {"chain": f"neutron-linuxbri-i{port.id[:10]}"})
    ingress = next((name for name in chains if name[len("neutron-linuxbri-")] == "i"), "")
    rules = chains.get(ingress, [])
    allows = _allows(rules)
    evidence = [found.line_of("iptables", r) for r in rules if "RETURN" in r][:4] or [found.evidence("iptables", f"{ingress}: no accepting rule")]
    seen = f"{ingress}: " + (", ".join(sorted(allows)) if allows else "no ingress rule") + f" ({len(rules)} rules)"
    if "icmp" in allows or "ssh" in allows or "all" in allows:
        return Step("security-group", "ok", seen, evidence)
    return Step("security-group", "problem", seen, evidence, {"chain": ingress}, severity="warning")


def _allows(rules: list[str]) -> set[str]:
    allows = set()
    for rule in rules:
        if not rule.endswith("-j RETURN") or "--ctstate" in rule or "RELATED,ESTABLISHED" in rule:
            continue
        if "-p icmp" in rule:
            allows.add("icmp")
        elif "-p tcp" in rule and re.search(r"--dport 22\b|--dports (?:\S*,)?22\b|--dport \d+:\d+", rule):
            allows.add("ssh" if re.search(r"--dports? (?:\S*,)?22\b", rule) else "tcp range")
            if (r := re.search(r"--dport (\d+):(\d+)", rule)) and int(r[1]) <= 22 <= int(r[2]):
                allows.add("ssh")
        elif "-p udp --sport 67" in rule or "--sport 67" in rule:
            allows.add("dhcp replies")
        elif "--match-set" in rule:
            allows.add("members of a remote group")
        elif (source := re.search(r"-s (\S+)", rule)) and source[1] not in ("0.0.0.0/0", "::/0"):
            allows.add(f"from {source[1]}")
        elif "-p" not in rule or _INGRESS_ALL.match(rule):
            allows.add("all")
        elif "-p" in rule:
            allows.add(rule.split("-p ", 1)[1].split()[0])
    return allows


def _tap(found: Facts, port: Port) -> Step:
    if found.links is None and found.bridges is None:
        return Step("tap", "skipped", "not checked: no `ip address` or `brctl show` output", params={"what": "", "what_long": ""})
    link = (found.links or {}).get(port.tap)
    bridge = _bridge_of(found, port.tap)
    port.bridge = bridge or port.bridge
    if link is None and found.links is not None and bridge is None:
        return Step("tap", "problem", f"{port.tap} does not exist", [found.evidence("links", f"no device {port.tap}")],
                    {"what": "missing", "what_long": "does not exist on this host (the instance is not running here, "
                     "or its VIF was unplugged)"})
    if found.bridges is not None and bridge is None:
        return Step("tap", "problem", f"{port.tap} exists but is in no bridge", [found.evidence("bridges", _bridges_text(found))],
                    {"what": "in no bridge", "what_long": "exists but is not a port of any bridge"})
    if link is not None and link.flags and not link.up:
        return Step("tap", "problem", f"{port.tap} is down ({','.join(link.flags)})", [found.line_of("links", f": {port.tap}")],
                    {"what": "down", "what_long": f"is down ({','.join(link.flags)}): the guest is not running or the link was set down"})
    if found.ovs and (dead := dead_port(found.host, found.ovs, port.tap)):
        return Step("tap", "problem", f"{port.tap} is dead in OVS {dead.bridge} ({dead.why})", list(dead.evidence),
                    {"what": "dead in OVS", "what_long": f"is marked dead by neutron's OVS agent on {dead.bridge} ({dead.why}): "
                     "the agent could not wire the port and drops its traffic"})
    state = f", {','.join(link.flags)}" if link and link.flags else ""
    return Step("tap", "ok", f"{port.tap} in {bridge}{state}", [found.line_of("bridges", port.tap)])


def _bridges_text(found: Facts) -> str:
    return "; ".join(f"{b}: {', '.join(p)}" for b, p in sorted((found.bridges or {}).items())) or "no bridge"


def _console(found: Facts, uuid: str, port: Port) -> Step:
    path = f"/var/lib/nova/instances/{uuid}/console.log"
    text = found.host.file(path)
    if text is None:
        return Step("console-dhcp", "skipped", f"not checked: no {path}")
    lines = text.splitlines()
    for number in range(len(lines), 0, -1):  # the last DHCP verdict counts (the guest may have retried)
        line = lines[number - 1]
        if m := _LEASE_OK.search(line):
            ip = next(g for g in m.groups() if g)
            return Step("console-dhcp", "ok", f"lease of {ip}", [Evidence(found.host.name, path, number, line.strip())])
        if _LEASE_FAIL.search(line):
            return Step("console-dhcp", "problem", "the guest's DHCP client got no lease",
                        [Evidence(found.host.name, path, number, line.strip())])
    return Step("console-dhcp", "info", f"no DHCP line in {path} ({len(lines)} lines): the guest has no DHCP client, "
                "logs elsewhere, or is still booting")


def _dhcp(found: Facts, port: Port, quiet_console: bool = False) -> list[Step]:
    net = port.network
    if net is None:
        why = "not checked: the port's network is unknown (no dnsmasq host entry or brq bridge names it)"
        return [Step(s, "skipped", why) for s in ("dhcp-namespace", "dnsmasq", "dhcp-port", "dhcp-host", "dhcp-lease")]
    d = found.dnsmasq.get(net)
    ns = f"qdhcp-{net}"
    steps = []
    if found.namespaces is None:
        steps.append(Step("dhcp-namespace", "skipped", "not checked: no `ip netns` output"))
    elif ns in found.namespaces:
        steps.append(Step("dhcp-namespace", "ok", f"{ns} exists", [found.line_of("namespaces", ns)]))
    else:
        steps.append(Step("dhcp-namespace", "problem", f"no {ns}",
                          [found.evidence("namespaces", f"ip netns: {', '.join(found.namespaces) or 'no namespace'}")]))
    if d is None or found.ps is None:
        steps.append(Step("dnsmasq", "skipped", "not checked: no process list" if found.ps is None else f"no /var/lib/neutron/dhcp/{net}"))
    elif d.pid:
        steps.append(Step("dnsmasq", "ok", f"dnsmasq pid {d.pid}", [found.line_of("ps", f"/dhcp/{net}/host")]))
    else:
        steps.append(Step("dnsmasq", "problem", f"no dnsmasq process reads /var/lib/neutron/dhcp/{net}/host",
                          [found.evidence("ps", f"no dnsmasq for {net}"),
                           Evidence(found.host.name, f"/var/lib/neutron/dhcp/{net}/pid", 0, f"pid file: {d.pid_file if d else 'absent'}")]))
    steps.append(_dhcp_port(found, port, d))
    if d is None:
        steps += [Step("dhcp-host", "skipped", f"not checked: no /var/lib/neutron/dhcp/{net}/host"),
                  Step("dhcp-lease", "skipped", f"not checked: no /var/lib/neutron/dhcp/{net}/leases")]
        return steps
    mac = (port.mac or "").lower()
    host_line = next((i for i, e in enumerate(d.hosts, 1) if e and e[0].lower() == mac), None)
    where = f"/var/lib/neutron/dhcp/{net}/host"
    if not mac:
        steps.append(Step("dhcp-host", "skipped", "not checked: the port's MAC is unknown"))
    elif host_line:
        steps.append(Step("dhcp-host", "ok", ",".join(d.hosts[host_line - 1]), [Evidence(found.host.name, where, host_line, ",".join(d.hosts[host_line - 1]))]))
    else:
        steps.append(Step("dhcp-host", "problem", f"{mac} not among {len(d.hosts)} host entries",
                          [Evidence(found.host.name, where, 0, f"{len(d.hosts)} entries, none for {mac}")]))
    lease = next((i for i, e in enumerate(d.leases, 1) if len(e) > 1 and e[1].lower() == mac), None)
    where = f"/var/lib/neutron/dhcp/{net}/leases"
    if not mac:
        steps.append(Step("dhcp-lease", "skipped", "not checked: the port's MAC is unknown"))
    elif lease:
        steps.append(Step("dhcp-lease", "ok", " ".join(d.leases[lease - 1]), [Evidence(found.host.name, where, lease, " ".join(d.leases[lease - 1]))]))
    elif quiet_console:
        steps.append(Step("dhcp-lease", "info", f"no lease for {mac} ({len(d.leases)} leases); the console shows no failing DHCP "
                          "client (no client, not asked yet, or the lease file was captured before dnsmasq wrote it)",
                          [Evidence(found.host.name, where, 0, f"{len(d.leases)} leases, none for {mac}")]))
    else:
        steps.append(Step("dhcp-lease", "problem", f"no lease for {mac} ({len(d.leases)} leases)",
                          [Evidence(found.host.name, where, 0, f"{len(d.leases)} leases, none for {mac}")], severity="warning"))
    return steps


def _dhcp_port(found: Facts, port: Port, d: Any) -> Step:
    """dnsmasq's interface ns-XXX has its host side tapXXX (linuxbridge) on the instance's bridge; with OVS the
    tap itself sits on br-int inside the namespace."""
    if d is None or not d.interface:
        return Step("dhcp-port", "skipped", "not checked: no /var/lib/neutron/dhcp/<net>/interface")
    ns = f"qdhcp-{d.network}"
    inside = found.host.command("netns-addr", ns=ns)
    params = {"dhcp_if": d.interface, "dhcp_tap": f"tap{d.interface[3:]}", "dhcp_where": ""}
    evidence = []
    if inside is not None:
        links = parse_links(inside[0])
        if d.interface not in links:
            params["dhcp_where"] = "has no device in the namespace"
            return Step("dhcp-port", "problem", f"{d.interface} missing in {ns}",
                        [Evidence(found.host.name, inside[1], 0, f"devices: {', '.join(links)}")], params)
        address = ", ".join(a for a in links[d.interface].addresses if ":" not in a)
        evidence.append(Evidence(found.host.name, inside[1], 0, f"{d.interface}: {address or 'no IPv4 address'}"))
    if found.bridges is None or port.bridge is None:
        return Step("dhcp-port", "info" if evidence else "skipped",
                    f"{d.interface} in {ns}" + ("" if evidence else ": bridge not checked (no brctl/ovs output)"), evidence, params)
    host_side = params["dhcp_tap"] if d.interface.startswith("ns-") else d.interface
    ports = found.bridges.get(port.bridge, [])
    if host_side in ports:
        return Step("dhcp-port", "ok", f"{host_side} (dnsmasq's {d.interface}) and {port.tap} share {port.bridge}",
                    evidence + [found.line_of("bridges", host_side)], params)
    other = _bridge_of(found, host_side)
    params["dhcp_tap"] = host_side
    params["dhcp_where"] = f"is on {other}" if other else "is in no bridge"
    return Step("dhcp-port", "problem", f"{host_side} {params['dhcp_where']}, not on {port.bridge}",
                evidence + [found.evidence("bridges", _bridges_text(found))], params)


def _metadata(found: Facts, uuid: str, port: Port) -> Step:
    path = f"/var/lib/nova/instances/{uuid}/console.log"
    lines = (found.host.file(path) or "").splitlines()
    for number in range(len(lines), 0, -1):
        line = lines[number - 1]
        if _METADATA_OK.search(line):
            return Step("metadata", "ok", "the guest read its metadata", [Evidence(found.host.name, path, number, line.strip())])
        if _METADATA_FAIL.search(line):
            proxies = ", ".join(found.proxies) or "no metadata proxy process on this host"
            return Step("metadata", "problem", f"metadata unreachable from the guest ({proxies})",
                        [Evidence(found.host.name, path, number, line.strip())], severity="warning")
    if port.network and port.network in found.proxies:
        return Step("metadata", "info", f"a metadata proxy runs for {port.network}; the guest's use of it was not seen",
                    [found.line_of("ps", port.network)])
    return Step("metadata", "skipped", "not checked: no metadata line in console.log")


def _router(found: Facts, port: Port) -> list[Step]:
    routers = [ns for ns in found.namespaces or [] if ns.startswith("qrouter-")]
    if not routers:
        why = "not checked: no qrouter- namespace on this host (the l3 agent runs elsewhere, or none)"
        return [Step("floating-ip", "skipped", why), Step("gateway", "skipped", why)]
    steps = []
    fip_step: Step | None = None
    gateway: Step | None = None
    for ns in routers:
        captured = found.host.command("netns-iptables", ns=ns)
        if captured is None or not port.ip:
            continue
        nat = [(kind, ip, to, rule) for kind, ip, to, rule in nat_rules(captured[0].splitlines())
               if (kind == "DNAT" and to == port.ip) or (kind == "SNAT" and ip == port.ip)]
        if not nat:
            continue
        dnat = [n for n in nat if n[0] == "DNAT"]
        snat = [n for n in nat if n[0] == "SNAT"]
        fip = dnat[0][1] if dnat else snat[0][2]
        evidence = [_rule_evidence(found, captured, n[3]) for n in nat[:3]]
        params = {"router": ns, "fip": fip}
        if dnat and snat:
            fip_step = Step("floating-ip", "ok", f"{fip} ↔ {port.ip} in {ns} (DNAT and SNAT)", evidence, params)
        else:
            fip_step = Step("floating-ip", "problem", f"{fip} ↔ {port.ip} in {ns}: only {'DNAT' if dnat else 'SNAT'}", evidence, params)
        gateway = _gateway(found, ns)
        break
    if fip_step is None:
        fip_step = Step("floating-ip", "info", f"no DNAT/SNAT for {port.ip or 'the port'} in {', '.join(routers)}: the instance has no "
                        "floating IP served by this host")
    steps.append(fip_step)
    steps.append(gateway or (_gateway(found, routers[0]) if len(routers) == 1 else
                             Step("gateway", "skipped", "not checked: several routers, none holds this instance's floating IP")))
    return steps


def _rule_evidence(found: Facts, captured: tuple[str, str], rule: str) -> Evidence:
    number = next((i for i, line in enumerate(captured[0].splitlines(), 1) if line == rule), 0)
    return Evidence(found.host.name, captured[1], number, rule)


def _gateway(found: Facts, ns: str) -> Step:
    addr = found.host.command("netns-addr", ns=ns)
    route = found.host.command("netns-route", ns=ns)
    if addr is None or route is None:
        return Step("gateway", "skipped", f"not checked: no `ip addr`/`ip route` captured in {ns}", params={"router": ns})
    qg = {n: link for n, link in parse_links(addr[0]).items() if n.startswith("qg-")}
    default = next((line for line in route[0].splitlines() if line.startswith("default")), None)
    params = {"router": ns}
    if qg and any(link.addresses for link in qg.values()) and default:
        return Step("gateway", "ok", f"{', '.join(qg)}; {default.strip()}", [Evidence(found.host.name, route[1], 0, default.strip())], params)
    seen = f"{'qg- device ' + ', '.join(qg) if qg else 'no qg- device'}; {'default route' if default else 'no default route'}"
    return Step("gateway", "problem", seen, [Evidence(found.host.name, addr[1], 0, seen)], params, severity="warning")


def _dns(found: Facts, port: Port) -> Step:
    d = found.dnsmasq.get(port.network or "")
    if d is None:
        return Step("dns", "skipped", "not checked: no dnsmasq files for the port's network")
    servers = [o.split("dns-server,", 1)[1] for o in d.opts if "dns-server," in o]
    if servers:
        return Step("dns", "info", f"guests get DNS server(s) {', '.join(servers)} (opts)",
                    [Evidence(found.host.name, f"/var/lib/neutron/dhcp/{d.network}/opts", 0, f"dns-server,{servers[0]}")])
    no_resolv = "--no-resolv" in d.process and "--server=" not in d.process
    seen = ("no dns-server option: guests use dnsmasq itself as DNS server"
            + (", which runs with --no-resolv and no --server: it answers only the network's own names, no external name resolves "
               "(set dnsmasq_dns_servers in dhcp_agent.ini or the subnet's dns_nameservers)" if no_resolv else ""))
    return Step("dns", "info", seen, [found.line_of("ps", f"/dhcp/{d.network}/host")] if no_resolv else [])


# --- the report ----------------------------------------------------------------------------------------

def _params(found: Facts, uuid: str, port: Port | None, step: Step) -> dict[str, str]:
    net = port.network if port and port.network else "<net>"
    d = found.dnsmasq.get(net)
    values = {"uuid": uuid, "port": port.id if port else "<port>", "port10": port.id[:10] if port else "<port>",
              "tap": port.tap if port else "tap<port[:11]>", "mac": (port.mac if port else None) or "<mac>",
              "ip": (port.ip if port else None) or "<ip>", "net": net, "ns": f"qdhcp-{net}",
              "bridge": (port.bridge if port else None) or "<bridge>", "dhcp_if": (d.interface if d else None) or "<ns-…>",
              "dhcp_tap": f"tap{d.interface[3:]}" if d and d.interface else "<tap>", "dhcp_where": "",
              "domain": (port.domain if port else None) or "<instance-…>", "router": "qrouter-<router>", "fip": "<floating ip>",
              "chain": f"neutron-linuxbri-i{port.id[:10]}" if port else "<chain>", "what": "", "what_long": ""}
    values.update(step.params)
    return values


def _report(found: Facts, uuid: str, port: Port | None, steps: list[Step]) -> Outcome:
    spec = {s["id"]: s for s in knowledge("network-path.yaml")["steps"]}
    checks: list[Check] = []
    findings: list[Finding] = []
    not_checked: list[str] = []
    first: Step | None = None
    for number, step in enumerate(steps, 1):
        entry = spec[step.id]
        values = _params(found, uuid, port, step)
        status = step.status
        summary = step.seen
        if status == "skipped":
            commands = [c.format(**values) for c in entry.get("check", [])]
            not_checked += commands
            summary = f"{step.seen}" + (f" — run: {'; '.join(commands)}" if commands else "")
        checks.append(Check(f"network-path/{number:02d}-{step.id}", status, f"{entry['title']}: {summary}"))
        if status != "problem":
            continue
        leads = first is None
        first = first or step
        title = entry["fail"].format(**values)
        cause = " ".join(entry["cause"].split()).format(**values)
        cause += f" Seen: {step.seen}."
        if leads:
            title = f"Network path of {uuid[:8]} fails first at '{entry['title']}': {title}"
            severity, confidence = ("error" if step.severity == "error" else "warning"), 0.95
        else:
            severity, confidence = "warning", 0.8
            cause += f" (A later step; fix '{spec[first.id]['title']}' first.)"
        findings.append(replace(finding(severity, f"network-path/{step.id}", title, cause,
                                        [c.format(**values) for c in entry["fix"]], _component(found, port, step.id), step.evidence,
                                        confidence=confidence), instance=uuid, stage="networking"))
    if first is None:
        good = sum(s.status == "ok" for s in steps)
        findings.append(replace(finding(
            "info", "network-path/no-failure", f"Network path of {uuid[:8]}: no failing step ({good} of {len(steps)} checked ok)",
            "Every step this host has facts for is fine. " + ("The steps not checked need a live look: " if not_checked else ""),
            not_checked, "neutron", [e for s in steps if s.status == "ok" for e in s.evidence][:4]), instance=uuid, stage="networking"))
    elif not_checked:
        findings.append(replace(finding(
            "info", "network-path/not-checked", f"Steps of {uuid[:8]}'s network path not checked here",
            "This host's captures say nothing about these steps; run these to check them (on the network/compute node).",
            not_checked, "neutron"), instance=uuid, stage="networking"))
    host = host_checks(found)
    # the host's findings about the instance's own network are the steps above; keep those about other networks
    others = tuple(f for f in host.findings if not (port and port.network and port.network in f.title))
    return Outcome(tuple(checks) + host.checks, tuple(findings) + others)


def _component(found: Facts, port: Port | None, step: str) -> str:
    agent = _agent_step(step)
    on_ovs = bool(found.ovs and port and port.bridge in found.ovs)
    return agent.replace("linuxbridge", "openvswitch") if on_ovs else agent


def _agent_step(step: str) -> str:
    if step.startswith(("dhcp", "dnsmasq")):
        return "neutron-dhcp-agent"
    if step in ("floating-ip", "gateway"):
        return "neutron-l3-agent"
    if step == "metadata":
        return "neutron-metadata-agent"
    if step == "console-dhcp":
        return "guest"
    if step == "port":
        return "nova-compute"
    return "neutron-linuxbridge-agent"
