"""On a live host with OpenStack services installed, check their configuration against the option definitions of
the release installed there, not the bundled Zed table: optdump.py runs under the system Python that has the
services' packages (~30 s), and its answer is cached per set of package versions."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from stacksleuth.probes import packages
from stacksleuth.probes.host import Host
from stacksleuth.probes.optdump import NAMESPACES
from stacksleuth.probes.options import Definitions, bundled

SYSTEM_PYTHON = "/usr/bin/python3"
_DUMPER = Path(__file__).with_name("optdump.py")
_TIMEOUT = 600  # seconds; six services' entry points, one child process each
# besides the services' own packages, these libraries register options in the services' config files
_LIBRARIES = ("python3-oslo", "python3-keystonemiddleware", "python3-os-", "python3-castellan", "python3-osprofiler")


def cache_dir() -> Path:
    """Where generated tables are kept: $STACKSLEUTH_CACHE, else $XDG_CACHE_HOME/stacksleuth, else ~/.cache/stacksleuth."""
    if os.environ.get("STACKSLEUTH_CACHE"):
        return Path(os.environ["STACKSLEUTH_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "stacksleuth"


def for_host(host: Host) -> Definitions:
    """The installed services' definitions on a live host that has them, else the bundled table (whose
    `source` then says why)."""
    if not host.live:
        return bundled()
    installed = packages.packages(host)
    services = sorted({p for n in installed if (p := packages.project_of(n)) in NAMESPACES})
    if not services:
        return _fallback("no OpenStack service package is installed here")
    if not Path(SYSTEM_PYTHON).is_file():
        return _fallback(f"{SYSTEM_PYTHON} is missing")
    relevant = {n: v for n, v in installed.items() if packages.project_of(n) in services or n.startswith(_LIBRARIES)}
    key = hashlib.sha256(json.dumps(relevant, sort_keys=True).encode() + _DUMPER.read_bytes()).hexdigest()[:16]
    path = cache_dir() / f"options-{key}.json"
    described = ", ".join(f"{p} {packages.upstream(v)}" for p in services for n, v in sorted(relevant.items())
                          if n == f"python3-{p}")
    if path.is_file():
        try:
            return Definitions.of(json.loads(path.read_text()), f"the installed services' definitions ({described}; cached in {path})")
        except (OSError, ValueError):
            pass  # a damaged cache is regenerated below
    try:
        done = subprocess.run([SYSTEM_PYTHON, str(_DUMPER), "--json"], capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return _fallback(f"{SYSTEM_PYTHON} optdump.py failed ({exc.__class__.__name__})")
    try:
        data = json.loads(done.stdout) if done.returncode == 0 else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data.get("services"):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return _fallback(f"{SYSTEM_PYTHON} optdump.py exited {done.returncode}: {last}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
        where = f"cached in {path}"
    except OSError as exc:
        where = f"not cached: {exc.strerror}"
    return Definitions.of(data, f"the installed services' definitions ({described}; {SYSTEM_PYTHON} optdump.py, {where})")


def _fallback(why: str) -> Definitions:
    table = bundled()
    return Definitions(table.groups, table.versions, f"{table.source}: {why}")
