"""dm-multipath (knowledge/probes/storage-paths.yaml): /etc/multipath.conf read as multipathd does (sections in
braces; a blacklist that takes every device; a brace that does not close) and `multipath -ll` (live or
sos_commands/multipath/): failed paths, single-path maps, multipathd not running."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.explain import explained
from stacksleuth.probes.host import Host
from stacksleuth.probes.interface import Check, Outcome

CONF = "/etc/multipath.conf"
_MAP = re.compile(r"^(?P<name>[^\s|`][^\s]*)(?: \((?P<wwid>[^)]+)\))? (?P<dm>dm-\d+) (?P<vendor>.*)$")
_GROUP = re.compile(r"^[|`\s-]*\+- policy='(?P<policy>[^']*)' prio=(?P<prio>-?\d+) status=(?P<status>\S+)")
_PATH = re.compile(r"^[|`\s-]+(?P<hcil>\d+:\d+:\d+:\d+|#:#:#:#) (?P<dev>\S+) (?P<majmin>\d+:\d+)\s+"
                   r"(?P<dm>active|failed|undef)\s+(?P<checker>\S+)\s+(?P<online>\S+)")
_MESSAGE = re.compile(r"^\s*[\d.]+ \| (?P<text>.*)$")  # multipath's own messages: `12.53 | Warning: …`
_CATCH_ALL = {'".*"', '"*"', ".*", "*", '"^.*"', "^.*"}


@dataclass(frozen=True, slots=True)
class Path:
    """One path of a map as `multipath -ll` prints it."""

    hcil: str
    device: str
    dm_state: str
    checker: str
    online: str
    line: int
    text: str

    @property
    def failed(self) -> bool:
        """dm failed it, its checker says it is not usable, or the device is offline."""
        return self.dm_state == "failed" or self.checker in ("faulty", "shaky") or self.online in ("offline", "transport-offline")


@dataclass
class Map:
    """One multipath device and its paths."""

    name: str
    wwid: str
    line: int
    paths: list[Path] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Listing:
    """`multipath -ll` parsed: maps, multipath's own messages (line, text), lines not understood."""

    where: str
    maps: tuple[Map, ...]
    messages: tuple[tuple[int, str], ...]
    unparsed: tuple[int, ...]


def parse_ll(text: str, where: str) -> Listing:
    """`multipath -ll`: a header per map, `size=` line, path groups (`+- policy=`), paths (`|- 0:0:0:0 sda …`)."""
    maps: list[Map] = []
    messages, unparsed = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("size="):
            continue
        if m := _MESSAGE.match(line):
            messages.append((number, m["text"].strip()))
        elif m := _PATH.match(line):
            if maps:
                maps[-1].paths.append(Path(m["hcil"], m["dev"], m["dm"], m["checker"], m["online"], number, line.strip()))
            else:
                unparsed.append(number)
        elif _GROUP.match(line):
            continue
        elif m := _MAP.match(line):
            maps.append(Map(m["name"], m["wwid"] or m["name"], number))
        else:
            unparsed.append(number)
    return Listing(where, tuple(maps), tuple(messages), tuple(unparsed))


@dataclass(frozen=True, slots=True)
class Conf:
    """multipath.conf as (section path, keyword, value, line), and where it stops making sense."""

    entries: tuple[tuple[str, str, str, int], ...]
    problems: tuple[tuple[int, str], ...]

    def values(self, section: str, keyword: str) -> list[tuple[str, int]]:
        """(value, line) of `keyword` directly in `section` (e.g. "blacklist", "devnode")."""
        return [(v, n) for s, k, v, n in self.entries if s == section and k == keyword]


def parse_conf(text: str) -> Conf:
    """Sections `name {` … `}`, nested (devices → device); `#`/`!` comments; values may be quoted."""
    entries, problems = [], []
    stack: list[tuple[str, int]] = []  # open sections and the line that opened each
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.split(r"\s[#!]|^[#!]", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        if line == "}":
            if not stack:
                problems.append((number, "a `}` closes no section"))
            else:
                stack.pop()
            continue
        try:
            words = shlex.split(line.rstrip("{").strip(), posix=False)
        except ValueError:
            problems.append((number, f"unbalanced quotes in `{line}`"))
            continue
        if line.endswith("{"):
            stack.append((words[0] if words else "", number))
        elif words:
            entries.append(("/".join(name for name, _ in stack), words[0], " ".join(words[1:]), number))
    problems += [(line, f"section `{name}` is never closed (missing `}}`)") for name, line in stack]
    return Conf(tuple(entries), tuple(problems))


def in_use(host: Host) -> bool:
    """Whether this host uses dm-multipath: a multipath.conf, or maps in `multipath -ll`."""
    if host.file(CONF) is not None:
        return True
    listed = host.command("multipath-ll")
    return listed is not None and bool(parse_ll(*listed).maps)


def probe(host: Host) -> Outcome:
    """multipath.conf, then `multipath -ll`."""
    conf, paths = _conf(host), _paths(host)
    return Outcome(conf.checks + paths.checks, conf.findings + paths.findings)


def _conf(host: Host) -> Outcome:
    text = host.file(CONF)
    if text is None:
        return Outcome((Check("storage/multipath-conf", "skipped", f"no {CONF}"),))
    conf = parse_conf(text)
    findings: list[Finding] = [explained("storage-paths.yaml", "conf-unreadable", "multipathd",
                                         [Evidence(host.name, CONF, n, (text.splitlines() or [""])[n - 1].strip())],
                                         problem=p, line=n, file=CONF) for n, p in conf.problems]
    catch_all = [(k, v, n) for s, k, v, n in conf.entries if s == "blacklist" and k in ("devnode", "wwid") and v in _CATCH_ALL]
    if catch_all and not any(s == "blacklist_exceptions" for s, *_ in conf.entries):
        keyword, value, number = catch_all[0]
        findings.append(explained("storage-paths.yaml", "blacklist-all", "multipathd",
                                  [Evidence(host.name, CONF, number, f"blacklist {{ {keyword} {value} }}")], entry=f"{keyword} {value}"))
    said = {k: v for s, k, v, _ in conf.entries if s == "defaults" and k in ("user_friendly_names", "find_multipaths")}
    summary = (f"user_friendly_names {said.get('user_friendly_names', 'no (default)')} (map names "
               f"{'mpathN, which differ from host to host' if said.get('user_friendly_names') == 'yes' else 'are WWIDs'}); "
               f"find_multipaths {said.get('find_multipaths', 'default')}; "
               f"blacklist: {', '.join(f'{k} {v}' for s, k, v, _ in conf.entries if s == 'blacklist') or 'empty'}")
    return Outcome((Check("storage/multipath-conf", "problem" if findings else "ok", summary),), tuple(findings))


def _paths(host: Host) -> Outcome:
    captured = host.command("multipath-ll")
    if captured is None:
        return Outcome((Check("storage/multipath-paths", "skipped", "no `multipath -ll` output (no multipath map, or not captured)"),))
    listing = parse_ll(*captured)
    findings = [f for m in listing.maps for f in _map_findings(host, listing, m)]
    for number, text in listing.messages:
        if "multipathd service is not running" in text:
            findings.append(explained("storage-paths.yaml", "multipathd-not-running", "multipathd",
                                      [Evidence(host.name, listing.where, number, text)], line=text))
    unparsed = (f"; {len(listing.unparsed)} line(s) not understood (line {', '.join(map(str, listing.unparsed[:5]))})"
                if listing.unparsed else "")
    summary = "; ".join(f"{m.name}: {sum(not p.failed for p in m.paths)}/{len(m.paths)} path(s) up" for m in listing.maps)
    status = "problem" if unparsed or any(f.severity != "info" for f in findings) else "ok"
    return Outcome((Check("storage/multipath-paths", status, (summary or "no multipath map") + unparsed),), tuple(findings))


def _map_findings(host: Host, listing: Listing, device: Map) -> list[Finding]:
    failed = [p for p in device.paths if p.failed]
    evidence = [Evidence(host.name, listing.where, device.line, f"{device.name} ({device.wwid})")]
    if failed:
        up = len(device.paths) - len(failed)
        remaining = (f"{up} path(s) still carry the I/O, without redundancy left." if up else
                     "No path is left: I/O to this volume queues or fails, and the guests using it hang or see I/O errors.")
        return [explained("storage-paths.yaml", "path-failed", "storage", evidence + [Evidence(host.name, listing.where, p.line, p.text) for p in failed],
                          map=device.name, wwid=device.wwid, failed=len(failed), total=len(device.paths),
                          paths=", ".join(p.device for p in failed), remaining=remaining, devices="|".join(p.device for p in failed),
                          detail="; ".join(f"{p.device} ({p.hcil}) {p.dm_state} {p.checker} {p.online}" for p in failed))]
    if len(device.paths) == 1:
        path = device.paths[0]
        return [explained("storage-paths.yaml", "single-path", "storage", evidence + [Evidence(host.name, listing.where, path.line, path.text)],
                          map=device.name, wwid=device.wwid, path=f"{path.device} {path.hcil}")]
    return []
