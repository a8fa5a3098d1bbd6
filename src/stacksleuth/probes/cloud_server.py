"""`check server UUID`: why one server is broken, from what the APIs keep about it: its state and fault, the
instance action that failed (which event, the last line of its traceback, and its request id for
`stacksleuth trace`), its ports' binding and its volumes. Texts are in knowledge/probes/cloud.yaml."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.cloud_facts import Action, Event, ServerFacts
from stacksleuth.probes.interface import Check, Outcome, finding, knowledge

# the exception line of a traceback: `nova.exception.NoValidHost: No valid host…`, `PortBindingFailed: …`
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Failed|Exceeded|Remote|[A-Z]\w*): \S")
_FRAME = re.compile(r'^File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)')
_OWNER = {"scheduling": "nova-scheduler / nova-conductor", "spawning": "nova-compute", "networking": "nova-compute / neutron",
          "block_device_mapping": "nova-compute / cinder", "deleting": "nova-compute", "rebooting": "nova-compute"}


def check(facts: ServerFacts) -> Outcome:
    """Every server check; a failed action's request id rides on its finding (`request_id`) for `trace`."""
    parts = [_state(facts), _ports(facts), _volumes(facts)]
    return Outcome(tuple(c for p in parts for c in p.checks), tuple(f for p in parts for f in p.findings))


def failed_requests(facts: ServerFacts) -> list[str]:
    """Request ids of the server's actions that failed, newest first: what to pass to `stacksleuth trace`."""
    return [a.request_id for a in facts.actions if _failed(a)]


def _spec() -> dict[str, Any]:
    data: dict[str, Any] = knowledge("cloud.yaml")["server"]
    return data


def _make(key: str, values: dict[str, Any], evidence: list[Evidence], component: str, **where: Any) -> Finding:
    entry = _spec()["findings"][key]
    text = {k: " ".join(str(entry.get(k, "")).split()).format(**values) for k in ("title", "cause", "symptom")}
    made = finding(entry["severity"], f"cloud-server/{key}", text["title"], text["cause"],
                   [c.format(**values) for c in entry["fix"]], component, evidence, symptom=text["symptom"])
    return replace(made, instance=values["id"], **where)


def _failed(action: Action) -> bool:
    return action.message.lower() == "error" or any(e.result.lower() == "error" for e in action.events)


def _failed_event(action: Action) -> Event | None:
    return next((e for e in action.events if e.result.lower() == "error"), None)


def last_line(traceback: str) -> str:
    """The exception line of a traceback; an event's traceback has frames only: its last frame and code line."""
    lines = [line.strip() for line in traceback.splitlines() if line.strip() and not set(line.strip()) <= {"^", "~"}]
    exceptions = [line for line in lines if _EXCEPTION.match(line)]
    if exceptions:
        return exceptions[-1]
    frames = [n for n, line in enumerate(lines) if _FRAME.match(line)]
    if not frames:
        return lines[-1] if lines else ""
    frame = _FRAME.match(lines[frames[-1]])
    assert frame is not None
    code = lines[frames[-1] + 1] if frames[-1] + 1 < len(lines) else ""
    return f"{frame['file']}:{frame['line']} in {frame['function']}: {code}".rstrip(": ")


def _values(facts: ServerFacts) -> dict[str, Any]:
    hosts = [e.host for a in facts.actions for e in a.events if e.host]
    return {"id": facts.id, "name": facts.name or facts.id, "status": facts.status, "task_state": facts.task_state,
            "updated": facts.updated, "host_hint": facts.host or (hosts[0] if hosts else "the compute host")}


def _where(facts: ServerFacts, path: str) -> str:
    return f"GET compute /servers/{facts.id}{path}"


def _event_evidence(facts: ServerFacts, action: Action) -> list[Evidence]:
    rows = []
    for index, e in enumerate(action.events, 1):
        text = f"{action.action} {action.request_id} event {e.name} result={e.result} host={e.host or '-'} finish={e.finish}"
        if e.traceback:
            text += f" · last traceback line: {last_line(e.traceback)}"
        if e.details:
            text += f" · details: {e.details}"
        rows.append(Evidence(e.host or facts.source.region, _where(facts, f"/os-instance-actions/{action.request_id}"),
                             index, text))
    return rows


def _failure(action: Action) -> str:
    event = _failed_event(action)
    if event is None:
        return (f"The {action.action} request {action.request_id} recorded no failed event (a rescheduled build records "
                "its compute event as Success); the fault tells what ended it.")
    text = f"The {action.action} request {action.request_id} failed at {event.name}" + (f" on {event.host}" if event.host else "")
    if event.traceback:
        text += f", in: {last_line(event.traceback)}"
    return text + (f" ({event.details})" if event.details else "") + "."


def _where_it_failed(action: Action | None) -> dict[str, Any]:
    """operation, request id, stage and component of a failed action (for the finding's `where`)."""
    if action is None:
        return {}
    spec = _spec()
    event = _failed_event(action)
    stage = spec["event_stages"].get(event.name) if event else None
    return {"operation": spec["operations"].get(action.action, action.action), "request_id": action.request_id or None,
            "stage": stage}


def _component(action: Action | None) -> str:
    event = _failed_event(action) if action else None
    if event is None:
        return "nova"
    prefix = event.name.split("_", 1)[0]
    return {"conductor": "nova-conductor", "compute": "nova-compute", "scheduler": "nova-scheduler",
            "api": "nova-api"}.get(prefix, "nova")


def _state(facts: ServerFacts) -> Outcome:
    values = _values(facts)
    checks = [Check("cloud-server/state", "problem" if facts.status == "ERROR" else "ok",
                    f"status {facts.status}, vm_state {facts.vm_state or '-'}, task_state {facts.task_state or '-'}, "
                    f"host {facts.host or '-'}")]
    failed = [a for a in facts.actions if _failed(a)]
    checks.append(Check("cloud-server/actions", "problem" if failed else "ok",
                        f"{len(facts.actions)} action(s): " + ", ".join(
                            f"{a.action} {a.request_id} {'failed' if _failed(a) else 'ok'}" for a in facts.actions)))
    findings = []
    if facts.status == "ERROR":
        action = failed[0] if failed else (facts.actions[0] if facts.actions else None)
        fault = facts.fault
        exception = last_line(fault.details) if fault and fault.details else ""
        values.update(message=fault.message.strip() if fault else "no fault recorded", code=fault.code if fault else "-",
                      exception=f" ({exception})" if exception and fault and fault.message.strip() not in exception else "",
                      failure=_failure(action) if action else "No instance action is recorded.",
                      request_id=action.request_id if action else "<request id>")
        evidence = _fault_evidence(facts) + (_event_evidence(facts, action) if action else [])
        findings.append(_make("server-error", values, evidence, _component(action), **_where_it_failed(action)))
        checks.append(Check("cloud-server/fault", "problem", f"{values['code']} {values['message']}"))
    elif failed and failed[0] is facts.actions[0]:
        action = failed[0]
        values.update(action=action.action, request_id=action.request_id, failure=_failure(action))
        findings.append(_make("action-failed", values, _event_evidence(facts, action), _component(action),
                              **_where_it_failed(action)))
    stuck = _stuck(facts)
    if stuck:
        findings.append(stuck)
    return Outcome(tuple(checks), tuple(findings))


def _fault_evidence(facts: ServerFacts) -> list[Evidence]:
    fault = facts.fault
    if fault is None:
        return []
    where = _where(facts, "")
    rows = [Evidence(facts.source.region, where, 0, f"fault {fault.code} {fault.created}: {fault.message}")]
    details = [line for line in fault.details.splitlines() if line.strip()]
    rows += [Evidence(facts.source.region, where, n, f"fault details: {line}") for n, line in enumerate(details[:3], 1)]
    exception = last_line(fault.details)
    if exception and len(details) > 3:
        rows.append(Evidence(facts.source.region, where, len(details), f"fault details: {exception}"))
    return rows


def _stuck(facts: ServerFacts) -> Finding | None:
    """A task_state (e.g. spawning) held longer than any real step takes."""
    if not facts.task_state or not facts.updated or not facts.source.captured_at:
        return None
    try:
        minutes = (_time(facts.source.captured_at) - _time(facts.updated)).total_seconds() / 60
    except ValueError:
        return None
    if minutes < _spec()["stuck_after_minutes"]:
        return None
    owner = next((o for k, o in _OWNER.items() if facts.task_state.startswith(k)), "nova-compute")
    values = dict(_values(facts), minutes=round(minutes), owner=owner)
    evidence = [Evidence(facts.source.region, _where(facts, ""), 0,
                         f"status={facts.status} task_state={facts.task_state} updated={facts.updated}")]
    return _make("stuck", values, evidence, owner.split(" ")[0])


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ports(facts: ServerFacts) -> Outcome:
    if facts.ports is None:
        failed = facts.failed.get("ports")
        return Outcome((Check("cloud-server/ports", "skipped", f"not checked ({failed.error if failed else 'not asked'})"),))
    findings = []
    values = _values(facts)
    for index, p in enumerate(facts.ports, 1):
        port = dict(values, port=p.id, vif_type=p.vif_type or "-", host=p.host or facts.host or "-",
                    server_host=facts.host or "-", ips=", ".join(p.ips) or "no IP")
        evidence = [Evidence(facts.source.region, f"GET network /ports?device_id={facts.id}", index,
                             f"port {p.id} status={p.status} binding:vif_type={p.vif_type or '-'} "
                             f"binding:host_id={p.host or '-'} fixed_ips={port['ips']}")]
        if p.vif_type == "binding_failed":
            findings.append(_make("port-binding-failed", port, evidence, "neutron-server"))
        elif p.vif_type == "unbound" and facts.status in ("ACTIVE", "SHUTOFF"):
            findings.append(_make("port-unbound", port, evidence, "nova-compute"))
        elif p.status == "DOWN" and facts.status == "ACTIVE":
            findings.append(_make("port-down", port, evidence, "neutron-linuxbridge-agent"))
    summary = (", ".join(f"{p.id} {p.status} vif_type={p.vif_type or '-'} host={p.host or '-'}" for p in facts.ports)
               or "no port")
    return Outcome((Check("cloud-server/ports", "problem" if findings else "ok", summary),), tuple(findings))


def _volumes(facts: ServerFacts) -> Outcome:
    if not facts.volumes:
        return Outcome((Check("cloud-server/volumes", "ok", "no volume attached"),))
    findings = []
    for index, v in enumerate(facts.volumes, 1):
        if v.status is not None and v.status.startswith("error"):
            evidence = [Evidence(facts.source.region, f"GET block-storage /volumes/{v.id}", index,
                                 f"volume {v.id} name={v.name!r} status={v.status}")]
            findings.append(_make("volume-error", dict(_values(facts), volume=v.id, volume_status=v.status), evidence,
                                  "cinder-volume"))
    summary = ", ".join(f"{v.id} {v.status or 'status not read (no block-storage API)'}" for v in facts.volumes)
    return Outcome((Check("cloud-server/volumes", "problem" if findings else "ok", summary),), tuple(findings))
