"""Every other API call that failed, one operation per request: the catch-all after the specific workflows.

Most of what users do (delete a network, add a router interface, reboot or attach) has no workflow of its
own. A call becomes an operation when the API refused or broke on it (an access line with a 5xx, or a 4xx
on a call that changes something), or when any line carrying its request id is an error although the API
answered 2xx (the work failed later, in an agent or a compute). Requests already part of a specific
operation are left to it.
"""

from __future__ import annotations

import re

from stacksleuth.correlate.operations import MAX_EVENTS, Operation, classify
from stacksleuth.events import Event
from stacksleuth.index.store import EventStore
from stacksleuth.patterns import Pattern
from stacksleuth.workflows.machine import Workflow

#: Most catch-all operations built from one bundle (a flood of identical errors must stay cheap).
MAX_CALLS = 300
_CALL = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|HEAD) (/[^ "?]*)')
_ID = re.compile(r"/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})(?=/|$)")


def build_calls(store: EventStore, workflow: Workflow, claimed: set[str]) -> list[Operation]:
    """Catch-all operations for the failed requests whose ids are not in `claimed`."""
    triggers: dict[str, Event | None] = {}
    for pattern in workflow.request_triggers:
        where, params = _without_noise(pattern, workflow)
        for event in store.events(f"({where}) AND request_id IS NOT NULL", params, limit=MAX_CALLS):
            key = _key(event)
            if key not in claimed and event.request_id not in claimed:
                triggers.setdefault(key, event)
    if workflow.failure_trigger is not None:
        where, params = _without_noise(workflow.failure_trigger, workflow)
        rows = store.rows(
            f"SELECT coalesce(global_request_id, request_id) AS k FROM events WHERE ({where}) "
            f"AND request_id IS NOT NULL GROUP BY k ORDER BY min(ts) LIMIT {MAX_CALLS}",
            params,
        )
        for (key,) in rows:
            if key not in claimed:
                triggers.setdefault(key, None)
    grouped = _events_by_key(store, list(triggers)[:MAX_CALLS])
    ops = []
    for key, events in grouped.items():
        trigger = triggers[key] or next((e for e in events if e.status is not None and _CALL.search(e.message)), None)
        op = Operation(_name(trigger), [key], next((e.instance for e in events if e.instance), None), trigger, events,
                       catch_all=True)
        classify(op, workflow)
        ops.append(op)
    return ops


def _without_noise(pattern: Pattern, workflow: Workflow) -> tuple[str, list[object]]:
    """The pattern's SQL condition, minus the lines the workflow knows to be harmless."""
    where, params = pattern.sql()
    for noise in workflow.ignore:
        noise_where, noise_params = noise.sql()
        where, params = f"({where}) AND NOT coalesce({noise_where}, FALSE)", params + noise_params
    return where, params


def _key(event: Event) -> str:
    """A request is known by the id of the call that started it: the global id when there is one."""
    return str(event.global_request_id or event.request_id)


def _events_by_key(store: EventStore, keys: list[str]) -> dict[str, list[Event]]:
    """Every event of each request, in one query, grouped by request."""
    grouped = store.events_by_key([(i, key, None) for i, key in enumerate(keys)], MAX_EVENTS)
    return {keys[i]: events for i, events in grouped.items() if events}


def _name(trigger: Event | None) -> str:
    """'DELETE /v2.0/networks/{id}' from the access line; 'request' when the bundle has none."""
    found = _CALL.search(trigger.message) if trigger is not None else None
    if found is None:
        return "request"
    return f"{found.group(1)} {_ID.sub('/{id}', found.group(2))}"
