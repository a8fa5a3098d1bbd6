"""The machine the lab runs on: checks, the setup script, the OpenStack CLI, the daemons."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

from stacksleuth.errors import StacksleuthError

STATE = Path(os.environ.get("LAB_STATE", "/var/lib/stacksleuth-lab"))
OPENRC = STATE / "admin-openrc"


class LabError(StacksleuthError):
    """The lab cannot do what was asked (not root, not Debian, not up, a step failed)."""


def script() -> Path:
    """The packaged setup script (shell/lab.sh)."""
    return Path(str(resources.files("stacksleuth.lab") / "shell" / "lab.sh"))


def check_host() -> None:
    """The lab needs root on Debian 12 (bookworm): it installs Zed from Debian's packages."""
    if os.geteuid() != 0:
        raise LabError("the lab must run as root (it installs packages and starts daemons)")
    release = _os_release()
    if release.get("ID") != "debian":
        raise LabError(f"the lab needs Debian 12 (bookworm); this is {release.get('PRETTY_NAME', 'not Debian')}")
    if release.get("VERSION_ID") != "12":
        raise LabError(f"the lab needs Debian 12 (bookworm), whose packages are OpenStack Zed; this is "
                       f"{release.get('PRETTY_NAME', 'Debian ?')}")


def _os_release() -> dict[str, str]:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        out[key] = value.strip().strip('"')
    return out


def is_up() -> bool:
    """Set up once (installed and configured): whether its daemons run now is `service_running`'s question."""
    return (STATE / "up").is_file() and OPENRC.is_file()


def require_up() -> None:
    check_host()
    if not is_up():
        raise LabError("the lab is not up: run `stacksleuth lab up` first")


def run_script(action: str) -> int:
    """Run shell/lab.sh ACTION, streaming its output; its exit code."""
    env = dict(os.environ, LAB_STATE=str(STATE))
    return subprocess.call(["bash", str(script()), action], env=env)


def sh(command: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a shell command on the lab host."""
    proc = subprocess.run(["bash", "-c", command], check=False, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise LabError(f"`{command}` failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-500:]}")
    return proc


def _os_env() -> dict[str, str]:
    env = dict(os.environ)
    for line in OPENRC.read_text().splitlines():
        line = line.strip()
        if line.startswith("export "):
            for item in shlex.split(line[len("export "):]):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def osc(*args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`openstack ARGS` as the lab's admin."""
    proc = subprocess.run(["openstack", *args], check=False, capture_output=True, text=True, env=_os_env(), timeout=timeout)
    if check and proc.returncode != 0:
        raise LabError(f"openstack {' '.join(args)}: {(proc.stderr or proc.stdout).strip()[-500:]}")
    return proc


def stacksleuth(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`stacksleuth ARGS` as the lab's admin (its openrc, as `osc`), from this same installation."""
    return subprocess.run([sys.executable, "-m", "stacksleuth", *args], check=False, capture_output=True, text=True,
                          env=_os_env(), timeout=timeout)


def osc_json(*args: str, check: bool = True) -> Any:
    proc = osc(*args, "-f", "json", check=check)
    if proc.returncode != 0:
        return None
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None


#: daemons without an init script here, started by hand (how, on loopback)
BY_HAND = {"libvirtd": "libvirtd -d", "virtlogd": "virtlogd -d", "tgtd": "tgtd --iscsi portal=127.0.0.1:3260"}


def service(name: str, action: str) -> None:
    """Start/stop/restart one lab daemon (init script; libvirtd, virtlogd and tgtd by hand)."""
    if name == "tgtd":
        if action in ("stop", "restart"):
            sh("for p in $(pgrep -x tgtd); do kill $p; done; for i in $(seq 50); do pgrep -x tgtd >/dev/null || break; "
               "sleep 0.2; done", check=False)
        if action in ("start", "restart"):
            sh(f"pgrep -x tgtd >/dev/null || {BY_HAND[name]}")
        return
    if name in ("libvirtd", "virtlogd"):
        pid = Path(f"/run/{name}.pid")
        if action in ("stop", "restart") and pid.is_file():
            sh(f"kill $(cat {pid}) 2>/dev/null; for i in $(seq 50); do pgrep -x {name} >/dev/null || break; sleep 0.2; done",
               check=False)
        if action in ("start", "restart"):
            sh(f"pgrep -x {name} >/dev/null || {BY_HAND[name]}")
        return
    sh(f"/etc/init.d/{name} {action}", check=action != "stop", timeout=300)


def service_running(name: str) -> bool:
    """By pid file: the uwsgi services' `init.d status` reports any uwsgi process (keystone's) as theirs."""
    if name in BY_HAND:
        return sh(f"pgrep -x {name}", check=False).returncode == 0
    if name in ("mariadb", "rabbitmq-server"):
        return sh(f"/etc/init.d/{name} status", check=False).returncode == 0
    pidname = {"neutron-api": "neutron-server"}.get(name, name)
    for pidfile in Path("/run").glob(f"*/{pidname}.pid"):
        try:
            os.kill(int(pidfile.read_text().split()[0]), 0)
            return True
        except (OSError, ValueError, IndexError):
            continue
    return False


def wait_for(predicate: Any, timeout: float, every: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)
