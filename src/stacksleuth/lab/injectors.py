"""The small injectors scenarios are made of: each applies one change and knows how to undo it.

A step in a scenario's `inject:` list is a one-key mapping `{kind: params}`. `apply` returns what it must
remember to undo the change (saved to the lab's state file, so `lab reset` can restore after a crash);
`restore` puts things back. Every step is undone, in reverse order, when the scenario ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stacksleuth.lab import host
from stacksleuth.lab.host import LabError

Saved = dict[str, Any]
INJECTORS: dict[str, tuple[Callable[[Any], Saved], Callable[[Any, Saved], None]]] = {}


def injector(kind: str) -> Callable[[type], type]:
    def register(cls: type) -> type:
        INJECTORS[kind] = (getattr(cls, "apply"), getattr(cls, "restore"))  # noqa: B009
        return cls
    return register


def _names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


@injector("stop")
class Stop:
    """stop: SERVICE (or a list): stop daemons; restore starts them again."""

    @staticmethod
    def apply(params: Any) -> Saved:
        stopped = []
        for name in _names(params):
            if host.service_running(name):
                host.service(name, "stop")
                stopped.append(name)
        return {"stopped": stopped}

    @staticmethod
    def restore(params: Any, saved: Saved) -> None:
        for name in reversed(saved.get("stopped", _names(params))):
            host.service(name, "start")


def _service_rows(binary: str) -> list[dict[str, Any]]:
    """`compute service list` (nova's services) or `volume service list` (cinder's) rows for BINARY."""
    api = "volume" if binary.startswith("cinder-") else "compute"
    rows = host.osc_json(api, "service", "list", "--service", binary, check=False) or []
    return [r for r in rows if isinstance(r, dict)]


@injector("wait_service_down")
class WaitServiceDown:
    """wait_service_down: {binary: nova-compute, timeout: 120}: until nova (cinder-*: cinder) reports it down."""

    @staticmethod
    def apply(params: Any) -> Saved:
        binary = params.get("binary", "nova-compute")

        def down() -> bool:
            rows = _service_rows(binary)
            return bool(rows) and all(r.get("State") == "down" for r in rows)

        if not host.wait_for(down, float(params.get("timeout", 150)), 5):
            raise LabError(f"{binary} is still reported up")
        return {}

    @staticmethod
    def restore(params: Any, saved: Saved) -> None:
        pass


@injector("wait_service_up")
class WaitServiceUp:
    """wait_service_up: {binary: nova-compute, timeout: 120}: until nova reports the service up and enabled."""

    @staticmethod
    def apply(params: Any) -> Saved:
        binary = params.get("binary", "nova-compute")

        def up() -> bool:
            rows = _service_rows(binary)
            return bool(rows) and all(r.get("State") == "up" and r.get("Status") == "enabled" for r in rows)

        if not host.wait_for(up, float(params.get("timeout", 120)), 5):
            raise LabError(f"{binary} is not reported up")
        return {}

    @staticmethod
    def restore(params: Any, saved: Saved) -> None:
        pass


@injector("wait_agent_down")
class WaitAgentDown:
    """wait_agent_down: {binary: neutron-dhcp-agent, timeout: 150}: until neutron reports the agent dead."""

    @staticmethod
    def apply(params: Any) -> Saved:
        binary = params.get("binary", "neutron-dhcp-agent")

        def dead() -> bool:
            rows = host.osc_json("network", "agent", "list", check=False) or []
            mine = [r for r in rows if r.get("Binary") == binary]
            return bool(mine) and not any(r.get("Alive") for r in mine)

        if not host.wait_for(dead, float(params.get("timeout", 150)), 5):
            raise LabError(f"neutron still reports {binary} alive")
        return {}

    @staticmethod
    def restore(params: Any, saved: Saved) -> None:
        pass


@injector("guest")
class Guest:
    """guest: {}: make sure the tiny busybox guest (lab-guest images) is in glance; kept afterwards."""

    @staticmethod
    def apply(params: Any) -> Saved:
        from stacksleuth.lab import guest  # noqa: PLC0415  (downloads and builds only when a scenario needs it)

        guest.register()
        return {}

    @staticmethod
    def restore(params: Any, saved: Saved) -> None:
        pass


@injector("conf")
class Conf:
    """conf: {file, section, key, value, restart: [services]}: set one option (value null: delete it)."""

    @staticmethod
    def apply(params: Any) -> Saved:
        file, section, key = params["file"], params["section"], params["key"]
        old = host.sh(f"crudini --get {file} {section} {key}", check=False)
        saved = {"had": old.returncode == 0, "old": old.stdout.rstrip("\n")}
        if params.get("value") is None:
            host.sh(f"crudini --del {file} {section} {key}")
        else:
            host.sh(f"crudini --set {file} {section} {key} '{params['value']}'")
        try:
            for name in _names(params.get("restart")):
                host.service(name, "stop")
                if params.get("start_may_fail"):
                    host.sh(f"/etc/init.d/{name} start", check=False)
                else:
                    host.service(name, "start")
        except LabError:
            Conf.restore(params, saved)  # not recorded as applied yet: put the file back now
            raise
        _wait_http(params.get("wait_http"))
        return saved

    @staticmethod
    def restore(params: Any, saved: Saved) -> None:
        file, section, key = params["file"], params["section"], params["key"]
        if saved.get("had"):
            host.sh(f"crudini --set {file} {section} {key} '{saved['old']}'")
        else:
            host.sh(f"crudini --del {file} {section} {key}", check=False)
        for name in _names(params.get("restart")):
            host.service(name, "stop")
            host.service(name, "start")
        _wait_http(params.get("wait_http"))


def _wait_http(port: Any) -> None:
    """Until something answers HTTP on 127.0.0.1:PORT (a restarted API takes seconds to listen)."""
    if port:
        host.sh(f"for i in $(seq 60); do curl -s -o /dev/null -m 3 http://127.0.0.1:{int(port)}/ && exit 0; sleep 1; done; "
                "exit 1", check=False, timeout=200)


@injector("tmpfs")
class Tmpfs:
    """tmpfs: {path, size, owner}: mount a tiny filesystem over PATH (hiding what is there)."""

    @staticmethod
    def apply(params: Any) -> Saved:
        path = params["path"]
        created = not os.path.isdir(path)
        if created:  # nova creates _base on the first download: remove it again on restore
            host.sh(f"mkdir -p {path}" + (f" && chown {params['owner']} {path}" if params.get("owner") else ""))
        host.sh(f"mount -t tmpfs -o size={params.get('size', '64k')},mode=0755 stacksleuth-lab {path}")
        if params.get("owner"):
            host.sh(f"chown {params['owner']} {path}")
        return {"created": created}

    @staticmethod
    def restore(params: Any, saved: Saved) -> None:
        path = params["path"]
        host.sh(f"mountpoint -q {path} && umount -l {path}", check=False)
        if saved.get("created"):
            host.sh(f"rmdir {path}", check=False)


@injector("sql")
class Sql:
    """sql: {apply: SQL, restore: SQL}: run statements as the database root."""

    @staticmethod
    def apply(params: Any) -> Saved:
        host.sh(f"mysql -e \"{params['apply']}\"")
        return {}

    @staticmethod
    def restore(params: Any, saved: Saved) -> None:
        if params.get("restore"):
            host.sh(f"mysql -e \"{params['restore']}\"", check=False)


@injector("shell")
class Shell:
    """shell: {apply: CMD, restore: CMD}: anything the other injectors do not cover."""

    @staticmethod
    def apply(params: Any) -> Saved:
        host.sh(params["apply"])
        return {}

    @staticmethod
    def restore(params: Any, saved: Saved) -> None:
        if params.get("restore"):
            host.sh(params["restore"], check=False)


@injector("openstack")
class OpenStack:
    """openstack: {apply: [ARGS], restore: [ARGS]}: one admin CLI call and its undo."""

    @staticmethod
    def apply(params: Any) -> Saved:
        host.osc(*[str(a) for a in params["apply"]])
        return {}

    @staticmethod
    def restore(params: Any, saved: Saved) -> None:
        if params.get("restore"):
            host.osc(*[str(a) for a in params["restore"]], check=False)


@injector("occupy_port")
class OccupyPort:
    """occupy_port: {port, service}: another process takes SERVICE's port, then SERVICE is restarted.

    The squatter listens on 127.0.0.1:PORT (SO_REUSEADDR, so TIME_WAIT connections left by the service's
    clients do not stop it) and closes every connection it accepts, so the service's bind fails with
    EADDRINUSE and its clients get an empty reply instead of hanging.
    """

    @staticmethod
    def apply(params: Any) -> Saved:
        port, name = int(params["port"]), params["service"]
        host.service(name, "stop")
        # the service's workers may hold the socket for a few seconds after the stop
        host.sh(f"for i in $(seq 60); do ss -Htln 'sport = :{port}' | grep -q . || exit 0; sleep 0.5; done; exit 1",
                check=False)
        code = ("import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
                f"s.bind(('127.0.0.1',{port}))\ns.listen(16)\nprint('bound',flush=True)\n"
                "while True:\n    c,_=s.accept()\n    c.close()\n")
        proc = subprocess.Popen(["python3", "-c", code], stdout=subprocess.PIPE, text=True,
                                start_new_session=True)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "bound":
            raise LabError(f"could not take port {port}")
        host.sh(f"/etc/init.d/{name} start", check=False)
        time.sleep(float(params.get("settle", 8)))
        return {"pid": proc.pid}

    @staticmethod
    def restore(params: Any, saved: Saved) -> None:
        name = params["service"]
        if saved.get("pid"):
            try:
                os.kill(int(saved["pid"]), signal.SIGTERM)
            except ProcessLookupError:
                pass
        host.service(name, "stop")
        time.sleep(1)
        host.service(name, "start")


def apply_step(step: dict[str, Any]) -> Saved:
    ((kind, params),) = step.items()
    if kind not in INJECTORS:
        raise LabError(f"unknown injector {kind!r} (known: {', '.join(sorted(INJECTORS))})")
    return INJECTORS[kind][0](params)


def restore_step(step: dict[str, Any], saved: Saved) -> None:
    ((kind, params),) = step.items()
    INJECTORS[kind][1](params, saved)


def state_file() -> Path:
    return host.STATE / "active.json"
