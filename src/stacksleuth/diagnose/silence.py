"""Missing evidence as a finding: a service that stopped writing before an operation that needed it failed.

The seeds' reasoning: when a component is silent while the others go on, it is dead or hung; name it and
show its last line. Only services an operation depends on are checked, and only around failed or stuck
operations, so an idle service in a healthy bundle is never reported.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from stacksleuth.correlate.operations import Operation
from stacksleuth.findings import Evidence, Finding
from stacksleuth.index.store import EventStore

#: The services each kind of operation needs: only their silence can explain its failure.
NEEDS: dict[str, tuple[str, ...]] = {
    "boot": ("nova-compute", "nova-conductor", "nova-scheduler", "placement-api", "neutron-server",
             "neutron-rpc-server", "neutron-linuxbridge-agent", "neutron-openvswitch-agent", "neutron-dhcp-agent"),
    "volume_create": ("cinder-scheduler", "cinder-volume"),
    "network_create": ("neutron-server", "neutron-rpc-server"),
}
WATCHED = tuple(sorted({service for services in NEEDS.values() for service in services}))
#: A service counts as silent when its last line is this long before the failed operation started.
QUIET = timedelta(seconds=60)


def silent_services(store: EventStore, ops: list[Operation]) -> list[Finding]:
    """One finding per watched service whose last line predates a failed or stuck operation."""
    troubled = [op for op in ops if op.outcome in ("failed", "stuck", "unknown") and op.start]
    if not troubled:
        return []
    marks = ", ".join("?" for _ in WATCHED)
    last_lines = store.rows(
        f"SELECT host, service, max(ts) FROM events WHERE service IN ({marks}) AND ts IS NOT NULL GROUP BY host, service",
        list(WATCHED),
    )
    findings = []
    for host, service, last_ts in last_lines:
        before = [op for op in troubled
                  if service in NEEDS.get(op.kind, ()) and _at(op.start) - _at(last_ts) >= QUIET]
        if not before:
            continue
        later = store.scalar("SELECT count(DISTINCT service) FROM events WHERE host = ? AND ts > ?", [host, last_ts])
        if not later:
            continue  # the whole host went quiet: the capture ends there, not the service
        last = store.events("host = ? AND service = ? AND ts = ?", [host, service, last_ts], limit=1)
        first_op = before[0]
        gap = int((_at(first_op.start) - _at(last_ts)).total_seconds())
        findings.append(Finding(
            severity="warning",
            title=f"{service} on {host} went silent",
            operation=None, instance=None, request_id=None, stage=None, component=service,
            symptom=f"{len(before)} failed or stuck operation(s) started after {service} stopped writing.",
            cause=(f"{service} on {host} wrote nothing after {last_ts}, {gap} s before the failed operation started, "
                   f"while {later} other service(s) on the host kept logging: it is stopped, crashed or hung."),
            fix=(f"on {host}: service {service} status; ps -ef | grep {service}",
                 f"on {host}: tail -50 the {service} log; start it, or take a Guru Meditation report of a hung one (kill -USR1 <pid>)"),
            rule="silence/service-stopped-writing",
            confidence=0.6,
            evidence=tuple(Evidence.of(e) for e in last),
        ))
    return findings


def _at(ts: str | None) -> datetime:
    return datetime.fromisoformat(ts) if ts else datetime.min
