"""Which network manager configures which interface, from their own files: ifupdown's /etc/network/interfaces (with
`source` / `source-directory`), RHEL's ifcfg-* (network-scripts), systemd-networkd's *.network, netplan's YAML, and
NetworkManager's settings (plugins, [ifupdown] managed, unmanaged-devices, [device] managed) and `nmcli dev`."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from stacksleuth.probes.host import Host

_NO = {"no", "false", "n", "0", "off"}
_NMCLI = re.compile(r"^(?P<device>\S+)\s+(?P<type>\S+)\s+(?P<state>\w+(?: \([^)]*\))?)(?:\s+(?P<connection>.*?))?\s*$")
_MAC = re.compile(r"^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$", re.I)


@dataclass(frozen=True, slots=True)
class Claim:
    """A manager's configuration of one interface (a name, or a glob for networkd's Name=)."""

    manager: str  # ifupdown | network-scripts | systemd-networkd | netplan
    device: str
    file: str
    line: int
    text: str
    nm_off: str = ""  # why NetworkManager leaves it alone whatever its own settings say (NM_CONTROLLED=no, netplan)


@dataclass(frozen=True, slots=True)
class NMSettings:
    """NetworkManager's settings that decide which devices it leaves alone; `files` read in NM's order."""

    files: tuple[str, ...]
    plugins: tuple[str, ...] | None
    plugins_at: tuple[str, int]
    ifupdown_managed: bool
    ifupdown_at: tuple[str, int]
    unmanaged: tuple[tuple[str, str, int], ...] = field(default_factory=tuple)  # (spec, file, line)


def ifupdown(host: Host) -> list[Claim]:
    """Every `iface NAME …` but lo, following `source` globs and `source-directory` as ifupdown does."""
    claims: list[Claim] = []
    _eni(host, "/etc/network/interfaces", claims, set())
    return claims


def _eni(host: Host, path: str, claims: list[Claim], seen: set[str]) -> None:
    if path in seen or len(seen) > 50:
        return
    seen.add(path)
    for number, line in enumerate((host.file(path) or "").splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and words[0] == "iface" and words[1] != "lo":
            claims.append(Claim("ifupdown", words[1], path, number, line.strip()))
        elif len(words) >= 2 and words[0] in ("source", "source-directory"):
            for pattern in words[1:]:
                target = pattern if pattern.startswith("/") else f"/etc/network/{pattern}"
                if words[0] == "source":
                    found = host.glob(target)
                else:
                    found = [p for p in host.glob(f"{target.rstrip('/')}/*") if re.fullmatch(r"[\w-]+", PurePosixPath(p).name)]
                for included in found:
                    _eni(host, included, claims, seen)


def network_scripts(host: Host) -> list[Claim]:
    """ifcfg-* but ifcfg-lo: its DEVICE (else the file's suffix); NM_CONTROLLED=no tells NetworkManager to leave it."""
    claims = []
    for path in host.glob("/etc/sysconfig/network-scripts/ifcfg-*"):
        values = _shell_vars(host.file(path) or "")
        device = values.get("DEVICE", (0, "", PurePosixPath(path).name.removeprefix("ifcfg-")))[2]
        if device == "lo" or path.endswith((".bak", ".orig", "~")):
            continue
        controlled = values.get("NM_CONTROLLED")
        off = f"NM_CONTROLLED={controlled[2]} ({path} line {controlled[0]})" if controlled and controlled[2].lower() in _NO else ""
        line, text, _ = values.get("DEVICE", (0, f"{PurePosixPath(path).name}", device))
        claims.append(Claim("network-scripts", device, path, line, text, off))
    return claims


def _shell_vars(text: str) -> dict[str, tuple[int, str, str]]:
    found = {}
    for number, line in enumerate(text.splitlines(), 1):
        if m := re.match(r"""^\s*(\w+)=(["']?)(.*?)\2\s*(?:#.*)?$""", line):
            found[m[1]] = (number, line.strip(), m[3])
    return found


def networkd(host: Host) -> list[Claim]:
    """[Match] Name= of systemd-networkd's *.network in /etc and /run (netplan's own output is netplan's claim)."""
    claims = []
    for path in host.glob("/etc/systemd/network/*.network") + host.glob("/run/systemd/network/*.network"):
        if PurePosixPath(path).name.startswith("10-netplan-"):
            continue
        section = ""
        for number, line in enumerate((host.file(path) or "").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("["):
                section = stripped
            elif section == "[Match]" and (m := re.match(r"^Name\s*=\s*(.+)$", stripped)):
                claims += [Claim("systemd-networkd", name.lstrip("!"), path, number, stripped) for name in m[1].split()
                           if not name.startswith("!")]
    return claims


def netplan(host: Host) -> tuple[list[Claim], list[Claim], list[str]]:
    """(devices rendered by networkd, devices rendered by NetworkManager, files that do not parse) of netplan's YAML.
    netplan puts its networkd devices on NetworkManager's deny-list (a udev rule setting NM_UNMANAGED)."""
    by_networkd: list[Claim] = []
    by_nm: list[Claim] = []
    broken = []
    for path in host.glob("/lib/netplan/*.yaml") + host.glob("/etc/netplan/*.yaml") + host.glob("/run/netplan/*.yaml"):
        text = host.file(path) or ""
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            document = None
        network = document.get("network") if isinstance(document, dict) else None
        if not isinstance(network, dict):
            broken.append(path)
            continue
        default = str(network.get("renderer", "networkd"))
        for kind in ("ethernets", "bonds", "bridges", "vlans", "wifis", "tunnels", "vrfs"):
            devices = network.get(kind)
            for key, spec in (devices.items() if isinstance(devices, dict) else ()):
                spec = spec if isinstance(spec, dict) else {}
                name = str(spec.get("set-name") or key)
                line = next((n for n, x in enumerate(text.splitlines(), 1) if re.match(rf"^\s+{re.escape(str(key))}:\s*$", x)), 0)
                renderer = str(spec.get("renderer", default))
                if renderer == "NetworkManager":
                    by_nm.append(Claim("netplan", name, path, line, f"network.{kind}.{key} (renderer NetworkManager)"))
                else:
                    by_networkd.append(Claim("netplan", name, path, line, f"network.{kind}.{key} (renderer {renderer})",
                                             f"netplan puts it on NetworkManager's deny-list ({path})"))
    return by_networkd, by_nm, broken


def nm_settings(host: Host) -> NMSettings | None:
    """NetworkManager.conf and its conf.d drop-ins (/usr/lib, /run, /etc; by file name, the later wins); None without any."""
    main = "/etc/NetworkManager/NetworkManager.conf"
    drop_ins = sorted(host.glob("/usr/lib/NetworkManager/conf.d/*.conf") + host.glob("/run/NetworkManager/conf.d/*.conf")
                      + host.glob("/etc/NetworkManager/conf.d/*.conf"), key=lambda p: PurePosixPath(p).name)
    files = ([main] if host.file(main) is not None else []) + drop_ins
    if not files:
        return None
    values: dict[str, Any] = {"plugins": None, "plugins_at": ("", 0), "managed": False, "managed_at": ("", 0), "unmanaged": []}
    for path in files:
        _nm_file(path, host.file(path) or "", values)
    return NMSettings(tuple(files), values["plugins"], values["plugins_at"], values["managed"], values["managed_at"],
                      tuple(values["unmanaged"]))


def _nm_file(path: str, text: str, values: dict[str, Any]) -> None:
    section = ""
    device: dict[str, tuple[str, int]] = {}
    for number, line in enumerate(text.splitlines() + ["[end]"], 1):
        stripped = line.strip()
        if stripped.startswith("["):
            if section.startswith("device") and device.get("managed", ("", 0))[0].lower() in _NO and "match-device" in device:
                values["unmanaged"] += [(s, path, device["match-device"][1]) for s in _specs(device["match-device"][0])]
            section, device = stripped.strip("[]").strip(), {}
            continue
        m = re.match(r"^([\w.-]+)\s*([+-]?)=\s*(.*)$", stripped)
        if not m or stripped.startswith(("#", ";")):
            continue
        key, op, value = m[1], m[2], m[3].strip()
        if section == "main" and key == "plugins":
            values["plugins"], values["plugins_at"] = tuple(p.strip() for p in value.split(",") if p.strip()), (path, number)
        elif section == "ifupdown" and key == "managed":
            values["managed"], values["managed_at"] = value.lower() not in _NO, (path, number)
        elif section == "keyfile" and key == "unmanaged-devices":
            specs = [(s, path, number) for s in _specs(value)]
            if op == "-":
                values["unmanaged"] = [u for u in values["unmanaged"] if u[0] not in {s for s, _, _ in specs}]
            else:
                values["unmanaged"] = (values["unmanaged"] if op == "+" else []) + specs
        elif section.startswith("device"):
            device[key] = (value, number)


def _specs(value: str) -> list[str]:
    return [s.strip() for s in re.split(r"[;,]", value) if s.strip()]


def unmanaged_by(settings: NMSettings, device: str, kind: str = "ethernet") -> tuple[str, str, int] | None:
    """The unmanaged-devices spec (spec, file, line) that keeps NetworkManager off `device`, NM's except: honoured."""
    def matches(spec: str) -> bool:
        if spec == "*":
            return True
        prefix, _, rest = spec.partition(":") if not _MAC.match(spec) else ("mac", "", spec)
        if prefix == "interface-name":
            return fnmatch.fnmatchcase(device, rest.lstrip("=~"))
        if prefix == "type":
            return rest == kind
        return not rest and fnmatch.fnmatchcase(device, spec)  # a bare name

    positive = [u for u in settings.unmanaged if not u[0].startswith("except:")]
    excepted = any(matches(u[0].removeprefix("except:")) for u in settings.unmanaged if u[0].startswith("except:"))
    return None if excepted else next((u for u in positive if matches(u[0])), None)


def nmcli_devices(text: str) -> dict[str, tuple[int, str, str]]:
    """`nmcli dev`: device → (line, type, state) for every device but the loopback."""
    devices = {}
    for number, line in enumerate(text.splitlines(), 1):
        m = _NMCLI.match(line)
        if m and m["device"] != "DEVICE" and m["type"] != "loopback":
            devices[m["device"]] = (number, m["type"], m["state"])
    return devices
