"""The main job, start to end: sources → parsers → index → operations → diagnosis (with any saved cloud answers).

`Analysis` owns the temporary index of one bundle; the CLI's commands ask it questions.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacksleuth.correlate.calls import build_calls
from stacksleuth.correlate.captured import join_captured
from stacksleuth.correlate.operations import Operation, build_operations, settle, trigger_ids
from stacksleuth.diagnose.affected import Spared, host_packages, set_aside
from stacksleuth.diagnose.engine import diagnose
from stacksleuth.diagnose.rulebook import Rule, load_rules
from stacksleuth.diagnose.saved_cloud import SavedCloud, rank, read_saved
from stacksleuth.diagnose.silence import silent_services
from stacksleuth.diagnose.timing import slow_stages
from stacksleuth.diagnose.verbatim import verbatim
from stacksleuth.findings import SCHEMA, Finding
from stacksleuth.index.ingest import FileReport, Progress, ingest
from stacksleuth.index.store import EventStore
from stacksleuth.parsers.server_show import CapturedState, read_state
from stacksleuth.sources.discover import discover
from stacksleuth.sources.interface import Inventory
from stacksleuth.window import Window
from stacksleuth.workflows.machine import builtin_workflows


@dataclass(slots=True)
class Analysis:
    """One bundle read into an index, with its parse report."""

    inventory: Inventory
    reports: list[FileReport]
    store: EventStore
    workdir: Path
    captured: CapturedState = field(default_factory=CapturedState)  # server show / event answers in the bundle
    problems: list[str] = field(default_factory=list)
    window: Window = field(default_factory=Window)
    scope: dict[str, Any] = field(default_factory=dict)  # what --since/--until/--last/--about left out
    spared: list[Spared] = field(default_factory=list)  # known bugs not raised: the hosts have the fix
    saved: list[SavedCloud] = field(default_factory=list)  # saved `check cloud` answers in the bundle, reasoned on

    @classmethod
    def open(cls, paths: list[Path], workers: int | None = None, progress: Progress | None = None,
             window: Window | None = None) -> Analysis:
        """Discover, parse and index `paths` (only `window`'s time, when given); raises SourceError when nothing
        at all can be read."""
        workdir = Path(tempfile.mkdtemp(prefix="stacksleuth-"))
        try:
            inventory = discover(paths, workdir / "unpacked")
            reports = ingest(inventory.logs, workdir / "parts", workers, progress)
            store = EventStore(workdir / "parts", workdir / "index.duckdb")
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        analysis = cls(inventory, reports, store, workdir, window=window or Window())
        if analysis.window.limits_time:
            since, until = analysis.window.resolve(store.scalar("SELECT max(ts) FROM events"))
            analysis.scope.update(since=since, until=until, events_outside=store.keep_between(since, until))
        analysis.problems = list(inventory.problems) + [r.error for r in reports if r.error]
        for state in inventory.states:
            error = read_state(state.path, analysis.captured) if state.fmt == "state" else None
            if error:
                analysis.problems.append(error)
        analysis.saved, unread = read_saved(inventory.states)
        analysis.problems += unread
        return analysis

    def close(self) -> None:
        """Drop the index and any unpacked archives."""
        self.store.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def operations(self) -> list[Operation]:
        """Every operation in the bundle (boot, volume create, … then any other failed API call)."""
        workflows = builtin_workflows()
        specific = [wf for wf in workflows if wf.failure_trigger is None]
        # each request belongs to one operation: the first workflow whose triggers name it (boot first)
        named = {wf.operation: trigger_ids(self.store, wf) for wf in specific if wf.outranks_boot}
        ops: list[Operation] = []
        taken: set[str] = set()
        for wf in specific:
            reserved = {rid for kind, ids in named.items() if kind != wf.operation for rid in ids}
            built = build_operations(self.store, wf, taken, reserved)
            taken.update(rid for op in built for rid in op.request_ids)
            ops += built
        join_captured(self.store, ops, self.captured)
        settle(self.store, ops, specific)
        claimed = {rid for op in ops for e in op.events for rid in (e.request_id, e.global_request_id) if rid}
        claimed.update(rid for op in ops for rid in op.request_ids)
        for wf in workflows:
            if wf.failure_trigger is not None:
                ops += build_calls(self.store, wf, claimed)
        return ops

    def diagnose(self, rules: list[Rule] | None = None) -> tuple[list[Operation], list[Finding]]:
        """Operations and the findings that explain them, most important first."""
        ops = self.operations()
        rules = rules if rules is not None else load_rules()
        findings = diagnose(self.store, ops, rules, self.captured.faults())
        if any(r.affects for r in rules):
            findings, self.spared = set_aside(findings, rules, host_packages(self.inventory.roots))
        findings += silent_services(self.store, ops)
        findings += slow_stages(self.store, ops)
        findings.sort(key=Finding.sort_key)
        findings = rank(findings, [f for saved in self.saved for f in saved.findings], ops)
        if self.window.about is not None:
            ops, findings = self._about(self.window.about, ops, findings)
        return ops, verbatim(findings, {log.display: log.path for log in self.inventory.logs})

    def _about(self, key: str, ops: list[Operation], findings: list[Finding]) -> tuple[list[Operation], list[Finding]]:
        """Only the operations that involve `key` (request id, instance, or any id in their lines) and their
        findings; how many others were left out goes into the report's scope."""
        kept = [op for op in ops if _involves(op, key)]
        mine = {(op.request_id, op.instance) for op in kept}
        about = [f for f in findings if f.operation is not None and (f.request_id, f.instance) in mine]
        self.scope.update(about=key, other_operations=len(ops) - len(kept), other_findings=len(findings) - len(about))
        return kept, about

    def parse_summary(self) -> dict[str, Any]:
        """Counts for the `parse` section of the JSON report."""
        files = [
            {
                "host": r.host, "file": r.file, "service": r.service, "format": r.fmt,
                "lines": r.stats.lines, "events": r.stats.events, "continuation": r.stats.continuation,
                "blank": r.stats.blank, "unparsed": r.stats.unparsed,
                "unparsed_samples": [{"line": n, "text": t} for n, t in r.stats.samples],
            }
            for r in self.reports
        ]
        return {
            "files": len(files),
            "hosts": sorted({r.host for r in self.reports}),
            "lines": sum(f["lines"] for f in files),
            "events": sum(f["events"] for f in files),
            "unparsed": sum(f["unparsed"] for f in files),
            "skipped": self.inventory.skipped,
            "problems": self.problems,
            "per_file": files,
        }


def report_document(analysis: Analysis, ops: list[Operation], findings: list[Finding]) -> dict[str, Any]:
    """The whole `--json` document."""
    return {
        "schema": SCHEMA,
        "findings": [f.to_json() for f in findings],
        "operations": [
            {
                "operation": op.kind, "request_id": op.request_id, "request_ids": op.request_ids,
                "instance": op.instance, "outcome": op.outcome, "stage": op.stage, "reached": op.reached,
                "api_status": op.api_status, "start": op.start, "end": op.end, "hosts": op.hosts,
                "events": len(op.events),
            }
            for op in ops
        ],
        "parse": analysis.parse_summary(),
        "scope": analysis.scope,
        "spared": [s.to_json() for s in analysis.spared],
        "saved_answers": [s.to_json() for s in analysis.saved],
    }


def _involves(op: Operation, key: str) -> bool:
    """True when `key` is the operation's request id or instance, or appears in one of its lines."""
    if key == op.instance or key in op.request_ids:
        return True
    return any(key in (e.request_id, e.global_request_id, e.instance) or key in e.message for e in op.events)
