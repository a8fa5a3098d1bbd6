"""Which network interfaces are link-aggregation (LACP, 802.3ad) bonds, and where that is said: the kernel's
/proc/net/bonding/<bond>, `ip -d address` (`bond mode 802.3ad`), or the configuration that builds them —
ifupdown (/etc/network/interfaces[.d]: `bond-mode`), netplan (/etc/netplan/*.yaml: `mode:` under a bond) and
RHEL ifcfg files (`BONDING_OPTS="mode=4 …"`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from stacksleuth.probes.host import Host

_LACP = ("802.3ad", "4")
_PROC_MODE = re.compile(r"^Bonding Mode:\s*(?P<mode>.*)$", re.M)
_IP_LINK = re.compile(r"^\d+:\s+(?P<name>[^\s:@]+)")
_IP_BOND = re.compile(r"^\s+bond mode (?P<mode>\S+)")


@dataclass(frozen=True, slots=True)
class Bond:
    """An LACP bond and the line that says so."""

    name: str
    mode: str
    file: str
    line: int


def lacp_bonds(host: Host) -> dict[str, Bond]:
    """name → Bond for every interface in 802.3ad mode, from the first source that says so."""
    found: dict[str, Bond] = {}
    for source in (_proc, _ip, _ifupdown, _netplan, _ifcfg):
        for bond in source(host):
            found.setdefault(bond.name, bond)
    return found


def _proc(host: Host) -> list[Bond]:
    bonds = []
    for path in host.glob("/proc/net/bonding/*"):
        text = host.file(path) or ""
        if (m := _PROC_MODE.search(text)) and "802.3ad" in m["mode"]:
            bonds.append(Bond(path.rsplit("/", 1)[1], m["mode"].strip(), path, text[:m.start()].count("\n") + 1))
    return bonds


def _ip(host: Host) -> list[Bond]:
    captured = host.command("ip-addr")
    bonds, current = [], None
    for number, line in enumerate((captured[0] if captured else "").splitlines(), 1):
        if m := _IP_LINK.match(line):
            current = m["name"]
        elif current and (m := _IP_BOND.match(line)) and m["mode"] in _LACP and captured:
            bonds.append(Bond(current, f"bond mode {m['mode']}", captured[1], number))
    return bonds


def _ifupdown(host: Host) -> list[Bond]:
    bonds = []
    for path in ["/etc/network/interfaces", *host.glob("/etc/network/interfaces.d/*")]:
        current = None
        for number, line in enumerate((host.file(path) or "").splitlines(), 1):
            words = line.split("#", 1)[0].split()
            if words[:1] == ["iface"] and len(words) > 1:
                current = words[1]
            elif current and words[:1] in (["bond-mode"], ["bond_mode"]) and len(words) > 1 and words[1] in _LACP:
                bonds.append(Bond(current, f"bond-mode {words[1]}", path, number))
    return bonds


def _netplan(host: Host) -> list[Bond]:
    bonds = []
    for path in host.glob("/etc/netplan/*.yaml"):
        text = host.file(path) or ""
        try:
            document = yaml.safe_load(text) or {}
        except yaml.YAMLError:
            continue  # netplan itself refuses the file; nothing is bonded by it
        configured = (document.get("network") or {}).get("bonds") or {} if isinstance(document, dict) else {}
        for name, spec in configured.items():
            mode = str(((spec or {}).get("parameters") or {}).get("mode", ""))
            if mode in _LACP:
                line = next((n for n, row in enumerate(text.splitlines(), 1) if re.match(rf"^\s+{re.escape(str(name))}:", row)), 0)
                bonds.append(Bond(str(name), f"mode: {mode}", path, line))
    return bonds


def _ifcfg(host: Host) -> list[Bond]:
    bonds = []
    for path in host.glob("/etc/sysconfig/network-scripts/ifcfg-*"):
        for number, line in enumerate((host.file(path) or "").splitlines(), 1):
            if (m := re.match(r"""^\s*BONDING_OPTS=["']?(?P<opts>[^"']*)""", line)) and \
                    re.search(r"\bmode=(802\.3ad|4)\b", m["opts"]):
                bonds.append(Bond(path.rsplit("ifcfg-", 1)[1], m["opts"].strip(), path, number))
    return bonds
