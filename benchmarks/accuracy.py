#!/usr/bin/env python3
"""stacksleuth's measured accuracy on public labelled data: prints tables, asserts nothing.

    python benchmarks/accuracy.py                      # all three data sets (a few minutes)
    python benchmarks/accuracy.py dessertlab --verbose # one row per test and round
    python benchmarks/accuracy.py dessertlab --tests Nova/Test_3,Cinder/Test_15
    python benchmarks/accuracy.py hotsos --verbose

Data: ../shared/data (see ../shared/data/SOURCES.md). Three measurements:

1. DessertLab fault injection (71 tests with logs; labels for all 911 in nova/cinder/neutron.tsv).
   Every test's faulty run (logs/round_1) and fault-free re-run (logs/round_2) is diagnosed from the
   OpenStack services' logs only: nova, neutron, cinder, glance, keystone, heat. Labels come only from the
   TSVs; trigger_log, fip_info and the Zipkin traces are never read, and the workload's own output
   (foreground_wl, whose "Assertion results: FAILURE_*" lines are what the labels were made from) is left
   out unless --with-workload is given.
   * detected: a failing run (ROUND_x = FAILURE) has at least one finding of severity error or critical;
   * right subsystem: the *top* finding (the first one the report shows) names a component of the
     OpenStack project whose code the fault was injected into (COMPONENT column: /nova/…, /neutron/…,
     /cinder/…). A component belongs to a project when it is one of its services or the software that
     project drives on the host: nova ← nova-*, placement, libvirt/qemu (nova's virt driver runs them);
     neutron ← neutron-*, Open vSwitch, OVN, dnsmasq, haproxy; cinder ← cinder-*, iSCSI/LVM. glance,
     keystone, RabbitMQ, MySQL never count. The denominator is every failing run, detected or not;
   * false alarm: a run labelled NO_FAILURE has a finding of severity error or critical. Two kinds:
     fault-free re-runs (round_2, ROUND_2 = NO_FAILURE) and tolerated faults (round_1, ROUND_1 =
     NO_FAILURE: the fault fired or not, but the user saw nothing).
2. hotsos scenarios: every scenario YAML that embeds log files is materialised into a temporary data root
   and diagnosed. A scenario that expects a bug (raised-bugs) is found when one of the top 3 findings comes
   from a rule whose `references:` name that bug (Launchpad number, or the URL for other trackers); one
   that expects only an issue type is found when a top finding's rule references the hotsos scenario
   definition it tests (`target-name`, else its file name). Scenarios that expect nothing ("should not
   raise") are correct when no finding references their bug.
3. Loghub OpenStack: the raw instance-tagged nova-compute lines of openstack_abnormal.log and
   openstack_normal1.log, diagnosed as one bundle; anomaly_labels.txt names the 4 anomalous instances.
   Flagged = instances named by any finding.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stacksleuth.analysis import Analysis
from stacksleuth.diagnose.rulebook import load_rules
from stacksleuth.findings import Finding

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
DESSERT = SHARED / "dessertlab-fault-injection-dataset"
HOTSOS = SHARED / "hotsos-fixtures"
LOGHUB = SHARED / "loghub-openstack-full-derived"

#: The OpenStack services' log directories of a DessertLab round (foreground_wl is the test workload).
SERVICE_DIRS = ("nova", "neutron", "cinder", "glance", "keystone", "heat")
SUBSYSTEMS = ("nova", "neutron", "cinder")
SERIOUS = ("critical", "error")
TOP = 3

#: Component name → OpenStack project (see the module docstring).
_PROJECT = [
    (re.compile(r"nova|placement|libvirt|qemu|kvm"), "nova"),
    (re.compile(r"neutron|openvswitch|ovs|ovn|dnsmasq|haproxy|keepalived"), "neutron"),
    (re.compile(r"cinder|iscsi|tgt|lvm"), "cinder"),
    (re.compile(r"glance"), "glance"),
    (re.compile(r"keystone"), "keystone"),
    (re.compile(r"heat"), "heat"),
]


def project_of(component: str | None) -> str:
    """'nova-compute' → 'nova', 'neutron-server' → 'neutron', 'rabbitmq' → 'rabbitmq'."""
    name = (component or "").lower()
    return next((project for regex, project in _PROJECT if regex.search(name)), name or "?")


def run(paths: list[Path]) -> list[Finding]:
    """Diagnose `paths` as one bundle; the findings, most important first."""
    analysis = Analysis.open(paths)
    try:
        return analysis.diagnose()[1]
    finally:
        analysis.close()


def pct(num: int, den: int) -> str:
    return f"{num}/{den} = {100 * num / den:5.1f} %" if den else "0/0 =   n/a"


# ------------------------------------------------------------------------------------------------ DessertLab

@dataclass(frozen=True, slots=True)
class Label:
    """One test's labels (nova.tsv / cinder.tsv / neutron.tsv), values stripped."""

    subsystem: str  # project the fault was injected into
    round_1: str  # FAILURE | NO_FAILURE
    round_2: str
    assertion_1: str
    api_1: str
    fault: str


def load_labels() -> dict[str, Label]:
    """'Nova/Test_3' → its labels, for all 911 tests."""
    labels = {}
    for name in SUBSYSTEMS:
        lines = (DESSERT / f"{name}.tsv").read_text().splitlines()
        header = [h.strip() for h in lines[0].split("\t")]
        for line in lines[1:]:
            row = dict(zip(header, (v.strip() for v in line.split("\t"))))
            if not row.get("TEST"):
                continue
            component = row["COMPONENT"].strip("/").split("/")[0]
            labels[f"{name.capitalize()}/{row['TEST']}"] = Label(
                component if component in SUBSYSTEMS else name, row["ROUND_1"], row["ROUND_2"],
                row["ASSERTION_R1"], row["API_R1"], row["FAULT_TYPE"])
    return labels


def dessert_tests() -> list[tuple[str, Path]]:
    """(`Nova/Test_3`, test directory) for every test with logs, core first."""
    found = []
    for group in ("core", "extended_gz"):
        for test in sorted((DESSERT / group).glob("*/Test_*"), key=lambda p: (p.parent.name, int(p.name[5:]))):
            found.append((f"{test.parent.name}/{test.name}", test))
    return found


@dataclass(slots=True)
class RoundResult:
    test: str
    round: int
    label: str  # FAILURE | NO_FAILURE
    subsystem: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def serious(self) -> bool:
        return any(f.severity in SERIOUS for f in self.findings)

    @property
    def top(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    @property
    def right_subsystem(self) -> bool:
        return self.top is not None and self.serious and project_of(self.top.component) == self.subsystem


def diagnose_round(test: str, directory: Path, number: int, label: Label, with_workload: bool) -> RoundResult:
    """Diagnose one round from its service directories, copied into one temporary host directory."""
    result = RoundResult(test, number, label.round_1 if number == 1 else label.round_2, label.subsystem)
    source = directory / "logs" / f"round_{number}"
    if not source.is_dir():
        result.error = "no logs"
        return result
    wanted = SERVICE_DIRS + (("foreground_wl",) if with_workload else ())
    with tempfile.TemporaryDirectory(prefix="accuracy-") as tmp:
        host = Path(tmp) / f"{test.replace('/', '-')}-round_{number}"
        host.mkdir()
        for name in wanted:
            if (source / name).is_dir():
                shutil.copytree(source / name, host / name)  # discover does not follow symlinks
        started = time.monotonic()
        try:
            result.findings = run([host])
        except Exception as exc:  # noqa: BLE001 - a benchmark reports failures, it does not stop at them
            result.error = f"{exc.__class__.__name__}: {exc}"
        result.seconds = time.monotonic() - started
    return result


def dessertlab(args: argparse.Namespace) -> None:
    labels = load_labels()
    tests = dessert_tests()
    if args.tests:
        wanted = set(args.tests.split(","))
        tests = [t for t in tests if t[0] in wanted]
    results: list[RoundResult] = []
    print(f"DessertLab fault injection: {len(tests)} tests with logs, labels for {len(labels)} "
          f"({'with' if args.with_workload else 'without'} the workload's own output)", flush=True)
    if args.verbose:
        print(f"  {'test':<17} {'rd':<2} {'label':<10} {'inj':<7} {'verdict':<12} {'top rule':<38} component")
    for test, directory in tests:
        label = labels[test]
        for number in (1, 2):
            result = diagnose_round(test, directory, number, label, args.with_workload)
            results.append(result)
            if args.verbose:
                print("  " + _row(result), flush=True)
    _dessert_summary(results)


def _row(r: RoundResult) -> str:
    top = r.top
    if r.error:
        verdict = "ERROR"
    elif r.label == "FAILURE":
        verdict = ("detected" if r.serious else "MISSED") + ("" if not r.serious else " ✓" if r.right_subsystem else " ✗sub")
    else:
        verdict = "FALSE ALARM" if r.serious else "quiet"
    rule = (f"{top.rule} [{top.severity}]" if top else "-")[:38]
    comp = f"{top.component} → {project_of(top.component)}" if top else (r.error or "")
    return f"{r.test:<17} {r.round:<2} {r.label:<10} {r.subsystem:<7} {verdict:<12} {rule:<38} {comp}"


def _dessert_summary(results: list[RoundResult]) -> None:
    failing = [r for r in results if r.label == "FAILURE" and not r.error]
    failing_1 = [r for r in failing if r.round == 1]
    clean_2 = [r for r in results if r.round == 2 and r.label == "NO_FAILURE" and not r.error]
    tolerated = [r for r in results if r.round == 1 and r.label == "NO_FAILURE" and not r.error]
    errors = [r for r in results if r.error]
    lines = [
        ("failing runs detected (round_1, injected fault)", sum(r.serious for r in failing_1), len(failing_1), "≥ 95 %"),
        ("top finding names the injected subsystem (round_1)", sum(r.right_subsystem for r in failing_1),
         len(failing_1), "≥ 80 %"),
        ("failing runs detected (all rounds, incl. failed re-runs)", sum(r.serious for r in failing), len(failing), ""),
        ("false alarms, fault-free re-runs (round_2)", sum(r.serious for r in clean_2), len(clean_2), "≤ 5 %"),
        ("false alarms, tolerated faults (round_1 NO_FAILURE)", sum(r.serious for r in tolerated), len(tolerated), "≤ 5 %"),
    ]
    print()
    print(f"  {'measure':<58} {'result':<18} target")
    for name, num, den, target in lines:
        print(f"  {name:<58} {pct(num, den):<18} {target}")
    for subsystem in SUBSYSTEMS:
        own = [r for r in failing_1 if r.subsystem == subsystem]
        print(f"    {subsystem:<8} round_1 failing: detected {pct(sum(r.serious for r in own), len(own)):<18} "
              f"right subsystem {pct(sum(r.right_subsystem for r in own), len(own))}")
    if errors:
        print(f"  could not diagnose: {', '.join(f'{r.test} r{r.round} ({r.error})' for r in errors)}")
    wrong = Counter(project_of(r.top.component) for r in failing_1 if r.serious and not r.right_subsystem and r.top)
    if wrong:
        print(f"  wrong-subsystem top findings point at: {dict(wrong)}")
    print(f"  diagnose time: {sum(r.seconds for r in results):.0f} s for {len(results)} runs")


# ---------------------------------------------------------------------------------------------------- hotsos

@dataclass(slots=True)
class Scenario:
    path: Path
    name: str  # scenarios/openstack/nova/bugs/lp1761062.yaml
    bugs: list[str]
    issues: list[str]
    check: str  # the hotsos scenario definition it tests


def bug_key(url: str) -> str:
    """A Launchpad bug's number, else the whole URL."""
    found = re.fullmatch(r"https?://bugs\.launchpad\.net/(?:[^/]+/\+)?bugs?/(\d+)/?", url.strip())
    return found.group(1) if found else url.strip()


def mentions(reference: str, key: str) -> bool:
    if key.isdigit():
        return re.search(rf"(?<!\d){key}(?!\d)", reference) is not None
    return key in reference


def materialise(scenario: Path, dest: Path) -> list[Path]:
    """Write a scenario's `data-root: files:` under `dest`; the files written (logs and others)."""
    data = yaml.safe_load(scenario.read_text()) or {}
    written = []
    for rel, text in ((data.get("data-root") or {}).get("files") or {}).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text if isinstance(text, str) else "")
        written.append(target)
    return written


def hotsos_scenarios() -> list[Scenario]:
    found = []
    lines = (HOTSOS / "SCENARIO_INDEX.tsv").read_text().splitlines()
    for line in lines[1:]:
        name, logs, bugs, issues = (line.split("\t") + ["", "", "", ""])[:4]
        if not logs.strip():
            continue
        path = HOTSOS / name
        data = yaml.safe_load(path.read_text()) or {}
        check = str(data.get("target-name") or path.name).removesuffix(".yaml")
        found.append(Scenario(path, name, [bug_key(b) for b in bugs.split(";") if b.strip()],
                              [i for i in issues.split(";") if i.strip()], check))
    return found


def hotsos(args: argparse.Namespace) -> None:
    references = {rule.id: rule.references for rule in load_rules()}
    scenarios = hotsos_scenarios()
    counts: Counter[str] = Counter()
    print(f"hotsos scenarios with log snippets: {len(scenarios)}", flush=True)
    for scenario in scenarios:
        with tempfile.TemporaryDirectory(prefix="hotsos-") as tmp:
            root = Path(tmp) / "data-root"
            materialise(scenario.path, root)
            try:
                findings = run([root])
                error = None
            except Exception as exc:  # noqa: BLE001
                findings, error = [], f"{exc.__class__.__name__}: {exc}"
        top_refs = [ref for f in findings[:TOP] for ref in references.get(f.rule, ())]
        all_refs = [ref for f in findings for ref in references.get(f.rule, ())]
        if scenario.bugs:
            kind = "bug"
            ok = all(any(mentions(r, b) for r in top_refs) for b in scenario.bugs)
        elif scenario.issues:
            kind = "issue"
            numbered = re.fullmatch(r"lp(\d+)", scenario.check)  # a check named after its bug: lp1980211
            key = numbered.group(1) if numbered else scenario.check
            ok = any(mentions(r, key) for r in top_refs)
        else:
            kind = "negative"
            target = re.search(r"lp(\d+)", scenario.check)
            key = target.group(1) if target else scenario.check
            ok = not any(mentions(r, key) for r in all_refs)
        counts[f"{kind}:{'ok' if ok else 'no'}"] += 1
        if args.verbose:
            expected = ", ".join(scenario.bugs or scenario.issues) or "nothing"
            got = ", ".join(f"{f.rule}[{f.severity}]" for f in findings[:TOP]) or error or "no finding"
            print(f"  {'ok ' if ok else '-- '} {scenario.name:<78} expects {expected:<40} got {got}")
    print()
    for kind, what in (("bug", "expected Launchpad/other bug raised (top 3)"),
                       ("issue", "expected issue raised (rule references the hotsos check)"),
                       ("negative", "should-not-raise scenarios left quiet")):
        ok, no = counts[f"{kind}:ok"], counts[f"{kind}:no"]
        print(f"  {what:<62} {pct(ok, ok + no)}")
    total_ok = counts["bug:ok"] + counts["issue:ok"]
    total = total_ok + counts["bug:no"] + counts["issue:no"]
    print(f"  {'found / total (bugs + issues)':<62} {pct(total_ok, total)}")


# ---------------------------------------------------------------------------------------------------- Loghub

def loghub(args: argparse.Namespace) -> None:
    labelled = {w for w in (LOGHUB / "anomaly_labels.txt").read_text().split() if w.count("-") == 4}
    lines = LOGHUB / "haraldott-instance-lines"
    files = [lines / "openstack_abnormal.instance_lines_sorted_per_instance.log",
             lines / "openstack_normal1.instance_lines_sorted_per_instance.log"]
    instances = {m for f in files for m in re.findall(r"\[instance: ([0-9a-f-]{36})\]", f.read_text())}
    findings = run(files)
    flagged = {f.instance for f in findings if f.instance}
    print(f"Loghub OpenStack timing anomalies: {len(instances)} instances, {len(labelled)} labelled anomalous")
    if args.verbose:
        for f in findings:
            print(f"  {f.rule:<22} {f.severity:<8} {f.instance}  {f.title}")
    tp = len(flagged & labelled)
    print()
    print(f"  {'labelled instances flagged (recall)':<62} {pct(tp, len(labelled))}")
    print(f"  {'flagged instances that are labelled (precision)':<62} {pct(tp, len(flagged))}")
    print(f"  {'unlabelled instances flagged (false alarms)':<62} {pct(len(flagged - labelled), len(instances - labelled))}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="*", metavar="SET", help="dessertlab, hotsos, loghub (default: all)")
    parser.add_argument("--verbose", "-v", action="store_true", help="one row per test / scenario")
    parser.add_argument("--tests", help="DessertLab tests only, comma-separated (Nova/Test_3,Cinder/Test_15)")
    parser.add_argument("--with-workload", action="store_true",
                        help="also give the DessertLab workload's output (foreground_wl) to the tool")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"{SHARED} is not present", file=sys.stderr)
        return 2
    runs = {"dessertlab": dessertlab, "hotsos": hotsos, "loghub": loghub}
    unknown = set(args.sets) - set(runs)
    if unknown:
        parser.error(f"unknown set(s) {sorted(unknown)}; choose from {sorted(runs)}")
    for name in args.sets or list(runs):
        runs[name](args)
        print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
