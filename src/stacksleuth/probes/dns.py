"""Name resolution (knowledge/probes/dns.yaml): DNS servers in /etc/resolv.conf (and systemd-resolved behind a
127.0.0.53 stub), the host's own name resolving — live, timed — and in /etc/hosts, and sshd's `UseDNS`,
which turns a DNS that does not answer into slow ssh logins."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.explain import explained
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome, knowledge
from stacksleuth.probes.processes import running as daemon_running

_SSHD = "/etc/ssh/sshd_config"


@dataclass(frozen=True, slots=True)
class Resolution:
    """A live getaddrinfo of one name: the addresses, or why not, and how long it took."""

    name: str
    addresses: tuple[str, ...]
    error: str | None
    seconds: float


def resolve(name: str, timeout: float) -> Resolution:
    """getaddrinfo(name) in a thread, so a resolver that hangs cannot hang the check (`timed out` after `timeout`)."""
    result: dict[str, object] = {}

    def lookup() -> None:
        try:
            result["addresses"] = tuple(sorted({str(a[4][0]) for a in socket.getaddrinfo(name, None)}))
        except OSError as exc:
            result["error"] = exc.strerror or str(exc)

    start = time.monotonic()
    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(timeout)
    seconds = round(time.monotonic() - start, 2)
    if worker.is_alive():
        return Resolution(name, (), f"no answer within {timeout:g} s", seconds)
    addresses = result.get("addresses", ())
    return Resolution(name, addresses if isinstance(addresses, tuple) else (), str(result["error"]) if "error" in result else None, seconds)


def nameservers(host: Host) -> list[tuple[int, str]] | None:
    """(line, address) of every `nameserver` in /etc/resolv.conf; None when the file is absent."""
    text = host.file("/etc/resolv.conf")
    if text is None:
        return None
    return [(n, m[1]) for n, line in enumerate(text.splitlines(), 1) if (m := re.match(r"^\s*nameserver\s+(\S+)", line))]


def hosts_entry(host: Host, name: str) -> tuple[int, str] | None:
    """(line, text) of the /etc/hosts line that names `name` (or its short form)."""
    short = name.split(".", 1)[0]
    for number, line in enumerate((host.file("/etc/hosts") or "").splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if len(fields) > 1 and (name in fields[1:] or short in (f.split(".", 1)[0] for f in fields[1:])):
            return number, line.strip()
    return None


def use_dns(host: Host) -> tuple[str, int, bool] | None:
    """(file, line, value) of the `UseDNS` sshd obeys: the first one read, the Include'd files in place."""
    for path in _sshd_files(host, _SSHD, depth=0):
        for number, line in enumerate((host.file(path) or "").splitlines(), 1):
            if m := re.match(r"^\s*UseDNS\s+(\S+)", line, re.I):
                return path, number, m[1].lower() == "yes"
            if re.match(r"^\s*Match\s", line, re.I):
                break  # a Match block's settings apply to some connections only
    return None


def _sshd_files(host: Host, path: str, depth: int) -> list[str]:
    files = [path]
    for line in (host.file(path) or "").splitlines():
        if (m := re.match(r"^\s*Include\s+(.+)$", line, re.I)) and depth < 4:
            for pattern in m[1].split():
                target = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
                for found in host.glob(target):
                    files += _sshd_files(host, found, depth + 1)
    return files


def probe(host: Host) -> Outcome:
    """resolv.conf, the own name (live: resolved and timed), /etc/hosts, sshd's UseDNS."""
    limits = knowledge("dns.yaml")["thresholds"]
    servers = _servers(host)
    resolution = resolve(host.name, float(limits["timeout_seconds"])) if host.live else None
    own = _own_name(host, resolution, servers.checks[0].status == "ok", float(limits["slow_seconds"]))
    dns_troubled = servers.checks[0].status == "problem" or own.checks[0].status == "problem"
    sshd = _sshd(host, dns_troubled, resolution)
    parts = (servers, own, sshd)
    return Outcome(tuple(c for p in parts for c in p.checks), tuple(f for p in parts for f in p.findings))


def _servers(host: Host) -> Outcome:
    found = nameservers(host)
    if found is None:
        if not host.live and not (host.exists("/etc/hosts") or host.exists("/sos_commands")):
            return Outcome((Check("dns/servers", "skipped", "no /etc/resolv.conf in this root (not a full copy of /etc)"),))
        return Outcome((Check("dns/servers", "problem", "no /etc/resolv.conf"),),
                       (explained("dns.yaml", "no-resolv-conf", "dns", [Evidence(host.name, "/etc/resolv.conf", 0, "absent")]),))
    evidence = [Evidence(host.name, "/etc/resolv.conf", n, f"nameserver {a}") for n, a in found]
    listed = ", ".join(a for _, a in found)
    if not found:
        return Outcome((Check("dns/servers", "problem", "/etc/resolv.conf names no nameserver"),),
                       (explained("dns.yaml", "no-nameserver", "dns", [Evidence(host.name, "/etc/resolv.conf", 0, "no nameserver line")],
                                  name=host.name),))
    stubs = knowledge("dns.yaml")["stub_resolvers"]
    if all(a in stubs for _, a in found):
        running, seen = daemon_running(host, "systemd-resolved", ("systemd-resolved",))
        if running is False:
            return Outcome((Check("dns/servers", "problem", f"{listed}: systemd-resolved's stub, and it is not running"),),
                           (explained("dns.yaml", "stub-without-resolved", "systemd-resolved", evidence, servers=listed, seen=seen),))
        return Outcome((Check("dns/servers", "ok" if running else "info",
                              f"{listed}: systemd-resolved's stub ({seen}); its upstream servers: resolvectl status"),))
    return Outcome((Check("dns/servers", "ok", f"nameserver {listed}"),))


def _own_name(host: Host, resolution: Resolution | None, has_dns: bool, slow: float) -> Outcome:
    entry = hosts_entry(host, host.name)
    in_hosts = f"/etc/hosts line {entry[0]}: {entry[1]}" if entry else "not in /etc/hosts"
    evidence = [Evidence(host.name, "/etc/hosts", entry[0], entry[1])] if entry else [Evidence(host.name, "/etc/hosts", 0, f"no line names {host.name}")]
    if resolution is not None:
        seen = [Evidence(host.name, f"getaddrinfo({host.name})", 0,
                         f"{', '.join(resolution.addresses) or resolution.error} in {resolution.seconds} s")]
        if resolution.error:
            return Outcome((Check("dns/own-name", "problem", f"{host.name} does not resolve: {resolution.error}; {in_hosts}"),),
                           (explained("dns.yaml", "own-name-unresolved", "dns", seen + evidence, name=host.name, error=resolution.error,
                                      hosts=f" ({in_hosts})"),))
        summary = f"{host.name} → {', '.join(resolution.addresses)} in {resolution.seconds} s; {in_hosts}"
        if resolution.seconds > slow:
            return Outcome((Check("dns/own-name", "problem", summary),),
                           (explained("dns.yaml", "own-name-slow", "dns", seen + evidence, name=host.name, seconds=resolution.seconds),))
        return Outcome((Check("dns/own-name", "ok", summary),))
    if entry:
        return Outcome((Check("dns/own-name", "ok", f"{host.name}: {in_hosts}"),))
    if host.file("/etc/hosts") is None:
        return Outcome((Check("dns/own-name", "skipped", "no /etc/hosts in this root"),))
    dns = (" (this host's resolv.conf names DNS servers; check that they know it)" if has_dns
           else " — and this host has no working DNS configuration")
    return Outcome((Check("dns/own-name", "problem" if not has_dns else "info", f"{host.name}: {in_hosts}"),),
                   (explained("dns.yaml", "not-in-hosts", "dns", evidence, name=host.name, dns=dns,
                              severity="info" if has_dns else "warning"),))


def _sshd(host: Host, dns_troubled: bool, resolution: Resolution | None) -> Outcome:
    setting = use_dns(host)
    if setting is None:
        present = host.file(_SSHD) is not None
        return Outcome((Check("dns/sshd-usedns", "ok" if present else "skipped",
                              "sshd: UseDNS not set (no since OpenSSH 6.8)" if present else f"no {_SSHD}"),))
    path, number, on = setting
    if not on:
        return Outcome((Check("dns/sshd-usedns", "ok", f"{path}:{number}: UseDNS no"),))
    slow = resolution is not None and resolution.seconds > float(knowledge("dns.yaml")["thresholds"]["slow_seconds"])
    dns = (" This host's own DNS is not healthy (see the DNS findings), so logins wait now." if dns_troubled else "")
    finding: Finding = explained("dns.yaml", "use-dns", "sshd", [Evidence(host.name, path, number, "UseDNS yes")],
                                 file=path, dns=dns, slow=" and DNS here is slow or broken" if dns_troubled or slow else "",
                                 severity="warning" if dns_troubled or slow else "info")
    return Outcome((Check("dns/sshd-usedns", "problem" if dns_troubled else "info", f"{path}:{number}: UseDNS yes"),), (finding,))
