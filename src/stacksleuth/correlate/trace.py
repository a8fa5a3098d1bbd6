"""Everything that belongs to one id, across services and hosts, in time order.

A request id pulls in nova's own lines, the same id used as *global* id by placement/neutron/cinder (and as
glance's own id), and the lines of the instances it touched (lifecycle events, qemu). An instance id pulls
in the requests that acted on it. Any id (port, volume, image…) is also found where a message quotes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from stacksleuth.events import Event
from stacksleuth.index.store import EventStore

#: A request touching more lines than this is a periodic task or a bulk call: it is not pulled in whole.
MAX_REQUEST_EVENTS = 2000


def trace_events(store: EventStore, key: str, limit: int = 20000) -> list[Event]:
    """The merged timeline of `key`."""
    key = key.strip()
    if key.startswith("req-"):
        requests = [key] + _column(store, "request_id", "global_request_id = ?", [key])
        instances = _column(store, "instance", _any_request(requests), requests + requests)
    else:
        instances = [key]
        requests = [r for r in _column(store, "request_id", "instance = ?", [key])
                    if store.scalar(f"SELECT count(*) FROM events WHERE {_any_request([r])}", [r, r]) <= MAX_REQUEST_EVENTS]
    conditions = [f"instance IN ({_marks(instances)})", "contains(message, ?)"]
    params: list[object] = [*instances, key]
    if requests:
        conditions.append(_any_request(requests))
        params += requests + requests
    where = " OR ".join(f"({c})" for c in conditions)
    return store.events(where, params, limit=limit)


def _column(store: EventStore, column: str, where: str, params: Sequence[object]) -> list[str]:
    rows = store.rows(f"SELECT DISTINCT {column} FROM events WHERE ({where}) AND {column} IS NOT NULL", list(params))
    return [str(r[0]) for r in rows]


def _any_request(ids: list[str]) -> str:
    return f"request_id IN ({_marks(ids)}) OR global_request_id IN ({_marks(ids)})"


def _marks(values: list[str]) -> str:
    return ", ".join("?" for _ in values) or "NULL"
