"""Follow a failed request to the request of another service that failed first: the root of a cascade.

When a service calls another and the callee fails, the caller logs its own error afterwards, often naming
the callee's request id: nova-compute's "Failed to attach … (HTTP 400) (Request-ID: req-…)" for cinder,
"Neutron server returns request_ids: ['req-…']" for neutron. Those ids are the callee's own requests, so
neither the request id nor the instance uuid joins them to the caller's operation. An operator greps the
named id in the callee's logs and finds the first error of the cascade there; so does this module.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from stacksleuth.correlate.operations import Operation
from stacksleuth.events import Event
from stacksleuth.index.store import EventStore

_REQ = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Clocks of services on one host agree; the callee's error is logged before the caller's, allow a little skew.
SKEW = timedelta(seconds=2)
#: Most requests followed per operation, and events kept per followed request.
MAX_FOLLOWED = 5
MAX_EVENTS = 500


def upstream(store: EventStore, op: Operation) -> list[Event]:
    """Events of the requests `op`'s errors name whose own error came first (empty when there are none)."""
    errors = [e for e in op.events if e.severity >= 40]
    if not errors:
        return []
    own = set(op.request_ids) | {e.request_id for e in op.events if e.request_id} \
        | {e.global_request_id for e in op.events if e.global_request_id}
    named: list[str] = []
    for event in errors:
        for rid in _REQ.findall(f"{event.message}\n{event.detail}"):
            if rid not in own and rid not in named:
                named.append(rid)
    first = min((_at(e.ts) for e in errors if e.ts), default=None)
    if first is None:
        return []
    found: list[Event] = []
    for rid in named[:MAX_FOLLOWED]:
        events = store.events("(request_id = ? OR global_request_id = ?) AND ts IS NOT NULL", [rid, rid],
                              limit=MAX_EVENTS)
        failed = [e for e in events if e.severity >= 40 and e.ts]
        if failed and min(_at(e.ts) for e in failed) <= first + SKEW:
            found.extend(events)
    return found


def _at(ts: str | None) -> datetime:
    return datetime.fromisoformat(ts) if ts else datetime.max
