"""Join captured `server show` / `server event` answers to the boots rebuilt from the logs.

nova-api's POST /servers line names no server (the uuid is made inside the request), and a POST that hangs
(broker down) writes no access line at all. The captured answers close both gaps: `server event list` gives
the create request id, and `server show`'s `created` time points at the request nova-api was serving then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from stacksleuth.correlate.operations import MAX_EVENTS, Operation, merge_events, parse_ts
from stacksleuth.index.store import EventStore
from stacksleuth.parsers.server_show import CapturedServer, CapturedState

#: nova writes `created` while serving the POST; its access line comes when the request is answered, so the
#: line is at most this long after `created` (the API's own timeout bounds a slower answer).
ANSWER_WINDOW = timedelta(seconds=60)
#: Clock granularity between `created` (whole seconds, from the database) and the log's milliseconds.
SLACK = timedelta(seconds=2)


def join_captured(store: EventStore, ops: list[Operation], state: CapturedState, kind: str = "boot") -> None:
    """Give each captured server the boot that created it, adding that boot when only a hung request shows it.

    A server's observed-only operation (known from API reads) folds into its boot; the boot remembers the status
    the API showed, which is what the user saw.
    """
    for server in state.servers:
        boot = _boot_of(store, ops, server, state.created_by(server.id), kind)
        if boot is None:
            continue
        boot.instance = boot.instance or server.id
        boot.shown = server.status
        for other in [op for op in ops if op is not boot and op.observed_only and op.instance == server.id]:
            merge_events(boot, other.events)
            ops.remove(other)


def _boot_of(store: EventStore, ops: list[Operation], server: CapturedServer, created_by: str | None,
             kind: str) -> Operation | None:
    """The boot that created `server`: by its create request id, else by time; None when the logs lack it."""
    boots = [op for op in ops if op.kind == kind and not op.observed_only]
    if created_by is not None:
        found = next((op for op in boots if created_by in op.request_ids), None)
        if found is not None or not store.rows("SELECT 1 FROM events WHERE request_id = ? LIMIT 1", [created_by]):
            return found
        return _new_boot(store, ops, kind, created_by, server.id)
    if any(op.instance == server.id for op in boots):
        return next(op for op in boots if op.instance == server.id)
    created = parse_ts(server.created)
    if created is None:
        return None
    answered = [op for op in boots if op.instance is None and op.trigger is not None and _answered(op, created)]
    if answered:
        return min(answered, key=lambda op: op.trigger.ts if op.trigger and op.trigger.ts else "")
    hung = _hung_request(store, created, {rid for op in ops for rid in op.request_ids})
    return _new_boot(store, ops, kind, hung, server.id) if hung else None


def _answered(op: Operation, created: datetime) -> bool:
    """True when the POST's access line came within ANSWER_WINDOW after `created`."""
    at = parse_ts(op.trigger.ts if op.trigger else None)
    return at is not None and created - SLACK <= at <= created + ANSWER_WINDOW


def _hung_request(store: EventStore, created: datetime, known: set[str]) -> str | None:
    """A nova-api request that began when the server was created and was never answered (no access line)."""
    rows = store.rows(
        "SELECT request_id, min(ts) AS first FROM events WHERE service = 'nova-api' AND request_id IS NOT NULL "
        "GROUP BY request_id HAVING count(status) = 0 AND min(ts) BETWEEN ? AND ? ORDER BY first",
        [_stamp(created - SLACK), _stamp(created + SLACK)])
    return next((str(r[0]) for r in rows if r[0] not in known), None)


def _new_boot(store: EventStore, ops: list[Operation], kind: str, request_id: str, server: str) -> Operation:
    boot = Operation(kind, [request_id], server, None)
    for events in store.events_by_key([(0, request_id, None), (0, None, server)], MAX_EVENTS).values():
        merge_events(boot, events)
    ops.append(boot)
    return boot


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")[:23]
