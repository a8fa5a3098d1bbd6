"""Timing anomalies as findings: a stage much slower than the same stage elsewhere in the bundle.

Nothing fails, no ERROR is written, and yet a boot took twice as long as every other: a slow image
download or conversion, a storage backend stalling, an overloaded hypervisor. nova-compute measures the
stages itself ("Took 20.58 seconds to spawn the instance on the hypervisor"); where it does not (the line
is missing or rotated away) the spawn is measured from "Creating image" to the guest's "VM Started".

A duration is *much slower* when it is beyond all three bounds (so one noisy bundle, one tight bundle
or a bundle of very fast spawns does not produce a finding):

* robust spread: median + K_MAD × MAD × 1.4826 (a 6-sigma outlier when durations are roughly normal);
* relative: RATIO × median (40 % slower than the typical spawn of this bundle);
* absolute: median + MIN_EXCESS seconds.

It is only judged when the bundle holds at least MIN_SAMPLES measurements of the stage: with fewer there
is no "elsewhere" to compare with.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from stacksleuth.correlate.operations import Operation
from stacksleuth.events import Event
from stacksleuth.findings import Evidence, Finding
from stacksleuth.index.store import EventStore

#: Fewest measurements of a stage in the bundle before any of them is judged.
MIN_SAMPLES = 8
#: Scaled-MAD multiplier (robust z-score) a duration must exceed.
K_MAD = 6.0
#: ... and this multiple of the median ...
RATIO = 1.4
#: ... and this many seconds above the median.
MIN_EXCESS = 5.0
#: MAD → standard deviation for normally distributed values.
_SIGMA = 1.4826

#: nova-compute's own measurement of the spawn (oslo English message; instance from `[instance: …]`).
_TOOK = r"^Took ([0-9]+(?:\.[0-9]+)?) seconds to spawn the instance on the hypervisor"
_START = r"^Creating image"
_END = r"^VM Started \(Lifecycle Event\)|^Instance spawned successfully"
_NOVA = "(service = 'nova-compute' OR regexp_matches(logger, '^nova\\.'))"


@dataclass(frozen=True, slots=True)
class Sample:
    """One spawn of one instance, how long it took, and the lines that show it."""

    instance: str
    seconds: float
    evidence: tuple[Event, ...]  # first: the line that ends the stage (or states its length)
    measured_by: str  # "nova" (Took N seconds) or "lines" (Creating image → VM Started)


def slow_stages(store: EventStore, ops: list[Operation]) -> list[Finding]:
    """One warning per spawn much slower than the bundle's other spawns."""
    samples = _spawn_samples(store)
    if len(samples) < MIN_SAMPLES:
        return []
    values = [s.seconds for s in samples]
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    bound = max(median + K_MAD * _SIGMA * mad, RATIO * median, median + MIN_EXCESS)
    by_instance = {op.instance: op for op in ops if op.instance}
    return [_finding(s, median, bound, len(samples), by_instance.get(s.instance))
            for s in samples if s.seconds > bound]


def _spawn_samples(store: EventStore) -> list[Sample]:
    """Spawn durations: nova's own 'Took N seconds to spawn' lines, else Creating image → VM Started."""
    def marked(regex: str) -> list[Event]:
        return store.events(f"instance IS NOT NULL AND ts IS NOT NULL AND {_NOVA} AND regexp_matches(message, ?)",
                            [regex])

    starts: dict[str, list[Event]] = {}
    for event in marked(_START):
        starts.setdefault(event.instance or "", []).append(event)
    samples = []
    for event in marked(_TOOK):
        before = [s for s in starts.get(event.instance or "", []) if (s.ts or "") <= (event.ts or "")]
        seconds = float(event.message.split()[1])
        samples.append(Sample(event.instance or "", seconds, (event, *before[-1:]), "nova"))
    measured = {s.instance for s in samples}
    ends: dict[str, Event] = {}
    for event in marked(_END):
        ends.setdefault(event.instance or "", event)  # time order: the first one
    for instance, begun in starts.items():
        end = ends.get(instance)
        if instance in measured or end is None or (end.ts or "") < (begun[0].ts or ""):
            continue
        seconds = (_at(end.ts or "") - _at(begun[0].ts or "")).total_seconds()
        samples.append(Sample(instance, seconds, (end, begun[0]), "lines"))
    return samples


def _finding(sample: Sample, median: float, bound: float, count: int, op: Operation | None) -> Finding:
    last = sample.evidence[0]
    how = ("nova-compute measured it" if sample.measured_by == "nova"
           else "from 'Creating image' to the guest's 'VM Started'")
    return Finding(
        severity="warning",
        title=f"Spawn of {sample.instance} took {sample.seconds:.1f} s, {sample.seconds / median:.1f}× the bundle's usual",
        operation=op.kind if op else "boot",
        instance=sample.instance,
        request_id=(op.request_id if op else None) or last.request_id,
        stage="spawning",
        component=last.service,
        symptom="The server became ACTIVE, but its boot was much slower than the others in the same logs.",
        cause=(f"Spawning the instance on the hypervisor on {last.host} took {sample.seconds:.1f} s ({how}), "
               f"while the median of the {count} spawns in these logs is {median:.1f} s (slow above "
               f"{bound:.1f} s). The time went into image preparation (download from glance, conversion, "
               f"copy to the instance disk) or the guest's start in libvirt/qemu; nothing was logged as an error."),
        fix=((f"on {last.host}: grep -n '{sample.instance}' the nova-compute log and compare the time between "
              "'Creating image' and 'VM Started' with another instance"),
             (f"on {last.host}: check load and I/O wait at that time (sar -u -d, iostat -x), and the image backend "
              "(ls -l /var/lib/nova/instances/_base; is the base image cached, or downloaded each time?)"),
             "if several spawns on the same host are slow: nova hypervisor-show <host> (overcommit, running VMs)"),
        rule="timing/slow-stage",
        confidence=0.6,
        evidence=tuple(Evidence.of(e) for e in sample.evidence),
    )


def _at(ts: str) -> datetime:
    return datetime.fromisoformat(ts)
