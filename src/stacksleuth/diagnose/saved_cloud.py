"""A saved `check cloud --save` capture in the bundle: the cloud's own view through its APIs, for faults that no
service logs (a stale catalog endpoint the client picks before any request reaches a service).

It is reasoned on offline by `check cloud --from`'s own functions (cloud_capture.load, cloud_facts, cloud.check);
here its findings only get evidence that points into the saved file, a marker saying they come from the API
answers and when those were captured, and their place in the ranking: after the findings that explain a failed
or stuck operation from the logs, otherwise by the usual order.
"""

from __future__ import annotations

import heapq
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from stacksleuth.correlate.operations import Operation
from stacksleuth.errors import SourceError
from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes import cloud
from stacksleuth.probes.cloud_capture import Answers, load
from stacksleuth.probes.cloud_facts import cloud_facts
from stacksleuth.probes.interface import Check
from stacksleuth.sources.interface import SAVED_ANSWERS, LogFile

_TROUBLED = ("failed", "stuck")
_ITEM_ID = re.compile(r"\b(id|uuid)=([\w-]+)")  # the listed item's own id in an evidence text (service, agent, provider)
_SERVER_NOTE = "a saved `check server` capture: diagnose does not read it (stacksleuth check server UUID --from FILE)"


@dataclass(frozen=True, slots=True)
class SavedCloud:
    """One saved capture in the bundle and, for a `check cloud` one, what its checks say."""

    host: str
    file: str  # as the user knows it
    kind: str  # cloud | server
    captured_at: str = ""
    cloud: str = ""  # which cloud was asked
    checks: tuple[Check, ...] = ()
    findings: tuple[Finding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The `saved_answers` entry of the JSON report."""
        if self.kind != "cloud":
            return {"host": self.host, "file": self.file, "kind": self.kind, "read": False, "note": _SERVER_NOTE}
        return {"host": self.host, "file": self.file, "kind": self.kind, "read": True, "captured_at": self.captured_at,
                "cloud": self.cloud, "findings": len(self.findings), "checks": [c.to_json() for c in self.checks]}


def read_saved(states: list[LogFile]) -> tuple[list[SavedCloud], list[str]]:
    """Every saved capture among the bundle's captured state (cloud ones reasoned on); one line per unreadable one."""
    saved: list[SavedCloud] = []
    problems: list[str] = []
    for state in states:
        if state.fmt == SAVED_ANSWERS["server"]:
            saved.append(SavedCloud(state.host, state.display, "server"))
        elif state.fmt == SAVED_ANSWERS["cloud"]:
            try:
                saved.append(_reason(state))
            except SourceError as exc:
                problems.append(str(exc).replace(str(state.path), state.display))
    return saved, problems


def _reason(state: LogFile) -> SavedCloud:
    """What `check cloud --from FILE` finds in the capture, its evidence pointing into the file."""
    answers = load(state.path, "cloud")
    try:
        facts = cloud_facts(answers)
        outcome = cloud.check(facts)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # the schema, but answers not as the APIs give
        raise SourceError(f"{state.display}: a saved `check cloud` capture whose answers cannot be read "
                          f"({exc.__class__.__name__}: {exc})") from exc
    lines = state.path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    at = facts.source.captured_at or "an unknown time"
    origin = f"the cloud's API answers captured at {at}, saved in {state.display}: not from logs"
    findings = tuple(replace(f, origin=origin, evidence=tuple(_evidence(e, state, answers, lines) for e in f.evidence))
                     for f in outcome.findings)
    return SavedCloud(state.host, state.display, "cloud", at, facts.source.describe(), outcome.checks, findings)


def _evidence(ev: Evidence, state: LogFile, answers: Answers, lines: list[str]) -> Evidence:
    """`ev` (an API call and the item of its answer) as a line of the saved file: the item when its id is there,
    else the start of that call's answer."""
    saved: dict[str, Any] = answers.get("answers") or {}
    keys = cloud.answer_keys(ev.file) or tuple(k for k, a in saved.items() if isinstance(a, dict) and a.get("call") == ev.file)
    found = _ITEM_ID.search(ev.text)
    item = f'"{found[1]}": {json.dumps(found[2])}' if found else None
    line = next((n for key in keys if key in saved and (n := _line_of(lines, key, item))), 1)
    where = f"{ev.file}, item {ev.line}" if ev.line else ev.file
    return Evidence(state.host, state.display, line, f"{where}: {ev.text}")


def _line_of(lines: list[str], key: str, item: str | None) -> int:
    """The line (1-based) of answer `key` in the saved file, or of its item's line `item` (`"id": "…"`); 0: none."""
    after = next((n for n, text in enumerate(lines) if text.lstrip().startswith('"answers": ')), 0)
    start = next((n for n in range(after, len(lines)) if lines[n].lstrip().startswith(f'"{key}": ')), None)
    if start is None:
        return 0
    found = next((n for n in range(start, len(lines)) if item in lines[n]), None) if item else None
    return (found if found is not None else start) + 1


def rank(logged: list[Finding], saved: list[Finding], ops: list[Operation]) -> list[Finding]:
    """`logged` (already in order) with `saved` merged in by the usual order, but never ahead of a finding that
    explains a failed or stuck operation: the logs say what broke the user's request; the cloud's state follows."""
    requests = {rid for op in ops if op.outcome in _TROUBLED for rid in op.request_ids}
    instances = {op.instance for op in ops if op.outcome in _TROUBLED and op.instance}
    last = max((i for i, f in enumerate(logged)
                if f.operation and (f.request_id in requests or f.instance in instances)), default=-1)
    head, rest = logged[: last + 1], logged[last + 1:]
    return head + list(heapq.merge(rest, sorted(saved, key=Finding.sort_key), key=Finding.sort_key))
