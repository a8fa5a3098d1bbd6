"""Scenarios: what to break (data in scenarios/<name>.yaml), and the run that breaks, waits, collects, restores."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from stacksleuth.lab import host, injectors, logs
from stacksleuth.lab.host import LabError

_KEYS = {"name", "breaks", "story", "inject", "trigger", "wait", "expect", "settle", "references", "xfail", "collect"}
#: what a scenario may collect besides the logs (opt-in): `cloud`: the `check cloud --save` answers
_COLLECT = {"cloud"}
CLOUD_ANSWERS = "check-cloud.json"


@dataclass(frozen=True)
class Scenario:
    name: str
    breaks: str  # one line: what it breaks
    story: str  # what an operator meets
    inject: tuple[dict[str, Any], ...]
    trigger: dict[str, Any]
    wait: dict[str, Any]
    expect: dict[str, Any]
    settle: float = 3.0
    references: tuple[str, ...] = field(default_factory=tuple)
    xfail: str = ""  # why the current engine cannot diagnose it yet (the corpus test is marked xfail)
    collect: dict[str, bool] = field(default_factory=dict)  # extra captures: {cloud: true} saves CLOUD_ANSWERS


def scenario_dir() -> Path:
    return Path(str(resources.files("stacksleuth.lab") / "scenarios"))


def load(path: Path) -> Scenario:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise LabError(f"{path.name}: expected a mapping")
    unknown = set(data) - _KEYS
    missing = {"name", "breaks", "inject", "trigger", "expect"} - set(data)
    if unknown or missing:
        raise LabError(f"{path.name}: unknown keys {sorted(unknown)}, missing {sorted(missing)}")
    if data["name"] != path.stem:
        raise LabError(f"{path.name}: name is {data['name']!r}, expected {path.stem!r}")
    for step in data["inject"] or []:
        if not isinstance(step, dict) or len(step) != 1 or next(iter(step)) not in injectors.INJECTORS:
            raise LabError(f"{path.name}: bad inject step {step!r} (known: {', '.join(sorted(injectors.INJECTORS))})")
    if len(data["trigger"]) != 1 or set(data["trigger"]) - {"boot", "command", "volume"}:
        raise LabError(f"{path.name}: trigger is one of `boot`, `command`, `volume`")
    collect = data.get("collect") or {}
    if not isinstance(collect, dict) or set(collect) - _COLLECT or not all(isinstance(v, bool) for v in collect.values()):
        raise LabError(f"{path.name}: collect is a mapping of {', '.join(sorted(_COLLECT))} to true/false, not {collect!r}")
    return Scenario(
        name=data["name"], breaks=str(data["breaks"]).strip(), story=str(data.get("story", "")).strip(),
        inject=tuple(data["inject"] or ()), trigger=dict(data["trigger"]), wait=dict(data.get("wait") or {}),
        expect=dict(data["expect"]), settle=float(data.get("settle", 3)),
        references=tuple(data.get("references") or ()), xfail=str(data.get("xfail") or ""), collect=dict(collect),
    )


def load_all() -> dict[str, Scenario]:
    return {p.stem: load(p) for p in sorted(scenario_dir().glob("*.yaml"))}


def get(name: str) -> Scenario:
    path = scenario_dir() / f"{name}.yaml"
    if not path.is_file():
        raise LabError(f"no scenario {name!r}; `stacksleuth lab list` shows them")
    return load(path)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- trigger and wait -----------------------------------------------------------------------------

def _boot(spec: dict[str, Any], name: str) -> dict[str, Any]:
    args = ["server", "create", "--flavor", str(spec.get("flavor", "m1.nano")), "--image", str(spec.get("image", "tiny"))]
    if spec.get("network"):
        args += ["--network", str(spec["network"])]
    else:
        args += ["--nic", "none"]
    if spec.get("host"):  # forced host: bypasses the scheduler's filters
        args += ["--availability-zone", f"nova:{spec['host']}"]
    if spec.get("key_name"):
        args += ["--key-name", str(spec["key_name"])]
    args += [name, "-f", "json"]
    try:
        proc = host.osc(*args, check=False, timeout=float(spec.get("client_timeout", 120)))
    except subprocess.TimeoutExpired as exc:
        return {"command": "openstack " + " ".join(args), "exit": None, "error": f"client timed out ({exc})"}
    out: dict[str, Any] = {"command": "openstack " + " ".join(args), "exit": proc.returncode}
    if proc.returncode != 0:
        out["error"] = (proc.stderr or proc.stdout).strip()
    return out


def _server(name: str) -> dict[str, Any] | None:
    data = host.osc_json("server", "show", name, check=False)
    return data if isinstance(data, dict) else None


def _wait(wait: dict[str, Any], name: str) -> dict[str, Any]:
    """Poll the server until it reaches an end state: a status in `until`, or a task_state held `stuck_for` s."""
    until = set(wait.get("until", ["ACTIVE", "ERROR"]))
    stuck_state, stuck_for = wait.get("stuck"), float(wait.get("stuck_for", 45))
    deadline = time.monotonic() + float(wait.get("timeout", 180))
    held_since: float | None = None
    server: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        server = _server(name)
        if server is None:
            return {"end": "no server"}
        status, task = server.get("status"), server.get("OS-EXT-STS:task_state")
        if status in until:
            end = {"end": status, "task_state": task}
            if status == "ACTIVE" and wait.get("console"):
                end["console"] = _wait_console(server["id"], str(wait["console"]), float(wait.get("console_timeout", 90)))
            return end
        if stuck_state and task == stuck_state:
            held_since = held_since or time.monotonic()
            if time.monotonic() - held_since >= stuck_for:
                return {"end": f"stuck in {status}/{task} for {stuck_for:.0f}s", "task_state": task}
        else:
            held_since = None
        time.sleep(3)
    return {"end": "timeout", "status": server and server.get("status"),
            "task_state": server and server.get("OS-EXT-STS:task_state")}


def _volume(name: str) -> dict[str, Any] | None:
    data = host.osc_json("volume", "show", name, check=False)
    return data if isinstance(data, dict) else None


def _wait_volume(wait: dict[str, Any], name: str) -> dict[str, Any]:
    """Poll the volume until its status is in `until`, or has stayed `stuck` for `stuck_for` seconds."""
    until = set(wait.get("until", ["available", "error"]))
    stuck_state, stuck_for = wait.get("stuck"), float(wait.get("stuck_for", 60))
    deadline = time.monotonic() + float(wait.get("timeout", 180))
    held_since: float | None = None
    status = None
    while time.monotonic() < deadline:
        volume = _volume(name)
        if volume is None:
            return {"end": "no volume"}
        status = volume.get("status")
        if status in until:
            return {"end": status}
        if stuck_state and status == stuck_state:
            held_since = held_since or time.monotonic()
            if time.monotonic() - held_since >= stuck_for:
                return {"end": f"stuck in {status} for {stuck_for:.0f}s"}
        else:
            held_since = None
        time.sleep(3)
    return {"end": "timeout", "status": status}


def _volume_trigger(spec: dict[str, Any], wait: dict[str, Any], name: str) -> dict[str, Any]:
    """Create volume NAME; with `attach`, boot server NAME and attach the volume to it once both are ready."""
    args = ["volume", "create", "--size", str(spec.get("size", 1)), name]
    proc = host.osc(*args, "-f", "json", check=False)
    record: dict[str, Any] = {"command": "openstack " + " ".join(args), "exit": proc.returncode}
    if proc.returncode != 0:
        return {**record, "error": (proc.stderr or proc.stdout).strip()}
    created = _wait_volume(wait if not spec.get("attach") else {"until": ["available", "error"]}, name)
    record["created"] = created["end"]
    if not spec.get("attach") or created["end"] != "available":
        return {**record, "end": created}
    boot = _boot({}, name)
    if "error" in boot:
        return {**record, "boot": boot, "error": boot["error"]}
    server = _wait({"until": ["ACTIVE", "ERROR"], "timeout": 120}, name)
    if server["end"] != "ACTIVE":
        return {**record, "boot": boot, "error": f"server {server['end']} before the attach"}
    add = host.osc("server", "add", "volume", name, name, check=False)
    record["attach"] = {"command": f"openstack server add volume {name} {name}", "exit": add.returncode}
    if add.returncode != 0:
        return {**record, "error": (add.stderr or add.stdout).strip()}
    time.sleep(5)  # nova-api reserved the volume; the compute attaches it asynchronously
    return {**record, "end": _wait_volume(wait, name)}


def _volume_state(name: str, out: Path) -> dict[str, Any]:
    """volume-show.json, and what the user sees of the volume: its status and attachments."""
    volume = _volume(name)
    if volume is None:
        return {}
    (out / "volume-show.json").write_text(json.dumps(volume, indent=2, default=str) + "\n")
    return {"id": volume.get("id"), "status": volume.get("status"), "size": volume.get("size"),
            "attachments": len(volume.get("attachments") or [])}


def console_log(instance: str) -> Path:
    return Path("/var/lib/nova/instances") / instance / "console.log"


def _wait_console(instance: str, marker: str, timeout: float) -> str:
    """Until the guest writes MARKER on its serial console (nova's console.log)."""
    path = console_log(instance)

    def seen() -> bool:
        try:
            return marker in path.read_text(errors="replace")
        except OSError:
            return False

    return "seen" if host.wait_for(seen, timeout, 2) else f"no {marker!r} after {timeout:.0f}s"


def _server_state(name: str, out: Path) -> dict[str, Any]:
    """server-show.json and server-event.json (the create event, with its request id and traceback)."""
    server = host.osc_json("server", "show", name, check=False)
    if not isinstance(server, dict):
        return {}
    (out / "server-show.json").write_text(json.dumps(server, indent=2, default=str) + "\n")
    events = host.osc_json("server", "event", "list", server["id"], check=False) or []
    details = []
    for event in events:
        req = event.get("Request ID") or event.get("request_id")
        if req:
            doc = host.osc_json("server", "event", "show", server["id"], req, check=False)
            if doc:
                details.append(doc)
    if details:
        (out / "server-event.json").write_text(json.dumps(details[0] if len(details) == 1 else details,
                                                          indent=2, default=str) + "\n")
    console = console_log(server["id"])
    if console.is_file():  # the guest's serial console, when there is a guest
        (out / f"instances__{server['id']}__console.log").write_bytes(console.read_bytes())
    fault = server.get("fault")
    return {"id": server["id"], "status": server.get("status"), "task_state": server.get("OS-EXT-STS:task_state"),
            "fault": fault.get("message") if isinstance(fault, dict) else None}


def save_cloud_answers(out: Path) -> dict[str, Any]:
    """OUT/check-cloud.json: `check cloud --save` as the lab's admin, taken while the fault is still injected, so
    that `diagnose OUT` also reads the cloud's own view (a stale catalog entry no service logs)."""
    path = out / CLOUD_ANSWERS
    command = ["check", "cloud", "--json", "--save", str(path)]
    try:
        proc = host.stacksleuth(*command)
    except subprocess.TimeoutExpired as exc:
        return {"command": f"stacksleuth {' '.join(command)}", "exit": None, "error": f"timed out ({exc})"}
    record: dict[str, Any] = {"command": f"stacksleuth {' '.join(command[:-1])} {CLOUD_ANSWERS}", "exit": proc.returncode}
    if proc.returncode not in (0, 1) or not path.is_file():  # 1: it found problems, as it should while broken
        record["error"] = (proc.stderr or proc.stdout).strip()[-500:] or "no capture written"
    return record


def _user_saw(server: dict[str, Any], trigger: dict[str, Any], volume: dict[str, Any] | None = None) -> str | None:
    """What the user was shown: the volume's status, the server's fault, else its state, plus the client's error."""
    parts = []
    if volume:
        attached = f", {volume['attachments']} attachment(s)" if "attach" in trigger else ""
        parts.append(f"volume {volume.get('status')}{attached}")
    if server and not (volume and server.get("status") == "ACTIVE"):
        state = f"server {server.get('status')}"
        if server.get("task_state"):
            state += f" (task_state {server['task_state']})"
        parts.append(f"{state}: {server['fault']}" if server.get("fault") else state)
    if trigger.get("error"):
        parts.append(f"client: {trigger['error']}")
    if not parts and trigger.get("output"):  # a command trigger: the client's own complaints
        said = [line for line in str(trigger["output"]).splitlines()
                if re.search(r"error|unable|fail|refused|denied|HTTP [45]\d\d", line, re.I)]
        parts.append("client: " + " | ".join(dict.fromkeys(said)) if said else str(trigger["output"])[-300:])
    return "; ".join(parts) or None


# -- the run --------------------------------------------------------------------------------------

def _save_active(steps: list[dict[str, Any]]) -> None:
    injectors.state_file().write_text(json.dumps(steps, indent=1))


def restore_active(say: Callable[[str], None] = print) -> None:
    """Undo whatever a scenario left injected (after a crash or ^C), in reverse order."""
    path = injectors.state_file()
    if not path.is_file():
        return
    steps = json.loads(path.read_text())
    for item in reversed(steps):
        say(f"restore {next(iter(item['step']))}")
        try:
            injectors.restore_step(item["step"], item["saved"])
        except (LabError, OSError, subprocess.SubprocessError) as exc:  # keep restoring the rest
            say(f"  warning: {exc}")
    path.unlink()


def delete_lab_servers() -> None:
    """Delete the lab-* servers, then the lab-* volumes (a volume still attached cannot be deleted)."""
    for server in host.osc_json("server", "list", "--all-projects", check=False) or []:
        if str(server.get("Name", "")).startswith("lab-"):
            host.osc("server", "delete", "--wait", server["ID"], check=False)
    if host.osc("service", "show", "volumev3", check=False).returncode != 0:
        return  # a lab set up before cinder was part of it
    for volume in host.osc_json("volume", "list", "--all-projects", check=False) or []:
        if str(volume.get("Name", "")).startswith("lab-"):
            # a volume left in error/creating/attaching needs its state reset before it can be deleted
            host.osc("volume", "set", "--state", "available", "--detached", volume["ID"], check=False)
            host.osc("volume", "delete", "--force", volume["ID"], check=False)


def mark() -> Path:
    path = host.STATE / "marks.json"
    logs.save_marks(logs.mark(), path)
    return path


def collect(out: Path, servers: list[str] | None = None) -> list[str]:
    """`lab collect`: the bytes every log gained since the last mark, plus server show/event output."""
    path = host.STATE / "marks.json"
    marks = logs.load_marks(path) if path.is_file() else {}
    written = logs.collect(marks, out)
    for name in servers or []:
        if _server_state(name, out):
            written += [p.name for p in out.glob("server-*.json")]
    return written


DAEMONS = ("mariadb", "rabbitmq-server", "virtlogd", "libvirtd", "tgtd", "keystone", "glance-api", "placement-api",
           "nova-api", "nova-api-metadata", "nova-conductor", "nova-scheduler", "nova-compute", "neutron-api",
           "neutron-rpc-server", "neutron-linuxbridge-agent", "neutron-dhcp-agent", "neutron-metadata-agent",
           "cinder-api", "cinder-scheduler", "cinder-volume")


def ensure_healthy(say: Callable[[str], None] = print, timeout: float = 180) -> None:
    """Every daemon running, every nova and cinder service reported up (a scenario must start from a healthy lab)."""
    for name in DAEMONS:
        if not host.service_running(name):
            say(f"start {name} (it was not running)")
            host.service(name, "start")

    def all_up() -> bool:
        for api in ("compute", "volume") if Path("/etc/init.d/cinder-volume").is_file() else ("compute",):
            rows = host.osc_json(api, "service", "list", check=False) or []
            if not rows or not all(r.get("State") == "up" and r.get("Status") == "enabled" for r in rows):
                return False
        return True

    mapped = host.sh("su -s /bin/sh nova -c 'nova-manage cell_v2 list_hosts' 2>/dev/null", check=False).stdout
    if f" {socket.gethostname()} " not in mapped:
        say("map the compute host to its cell (discover_hosts)")
        host.sh("mysql -e \"UPDATE nova.compute_nodes SET mapped=0 WHERE host='$(hostname)'\" && "
                "su -s /bin/sh nova -c 'nova-manage cell_v2 discover_hosts'", check=False)
    if not host.wait_for(all_up, timeout, 5):
        raise LabError("the lab is not healthy (a nova or cinder service is down or disabled); try `stacksleuth lab reset`")
    _ensure_neutron_lists_ports(say)


def _ensure_neutron_lists_ports(say: Callable[[str], None]) -> None:
    """neutron-api answers GET /v2.0/ports (warmed up by GET /v2.0/agents when it does not).

    Measured in the e2e run (Debian's Zed neutron-api under uwsgi, no router service plugin): after a restart
    whose first request is a port query, every port query fails with HTTP 500 "type object 'Port' has no
    attribute 'port_forwardings'" (db_base_plugin_v2 asks for that relationship, which exists only once
    neutron.api.rpc.callbacks.resources was imported, lazily, by the agents API); restarting again does not
    help, one `network agent list` does. Left alone, every later scenario captures that error instead of its own.
    """
    if host.osc("port", "list", "-f", "value", "-c", "ID", check=False, timeout=60).returncode == 0:
        return
    say("neutron-api fails GET /v2.0/ports ('Port' has no attribute 'port_forwardings'): GET /v2.0/agents once")
    host.osc("network", "agent", "list", check=False, timeout=60)
    if host.osc("port", "list", "-f", "value", "-c", "ID", check=False, timeout=60).returncode != 0:
        raise LabError("neutron-api keeps failing GET /v2.0/ports (HTTP 500); see /var/log/neutron/neutron-api.log")


def run(scenario: Scenario, out: Path, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Inject, trigger, wait for the end state, collect into OUT, restore. Returns scenario.json's content."""
    host.require_up()
    restore_active(say)
    delete_lab_servers()
    ensure_healthy(say)
    name = f"lab-{scenario.name}"
    record: dict[str, Any] = {"scenario": scenario.name, "breaks": scenario.breaks, "story": scenario.story,
                              "injected": list(scenario.inject), "trigger": scenario.trigger,
                              "started": _now()}
    mark()
    marks = logs.load_marks(host.STATE / "marks.json")
    applied: list[dict[str, Any]] = []
    try:
        for step in scenario.inject:
            say(f"inject {json.dumps(step)}")
            saved = injectors.apply_step(step)
            applied.append({"step": step, "saved": saved})
            _save_active(applied)
        trigger = scenario.trigger
        if "volume" in trigger:
            say(f"volume {name}")
            record["trigger_result"] = _volume_trigger(trigger["volume"] or {}, scenario.wait, name)
            record["end"] = record["trigger_result"].pop("end", {"end": record["trigger_result"].get("created")})
        elif "boot" in trigger:
            say(f"boot {name}")
            result = _boot(trigger["boot"] or {}, name)
            record["trigger_result"] = result
            if "error" not in result:
                say("wait for the end state")
                record["end"] = _wait(scenario.wait, name)
        else:
            proc = host.sh(str(trigger["command"]), check=False)
            record["trigger_result"] = {"command": trigger["command"], "exit": proc.returncode,
                                        "output": (proc.stdout + proc.stderr).strip()[-2000:]}
        time.sleep(scenario.settle)
        record["ended"] = _now()
        say(f"collect into {out}")
        files = logs.collect(marks, out)
        server = _server_state(name, out)
        record["server"] = server
        volume = _volume_state(name, out) if "volume" in trigger else None
        if volume is not None:
            record["volume"] = volume
        record["user_saw"] = _user_saw(server, record.get("trigger_result", {}), volume)
        if scenario.collect.get("cloud"):  # after the logs were copied: its API calls are not part of them
            say(f"save the cloud's API answers into {CLOUD_ANSWERS}")
            record["cloud_answers"] = save_cloud_answers(out)
        states = [*out.glob("server-*.json"), *out.glob("volume-*.json"), *out.glob(CLOUD_ANSWERS)]
        record["files"] = sorted(files + [p.name for p in states])
    finally:
        say("restore")
        delete_lab_servers()
        restore_active(say)
    record["expect"] = scenario.expect
    if scenario.xfail:
        record["xfail"] = scenario.xfail
    (out / "scenario.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    return record
