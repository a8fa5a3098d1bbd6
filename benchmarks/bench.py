#!/usr/bin/env python3
"""stacksleuth throughput and memory benchmark: prints figures, asserts nothing.

    python benchmarks/bench.py                      # 0.5M and 1M lines, 2 and 1 workers
    python benchmarks/bench.py --sizes 1000000 --seed 7 --keep /tmp/bundle

1. Builds multi-host bundles (ctl + cmp1..3, /var/log layout) from real lines: the Zed lab captures
   (examples/lab-zed, healthy boots and the fault-b disk-full / fault-d compute-down failures replayed
   with new ids), and, when ../shared/data is present, hotsos neutron/nova logs and Loghub's 2k lines.
   Every uuid (request ids, instances, ports…) is replaced per replay, `instance-XXXXXXXX` names too,
   and all timestamps are shifted so that times increase in every file; the rest of each line is
   byte-identical and tracebacks stay multi-line.
2. Measures, per size, each step in a fresh child process (so maxrss is its own): read+parse+write
   with stacksleuth's ingest (2 and 1 workers), the DuckDB store, correlate (operations), the rules,
   end-to-end `stacksleuth diagnose --json` as a subprocess, and `grep -c ERROR` over the same files.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "examples" / "lab-zed"
SHARED = ROOT.parent / "shared" / "data"
HOTSOS = SHARED / "hotsos-fixtures" / "fake_data_root" / "openstack" / "var" / "log"
LOGHUB = SHARED / "loghub-openstack-2k" / "OpenStack_2k.log"

COMPUTES = ("cmp1", "cmp2", "cmp3")
HEALTHY = ("baseline-boot-vm2-ok", "note-virt-type-kvm-works")
FAULTS = ("fault-b-disk-full", "fault-d-compute-down")
#: lab-zed files that live on a compute node; everything else goes to the controller
_COMPUTE_FILES = ("nova__nova-compute", "libvirt__", "neutron__neutron-linuxbridge-agent")
BUNDLE_START = calendar.timegm((2027, 1, 4, 0, 0, 0))

# ---------------------------------------------------------------------------------------------------------------
# templates: a source line cut into literal text and slots (timestamp, uuid, tap name, instance name)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MON = {m: i + 1 for i, m in enumerate(_MONTHS)}
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_SLOTS = re.compile(
    r"(?P<iso>(?P<iy>\d{4})-(?P<im>\d\d)-(?P<id>\d\d)(?P<isep>[ T])(?P<iH>\d\d):(?P<iM>\d\d):(?P<iS>\d\d))"
    r"|(?P<ev>(?P<ed>\d\d)/(?P<eb>[A-Z][a-z]{2})/(?P<ey>\d{4}):?(?P<esep>[ :])(?P<eH>\d\d):(?P<eM>\d\d):(?P<eS>\d\d))"
    r"|(?P<ct>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<cb>[A-Z][a-z]{2}) (?P<cd>[ \d]\d) (?P<cH>\d\d):(?P<cM>\d\d):(?P<cS>\d\d) (?P<cy>\d{4}))"
    rf"|(?P<uuid>{_UUID})"
    r"|(?P<tap>(?<=tap)[0-9a-f]{8}-[0-9a-f]{2})"
    r"|(?P<inst>instance-[0-9a-f]{8})"
)


def _epoch(y: str, mo: int, d: str, hh: str, mm: str, ss: str) -> int:
    return calendar.timegm((int(y), mo, int(d), int(hh), int(mm), int(ss)))


@dataclass
class Template:
    """One source (a file, or a whole lab scenario): lines as segments, and its time range."""

    lines: list[list]  # per line: [str | (kind, value, extra)]
    first: int = 0
    last: int = 0
    uuids: dict[str, str] = field(default_factory=dict)  # 'xxxxxxxx-xx' tap prefix → full uuid

    @property
    def span(self) -> int:
        return max(0, self.last - self.first)


def tokenise(texts: list[str]) -> Template:
    """Cut lines (with their line ends) into literal text and slots; record the time range."""
    out, times, uuids = [], [], {}
    for text in texts:
        segs: list = []
        pos = 0
        for m in _SLOTS.finditer(text):
            if m.start() > pos:
                segs.append(text[pos:m.start()])
            g = m.group
            if g("iso"):
                t = _epoch(g("iy"), int(g("im")), g("id"), g("iH"), g("iM"), g("iS"))
                segs.append(("iso", t, g("isep")))
                times.append(t)
            elif g("ev"):
                t = _epoch(g("ey"), _MON.get(g("eb"), 1), g("ed"), g("eH"), g("eM"), g("eS"))
                segs.append(("ev", t, m.group(0)[11]))  # ':' (apache) or ' ' (eventlet) after the year
                times.append(t)
            elif g("ct"):
                t = _epoch(g("cy"), _MON.get(g("cb"), 1), g("cd").strip(), g("cH"), g("cM"), g("cS"))
                segs.append(("ct", t, None))
                times.append(t)
            elif g("uuid"):
                segs.append(("uuid", g("uuid"), None))
                uuids.setdefault(g("uuid")[:11], g("uuid"))
            elif g("tap"):
                segs.append(("tap", g("tap"), None))
            else:
                segs.append(("inst", g("inst"), None))
            pos = m.end()
        if pos < len(text):
            segs.append(text[pos:])
        out.append(segs)
    tpl = Template(out, uuids=uuids)
    if times:
        tpl.first, tpl.last = min(times), max(times)
    return tpl


class Renderer:
    """Render templates for one replay: a time shift and fresh ids (consistent within the replay)."""

    def __init__(self, rng: random.Random, counter: list[int]) -> None:
        self.rng = rng
        self.counter = counter  # global instance-name counter, shared across replays
        self._ts: dict[tuple, str] = {}
        self.ids: dict[str, str] = {}
        self.names: dict[str, str] = {}

    def begin(self) -> None:
        """A new replay: fresh uuids and instance names (the same in every file of the replay)."""
        self.ids, self.names = {}, {}

    def instance_name(self, old: str) -> str:
        name = self.names.get(old)
        if name is None:
            self.counter[0] += 1
            name = self.names[old] = f"instance-{self.counter[0]:08x}"
        return name

    def replay(self, tpl: Template, shift: int, lines: list[list] | None = None) -> list[str]:
        ids = self.ids
        rng, cache = self.rng, self._ts

        def new_uuid(old: str) -> str:
            new = ids.get(old)
            if new is None:
                new = ids[old] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            return new

        out = []
        for segs in tpl.lines if lines is None else lines:
            parts = []
            for s in segs:
                if s.__class__ is str:
                    parts.append(s)
                    continue
                kind, value, extra = s
                if kind == "uuid":
                    parts.append(new_uuid(value))
                elif kind == "tap":
                    full = tpl.uuids.get(value)
                    parts.append(new_uuid(full)[:11] if full else value)
                elif kind == "inst":
                    parts.append(self.instance_name(value))
                else:
                    key = (kind, value + shift, extra)
                    text = cache.get(key)
                    if text is None:
                        text = cache[key] = _format_ts(kind, value + shift, extra)
                    parts.append(text)
            out.append("".join(parts))
        if len(cache) > 200_000:
            cache.clear()
        return out


def _format_ts(kind: str, t: int, extra: str | None) -> str:
    tm = time.gmtime(t)
    if kind == "iso":
        return f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}{extra}{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
    if kind == "ev":
        return (f"{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}{':' if extra == ':' else ' '}"
                f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}")
    return (f"{_DAYS[tm.tm_wday]} {_MONTHS[tm.tm_mon - 1]} {tm.tm_mday:2d} "
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {tm.tm_year:04d}")


def _read_lines(path: Path) -> list[str]:
    """Lines with their own line ends (CRLF kept), decompressing .gz."""
    if path.suffix == ".gz":
        import gzip

        data = gzip.decompress(path.read_bytes())
    else:
        data = path.read_bytes()
    text = data.decode("utf-8", errors="surrogateescape")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\r\n" if lines[-1 - (len(lines) > 1)].endswith("\r\n") else "\n"
    return lines


# ---------------------------------------------------------------------------------------------------------------
# bundle


@dataclass
class Scenario:
    """A lab capture replayed as one operation: per file its role, target path and template."""

    name: str
    files: list[tuple[str, str, Template]]  # (role 'ctl'|'cmp', relative path under var/log, template)
    first: int
    span: int
    lines: int


def _lab_target(name: str) -> tuple[str, str]:
    stem = name[:-4] if name.endswith(".log") else name
    role = "cmp" if stem.startswith(_COMPUTE_FILES) else "ctl"
    if stem.startswith("libvirt__qemu__instance-"):
        return role, "libvirt/qemu/{%s}.log" % stem[len("libvirt__qemu__"):]
    if stem.startswith("rabbitmq__rabbit@"):
        return role, "rabbitmq/rabbit@ctl.log"
    return role, stem.replace("__", "/") + ".log"


def load_scenario(directory: Path) -> Scenario:
    files, first, last, count = [], None, None, 0
    for path in sorted(directory.glob("*.log")):
        role, target = _lab_target(path.name)
        tpl = tokenise(_read_lines(path))
        files.append((role, target, tpl))
        count += len(tpl.lines)
        if tpl.lines and tpl.last:
            first = tpl.first if first is None else min(first, tpl.first)
            last = tpl.last if last is None else max(last, tpl.last)
    return Scenario(directory.name, files, first or 0, (last or 0) - (first or 0), count)


@dataclass
class Noise:
    """A real file replayed back to back on its own timeline (hotsos agents, Loghub)."""

    host: str
    target: str
    tpl: Template


def _noise_sources(with_outage: bool = False) -> list[Noise]:
    out: list[Noise] = []
    if HOTSOS.is_dir():
        neutron = HOTSOS / "neutron"
        for host in COMPUTES:
            src = neutron / "neutron-openvswitch-agent.log"
            if src.is_file():
                out.append(Noise(host, "neutron/neutron-openvswitch-agent.log", tokenise(_read_lines(src))))
        # the rotated (.1) agent logs and nova-api-metadata.log.1.gz hold a RabbitMQ outage (ECONNREFUSED):
        # left out so that the bundle's findings are the replayed failed boots (--rabbit-outage adds them)
        names = ["neutron-l3-agent.log", "neutron-dhcp-agent.log"]
        if with_outage:
            names += ["neutron-l3-agent.log.1", "neutron-dhcp-agent.log.1", "neutron-metadata-agent.log.1"]
        for name in names:
            src = neutron / name
            if src.is_file():
                target = "neutron/" + name.replace(".log.1", "-old.log")
                out.append(Noise("ctl", target, tokenise(_read_lines(src))))
    return out


class Bundle:
    """Open files of the bundle being written; appends keep every file in time order."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.handles: dict[Path, object] = {}
        self.lines = 0

    def write(self, host: str, rel: str, lines: list[str]) -> None:
        path = self.root / host / "var" / "log" / rel
        fh = self.handles.get(path)
        if fh is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = self.handles[path] = open(path, "w", encoding="utf-8", errors="surrogateescape", newline="")
        fh.writelines(lines)
        self.lines += len(lines)

    def close_small(self, keep: int = 64) -> None:
        # qemu logs are one per instance: do not keep thousands of handles open
        if len(self.handles) > keep:
            for path in [p for p in self.handles if "/qemu/" in str(p)]:
                self.handles.pop(path).close()

    def close(self) -> None:
        for fh in self.handles.values():
            fh.close()
        self.handles.clear()


def build_bundle(root: Path, target_lines: int, seed: int = 1, fault_every: int = 25,
                 noise_share: float = 0.45, loghub_share: float = 0.01, with_outage: bool = False) -> dict:
    """Write ≥ `target_lines` lines under root/{ctl,cmp1,cmp2,cmp3}/var/log; returns a summary."""
    rng = random.Random(seed)
    renderer = Renderer(rng, [0x100])
    bundle = Bundle(root)
    (root / "ctl").mkdir(parents=True, exist_ok=True)

    # the plan for the background: whole copies of each real file, on its own increasing timeline
    plan: list[tuple[str, str, Template, int]] = []
    noise = _noise_sources(with_outage)
    budget = int(target_lines * noise_share)
    total_src = sum(len(n.tpl.lines) for n in noise) or 1
    for n in noise:
        if n.tpl.lines:
            want = budget * len(n.tpl.lines) // total_src
            plan.append((n.host, n.target, n.tpl, max(1, -(-want // len(n.tpl.lines)))))
    if LOGHUB.is_file() and loghub_share > 0:
        # Loghub's lines keep their per-line file-name prefix and CRLF: one merged file on the controller
        tpl = tokenise(_read_lines(LOGHUB))
        plan.append(("ctl", "nova/loghub-openstack.log", tpl, max(1, -(-int(target_lines * loghub_share) // len(tpl.lines)))))
    background = sum(len(tpl.lines) * copies for _, _, tpl, copies in plan)

    # boots: healthy lab captures, and every `fault_every`-th a failed one, one after the other in time
    healthy = [load_scenario(LAB / n) for n in HEALTHY if (LAB / n).is_dir()]
    faults = [load_scenario(LAB / n) for n in FAULTS if (LAB / n).is_dir()]
    t = BUNDLE_START
    replays: dict[str, int] = {}
    k = 0
    while bundle.lines < target_lines - background:
        k += 1
        if faults and k % fault_every == 0:
            sc = faults[(k // fault_every - 1) % len(faults)]
        else:
            sc = healthy[rng.randrange(len(healthy))]
        compute = COMPUTES[k % len(COMPUTES)]
        shift = t - sc.first
        renderer.begin()
        for role, target, tpl in sc.files:
            lines = renderer.replay(tpl, shift)
            if "{" in target:
                target = target.replace(target[target.index("{"):target.index("}") + 1],
                                        renderer.instance_name(target[target.index("{") + 1:target.index("}")]))
            bundle.write(compute if role == "cmp" else "ctl", target, lines)
        bundle.close_small()
        replays[sc.name] = replays.get(sc.name, 0) + 1
        t += sc.span + 30
    # the background, spread over the same time range as the boots (no service looks stopped)
    end = t
    noise_lines = loghub_lines = 0
    for host, target, tpl, copies in plan:
        step = max(tpl.span + 1, (end - BUNDLE_START) // copies)
        for c in range(copies):
            renderer.begin()
            bundle.write(host, target, renderer.replay(tpl, BUNDLE_START + c * step - tpl.first))
        if "loghub" in target:
            loghub_lines += copies * len(tpl.lines)
        else:
            noise_lines += copies * len(tpl.lines)
    bundle.close()
    files = sorted(str(p) for p in root.rglob("*.log"))
    return {"lines": bundle.lines, "bytes": sum(os.path.getsize(f) for f in files), "files": len(files),
            "replays": replays, "noise_lines": noise_lines, "loghub_lines": loghub_lines,
            "hosts": [str(root / h) for h in ("ctl",) + COMPUTES]}


# ---------------------------------------------------------------------------------------------------------------
# measurements (each in a fresh child process: python bench.py --child STEP ...)


def _maxrss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def child(step: str, hosts: list[str], workers: int, out: str) -> None:
    """One measured step; prints a JSON line of timings and maxrss (self and children)."""
    import gc

    from stacksleuth.index.ingest import ingest
    from stacksleuth.sources.discover import discover

    res: dict = {"step": step, "workers": workers}
    work = Path(out)
    t0 = time.perf_counter()
    inventory = discover([Path(h) for h in hosts], work / "unpacked")
    res["discover_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    reports = ingest(inventory.logs, work / "parts", workers)
    res["ingest_s"] = time.perf_counter() - t0
    res["lines"] = sum(r.stats.lines for r in reports)
    res["events"] = sum(r.stats.events for r in reports)
    res["unparsed"] = sum(r.stats.unparsed for r in reports)
    res["errors"] = [r.error for r in reports if r.error]
    res["rss_main_after_ingest_mb"] = _maxrss_mb(resource.RUSAGE_SELF)
    if step == "pipeline":
        from stacksleuth.correlate.operations import build_operations
        from stacksleuth.diagnose.engine import diagnose
        from stacksleuth.diagnose.rulebook import load_rules
        from stacksleuth.index.store import EventStore
        from stacksleuth.workflows.machine import builtin_workflow

        gc.collect()
        t0 = time.perf_counter()
        store = EventStore(work / "parts", work / "index.duckdb")
        res["store_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ops = build_operations(store, builtin_workflow("boot"))
        res["correlate_s"] = time.perf_counter() - t0
        res["operations"] = len(ops)
        res["outcomes"] = {o: sum(1 for op in ops if op.outcome == o) for o in {op.outcome for op in ops}}
        t0 = time.perf_counter()
        findings = diagnose(store, ops, load_rules(), {})
        res["rules_s"] = time.perf_counter() - t0
        res["findings"] = len(findings)
        top: dict[str, int] = {}
        for f in findings:
            top[f.rule] = top.get(f.rule, 0) + 1
        res["finding_rules"] = top
        store.close()
    res["rss_main_mb"] = _maxrss_mb(resource.RUSAGE_SELF)
    res["rss_workers_mb"] = _maxrss_mb(resource.RUSAGE_CHILDREN)
    print(json.dumps(res))


def run_child(step: str, hosts: list[str], workers: int) -> dict:
    work = tempfile.mkdtemp(prefix="ssbench-")
    try:
        cmd = [sys.executable, __file__, "--child", step, "--workers", str(workers), "--out", work, *hosts]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"child {step} failed:\n{proc.stderr}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["wall_s"] = wall
        return res
    finally:
        shutil.rmtree(work, ignore_errors=True)


def timed_subprocess(cmd: list[str]) -> tuple[float, float, int, bytes]:
    """(wall seconds, maxrss MB of the process and everything it waited for, exit code, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode, out


def measure(size: int, bundle: dict, workers: list[int], repeat: int = 3) -> dict:
    hosts = bundle["hosts"]
    files = sorted(str(p) for h in hosts for p in Path(h).rglob("*.log"))
    subprocess.run(["cat", *files], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    row: dict = {"size": size, "lines": bundle["lines"], "mb": bundle["bytes"] / 2**20, "files": bundle["files"]}
    # grep -c ERROR over the same files
    grep = min(timed_subprocess(["grep", "-c", "ERROR", *files])[0] for _ in range(3))
    row["grep_s"] = grep
    wc = min(timed_subprocess(["wc", "-l", *files])[0] for _ in range(2))
    row["wc_s"] = wc
    for w in workers:
        # best of `repeat`: the machine may be shared (load average is printed with the table)
        runs = [run_child("ingest", hosts, w) for _ in range(repeat)]
        row[f"ingest{w}"] = min(runs, key=lambda r: r["ingest_s"])
        row[f"ingest{w}"]["all_s"] = [round(r["ingest_s"], 2) for r in runs]
    row["pipeline"] = run_child("pipeline", hosts, max(workers))
    cli = [shutil.which("stacksleuth") or "stacksleuth", "diagnose", "--json", *hosts]
    wall, rss, code, out = timed_subprocess(cli)
    row["diagnose"] = {"wall_s": wall, "maxrss_mb": rss, "exit": code}
    try:
        doc = json.loads(out)
        row["diagnose"]["findings"] = len(doc["findings"])
        row["diagnose"]["top"] = doc["findings"][0]["rule"] if doc["findings"] else None
        row["diagnose"]["operations"] = len(doc["operations"])
        row["diagnose"]["parsed_lines"] = doc["parse"]["lines"]
        row["diagnose"]["unparsed"] = doc["parse"]["unparsed"]
    except (ValueError, KeyError, IndexError):
        pass
    return row


def print_table(rows: list[dict], workers: list[int]) -> None:
    def k(n: float) -> str:
        return f"{n / 1000:,.0f}k"

    print()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average now "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (times are wall clock: other load inflates them)")
    for r in rows:
        p, d = r["pipeline"], r["diagnose"]
        print(f"\n== bundle {r['lines']:,} lines, {r['mb']:.0f} MB, {r['files']} files, 4 hosts ==")
        print(f"{'step':38} {'time s':>8} {'lines/s':>10} {'maxrss main MB':>15} {'maxrss workers MB':>18}")
        print(f"{'grep -c ERROR (same files)':38} {r['grep_s']:8.2f} {k(r['lines'] / r['grep_s']):>10}")
        print(f"{'wc -l (same files)':38} {r['wc_s']:8.2f} {k(r['lines'] / r['wc_s']):>10}")
        for w in workers:
            i = r[f"ingest{w}"]
            print(f"{f'read+parse+Parquet, {w} worker(s)':38} {i['ingest_s']:8.2f} "
                  f"{k(i['lines'] / i['ingest_s']):>10} {i['rss_main_mb']:15.0f} {i['rss_workers_mb']:18.0f}"
                  f"   (runs: {i['all_s']} s)")
        print(f"{'  (discover: find files, sniff)':38} {r[f'ingest{workers[0]}']['discover_s']:8.2f}")
        print(f"{'DuckDB store over the parts':38} {p['store_s']:8.2f}")
        print(f"{'correlate (build_operations)':38} {p['correlate_s']:8.2f} {'':>10} "
              f"   ({p['operations']} operations: {p['outcomes']})")
        print(f"{'rules (diagnose engine)':38} {p['rules_s']:8.2f} {'':>10}    ({p['findings']} findings)")
        print(f"{'pipeline in one process (all above)':38} {p['wall_s']:8.2f} {'':>10} {p['rss_main_mb']:15.0f} "
              f"{p['rss_workers_mb']:18.0f}")
        print(f"{'stacksleuth diagnose --json (CLI)':38} {d['wall_s']:8.2f} {k(r['lines'] / d['wall_s']):>10} "
              f"{d['maxrss_mb']:15.0f} {'(max of all)':>18}")
        print(f"   exit {d.get('exit')}, {d.get('findings')} findings, top rule {d.get('top')}, "
              f"{d.get('unparsed')} unparsed lines; finding rules: {p['finding_rules']}")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(f"\nmemory vs input ({a['lines']:,} → {b['lines']:,} lines, x{b['lines'] / a['lines']:.1f}):")
        for w in workers:
            print(f"  ingest {w} worker(s): main {a[f'ingest{w}']['rss_main_mb']:.0f} → "
                  f"{b[f'ingest{w}']['rss_main_mb']:.0f} MB, workers {a[f'ingest{w}']['rss_workers_mb']:.0f} → "
                  f"{b[f'ingest{w}']['rss_workers_mb']:.0f} MB")
        print(f"  whole pipeline main: {a['pipeline']['rss_main_mb']:.0f} → {b['pipeline']['rss_main_mb']:.0f} MB;"
              f" CLI diagnose (max): {a['diagnose']['maxrss_mb']:.0f} → {b['diagnose']['maxrss_mb']:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="500000,1000000", help="comma-separated line counts (default 0.5M,1M)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", default="2,1", help="ingest worker counts to measure (default 2,1)")
    ap.add_argument("--repeat", type=int, default=3, help="ingest runs per worker count (best is shown)")
    ap.add_argument("--fault-every", type=int, default=25, help="every N-th replayed boot is a failure")
    ap.add_argument("--noise-share", type=float, default=0.45, help="share of hotsos neutron agent lines")
    ap.add_argument("--loghub-share", type=float, default=0.01, help="share of Loghub 2k lines")
    ap.add_argument("--rabbit-outage", action="store_true", help="also replay hotsos logs with a RabbitMQ outage")
    ap.add_argument("--keep", type=Path, help="write the bundles here and keep them")
    ap.add_argument("--build-only", action="store_true", help="only write the bundles")
    ap.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("hosts", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.hosts, int(args.workers), args.out)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    base = args.keep or Path(tempfile.mkdtemp(prefix="ssbench-bundle-"))
    rows = []
    try:
        for size in sizes:
            root = base / f"bundle-{size}"
            shutil.rmtree(root, ignore_errors=True)
            t0 = time.perf_counter()
            info = build_bundle(root, size, args.seed, args.fault_every, args.noise_share, args.loghub_share,
                                args.rabbit_outage)
            print(f"built {root}: {info['lines']:,} lines, {info['bytes'] / 2**20:.0f} MB, {info['files']} files "
                  f"in {time.perf_counter() - t0:.1f}s; replays {info['replays']}, noise {info['noise_lines']:,}, "
                  f"loghub {info['loghub_lines']:,}", flush=True)
            if args.build_only:
                continue
            rows.append(measure(size, info, workers, args.repeat))
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
        if rows:
            print_table(rows, workers)
            if args.json:
                print(json.dumps(rows, indent=1, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
