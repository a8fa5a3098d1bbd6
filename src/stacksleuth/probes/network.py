"""The network facts of a host that serves VMs: namespaces, links and bridges, dnsmasq and its files, neutron's
iptables chains and the routers' NAT, read live or from a sosreport's captures (knowledge/probes/commands.yaml).

`facts(host)` gathers them once; `probe(host)` reports the host-level checks (a qdhcp-/qrouter- namespace
for every network/router this host serves, dnsmasq running per network with its leases, bridges and their
ports, security-group chains, floating-IP NAT). The walk along one instance's path is probes/netpath.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes import flows
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, finding

DHCP_DIR = "/var/lib/neutron/dhcp"
_LINK = re.compile(r"^\d+:\s+(?P<name>[^\s:@]+)(?:@(?P<peer>[^\s:]+))?:\s+<(?P<flags>[^>]*)>(?P<rest>.*)$")
_ADDR_O = re.compile(r"^\d+:\s+(?P<name>[^\s:@]+)\s+inet6?\s+(?P<addr>\S+)")
_ADDR = re.compile(r"^\s+inet6?\s+(?P<addr>\S+)")
_BRIDGE_LINK = re.compile(r"^\d+:\s+(?P<name>[^\s:@]+)(?:@\S+?)?:\s+<(?P<flags>[^>]*)>.*?\bmaster\s+(?P<master>\S+)(?:.*?\bstate\s+(?P<state>\S+))?")
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_DNSMASQ_NET = re.compile(rf"--dhcp-hostsfile=\S*/dhcp/(?P<net>{_UUID})/host")
_PROXY = re.compile(rf"haproxy\s.*?-f\s+\S*/ns-metadata-proxy/(?P<id>{_UUID})\.conf")
_NAT = re.compile(r"^-A\s+(?P<chain>\S+)\s.*-j\s+(?P<kind>DNAT|SNAT)\s+--to-(?:destination|source)\s+(?P<to>[\d.:a-f]+)")
_SOURCE = re.compile(r"\s-s\s+(?P<ip>[\d.]+)(?:/32)?\s")
_DEST = re.compile(r"\s-d\s+(?P<ip>[\d.]+)(?:/32)?\s")
FIREWALL_PREFIXES = ("neutron-linuxbri-", "neutron-openvswi-")


@dataclass(frozen=True, slots=True)
class Link:
    """One network device as `ip link/address` shows it."""

    name: str
    flags: tuple[str, ...]
    master: str | None
    state: str | None
    addresses: tuple[str, ...] = ()
    mac: str | None = None

    @property
    def up(self) -> bool:
        """Administratively up with a carrier (a tap whose guest is gone loses LOWER_UP)."""
        return "UP" in self.flags and "LOWER_UP" in self.flags


@dataclass(frozen=True, slots=True)
class Dnsmasq:
    """dnsmasq for one network: its process and its files under /var/lib/neutron/dhcp/<net>/."""

    network: str
    pid: str | None  # the running process's pid; None when no dnsmasq serves this network
    hosts: tuple[tuple[str, ...], ...]  # host file entries: mac, name, ip[, set:tag]
    leases: tuple[tuple[str, ...], ...]  # lease file lines: expiry, mac, ip, name, client-id
    interface: str | None  # ns-XXXXXXXX-XX, dnsmasq's interface inside qdhcp-<net>
    opts: tuple[str, ...]
    pid_file: str | None
    process: str = ""  # the ps line


@dataclass
class Facts:
    """What the host shows of its networking; a None field was not captured (a check using it is skipped)."""

    host: Host
    namespaces: list[str] | None = None
    links: dict[str, Link] | None = None
    bridges: dict[str, list[str]] | None = None  # bridge → its ports (linux bridges and OVS bridges)
    iptables: list[str] | None = None
    ps: list[str] | None = None
    dnsmasq: dict[str, Dnsmasq] = field(default_factory=dict)
    routers: list[str] = field(default_factory=list)  # router ids this host serves (l3 agent state, metadata proxy)
    proxies: dict[str, str] = field(default_factory=dict)  # network/router id → its metadata proxy ps line
    ovs: dict[str, flows.Bridge] | None = None  # OVS bridges with ports and flows (probes/flows.py)
    where: dict[str, str] = field(default_factory=dict)  # fact → the file or command it came from

    def evidence(self, fact: str, text: str, line: int = 0) -> Evidence:
        """Evidence pointing at where `fact` was read."""
        return Evidence(self.host.name, self.where.get(fact, fact), line, text)

    def line_of(self, fact: str, needle: str) -> Evidence:
        """The first captured line of `fact`'s output containing `needle`, as evidence."""
        captured = self.host.command(_COMMANDS[fact]) if fact in _COMMANDS else None
        if captured:
            for number, line in enumerate(captured[0].splitlines(), 1):
                if needle in line:
                    return Evidence(self.host.name, captured[1], number, line.strip()[:400])
        return self.evidence(fact, needle)


_COMMANDS = {"namespaces": "ip-netns", "links": "ip-addr", "iptables": "iptables-save", "ps": "ps",
             "brctl": "brctl-show", "bridge-link": "bridge-link", "ovs": "ovs-vsctl-show"}


def facts(host: Host) -> Facts:
    """Everything network-related the host shows, each parsed once."""
    found = Facts(host)
    if (netns := host.command("ip-netns")) is not None:
        found.namespaces = [line.split()[0] for line in netns[0].splitlines() if line.strip()]
        found.where["namespaces"] = netns[1]
    if (addr := host.command("ip-addr")) is not None:
        found.links = parse_links(addr[0])
        found.where["links"] = addr[1]
    found.bridges = _bridges(host, found)
    found.ovs = flows.ovs(host)
    if (rules := host.command("iptables-save")) is not None:
        found.iptables = rules[0].splitlines()
        found.where["iptables"] = rules[1]
    if (ps := host.command("ps")) is not None:
        found.ps = ps[0].splitlines()
        found.where["ps"] = ps[1]
    found.dnsmasq = _dnsmasq(host, found)
    found.routers = _routers(host, found)
    return found


def parse_links(text: str) -> dict[str, Link]:
    """`ip -d address` / `ip a` (a header line per device, addresses below) or `ip -o addr` (no flags)."""
    links: dict[str, Link] = {}
    current: str | None = None
    for line in text.splitlines():
        if m := _LINK.match(line):
            rest = m["rest"]
            master = re.search(r"\bmaster\s+(\S+)", rest)
            state = re.search(r"\bstate\s+(\S+)", rest)
            current = m["name"]
            links[current] = Link(current, tuple(m["flags"].split(",")), master and master[1], state and state[1])
        elif m := _ADDR_O.match(line):
            old = links.get(m["name"]) or Link(m["name"], (), None, None)
            links[m["name"]] = Link(old.name, old.flags, old.master, old.state, old.addresses + (m["addr"],))
            current = None
        elif current and (m := _ADDR.match(line)):
            old = links[current]
            links[current] = Link(old.name, old.flags, old.master, old.state, old.addresses + (m["addr"],), old.mac)
        elif current and (m := re.match(r"^\s+link/ether\s+(\S+)", line)):
            old = links[current]
            links[current] = Link(old.name, old.flags, old.master, old.state, old.addresses, m[1])
    return links


def parse_brctl(text: str) -> dict[str, list[str]]:
    """`brctl show`: a bridge line (name, id, STP, first interface) then one line per further interface."""
    bridges: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines()[1:]:
        fields = line.split()
        if not fields:
            continue
        if not line[0].isspace():
            current = fields[0]
            bridges[current] = fields[3:4]
        elif current is not None:
            bridges[current].append(fields[0])
    return bridges


def parse_ovs(text: str) -> dict[str, list[str]]:
    """`ovs-vsctl show`: `Bridge br-int` then `Port tapXXXX` lines (the bridge's own port excluded)."""
    bridges: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        if m := re.match(r'^\s*Bridge\s+"?([^"\s]+)"?', line):
            current = m[1]
            bridges[current] = []
        elif current and (m := re.match(r'^\s*Port\s+"?([^"\s]+)"?', line)) and m[1] != current:
            bridges[current].append(m[1])
    return bridges


def _bridges(host: Host, found: Facts) -> dict[str, list[str]] | None:
    bridges: dict[str, list[str]] = {}
    seen = False
    if (brctl := host.command("brctl-show")) is not None:
        bridges.update(parse_brctl(brctl[0]))
        found.where["bridges"] = brctl[1]
        seen = True
    elif (links := host.command("bridge-link")) is not None:
        for line in links[0].splitlines():
            if m := _BRIDGE_LINK.match(line):
                bridges.setdefault(m["master"], []).append(m["name"])
        found.where["bridges"] = links[1]
        seen = True
    elif found.links is not None and any(link.master for link in found.links.values()):
        for link in found.links.values():  # `ip -d address` names every port's master
            if link.master:
                bridges.setdefault(link.master, []).append(link.name)
        found.where["bridges"] = found.where["links"]
        seen = True
    if (ovs := host.command("ovs-vsctl-show")) is not None:
        bridges.update(parse_ovs(ovs[0]))
        found.where["ovs"] = ovs[1]
        found.where.setdefault("bridges", ovs[1])
        seen = True
    return bridges if seen else None


def _lines(text: str | None) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(line.strip().split(",") if "," in line else line.split())
                 for line in (text or "").splitlines() if line.strip() and not line.startswith("#"))


def _dnsmasq(host: Host, found: Facts) -> dict[str, Dnsmasq]:
    """One entry per network that has a directory under /var/lib/neutron/dhcp/ or a running dnsmasq."""
    running: dict[str, tuple[str, str]] = {}
    for line in found.ps or []:
        if "dnsmasq" in line and (m := _DNSMASQ_NET.search(line)):
            fields = line.split()
            running[m["net"]] = (fields[1] if len(fields) > 1 else "?", line.strip())
        if m := _PROXY.search(line):
            found.proxies[m["id"]] = line.strip()
    networks = {p.rsplit("/", 1)[-1] for p in host.glob(f"{DHCP_DIR}/*") if re.fullmatch(_UUID, p.rsplit("/", 1)[-1])}
    result = {}
    for net in sorted(networks | set(running)):
        base = f"{DHCP_DIR}/{net}"
        interface = (host.file(f"{base}/interface") or "").strip() or None
        pid_file = (host.file(f"{base}/pid") or "").strip() or None
        proc = running.get(net)
        result[net] = Dnsmasq(net, proc[0] if proc else None, _lines(host.file(f"{base}/host")),
                              tuple(tuple(line) for line in _lines(host.file(f"{base}/leases"))), interface,
                              tuple(",".join(o) for o in _lines(host.file(f"{base}/opts"))), pid_file,
                              proc[1] if proc else "")
    if not found.ps and result:
        found.where.setdefault("ps", "no process list")
    return result


def _routers(host: Host, found: Facts) -> list[str]:
    """Routers the l3 agent keeps on this host: its state dirs, metadata proxies, and qrouter namespaces seen."""
    ids = set()
    for pattern in ("/var/lib/neutron/ha_confs/*", "/var/lib/neutron/external/pids/*.pid.haproxy"):
        ids |= {m[0] for p in host.glob(pattern) if (m := re.search(_UUID, p.rsplit("/", 1)[-1]))}
    for proxy_id in found.proxies:
        conf = host.file(f"/var/lib/neutron/ns-metadata-proxy/{proxy_id}.conf") or ""
        if "Router-ID" in conf:
            ids.add(proxy_id)
    ids |= {ns[len("qrouter-"):] for ns in found.namespaces or [] if ns.startswith("qrouter-")}
    return sorted(ids)


def port_chains(lines: list[str], port: str) -> dict[str, list[str]]:
    """neutron's per-port firewall chains (`neutron-linuxbri-i<port[:10]>`, o…, s…) and their rules."""
    chains: dict[str, list[str]] = {}
    for prefix in FIREWALL_PREFIXES:
        for direction in "ios":
            name = f"{prefix}{direction}{port[:10]}"
            rules = [line for line in lines if line.startswith(f"-A {name} ")]
            if rules or any(line.startswith(f":{name} ") for line in lines):
                chains[name] = rules
    return chains


def nat_rules(lines: list[str]) -> list[tuple[str, str, str, str]]:
    """(kind DNAT|SNAT, from ip, to ip, rule) for every 1:1 NAT rule of a router's iptables-save."""
    found = []
    for line in lines:
        if (m := _NAT.match(line)) is None:
            continue
        match = (_DEST if m["kind"] == "DNAT" else _SOURCE).search(line + " ")
        if match:  # a DNAT without -d / SNAT without -s is the router's gateway SNAT, not a floating IP
            found.append((m["kind"], match["ip"], m["to"], line))
    return found


def probe(host: Host) -> Outcome:
    """The host-level network checks; all skipped on a host without neutron's networking."""
    return host_checks(facts(host))


def host_checks(found: Facts) -> Outcome:
    """Namespaces, dnsmasq per network, bridges, security-group chains and floating-IP NAT on one host."""
    if found.namespaces is None and not found.dnsmasq and found.bridges is None:
        return Outcome((Check("network/namespaces", "skipped", "no `ip netns` output and no /var/lib/neutron/dhcp"),))
    checks: list[Check] = []
    findings: list[Finding] = []
    for outcome in (_namespaces(found), _dhcp(found), _bridge_summary(found), _firewall(found), _floating(found),
                    flows.checks(found.host, found.ovs)):
        checks += outcome.checks
        findings += outcome.findings
    return Outcome(tuple(checks), tuple(findings))


def _namespaces(found: Facts) -> Outcome:
    if found.namespaces is None:
        return Outcome((Check("network/namespaces", "skipped", "no `ip netns` output (run: ip netns)"),))
    expected = [f"qdhcp-{net}" for net in found.dnsmasq] + [f"qrouter-{r}" for r in found.routers]
    missing = [ns for ns in expected if ns not in found.namespaces]
    summary = (f"{len(found.namespaces)} namespace(s): {', '.join(found.namespaces) or 'none'}"
               + (f"; missing: {', '.join(missing)}" if missing else ""))
    findings = []
    for ns in missing:
        kind = "DHCP" if ns.startswith("qdhcp-") else "router"
        agent = "neutron-dhcp-agent" if kind == "DHCP" else "neutron-l3-agent"
        findings.append(finding(
            "error", f"network/namespace-missing-{kind.lower()}", f"{ns} is missing",
            f"This host keeps {kind} state for {ns.split('-', 1)[1]} ({DHCP_DIR if kind == 'DHCP' else '/var/lib/neutron'}) "
            f"but has no namespace {ns}: {agent} has not (re)built it, so instances on that "
            f"{'network get no DHCP answer' if kind == 'DHCP' else 'router have no gateway or floating IP'}.",
            [f"systemctl restart {agent}", "ip netns", f"grep -i error /var/log/neutron/{agent}.log | tail"],
            agent, [found.evidence("namespaces", f"ip netns: {', '.join(found.namespaces) or 'no namespace'}")]))
    return Outcome((Check("network/namespaces", "problem" if missing else "ok", summary),), tuple(findings))


def _dhcp(found: Facts) -> Outcome:
    checks, findings = [], []
    for net, d in found.dnsmasq.items():
        check_id = f"network/dnsmasq:{net}"
        leases = f"{len(d.hosts)} host entr{'y' if len(d.hosts) == 1 else 'ies'}, {len(d.leases)} lease(s)"
        if found.ps is None:
            checks.append(Check(check_id, "skipped", f"no process list (run: ps -ef | grep {net}); {leases}"))
        elif d.pid is None:
            checks.append(Check(check_id, "problem", f"no dnsmasq process for {net}; {leases}"))
            findings.append(finding(
                "error", "network/dnsmasq-not-running", f"No dnsmasq serves network {net}",
                f"neutron-dhcp-agent keeps {DHCP_DIR}/{net}/ for this network but no dnsmasq process reads its host "
                "file: instances on the network send DHCPDISCOVER and get no answer, so they boot without an IP "
                "(the console shows 'No lease' / DHCP timeouts) although the API shows one.",
                ["systemctl restart neutron-dhcp-agent  # it restarts the dnsmasq of every network it serves",
                 f"ps -ef | grep {net}", "grep -iE 'error|dnsmasq' /var/log/neutron/neutron-dhcp-agent.log | tail",
                 f"openstack network agent list --agent-type dhcp; openstack network agent list --network {net}"],
                "neutron-dhcp-agent",
                [found.evidence("ps", f"no process has --dhcp-hostsfile={DHCP_DIR}/{net}/host"),
                 Evidence(found.host.name, f"{DHCP_DIR}/{net}/pid", 0, f"pid file: {d.pid_file or 'absent'}")]))
        else:
            checks.append(Check(check_id, "ok", f"dnsmasq pid {d.pid} serves {net}; {leases}"))
    return Outcome(tuple(checks), tuple(findings))


def _bridge_summary(found: Facts) -> Outcome:
    if found.bridges is None:
        return Outcome((Check("network/bridges", "skipped", "no `brctl show`, `bridge link` or `ovs-vsctl show` output"),))
    summary = "; ".join(f"{b}: {', '.join(ports) or 'no port'}" for b, ports in sorted(found.bridges.items()))
    down = [p for ports in found.bridges.values() for p in ports
            if found.links and p in found.links and found.links[p].flags and not found.links[p].up]
    return Outcome((Check("network/bridges", "info", summary or "no bridge"),
                    *([Check("network/bridge-ports-down", "problem", "down: " + ", ".join(down))] if down else [])))


def _firewall(found: Facts) -> Outcome:
    if found.iptables is None:
        return Outcome((Check("network/security-groups", "skipped", "no iptables-save output (run: iptables-save)"),))
    chains = sorted({line.split()[0][1:] for line in found.iptables if line.startswith(":neutron-")
                     and re.match(r":neutron-(linuxbri|openvswi)-[io][0-9a-f]", line)})
    if not any(line.startswith(":neutron-") for line in found.iptables):
        return Outcome((Check("network/security-groups", "info",
                              "no neutron chain in iptables (firewall_driver noop, OVS native firewall, or no port)"),))
    return Outcome((Check("network/security-groups", "info",
                          f"{len(chains)} per-port security-group chain(s)" + (f": {', '.join(chains)}" if chains else "")),))


def _floating(found: Facts) -> Outcome:
    routers = [ns for ns in found.namespaces or [] if ns.startswith("qrouter-")]
    if not routers:
        return Outcome((Check("network/floating-ips", "skipped", "no qrouter- namespace on this host (no l3 agent here)"),))
    parts = []
    for ns in routers:
        captured = found.host.command("netns-iptables", ns=ns)
        if captured is None:
            parts.append(f"{ns}: not captured (run: ip netns exec {ns} iptables-save -t nat)")
            continue
        nat = nat_rules(captured[0].splitlines())
        pairs = sorted({f"{ip}→{to}" for kind, ip, to, _ in nat if kind == "DNAT"})
        parts.append(f"{ns}: {len(pairs)} floating IP(s) {', '.join(pairs)}".rstrip())
    return Outcome((Check("network/floating-ips", "info", "; ".join(parts)),))
