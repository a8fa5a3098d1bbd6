"""Rebuild each boot from the index: its request ids, its instance, every event that belongs to it.

nova's request id spans api, conductor, scheduler and compute (reschedules too) and reappears as the
*global* id in placement, neutron and cinder and as glance's own id; lines without it (lifecycle events,
qemu) join on the instance uuid.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from stacksleuth.events import COLUMNS, Event
from stacksleuth.index.store import EventStore
from stacksleuth.patterns import Pattern
from stacksleuth.workflows.machine import Workflow

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: A user's own call on an existing server (reboot, stop, attach a volume, add an interface, delete): an access
#: line of nova-api. Its lines carry the server's uuid, but they are that call's, not the boot's.
_SERVER_CALL = (r'"(?:POST|PUT|PATCH|DELETE) /v2(?:\.1)?/(?:[0-9a-f]{32}/)?servers/'
                r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}[/ "]')
#: Most events an operation keeps (a stuck retry loop must not blow up memory).
MAX_EVENTS = 5000
#: A server action's lines that carry only the instance uuid (a live migration's monitor thread, lifecycle
#: events) join it until the next operation on the instance starts, at most ACTION_WINDOW after its own last line,
#: and only while they follow each other (or its own lines) within ACTION_GAP: a compute restarting half an hour
#: after a refused migration is not part of it, a migration that reports progress every 30 s for an hour is.
ACTION_WINDOW = timedelta(hours=2)
ACTION_GAP = timedelta(minutes=5)


@dataclass(slots=True)
class Operation:
    """One user request (boot this server) followed across services and hosts."""

    kind: str
    request_ids: list[str]
    instance: str | None
    trigger: Event | None  # the API access line, when the bundle has it
    events: list[Event] = field(default_factory=list)
    reached: list[str] = field(default_factory=list)
    observed_only: bool = False  # known only from API reads of the server (its creation is not in the logs)
    catch_all: bool = False  # a failed call no specific workflow describes (correlate/calls.py)
    outcome: str = "unknown"  # active | failed | stuck | unknown
    stage: str | None = None  # where it stopped (None when it succeeded)
    shown: str | None = None  # the server's status in a captured `server show` (what the user saw)

    @property
    def request_id(self) -> str | None:
        """nova's request id for the operation (the one `server event list` shows)."""
        return self.request_ids[0] if self.request_ids else None

    @property
    def start(self) -> str | None:
        """Time of the first event."""
        return next((e.ts for e in self.events if e.ts), None)

    @property
    def end(self) -> str | None:
        """Time of the last event."""
        return next((e.ts for e in reversed(self.events) if e.ts), None)

    @property
    def api_status(self) -> int | None:
        """HTTP status nova-api returned for the request, when logged."""
        return self.trigger.status if self.trigger else None

    @property
    def hosts(self) -> list[str]:
        """Hosts whose logs mention the operation."""
        return sorted({e.host for e in self.events})


def build_operations(store: EventStore, workflow: Workflow, taken: set[str] | None = None,
                     reserved: set[str] | None = None) -> list[Operation]:
    """Every operation of `workflow`'s kind in the bundle, each with its events, stages and outcome.

    `taken`: request ids of operations already built by other workflows; they never start one of this kind.
    `reserved`: request ids other workflows' triggers name; compute's lines with them never start an
    operation from the instance trigger (a resize's "Claim successful on node" is not a boot).
    """
    taken = taken or set()
    ops: list[Operation] = []
    by_request: dict[str, Operation] = {}
    for pattern in workflow.request_triggers:
        where, params = pattern.sql()
        for trigger in store.events(where, params):
            if trigger.request_id and trigger.request_id not in by_request and trigger.request_id not in taken:
                op = Operation(workflow.operation, [trigger.request_id], None, trigger)
                by_request[trigger.request_id] = op
                ops.append(op)
    _add_action_operations(store, workflow, ops, by_request, taken)
    fetched = _attach(store, ops, [(i, r, None) for i, op in enumerate(ops) for r in op.request_ids])
    for op in ops:
        op.instance = _instance_in(op.events)
    known = {op.instance for op in ops if op.instance}
    if workflow.instance_trigger is not None:
        _add_instance_operations(store, workflow.instance_trigger, workflow.operation, ops, by_request, known,
                                 taken | (reserved or set()))
    if workflow.observed_trigger is not None:
        _add_observed_operations(store, workflow.observed_trigger, workflow.operation, ops, known)
    keys: list[tuple[int, str | None, str | None]] = [
        (i, r, None) for i, op in enumerate(ops) if i >= fetched for r in op.request_ids]
    if workflow.instance_lines == "all":  # a server action's instance lines join in its own window (settle)
        keys += [(i, None, op.instance) for i, op in enumerate(ops) if op.instance]
    _attach(store, ops, keys)
    _drop_other_calls(store, ops)
    for op in ops:
        if op.observed_only and op.instance:
            merge_events(op, store.events("status IS NOT NULL AND contains(message, ?)", [op.instance], limit=MAX_EVENTS))
        classify(op, workflow)
    return ops


def trigger_ids(store: EventStore, workflow: Workflow) -> set[str]:
    """Request ids whose lines name an operation of `workflow` (its access lines and action lines)."""
    found: set[str] = set()
    for pattern in workflow.request_triggers + workflow.action_triggers:
        where, params = pattern.sql()
        found.update(r[0] for r in store.rows(f"SELECT DISTINCT request_id FROM events WHERE ({where}) "
                                               "AND request_id IS NOT NULL", params))
    return found


def _add_action_operations(store: EventStore, workflow: Workflow, ops: list[Operation],
                           by_request: dict[str, Operation], taken: set[str]) -> None:
    """Server actions: one operation per request id a line naming the action carries; the request's access
    line (`POST /servers/{id}/action`, when the bundle has it) is its trigger, for the status the API gave."""
    fresh: list[Operation] = []
    for pattern in workflow.action_triggers:
        where, params = pattern.sql()
        for event in store.events(f"({where}) AND request_id IS NOT NULL", params):
            rid = str(event.request_id)
            if rid in by_request or rid in taken:
                continue
            op = Operation(workflow.operation, [rid], event.instance, None)
            by_request[rid] = op
            fresh.append(op)
    if not fresh:
        return
    marks = ", ".join("?" for _ in fresh)
    access = store.events(f"status IS NOT NULL AND request_id IN ({marks}) AND regexp_matches(message, ?)",
                          [op.request_ids[0] for op in fresh] + ['"(?:POST|PUT|PATCH|DELETE) /'])
    for line in access:
        op = by_request[str(line.request_id)]
        if op.trigger is None:
            op.trigger = line
    ops.extend(fresh)


def _add_instance_operations(store: EventStore, trigger: Pattern, kind: str, ops: list[Operation],
                             by_request: dict[str, Operation], known: set[str], taken: set[str]) -> None:
    """Operations whose API call is not in the bundle, started from compute's lines for their instance."""
    where, params = trigger.sql()
    for event in store.events(where, params):
        if not event.instance or event.instance in known:
            continue
        if event.request_id and event.request_id in taken:
            continue  # a resize's "Claim successful on node" on its target host is not a boot
        known.add(event.instance)
        if event.request_id and event.request_id in by_request:
            by_request[event.request_id].instance = event.instance
            continue
        op = Operation(kind, [event.request_id] if event.request_id else [], event.instance, None)
        ops.append(op)


def _add_observed_operations(store: EventStore, trigger: Pattern, kind: str, ops: list[Operation],
                             known: set[str]) -> None:
    """Resources known only from API reads: created before the logs start, or never left the API."""
    where, params = trigger.sql()
    for event in store.events(where, params):
        uuid = _UUID.search(event.message)
        if uuid and uuid.group(0) not in known:
            known.add(uuid.group(0))
            ops.append(Operation(kind, [], uuid.group(0), event, observed_only=True))


def _attach(store: EventStore, ops: list[Operation], keys: list[tuple[int, str | None, str | None]]) -> int:
    """Fetch the events of many operations in one query and merge them in; returns how many ops exist."""
    for index, events in store.events_by_key(keys, MAX_EVENTS).items():
        merge_events(ops[index], events)
    return len(ops)


def _drop_other_calls(store: EventStore, ops: list[Operation]) -> None:
    """Each request belongs to one operation: lines joined on the instance uuid that carry the request id of
    another user call on the same server (a later reboot, attach or delete) are that call's, not this one's.

    Without this, a volume attach that fails an hour after the boot makes the boot look failed, and the attach
    itself, whose id the boot swallowed, is never examined as the call that broke.
    """
    others = {row[0] for row in store.rows(
        "SELECT DISTINCT request_id FROM events WHERE request_id IS NOT NULL AND status IS NOT NULL "
        "AND regexp_matches(message, ?)", [_SERVER_CALL])}
    for op in ops:
        own = set(op.request_ids)
        if any(e.request_id in others and e.request_id not in own for e in op.events):
            op.events = [e for e in op.events if e.request_id not in others or e.request_id in own]


def settle(store: EventStore, ops: list[Operation], workflows: list[Workflow]) -> None:
    """Once every workflow's operations are built: each request belongs to one operation, and a server
    action gets the lines that carry only its instance's uuid within its own time window; then classify again.

    A boot joins every line of its instance, so it may hold the request-id lines of a later action on the same
    server whose API call is not in the bundle (a live migration known only from the conductor): they are that
    action's, not the boot's.
    """
    owner = {rid: id(op) for op in ops for rid in op.request_ids}
    by_kind = {wf.operation: wf for wf in workflows}
    for op in ops:
        keep = [e for e in op.events if not _others(e, owner, id(op))]
        if len(keep) != len(op.events):
            op.events = keep
    _join_windows(store, [op for op in ops if by_kind[op.kind].instance_lines == "window" and op.instance], ops)
    for op in ops:
        classify(op, by_kind[op.kind])


def _others(event: Event, owner: dict[str, int], me: int) -> bool:
    """True when the event carries another operation's request id and none of `me`'s."""
    ids = [owner[r] for r in (event.request_id, event.global_request_id) if r and r in owner]
    return bool(ids) and me not in ids


def _join_windows(store: EventStore, actions: list[Operation], ops: list[Operation]) -> None:
    """Lines without a request id for each action's instance, from its first line until the next operation
    on the instance starts (or ACTION_WINDOW after its own last line): one query for all actions."""
    starts: dict[str, list[str]] = {}
    for op in ops:
        if op.instance and op.start:
            starts.setdefault(op.instance, []).append(op.start)
    groups: list[tuple[int, str, str, str]] = []
    for i, op in enumerate(actions):
        first, last = op.start, _plus(op.end, ACTION_WINDOW)
        if first is None or last is None or op.instance is None:
            continue
        nxt = min((t for t in starts.get(op.instance, []) if t > first), default=last)
        groups.append((i, op.instance, first, min(nxt, last)))
    if not groups:
        return
    values = ", ".join("(?, ?, ?, ?)" for _ in groups)
    columns = ", ".join(f"e.{c}" for c in COLUMNS)
    rows = store.rows(
        f"SELECT g.k, {columns} FROM events e JOIN (VALUES {values}) AS g(k, inst, t0, t1) "
        "ON e.instance = g.inst AND e.ts >= g.t0 AND e.ts < g.t1 WHERE e.request_id IS NULL "
        "ORDER BY g.k, e.ts, e.host, e.file, e.line",
        [x for g in groups for x in g])
    found: dict[int, list[Event]] = {}
    for row in rows:
        found.setdefault(int(row[0]), []).append(Event.from_row(row[1:]))
    for i, events in found.items():
        merge_events(actions[i], _chained(actions[i].events, events)[:MAX_EVENTS])


def _chained(own: list[Event], candidates: list[Event]) -> list[Event]:
    """The candidates (in time order) that follow the operation's own lines, or each other, within ACTION_GAP."""
    marks = sorted(t for t in (parse_ts(e.ts) for e in own) if t is not None)
    kept: list[Event] = []
    last_kept: datetime | None = None
    for event in candidates:
        at = parse_ts(event.ts)
        if at is None:
            continue
        below = bisect_right(marks, at)
        near = max([t for t in (marks[below - 1] if below else None, last_kept) if t is not None], default=None)
        if near is not None and at - near <= ACTION_GAP:
            kept.append(event)
            last_kept = at
    return kept


def parse_ts(ts: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(ts) if ts else None
    except ValueError:
        return None


def _plus(ts: str | None, delta: timedelta) -> str | None:
    """`ts` + `delta`, in the index's timestamp format ('YYYY-MM-DD HH:MM:SS.mmm')."""
    try:
        return (datetime.fromisoformat(ts) + delta).strftime("%Y-%m-%d %H:%M:%S.%f")[:23] if ts else None
    except ValueError:
        return None


def merge_events(op: Operation, events: list[Event]) -> None:
    """Add events not yet in the operation, keeping time order."""
    seen = {(e.host, e.file, e.line) for e in op.events}
    fresh = [e for e in events if (e.host, e.file, e.line) not in seen]
    if fresh:
        op.events = sorted(op.events + fresh, key=lambda e: (e.ts or "", e.host, e.file, e.line))[:MAX_EVENTS]


def _instance_in(events: list[Event]) -> str | None:
    """The instance a request created: from `[instance: …]`, else from a uuid in scheduler/conductor text."""
    for event in events:
        if event.instance:
            return event.instance
    for event in events:
        if "instance ID" in event.message or "for instances" in event.message:
            found = _UUID.search(event.message)
            if found:
                return found.group(0)
    return None


def classify(op: Operation, workflow: Workflow) -> None:
    """Set the stages reached, the outcome, and the stage where the operation stopped."""
    # an observed-only or captured server's reads (its GETs, nova-api asking neutron for its ports when the
    # user ran `server show`) prove it exists, not that any stage ran
    polled = op.observed_only or op.shown is not None
    op.reached = workflow.reached([e for e in op.events if not (polled and _is_read(e))])
    failed = any(workflow.harmful(e) for e in op.events) or (op.api_status or 0) >= 400
    if not failed and workflow.succeeded(op.events):
        op.outcome, op.stage = "active", None
        return
    op.outcome = "failed" if failed else "unknown" if op.observed_only else "stuck"
    if op.shown == "BUILD":  # errors on the way, yet the user still sees it building: it never ended
        op.outcome = "stuck"
    last = op.reached[-1] if op.reached else workflow.stages[0].id
    accepted = (op.api_status is not None and op.api_status < 400) or op.shown is not None
    if last == workflow.stages[0].id and len(workflow.stages) > 1 and accepted:
        # the API accepted the request (or the server it created exists): what did not happen is the next stage
        last = workflow.stages[1].id
    op.stage = last


def _is_read(event: Event) -> bool:
    """An HTTP GET access line (uwsgi, requestlog or eventlet)."""
    return event.status is not None and "GET " in event.message
