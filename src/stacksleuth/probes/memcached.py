"""memcached's connection limit (knowledge/probes/memcached.yaml): the limit in force (`-c` of the running process,
else /etc/memcached.conf or /etc/sysconfig/memcached MAXCONN, else memcached's 1024), its `stats` (memcached-tool,
live or sosreport's capture) — connections turned away, or nearly as many open as it accepts — and the services
whose memcached_servers point at it. The seeds' dashboard that is slow because memcached is full."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.explain import explained
from stacksleuth.probes.host import Host
from stacksleuth.probes.ini import parse_ini
from stacksleuth.probes.interface import Check, Outcome, knowledge
from stacksleuth.probes.openstack import CONFIG_FILES
from stacksleuth.probes.processes import processes

_ANY = {"", "0.0.0.0", "::", "*", "[::]"}
_STAT = re.compile(r"^\s*(?:STAT\s+)?(?P<key>[a-z_][a-z0-9_:]*)\s+(?P<value>\S.*?)\s*$")
_SYSCONFIG = re.compile(r"""^\s*(?:export\s+)?(?P<key>\w+)=(?P<q>["']?)(?P<value>.*?)(?P=q)\s*(?:#.*)?$""")
_LOCATION = re.compile(r"""['"]LOCATION['"]\s*:\s*(?P<value>\[[^\]]*\]|['"][^'"]*['"])""")


@dataclass(frozen=True, slots=True)
class Instance:
    """One memcached: its limit, port and listen addresses, and the line they come from (ps or a config file)."""

    where: str
    line: int
    text: str
    limit: int
    limit_from: str
    port: int
    listen: tuple[str, ...]
    running: bool

    @property
    def server(self) -> str:
        """The address memcached-tool asks: its first listen address (127.0.0.1 when it listens on all)."""
        specific = [a for a in self.listen if a not in _ANY]
        address = next((a for a in specific if ":" not in a), specific[0] if specific else "127.0.0.1")
        return f"{address}:{self.port}" if ":" not in address else f"[{address.strip('[]')}]:{self.port}"


@dataclass(frozen=True, slots=True)
class User:
    """A service option naming memcached servers: where it is, and the servers (host, port) it names."""

    service: str
    file: str
    line: int
    text: str
    servers: tuple[tuple[str, int], ...]


def options(args: list[str]) -> tuple[int | None, int | None, tuple[str, ...]]:
    """(-c, -p, -l addresses) of memcached's arguments (`-c 64`, `-c64`, `--conn-limit=64`, `-l a,b`)."""
    found: dict[str, list[str]] = {}
    names = {"-c": "c", "--conn-limit": "c", "-p": "p", "--port": "p", "-l": "l", "--listen": "l"}
    i = 0
    while i < len(args):
        arg = args[i]
        key, _, inline = arg.partition("=") if arg.startswith("--") else (arg[:2], "", arg[2:])
        if key in names:
            value = inline or (args[i + 1] if i + 1 < len(args) and not inline else "")
            found.setdefault(names[key], []).append(value)
            i += 1 if inline else 2
            continue
        i += 1
    limit = _int(found.get("c", [""])[-1])
    port = _int(found.get("p", [""])[-1])
    listen = tuple(a.strip() for v in found.get("l", []) for a in v.split(","))
    return limit, port, listen


def running(host: Host) -> tuple[list[Instance], str] | None:
    """The memcached processes of `ps` (live or captured) and where the list came from; None without a ps."""
    ps = processes(host)
    if ps is None:
        return None
    listed, where = ps
    data = knowledge("memcached.yaml")
    found = []
    for process in (p for p in listed if p.name == "memcached"):
        limit, port, listen = options(process.args)
        origin = f", -c {limit} on its command line" if limit else ", memcached's default: no -c on its command line"
        found.append(Instance(where, process.line, process.command, limit or int(data["default_limit"]), origin,
                              port or int(data["default_port"]), listen, True))
    return found, where


def configured(host: Host) -> Instance | None:
    """The memcached the config files describe: Debian's memcached.conf, else RHEL's sysconfig; None without either."""
    data = knowledge("memcached.yaml")
    for path in data["config_files"]["options"]:
        if (text := host.file(path)) is not None:
            args: list[str] = []
            where_c = (0, "")
            for number, line in enumerate(text.splitlines(), 1):
                words = line.split("#", 1)[0].split()
                if words and words[0].startswith("-"):
                    args += words
                    if options(words)[0] is not None:
                        where_c = (number, line.strip())
            return _from_args(path, where_c, args, f"-c in {path}", data)
    for path in data["config_files"]["sysconfig"]:
        if (text := host.file(path)) is not None:
            values: dict[str, tuple[int, str, str]] = {}
            for number, line in enumerate(text.splitlines(), 1):
                if m := _SYSCONFIG.match(line):
                    values[m["key"]] = (number, line.strip(), m["value"])
            args = [arg for key, flag in (("PORT", "-p"), ("MAXCONN", "-c")) if key in values for arg in (flag, values[key][2])]
            args += _split(values.get("OPTIONS", (0, "", ""))[2])
            line_c = values.get("MAXCONN", (0, "", ""))
            return _from_args(path, line_c[:2], args, f"MAXCONN in {path}", data)
    return None


def _from_args(path: str, where_c: tuple[int, str], args: list[str], setting: str, data: Any) -> Instance:
    limit, port, listen = options(args)
    origin = f", {setting} line {where_c[0]}" if limit else f", memcached's default: not set in {path}"
    return Instance(path, where_c[0], where_c[1], limit or int(data["default_limit"]), origin,
                    port or int(data["default_port"]), listen, False)


def users(host: Host) -> list[User]:
    """Every memcached_servers / memcache_servers of the OpenStack services and horizon's cache LOCATION."""
    data = knowledge("memcached.yaml")
    keys = set(data["option_keys"])
    found = []
    for service, globs in CONFIG_FILES.items():
        for path in (p for g in globs for p in host.glob(g)):
            for s in parse_ini(host.file(path) or "", path):
                if s.key in keys and s.value and "$" not in s.value:
                    found.append(User(service, path, s.line, f"[{s.section}] {s.key} = {s.value}", _servers(s.value.split(","))))
    for path in data["horizon_settings"]:
        for number, line in enumerate((host.file(path) or "").splitlines(), 1):
            if (m := _LOCATION.search(line)) and not line.lstrip().startswith("#"):
                servers = _servers(re.findall(r"""['"]([^'"]+)['"]""", m["value"]))
                if servers:
                    found.append(User("horizon", path, number, line.strip(), servers))
    return found


def _servers(entries: list[str]) -> tuple[tuple[str, int], ...]:
    """(host, port) of `host:port` entries (`inet6:[::1]:11211`, a bare host means port 11211); sockets skipped."""
    servers = []
    for entry in (e.strip().removeprefix("inet6:").removeprefix("inet:") for e in entries):
        if not entry or entry.startswith(("unix:", "/")):
            continue
        m = re.match(r"^\[?(?P<host>[^\]]*?)\]?(?::(?P<port>\d+))?$", entry) if entry.count(":") <= 1 or "[" in entry else None
        host, port = (m["host"], int(m["port"] or 11211)) if m else (entry, 11211)
        servers.append((host, port))
    return tuple(servers)


def parse_stats(text: str) -> dict[str, tuple[int, str]]:
    """`stats` as memcached-tool prints it (`  curr_connections  32`) or as memcached answers (`STAT curr_connections
    32`): key → (line, value)."""
    stats = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("#") and (m := _STAT.match(line)) and m["key"] not in ("END", "ERROR"):
            stats[m["key"]] = (number, m["value"])
    return stats


def stats(host: Host, server: str) -> tuple[str, str] | None:
    """memcached-tool SERVER stats, live (Debian's script, else memcached-tool on the PATH) or sosreport's capture,
    which asked 127.0.0.1:11211 only."""
    if not host.live and server != "127.0.0.1:11211":
        return None
    for name in ("memcached-stats-debian", "memcached-stats"):
        if (found := host.command(name, server=server)) is not None:
            return found
    return None


def _int(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


def _split(value: str) -> list[str]:
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


# --- the probe ---------------------------------------------------------------------------------------------

def probe(host: Host) -> Outcome:
    """The running memcached instances (or the configured one when no process list exists), checked one by one."""
    processes = running(host)
    config = configured(host)
    everyone = users(host)
    if processes is not None and not processes[0]:
        return _not_running(host, processes[1], config, everyone)
    instances = processes[0] if processes is not None else [config] if config is not None else []
    if not instances:
        return Outcome((Check("memcached/limit", "skipped", "no memcached process, memcached.conf or sysconfig/memcached"),))
    checks: list[Check] = []
    findings: list[Finding] = []
    for instance in instances:
        outcome = _instance(host, instance, config, everyone)
        checks += outcome.checks
        findings += outcome.findings
    return Outcome(tuple(checks), tuple(findings))


def _local_names(host: Host) -> set[str]:
    return {"localhost", "127.0.0.1", "::1", host.name, host.name.split(".", 1)[0]}


def _users_of(host: Host, instance: Instance, everyone: list[User]) -> list[User]:
    listen = set(instance.listen)
    any_address = not listen or bool(listen & _ANY)
    names = _local_names(host)
    return [u for u in everyone if any(port == instance.port and (any_address or h in listen or h in names)
                                       for h, port in u.servers)]


def _users_text(using: list[User]) -> str:
    if not using:
        return ("No service configuration on this host names it; the API services of the other hosts may "
                "(grep -r memcache /etc/*/*.conf there).")
    return "Used here by " + "; ".join(f"{u.service} ({u.text}, {u.file} line {u.line})" for u in using) + "."


def _evidence(host: Host, instance: Instance, using: list[User]) -> list[Evidence]:
    own = [Evidence(host.name, instance.where, instance.line, instance.text)] if instance.line else []
    return own + [Evidence(host.name, u.file, u.line, u.text) for u in using]


def _instance(host: Host, instance: Instance, config: Instance | None, everyone: list[User]) -> Outcome:
    using = _users_of(host, instance, everyone)
    server = instance.server
    summary = f"memcached {server}: at most {instance.limit} connections{instance.limit_from}"
    checks = [Check(f"memcached/limit:{server}", "info", summary),
              Check(f"memcached/users:{server}", "info" if using else "skipped",
                    "; ".join(f"{u.service} {u.text}" for u in using) or "no service config on this host names it")]
    findings = []
    if (instance.running and config is not None and config.port == instance.port and config.limit != instance.limit):
        findings.append(explained("memcached.yaml", "limit-not-applied", "memcached",
                                  _evidence(host, instance, []) + _evidence(host, config, []),
                                  config=config.where, configured=config.limit, configured_from=config.limit_from,
                                  limit=instance.limit, process=instance.text))
    captured = stats(host, server)
    if captured is None:
        how = "memcached-tool is not installed or could not connect" if host.live else "sosreport asks 127.0.0.1:11211 only"
        checks.append(Check(f"memcached/connections:{server}", "skipped", f"no `stats` of {server} ({how})"))
        return Outcome(tuple(checks), tuple(findings))
    text, where = captured
    found = parse_stats(text)
    values = {"server": server, "port": instance.port, "address": server.rpartition(":")[0].strip("[]"),
              "limit_from": instance.limit_from, "users": _users_text(using)}
    if not (_int(found.get("max_connections", (0, ""))[1]) or 0):
        checks.append(Check(f"memcached/connections:{server}", "problem", f"{where}: no statistics in the answer"))
        if text.lstrip().startswith("#"):  # memcached-tool connected (it printed its header) and got nothing
            findings.append(explained("memcached.yaml", "stats-refused", "memcached",
                                      [Evidence(host.name, where, 1, text.strip().splitlines()[0])] + _evidence(host, instance, using),
                                      command=where.removeprefix("$ ").removeprefix("timeout 10 ") if host.live else f"memcached-tool {server} stats",
                                      captured="" if host.live else f" ({where})", limit=instance.limit, **values))
        return Outcome(tuple(checks), tuple(findings))
    return _counters(host, instance, using, where, found, checks, findings, values)


def _counters(host: Host, instance: Instance, using: list[User], where: str, found: dict[str, tuple[int, str]],
              checks: list[Check], findings: list[Finding], values: dict[str, Any]) -> Outcome:
    def number(key: str) -> int:
        return _int(found.get(key, (0, ""))[1]) or 0

    limit, reserved, curr = number("max_connections"), number("reserved_fds"), number("curr_connections")
    rejected, disabled = number("rejected_connections"), number("listen_disabled_num")
    accepting = found.get("accepting_conns", (0, "1"))[1].strip() != "0"
    usable = max(1, limit - reserved)
    keys = ("max_connections", "curr_connections", "rejected_connections", "listen_disabled_num", "accepting_conns", "reserved_fds")
    evidence = [Evidence(host.name, where, found[k][0], f"{k} {found[k][1]}") for k in keys if k in found]
    summary = (f"{where}: curr_connections {curr} of max_connections {limit} ({reserved} reserved), "
               f"rejected_connections {rejected}, listen_disabled_num {disabled}")
    values.update(limit=limit, reserved=reserved, curr=curr, usable=usable, uptime=_uptime(number("uptime")))
    ratio = float(knowledge("memcached.yaml")["thresholds"]["near_limit_ratio"])
    if rejected or disabled or not accepting:
        what = [f"{rejected} connections turned away" if rejected else "", f"stopped accepting {disabled} time(s)" if disabled else "",
                "not accepting now" if not accepting else ""]
        counters = ", ".join(f"{k} {found[k][1]}" for k in keys[:5] if k in found)
        findings.append(explained("memcached.yaml", "limit-reached", "memcached", evidence + _evidence(host, instance, using),
                                  turned="; ".join(w for w in what if w), counters=counters, **values))
    elif curr >= ratio * usable:
        findings.append(explained("memcached.yaml", "near-limit", "memcached", evidence + _evidence(host, instance, using),
                                  percent=round(100 * curr / usable), **values))
    problem = bool(rejected or disabled or not accepting or curr >= ratio * usable)
    checks.append(Check(f"memcached/connections:{values['server']}", "problem" if problem else "ok", summary))
    return Outcome(tuple(checks), tuple(findings))


def _uptime(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    return f"{days} d {rest // 3600} h" if days else f"{rest // 3600} h {rest % 3600 // 60} min" if rest >= 3600 else f"{rest} s"


def _not_running(host: Host, where: str, config: Instance | None, everyone: list[User]) -> Outcome:
    names = _local_names(host)
    local = [u for u in everyone if any(h in names for h, _ in u.servers)]
    if not local:
        status = f"not running ({where}); {config.where} is present" if config else f"no memcached process ({where})"
        return Outcome((Check("memcached/limit", "info" if config else "skipped", status),))
    servers = ", ".join(sorted({f"{h}:{p}" for u in local for h, p in u.servers if h in names}))
    return Outcome((Check("memcached/running", "problem", f"services use {servers}; no memcached process ({where})"),),
                   (explained("memcached.yaml", "not-running", "memcached", [Evidence(host.name, u.file, u.line, u.text) for u in local],
                              servers=servers, users=_users_text(local), seen=where),))
