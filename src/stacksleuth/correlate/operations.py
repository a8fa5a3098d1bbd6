"""Rebuild each boot from the index: its request ids, its instance, every event that belongs to it.

nova's request id spans api, conductor, scheduler and compute (reschedules too) and reappears as the
*global* id in placement, neutron and cinder and as glance's own id; lines without it (lifecycle events,
qemu) join on the instance uuid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stacksleuth.events import Event
from stacksleuth.index.store import EventStore
from stacksleuth.patterns import Pattern
from stacksleuth.workflows.machine import Workflow

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Most events an operation keeps (a stuck retry loop must not blow up memory).
MAX_EVENTS = 5000


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


def build_operations(store: EventStore, workflow: Workflow) -> list[Operation]:
    """Every operation of `workflow`'s kind in the bundle, each with its events, stages and outcome."""
    ops: list[Operation] = []
    by_request: dict[str, Operation] = {}
    for pattern in workflow.request_triggers:
        where, params = pattern.sql()
        for trigger in store.events(where, params):
            if trigger.request_id and trigger.request_id not in by_request:
                op = Operation(workflow.operation, [trigger.request_id], None, trigger)
                by_request[trigger.request_id] = op
                ops.append(op)
    for op in ops:
        op.instance = _instance_of(store, op.request_ids)
    known = {op.instance for op in ops if op.instance}
    if workflow.instance_trigger is not None:
        _add_instance_operations(store, workflow.instance_trigger, workflow.operation, ops, by_request, known)
    if workflow.observed_trigger is not None:
        _add_observed_operations(store, workflow.observed_trigger, workflow.operation, ops, known)
    for op in ops:
        op.events = _events_of(store, op)
        classify(op, workflow)
    return ops


def _add_instance_operations(store: EventStore, trigger: Pattern, kind: str, ops: list[Operation],
                             by_request: dict[str, Operation], known: set[str]) -> None:
    """Operations whose API call is not in the bundle, started from compute's lines for their instance."""
    where, params = trigger.sql()
    for event in store.events(where, params):
        if not event.instance or event.instance in known:
            continue
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


def _instance_of(store: EventStore, request_ids: list[str]) -> str | None:
    """The instance a request created: from `[instance: …]`, else from a uuid in scheduler/conductor text."""
    marks = ", ".join("?" for _ in request_ids)
    rows = store.rows(
        f"SELECT instance, message FROM events WHERE (request_id IN ({marks}) OR global_request_id IN ({marks})) "
        "AND (instance IS NOT NULL OR regexp_matches(message, 'instance ID|for instances')) ORDER BY ts LIMIT 20",
        request_ids + request_ids,
    )
    for instance, message in rows:
        if instance:
            return str(instance)
        found = _UUID.search(message)
        if found:
            return found.group(0)
    return None


def _events_of(store: EventStore, op: Operation) -> list[Event]:
    conditions, params = [], []
    if op.request_ids:
        marks = ", ".join("?" for _ in op.request_ids)
        conditions.append(f"request_id IN ({marks}) OR global_request_id IN ({marks})")
        params += op.request_ids + op.request_ids
    if op.instance:
        conditions.append("instance = ?")
        params.append(op.instance)
        if op.observed_only:
            conditions.append("contains(message, ?)")
            params.append(op.instance)
    return store.events(" OR ".join(f"({c})" for c in conditions), params, limit=MAX_EVENTS) if conditions else []


def classify(op: Operation, workflow: Workflow) -> None:
    """Set the stages reached, the outcome, and the stage where the operation stopped."""
    # an observed-only server's events are API reads (its GETs, nova-api asking neutron for its ports):
    # they prove it exists, not that any stage ran
    op.reached = workflow.reached([e for e in op.events if not (op.observed_only and _is_read(e))])
    failed = any(workflow.harmful(e) for e in op.events) or (op.api_status or 0) >= 400
    if not failed and workflow.succeeded(op.events):
        op.outcome, op.stage = "active", None
        return
    op.outcome = "failed" if failed else "unknown" if op.observed_only else "stuck"
    last = op.reached[-1] if op.reached else workflow.stages[0].id
    if last == workflow.stages[0].id and len(workflow.stages) > 1 and op.api_status is not None and op.api_status < 400:
        # the API accepted the request: what did not happen is the next stage
        last = workflow.stages[1].id
    op.stage = last


def _is_read(event: Event) -> bool:
    """An HTTP GET access line (uwsgi, requestlog or eventlet)."""
    return event.status is not None and "GET " in event.message
