"""A self-contained HTML report: the findings, and for each operation that did not complete a timeline with
one lane per service, the stage where it stopped marked — a file to attach to a ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, select_autoescape

from stacksleuth.correlate.operations import Operation
from stacksleuth.events import Event

#: Operations drawn, and events per timeline: a report stays readable and small.
MAX_TIMELINES = 12
MAX_POINTS = 400
_WIDTH, _LANE, _LEFT, _TOP = 900, 26, 190, 14


@dataclass(frozen=True, slots=True)
class Point:
    """One event placed on a timeline."""

    x: float
    y: float
    level: str
    title: str  # the tooltip: time, service, message


@dataclass(frozen=True, slots=True)
class Timeline:
    """An operation drawn as lanes (services) over time."""

    title: str
    outcome: str
    stage: str | None
    lanes: list[str]
    points: list[Point]
    height: int
    start: str
    end: str
    stop_x: float | None  # where the first error happened: the stage stopped there


def render_html(document: dict[str, Any], ops: list[Operation]) -> str:
    """The report as one HTML page (no external files, no scripts)."""
    env = Environment(autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)
    template = env.from_string((resources.files("stacksleuth.reports") / "templates" / "report.html.j2").read_text())
    troubled = [op for op in ops if op.outcome != "active" and op.events][:MAX_TIMELINES]
    return template.render(doc=document, timelines=[_timeline(op) for op in troubled],
                           width=_WIDTH, left=_LEFT, lane=_LANE, top=_TOP)


def _timeline(op: Operation) -> Timeline:
    events = [e for e in op.events if e.ts][:MAX_POINTS]
    lanes = list(dict.fromkeys(e.service for e in events))
    times = [_seconds(e) for e in events]
    first, last = (min(times), max(times)) if times else (0.0, 0.0)
    span = max(last - first, 1e-3)
    points = [
        Point(_LEFT + (t - first) / span * (_WIDTH - _LEFT - 20), _TOP + lanes.index(e.service) * _LANE + _LANE / 2,
              e.level, f"{e.ts} {e.service} {e.level} {e.message[:300]}")
        for e, t in zip(events, times, strict=True)
    ]
    name = " · ".join(part for part in (op.kind, op.instance, op.request_id) if part)
    stop_x = next((p.x for p in points if p.level in ("ERROR", "CRITICAL")), None)
    return Timeline(name, op.outcome, op.stage, lanes, points, _TOP + len(lanes) * _LANE,
                    events[0].ts or "" if events else "", events[-1].ts or "" if events else "", stop_x)


def _seconds(event: Event) -> float:
    return datetime.fromisoformat(event.ts).timestamp() if event.ts else 0.0
