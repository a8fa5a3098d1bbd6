"""Explain each failed operation with the rule closest to its root cause, and report bundle-wide problems.

Operation-scope rules are tested on an operation's own events; bundle-scope rules (a message queue down,
a database gone) are searched once over the whole index and joined to failed operations by stage and time.
An operation that succeeded is only tested by rules written for it (`when: {outcome: [active]}`): a server
can go ACTIVE and still be broken, e.g. without the network it asked for, with no ERROR anywhere.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from stacksleuth.correlate.operations import Operation
from stacksleuth.diagnose.cascade import upstream
from stacksleuth.diagnose.rulebook import Rule, Threshold, Unrecovered
from stacksleuth.events import Event
from stacksleuth.findings import Evidence, Finding
from stacksleuth.index.store import EventStore

#: How far before an operation a bundle-wide event may be and still explain it (a broker that died minutes ago)...
WINDOW = timedelta(minutes=10)
#: ...and how far after its last line: a cause is logged before or while it stops, not long after (a config error
#: written at a restart seven minutes after a stuck boot's last line is another incident).
AFTER = timedelta(minutes=2)
EVIDENCE_LINES = 5
_SAMPLE = 200
_CALL = re.compile(r'"([A-Z]+) /v[\d.]+/(?:[0-9a-f]{32}/)?([^ ?"]+)')


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched, with the events that made it match."""

    rule: Rule
    events: tuple[Event, ...]
    count: int
    burst: int = 0  # for a rule with a threshold: the most matching events one host logged within its window


def diagnose(store: EventStore, ops: list[Operation], rules: list[Rule], faults: dict[str, str]) -> list[Finding]:
    """All findings, most important first. `faults` maps instance uuid → fault message users saw."""
    bundle = _bundle_matches(store, [r for r in rules if r.scope == "bundle" and r.match])
    findings: list[Finding] = []
    used: set[str] = set()
    repeated: dict[tuple[str, str, str, str], int] = {}
    # the requests of other services that failed first and made an operation fail (see cascade.py)
    causes = {id(op): upstream(store, op) for op in ops if op.outcome in ("failed", "stuck")}
    followed = {k for events in causes.values() for e in events for k in (e.request_id, e.global_request_id) if k}
    for op in ops:
        if op.catch_all and _explained_by_bundle(op, bundle):
            continue  # its errors are a bundle-wide problem (a broker down), reported once as such
        if op.catch_all and op.request_id in followed:
            continue  # a service-to-service call another operation's error names: reported as that one's root
        first = causes.get(id(op), [])
        own = [] if op.outcome == "unknown" else _operation_matches(op, rules, first)
        matches = own + ([] if op.outcome == "active" else _joined(op, bundle))
        if not matches:
            continue
        roots = {(e.host, e.file, e.line) for e in first}
        # the earliest error of a cascade leads: a match on the request that failed first, then by priority
        matches.sort(key=lambda m: (0 if m.events and (m.events[0].host, m.events[0].file, m.events[0].line) in roots
                                    else 1, -m.rule.priority))
        used.update(m.rule.id for m in matches if m.rule.scope == "bundle")
        finding = _op_finding(op, matches, faults, bool(roots) and _key(matches[0].events) in roots)
        after = next((o for o in ops if not o.catch_all and o is not op and o.outcome in ("failed", "stuck")
                      and any(e.request_id in o.request_ids or e.global_request_id in o.request_ids for e in first)),
                     None)
        if op.catch_all and after is not None and finding.severity in ("critical", "error"):
            # a call made while an operation that failed first was cleaned up (deleting the port of a failed
            # boot): a consequence, reported with that operation's root cause
            finding = replace(finding, severity="warning",
                              title=f"After the failed {after.kind} {after.request_id}: {finding.title}")
        if op.catch_all or op.kind != "boot":
            # the same call failing the same way again (a guest retrying, an operator re-running a refused live
            # migration): one finding with a count; each failed boot keeps its own (its own server)
            again = (op.kind, "" if op.catch_all else op.instance or "", finding.rule, finding.title)
            same = repeated.get(again)
            if same is not None:
                findings[same] = replace(findings[same], count=findings[same].count + finding.count)
                continue
            repeated[again] = len(findings)
        findings.append(finding)
    for match in bundle:
        if match.rule.id not in used:
            findings.append(_bundle_finding(match))
    findings.sort(key=Finding.sort_key)
    return findings


def _bundle_matches(store: EventStore, rules: list[Rule]) -> list[Match]:
    found = []
    for rule in rules:
        if not all(store.scalar(f"SELECT count(*) FROM events WHERE {w}", p) for w, p in (r.sql() for r in rule.requires)):
            continue
        clauses = [p.sql() for p in rule.match]
        where = " OR ".join(f"({w})" for w, _ in clauses)
        params = [x for _, p in clauses for x in p]
        count = store.scalar(f"SELECT count(*) FROM events WHERE {where}", params)
        if not count:
            continue
        if rule.unrecovered is not None:
            still = _still_failing(store, rule.unrecovered, where, params)
            if still:
                found.append(Match(rule, still, len(still)))
            continue
        if rule.threshold is None:
            found.append(Match(rule, tuple(store.events(where, params, limit=_SAMPLE)), int(count)))
            continue
        burst = _burst(store, rule.threshold, where, params)
        if burst is not None:
            events, size = burst
            found.append(Match(rule, events, int(count), size))
    return found


def _burst(store: EventStore, threshold: Threshold, where: str, params: list[Any]) -> tuple[tuple[Event, ...], int] | None:
    """The densest run of matching events on one host, when it reaches the threshold: its events and its size.

    With `within`, every window of that length ending at a matching event is counted (a window function per host);
    without, all of a host's matching events count.
    """
    if threshold.within is None:
        row = store.rows(f"SELECT host, count(*) AS n FROM events WHERE {where} GROUP BY host ORDER BY n DESC, host "
                         "LIMIT 1", params)
        if not row or row[0][1] < threshold.count:
            return None
        host, size = row[0]
        return tuple(store.events(f"({where}) AND host = ?", [*params, host], limit=_SAMPLE)), int(size)
    seconds = int(threshold.within.total_seconds())
    row = store.rows(
        f"""
        WITH hits AS (SELECT host, TRY_CAST(ts AS TIMESTAMP) AS t FROM events WHERE ({where}) AND ts IS NOT NULL),
        counted AS (
            SELECT host, t, count(*) OVER (PARTITION BY host ORDER BY t
                                           RANGE BETWEEN INTERVAL {seconds} SECOND PRECEDING AND CURRENT ROW) AS n
            FROM hits WHERE t IS NOT NULL
        )
        SELECT host, t, n FROM counted ORDER BY n DESC, t, host LIMIT 1
        """, params)
    if not row or row[0][2] < threshold.count:
        return None
    host, end, size = row[0]
    window = f"({where}) AND host = ? AND TRY_CAST(ts AS TIMESTAMP) BETWEEN ? AND ?"
    return tuple(store.events(window, [*params, host, end - threshold.within, end], limit=_SAMPLE)), int(size)


def _still_failing(store: EventStore, unrecovered: Unrecovered, where: str, params: list[Any]) -> tuple[Event, ...]:
    """The last matching line of each service (per host) that no recovery line of its own follows (and, with
    `others_recovered`, that another service's recovery line does follow), latest first."""
    back, back_params = unrecovered.recovery.sql()
    others = ("AND EXISTS (SELECT 1 FROM back b WHERE (b.host <> f.host OR b.service <> f.service) AND b.ts > f.last)"
              if unrecovered.others_recovered else "")
    rows = store.rows(
        f"""
        WITH fails AS (SELECT host, service, max(ts) AS last FROM events WHERE ({where}) AND ts IS NOT NULL
                       GROUP BY host, service),
        back AS (SELECT host, service, ts FROM events WHERE ({back}) AND ts IS NOT NULL)
        SELECT f.host, f.service, f.last FROM fails f
        WHERE NOT EXISTS (SELECT 1 FROM back b WHERE b.host = f.host AND b.service = f.service AND b.ts > f.last)
        {others}
        ORDER BY f.last DESC, f.host, f.service
        """, [*params, *back_params])
    last: list[Event] = []
    for host, service, ts in rows:
        last += store.events(f"({where}) AND host = ? AND service = ? AND ts = ?", [*params, host, service, ts], limit=1)
    return tuple(last)


def _explained_by_bundle(op: Operation, bundle: list[Match]) -> bool:
    """True when every error of the operation is one a bundle-wide rule matched, and the API did not refuse it."""
    errors = [e for e in op.events if e.severity >= 40]
    if (op.api_status or 0) >= 400 or not errors:
        return False
    return all(any(p.matches(e) for m in bundle for p in m.rule.match) for e in errors)


def _key(events: tuple[Event, ...]) -> tuple[str, str, int] | None:
    return (events[0].host, events[0].file, events[0].line) if events else None


def _operation_matches(op: Operation, rules: list[Rule], upstream_events: list[Event] | None = None) -> list[Match]:
    """Rules matched on the operation's events, and on those of the requests that failed first for it."""
    events = op.events
    if upstream_events:
        seen = {(e.host, e.file, e.line) for e in events}
        extra = [e for e in upstream_events if (e.host, e.file, e.line) not in seen]
        events = sorted(events + extra, key=lambda e: (e.ts or "", e.host, e.file, e.line))
    found = []
    for rule in rules:
        if rule.scope != "operation" or not _applies(rule, op):
            continue
        if not rule.match:
            found.append(Match(rule, tuple(op.events[-1:]), 1))
            continue
        hits = tuple(e for e in events if any(p.matches(e) for p in rule.match))
        if hits and all(any(p.matches(e) for e in events) for p in rule.requires):
            found.append(Match(rule, hits, len(hits)))
    return found


def _applies(rule: Rule, op: Operation) -> bool:
    """A rule without `when` explains failed or stuck operations; one with it, the operations it names."""
    cond = rule.when
    if cond is None:
        return op.outcome != "active"
    if cond.outcome and op.outcome not in cond.outcome:
        return False
    if cond.stage and op.stage not in cond.stage:
        return False
    services = {e.service for e in op.events}
    return not any(re.fullmatch(s, svc) for s in cond.silent for svc in services)


def _joined(op: Operation, bundle: list[Match]) -> list[Match]:
    """Bundle-wide matches near the operation in time whose rule explains the stage it stopped at."""
    start, end = _time(op.start), _time(op.end)
    joined = []
    for match in bundle:
        if match.rule.stages and op.stage not in match.rule.stages:
            continue
        near = tuple(e for e in match.events if _near(_time(e.ts), start, end))
        if near:
            joined.append(replace(match, events=near))
    return joined


def _near(ts: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if ts is None or start is None:
        return False
    return start - WINDOW <= ts <= (end or start) + AFTER


def _time(ts: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(ts) if ts else None
    except ValueError:
        return None


def _op_finding(op: Operation, matches: list[Match], faults: dict[str, str], cascade: bool = False) -> Finding:
    root = matches[0]
    values = _values(root, op)
    cause = root.rule.cause.format_map(values)
    if cascade and root.events:
        failed = next((e for e in op.events if e.severity >= 40), None)
        if failed is not None and failed.service != root.events[0].service:
            cause += (f" This is the first error of a cascade: {failed.service} failed afterwards on this "
                      f"request ({failed.message[:160]}), naming {root.events[0].service}'s request "
                      f"{root.events[0].request_id or '?'} as the reason.")
    symptom = _user_saw(op, faults) or root.rule.symptom.format_map(values)
    evidence = [Evidence.of(e) for e in root.events[:EVIDENCE_LINES]]
    if op.trigger is not None and all(ev.line != op.trigger.line or ev.file != op.trigger.file for ev in evidence):
        evidence.append(Evidence.of(op.trigger))
    return Finding(
        severity=root.rule.severity,
        title=root.rule.title.format_map(values),
        operation=op.kind,
        instance=op.instance,
        request_id=op.request_id,
        stage=op.stage if not root.rule.stages or op.stage in root.rule.stages else root.rule.stages[0],
        component=root.rule.component.format_map(values),
        symptom=symptom,
        cause=cause,
        fix=tuple(f.format_map(values) for f in root.rule.fix),
        rule=root.rule.id,
        confidence=root.rule.confidence,
        evidence=tuple(evidence),
        count=root.count,
        related=tuple(dict.fromkeys(m.rule.id for m in matches[1:])),
    )


def _bundle_finding(match: Match) -> Finding:
    values = _values(match, None)
    return Finding(
        severity=match.rule.severity,
        title=match.rule.title.format_map(values),
        operation=None,
        instance=None,
        request_id=None,
        stage=match.rule.stages[0] if match.rule.stages else None,
        component=match.rule.component.format_map(values),
        symptom=match.rule.symptom.format_map(values),
        cause=match.rule.cause.format_map(values),
        fix=tuple(f.format_map(values) for f in match.rule.fix),
        rule=match.rule.id,
        confidence=match.rule.confidence,
        evidence=tuple(Evidence.of(e) for e in match.events[:EVIDENCE_LINES]),
        count=match.count,
    )


def _values(match: Match, op: Operation | None) -> defaultdict[str, str]:
    """Placeholders a rule's text may use: named regex groups, plus the first event's own fields."""
    values: defaultdict[str, str] = defaultdict(lambda: "?")
    first = match.events[0] if match.events else None
    if first is not None:
        values.update(service=first.service, host=first.host, message=first.message[:300],
                      exception=first.exception or "", file=first.file)
        for pattern in match.rule.match:
            if pattern.matches(first):
                values.update(pattern.groups(first))
    if op is not None:
        values.update(instance=op.instance or "?", request_id=op.request_id or "?", stage=op.stage or "?")
    if match.rule.threshold is not None:
        values.update(burst=str(match.burst), within=match.rule.threshold.text or "the logs")
    return values


def _user_saw(op: Operation, faults: dict[str, str]) -> str | None:
    """What the user was shown: the instance fault, or the API's error for the request."""
    if op.instance and op.instance in faults:
        return f"server went to ERROR: {faults[op.instance]}"
    if op.api_status and op.api_status >= 400:
        thrown = next((e.message for e in op.events if e.message.startswith("HTTP exception thrown: ")), None)
        reason = thrown[len("HTTP exception thrown: "):] if thrown else "error"
        return f"{_call(op)} returned HTTP {op.api_status}: {reason}"
    if op.outcome == "stuck" and op.kind == "boot":
        return f"server stays in BUILD (task_state {op.stage or 'scheduling'}); no error is shown"
    return None


def _call(op: Operation) -> str:
    """The API call that started the operation, as `POST /servers` (project id dropped)."""
    found = _CALL.search(op.trigger.message) if op.trigger else None
    return f"{found.group(1)} /{found.group(2)}" if found else "the API call"
