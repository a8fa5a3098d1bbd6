"""open-iscsi (knowledge/probes/storage-paths.yaml): the initiator name, the node records (/etc/iscsi/nodes or
/var/lib/iscsi/nodes: target, portal, iface) and iface records, which local interface and subnet each path
takes (its iface's net_ifacename, else the local subnet holding the portal), paths to one target sharing a
subnet, a path over an LACP bond, and replacement_timeout too long for multipath."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes import multipath
from stacksleuth.probes.bonding import lacp_bonds
from stacksleuth.probes.explain import explained
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, knowledge
from stacksleuth.probes.network import parse_links

_DIRS = ("/etc/iscsi", "/var/lib/iscsi")
_RECORD = re.compile(r"^\s*(?P<key>[\w.\[\]]+)\s*=\s*(?P<value>.*?)\s*$")


@dataclass(frozen=True, slots=True)
class Node:
    """One node record: a path to a target through a portal (and an iface)."""

    target: str
    portal: str
    iface: str
    settings: dict[str, tuple[str, int]]  # key → (value, line)
    file: str

    def get(self, key: str) -> str | None:
        """A setting's value."""
        return self.settings[key][0] if key in self.settings else None


def records(host: Host, path: str) -> dict[str, tuple[str, int]]:
    """`key = value` lines of an open-iscsi record file (iscsid.conf, a node or iface record)."""
    return {m["key"]: (m["value"], n) for n, line in enumerate((host.file(path) or "").splitlines(), 1)
            if not line.lstrip().startswith("#") and (m := _RECORD.match(line))}


def nodes(host: Host) -> list[Node]:
    """Every node record: nodes/<target>/<portal,port[,tpgt]> is the record, or a directory of one per iface."""
    found = []
    for base in _DIRS:
        for portal_path in host.glob(f"{base}/nodes/*/*"):
            target, portal = portal_path.rsplit("/", 2)[1:]
            files = host.glob(f"{portal_path}/*") or [portal_path]
            for path in files:
                settings = records(host, path)
                if "node.name" in settings:
                    iface = settings.get("iface.iscsi_ifacename", ("default", 0))[0]
                    found.append(Node(target, portal, iface, settings, path))
    return found


def probe(host: Host) -> Outcome:
    """Initiator name, then the paths of every target."""
    if not any(host.exists(d) for d in _DIRS):
        return Outcome((Check("storage/iscsi", "skipped", "no /etc/iscsi (open-iscsi is not configured here)"),))
    parts = [_initiator(host)]
    found = nodes(host)
    if not found:
        parts.append(Outcome((Check("storage/iscsi-paths", "ok", "no iSCSI node record (no volume attached over iSCSI)"),)))
    else:
        parts += [_paths(host, found), _timeouts(host, found)]
    return Outcome(tuple(c for p in parts for c in p.checks), tuple(f for p in parts for f in p.findings))


def _initiator(host: Host) -> Outcome:
    path = "/etc/iscsi/initiatorname.iscsi"
    name = records(host, path).get("InitiatorName")
    if name and name[0]:
        return Outcome((Check("storage/iscsi-initiator", "ok", f"InitiatorName={name[0]}"),))
    return Outcome((Check("storage/iscsi-initiator", "problem", f"no InitiatorName in {path}"),),
                   (explained("storage-paths.yaml", "no-initiator-name", "iscsid",
                              [Evidence(host.name, path, 0, "absent" if host.file(path) is None else "no InitiatorName= line")], file=path),))


def _paths(host: Host, found: list[Node]) -> Outcome:
    """Which local interface and subnet each path uses; one target's paths on one subnet; paths over LACP."""
    captured = host.command("ip-addr")
    links = parse_links(captured[0]) if captured else {}
    local = [(name, ipaddress.ip_interface(a)) for name, link in links.items() for a in link.addresses
             if _is_interface(a)]
    bonds = lacp_bonds(host)
    checks: list[Check] = []
    findings: list[Finding] = []
    for target in sorted({n.target for n in found}):
        paths = [n for n in found if n.target == target]
        routes = [(n, _route(host, n, local)) for n in paths]
        seen = "; ".join(f"{n.portal} via {dev or '?'} ({net or 'subnet unknown'})" for n, (dev, net) in routes)
        subnets = {net for _, (_, net) in routes}
        problem = False
        if len(paths) > 1 and len(subnets) == 1 and None not in subnets:
            problem = True
            findings.append(explained("storage-paths.yaml", "paths-same-subnet", "iscsid", [_evidence(host, n) for n in paths],
                                      target=target, target_short=target.rsplit(":", 1)[-1], subnet=next(iter(subnets)),
                                      count=len(paths), detail=seen))
        for device in sorted({dev for _, (dev, _) in routes if dev}):
            bond = bonds.get(device.split(".", 1)[0])
            if bond is not None:
                problem = True
                findings.append(explained("storage-paths.yaml", "lacp-under-iscsi", "iscsid",
                                          [Evidence(host.name, bond.file, bond.line, bond.mode)] + [_evidence(host, n) for n in paths][:2],
                                          bond=bond.name, mode=bond.mode, target=target, where=bond.file))
        status = "problem" if problem else ("info" if None in subnets else "ok")
        checks.append(Check(f"storage/iscsi-paths:{target}", status, f"{len(paths)} path(s): {seen}"
                            + ("" if captured else " — no `ip address` output to place the portals")))
    return Outcome(tuple(checks), tuple(findings))


def _is_interface(address: str) -> bool:
    try:
        ipaddress.ip_interface(address)
    except ValueError:
        return False
    return True


def _route(host: Host, node: Node, local: list[tuple[str, ipaddress.IPv4Interface | ipaddress.IPv6Interface]]) -> tuple[str | None, str | None]:
    """(local interface, its subnet) a path uses: the iface record's net_ifacename, else the interface whose
    subnet holds the portal address."""
    iface = {} if node.iface == "default" else next((r for d in _DIRS if (r := records(host, f"{d}/ifaces/{node.iface}"))), {})
    bound = iface.get("iface.net_ifacename")
    device = bound[0] if bound and bound[0] not in ("", "<empty>") else None
    portal = node.get("node.conn[0].address") or node.portal.split(",", 1)[0]
    try:
        address = ipaddress.ip_address(portal.strip("[]"))
    except ValueError:
        return device, None
    for name, interface in local:
        if (device is None or name == device) and address in interface.network:
            return name, str(interface.network)
    if device is not None:  # bound to a NIC whose subnet does not hold the portal: routed, use the NIC's own subnet
        return device, next((str(i.network) for n, i in local if n == device), None)
    return None, None


def _evidence(host: Host, node: Node) -> Evidence:
    value, line = node.settings.get("node.conn[0].address", (node.portal, 0))
    return Evidence(host.name, node.file, line, f"node.conn[0].address = {value} (iface {node.iface})")


def _timeouts(host: Host, found: list[Node]) -> Outcome:
    """replacement_timeout of the node records (iscsid.conf's for new ones) when multipath is in use."""
    if not multipath.in_use(host):
        return Outcome((Check("storage/iscsi-timeouts", "ok", "multipath not in use: replacement_timeout is not judged"),))
    limit = int(knowledge("storage-paths.yaml")["thresholds"]["replacement_timeout"])
    key = "node.session.timeo.replacement_timeout"
    slow = [n for n in found if (value := n.get(key)) and value.isdigit() and int(value) > limit]
    if not slow:
        return Outcome((Check("storage/iscsi-timeouts", "ok", f"replacement_timeout ≤ {limit} s on every node record"),))
    value = slow[0].get(key) or ""
    evidence = [Evidence(host.name, n.file, n.settings[key][1], f"{key} = {n.get(key)}") for n in slow][:4]
    return Outcome((Check("storage/iscsi-timeouts", "problem", f"replacement_timeout {value} s on {len(slow)} node record(s)"),),
                   (explained("storage-paths.yaml", "replacement-timeout", "iscsid", evidence, value=value,
                              where=f"{len(slow)} node record(s), e.g. {slow[0].file}", threshold=limit),))
