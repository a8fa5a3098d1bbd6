"""Open vSwitch bridges, ports and OpenFlow flows (`ovs-vsctl show`, `ovs-ofctl show|dump-flows <bridge>`, live or
from sos_commands/openvswitch/): ports neutron's agent marked dead (VLAN 4095, a drop of their in_port), and
secure bridges whose flows forward nothing or, for an external bridge, never switch (no NORMAL)
(knowledge/probes/ovs-flows.yaml). Host checks via probes/network.py; the tap step of the path walk asks
`dead_port`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.explain import explained
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, knowledge

_HEADER = re.compile(r"^(?:NXST_FLOW|OFPST_FLOW) reply")
_FLOW = re.compile(r"^\s*cookie=\S+,.*?\bactions=(?P<actions>.*)$")
_STATS = ("cookie", "duration", "table", "n_packets", "n_bytes", "idle_age", "hard_age", "idle_timeout",
          "hard_timeout", "importance", "reset_counts", "send_flow_rem", "no_packet_counts", "no_byte_counts")
_OFPORT = re.compile(r"^\s*(?P<no>\d+|LOCAL)\((?P<name>[^)]+)\):")


@dataclass(frozen=True, slots=True)
class Flow:
    """One `ovs-ofctl dump-flows` line: table, priority (OpenFlow's default 32768), match fields, actions."""

    table: int
    priority: int
    match: tuple[str, ...]
    actions: str
    packets: int
    line: int
    text: str

    def field(self, name: str) -> str | None:
        """A match field's value (`in_port` → "5"), None when the flow does not match on it."""
        return next((m.split("=", 1)[1].strip('"') for m in self.match if m.startswith(f"{name}=")), None)


@dataclass
class Bridge:
    """An OVS bridge: fail mode, ports (name → VLAN tag or None; ofport), flows (None: not captured)."""

    name: str
    fail_mode: str | None = None
    tags: dict[str, str | None] = field(default_factory=dict)
    tag_lines: dict[str, int] = field(default_factory=dict)  # port → its `tag:` line in `ovs-vsctl show`
    ofports: dict[str, str] = field(default_factory=dict)
    flows: list[Flow] | None = None
    unparsed: list[int] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)  # "show" / "flows" / "ports" → file or command


@dataclass(frozen=True, slots=True)
class Dead:
    """Why a port counts as dead, with the lines that say so."""

    bridge: str
    why: str
    evidence: tuple[Evidence, ...]


def parse_flows(text: str) -> tuple[list[Flow], list[int]]:
    """`ovs-ofctl dump-flows` (any OpenFlow version): the flows, and the numbers of lines not understood."""
    flows, unparsed = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or _HEADER.match(line):
            continue
        m = _FLOW.match(line)
        if m is None:
            unparsed.append(number)
            continue
        head = line[:m.start("actions")].rsplit("actions=", 1)[0]
        parts = [p for p in re.split(r"[,\s]+", head) if p]  # OpenFlow 1.3 writes `reset_counts priority=…`
        values = dict(p.split("=", 1) for p in parts if "=" in p)
        match = tuple(p for p in parts if p.split("=", 1)[0] not in (*_STATS, "priority"))
        flows.append(Flow(int(values.get("table", "0")), int(values.get("priority", "32768")), match,
                          m["actions"].strip(), int(values.get("n_packets", "0")), number, line.strip()))
    return flows, unparsed


def parse_vsctl(text: str) -> dict[str, Bridge]:
    """`ovs-vsctl show`: bridges with their fail mode and each port's VLAN tag."""
    bridges: dict[str, Bridge] = {}
    bridge: Bridge | None = None
    port: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if m := re.match(r'^\s*Bridge\s+"?([^"\s]+)"?', line):
            bridge = bridges[m[1]] = Bridge(m[1])
            port = None
        elif bridge and (m := re.match(r'^\s*Port\s+"?([^"\s]+)"?', line)):
            port = m[1]
            bridge.tags[port] = None
        elif bridge and (m := re.match(r"^\s*fail_mode:\s*(\S+)", line)):
            bridge.fail_mode = m[1]
        elif bridge and port and (m := re.match(r"^\s*tag:\s*(\d+)", line)):
            bridge.tags[port] = m[1]
            bridge.tag_lines[port] = number
    return bridges


def ovs(host: Host) -> dict[str, Bridge] | None:
    """Every OVS bridge with its ports and flows; None when the host shows no OVS at all."""
    shown = host.command("ovs-vsctl-show")
    bridges = parse_vsctl(shown[0]) if shown else {}
    for bridge in bridges.values():
        bridge.where["show"] = shown[1] if shown else ""
    listed = host.command("ovs-vsctl-list-br")
    for name in (listed[0].split() if listed else []):
        bridges.setdefault(name, Bridge(name))
    if not bridges:
        return None
    for bridge in bridges.values():
        if (ports := _first(host, ("ovs-ofctl-show", "ovs-ofctl13-show"), bridge.name)) is not None:
            bridge.ofports = {m["name"]: m["no"] for line in ports[0].splitlines() if (m := _OFPORT.match(line))}
            bridge.where["ports"] = ports[1]
        if (dumped := _first(host, ("ovs-ofctl-dump-flows", "ovs-ofctl13-dump-flows"), bridge.name)) is not None:
            bridge.flows, bridge.unparsed = parse_flows(dumped[0])
            bridge.where["flows"] = dumped[1]
    return bridges


def _first(host: Host, commands: tuple[str, ...], bridge: str) -> tuple[str, str] | None:
    """The first catalogued variant that answers (a bridge may refuse OpenFlow 1.0, e.g. protocols=OpenFlow13)."""
    return next((got for name in commands if (got := host.command(name, bridge=bridge)) is not None), None)


def dead_port(host: Host, bridges: dict[str, Bridge], port: str) -> Dead | None:
    """Whether `port` is dead: tagged with neutron's dead VLAN, or its highest table-0 flow that takes all of its
    traffic (matching on in_port alone) drops it."""
    dead_vlan = knowledge("ovs-flows.yaml")["dead_vlan"]
    for bridge in bridges.values():
        if port not in bridge.tags and port not in bridge.ofports:
            continue
        why, evidence = [], []
        if bridge.tags.get(port) == dead_vlan:
            why.append(f"tag {dead_vlan}")
            evidence.append(Evidence(host.name, bridge.where.get("show", "ovs-vsctl show"), bridge.tag_lines.get(port, 0),
                                     f"Port {port} tag: {dead_vlan}"))
        ofport = bridge.ofports.get(port)
        catch_all = sorted((f for f in bridge.flows or [] if f.table == 0 and ofport and f.field("in_port") in (ofport, port)
                            and len(f.match) == 1), key=lambda f: -f.priority)
        if catch_all and catch_all[0].actions == "drop":
            why.append(f"table 0 drops in_port={ofport}")
            evidence.append(Evidence(host.name, bridge.where["flows"], catch_all[0].line, catch_all[0].text))
        return Dead(bridge.name, ", ".join(why), tuple(evidence)) if why else None
    return None


def checks(host: Host, bridges: dict[str, Bridge] | None) -> Outcome:
    """Per bridge: its flows summarised; dead ports; secure bridges that forward nothing or never switch."""
    if bridges is None:
        return Outcome((Check("ovs/flows", "skipped", "no Open vSwitch (no `ovs-vsctl show` output)"),))
    found: list[Check] = []
    findings: list[Finding] = []
    for bridge in bridges.values():
        problems = _bridge(host, bridges, bridge)
        findings += problems
        if bridge.flows is None:
            found.append(Check(f"ovs/flows:{bridge.name}", "skipped", f"no flows captured (run: ovs-ofctl dump-flows {bridge.name})"))
            continue
        tables = sorted({f.table for f in bridge.flows})
        unparsed = f"; {len(bridge.unparsed)} line(s) not understood (line {', '.join(map(str, bridge.unparsed[:5]))})" if bridge.unparsed else ""
        found.append(Check(f"ovs/flows:{bridge.name}", "problem" if problems or unparsed else "ok",
                           f"{len(bridge.flows)} flow(s) in table(s) {', '.join(map(str, tables)) or 'none'}; "
                           f"{len(bridge.tags or bridge.ofports)} port(s){unparsed}"))
    return Outcome(tuple(found), tuple(findings))


def _bridge(host: Host, bridges: dict[str, Bridge], bridge: Bridge) -> list[Finding]:
    findings = []
    for port in sorted(set(bridge.tags) | set(bridge.ofports)):
        if port.startswith(("tap", "qvo", "qr-", "qg-", "ha-", "sg-")) and (dead := dead_port(host, {bridge.name: bridge}, port)):
            findings.append(explained("ovs-flows.yaml", "port-dead", "neutron-openvswitch-agent", dead.evidence, port=port,
                                      bridge=bridge.name, why=dead.why, port_prefix=port[3:]))
    if bridge.flows is None or bridge.fail_mode != "secure":
        return findings  # standalone bridges switch normally without flows
    evidence = ([Evidence(host.name, bridge.where["flows"], f.line, f.text) for f in bridge.flows[:4]]
                or [Evidence(host.name, bridge.where["flows"], 1, "no flow")])
    external = f"phy-{bridge.name}" in bridge.tags or f"phy-{bridge.name}" in bridge.ofports or bridge.name == "br-ex"
    if external and not any("NORMAL" in f.actions for f in bridge.flows):
        findings.append(explained("ovs-flows.yaml", "external-bridge-no-normal", "neutron-openvswitch-agent", evidence,
                                  bridge=bridge.name, count=len(bridge.flows)))
    elif not any(f.actions != "drop" for f in bridge.flows):
        findings.append(explained("ovs-flows.yaml", "bridge-forwards-nothing", "neutron-openvswitch-agent", evidence,
                                  bridge=bridge.name, count=len(bridge.flows)))
    return findings
