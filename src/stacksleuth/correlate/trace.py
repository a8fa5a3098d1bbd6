"""Everything that belongs to one id, across services and hosts, in time order.

A request id matches nova's own id and the same id used as *global* id by placement/neutron/cinder (and as
glance's own id); the instances it touched pull in the lines that carry only the instance (lifecycle,
qemu). Any other id (instance, port, volume, image) is searched in the instance column and the text.
"""

from __future__ import annotations

from stacksleuth.events import Event
from stacksleuth.index.store import EventStore


def trace_events(store: EventStore, key: str, limit: int = 20000) -> list[Event]:
    """The merged timeline of `key`."""
    key = key.strip()
    if key.startswith("req-"):
        instances = [r[0] for r in store.rows(
            "SELECT DISTINCT instance FROM events WHERE (request_id = ? OR global_request_id = ?) AND instance IS NOT NULL",
            [key, key])]
        related = [r[0] for r in store.rows(
            "SELECT DISTINCT request_id FROM events WHERE global_request_id = ? AND request_id IS NOT NULL", [key])]
        ids = [key] + related
        marks = ", ".join("?" for _ in ids)
        where = f"request_id IN ({marks}) OR global_request_id IN ({marks})"
        params: list[object] = ids + ids
        if instances:
            where += f" OR instance IN ({', '.join('?' for _ in instances)})"
            params += instances
        return store.events(where, params, limit=limit)
    return store.events("instance = ? OR contains(message, ?)", [key, key], limit=limit)
