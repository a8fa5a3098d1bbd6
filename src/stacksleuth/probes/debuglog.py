"""`check debug-logging on|off`: switch a libvirt daemon to libvirt's recommended debug filters with a log file
of their own, and back to exactly what it had. `on` saves the daemon's filters and outputs in a state file first,
so `off` can restore them even from another shell or after a crash of ours."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stacksleuth.errors import StacksleuthError
from stacksleuth.probes import virtadmin
from stacksleuth.probes.interface import knowledge
from stacksleuth.probes.virtadmin import Daemon

_SCHEMA = "stacksleuth/debug-logging/v1"


@dataclass(frozen=True, slots=True)
class Saved:
    """What a daemon had before `on`: filters and outputs as it reported them."""

    uri: str
    filters: str
    outputs: str
    debug_file: str
    saved_at: str


def state_dir() -> Path:
    """$XDG_STATE_HOME/stacksleuth when set; else /var/lib/stacksleuth for root, ~/.local/state/stacksleuth."""
    if os.environ.get("XDG_STATE_HOME"):
        return Path(os.environ["XDG_STATE_HOME"]) / "stacksleuth"
    if os.geteuid() == 0:
        return Path("/var/lib/stacksleuth")
    return Path.home() / ".local" / "state" / "stacksleuth"


def state_path(daemon: Daemon) -> Path:
    """One state file per daemon URI, so two daemons (libvirtd, virtqemud) can be debugged at once."""
    digest = hashlib.sha256(daemon.uri.encode()).hexdigest()[:12]
    return state_dir() / f"debug-logging-{daemon.name}-{digest}.json"


def turn_on(uri: str | None) -> list[str]:
    """Save the daemon's settings (unless already saved), set the debug filters and output; what to tell the user."""
    data = knowledge("debug-logging.yaml")
    daemon = virtadmin.connect(uri)
    path = state_path(daemon)
    saved = _load(path)
    lines = []
    if saved is None:
        saved = Saved(daemon.uri, virtadmin.filters(daemon), virtadmin.outputs(daemon), _debug_output(daemon),
                      datetime.now(UTC).isoformat(timespec="seconds"))
        _store(path, saved)
    else:
        lines.append(data["already_on"].format(saved_at=saved.saved_at))
    wanted = " ".join([o for o in saved.outputs.split() if o != saved.debug_file] + [saved.debug_file])
    try:
        virtadmin.set_outputs(daemon, wanted)
        virtadmin.set_filters(daemon, data["filters"])
    except virtadmin.AdminError:
        _restore(daemon, saved)  # leave the daemon as we found it, and no state behind
        path.unlink(missing_ok=True)
        raise
    undo = "stacksleuth check debug-logging off" + (f" --uri '{uri}'" if uri else "")
    values = {"daemon": daemon.name, "uri": daemon.uri, "file": saved.debug_file.split(":", 2)[2], "state": path,
              "filters": virtadmin.as_given(virtadmin.filters(daemon)), "outputs": virtadmin.outputs(daemon),
              "undo": undo}
    lines += [line.format(**values) for line in data["switched_on"]]
    if daemon.name != "libvirtd":
        lines.append(data["modular"].format(**values))
    return lines


def turn_off(uri: str | None) -> list[str]:
    """Restore the saved filters and outputs, check the daemon reports them again, forget the state."""
    data = knowledge("debug-logging.yaml")
    daemon = virtadmin.connect(uri)
    path = state_path(daemon)
    saved = _load(path)
    if saved is None:
        raise StacksleuthError(data["errors"]["not-on"].format(uri=daemon.uri, state=path))
    _restore(daemon, saved)
    now = (virtadmin.filters(daemon), virtadmin.outputs(daemon))
    if now != (saved.filters, saved.outputs):
        raise StacksleuthError(f"{daemon.uri}: restored, but the daemon now reports filters {now[0]!r} and outputs "
                               f"{now[1]!r} instead of {saved.filters!r} and {saved.outputs!r}; {path} is kept")
    path.unlink()
    values = {"daemon": daemon.name, "uri": daemon.uri, "saved_at": saved.saved_at,
              "filters": virtadmin.as_given(saved.filters) or "(none)",
              "outputs": saved.outputs, "file": saved.debug_file.split(":", 2)[2]}
    return [line.format(**values) for line in data["switched_off"]]


def _restore(daemon: Daemon, saved: Saved) -> None:
    """Filters first, so the debug flood stops before the outputs change."""
    virtadmin.set_filters(daemon, virtadmin.as_given(saved.filters))
    virtadmin.set_outputs(daemon, saved.outputs)


def _debug_output(daemon: Daemon) -> str:
    output: dict[str, str] = knowledge("debug-logging.yaml")["output"]
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return output["session" if daemon.session else "system"].format(daemon=daemon.name, cache=cache)


def _load(path: Path) -> Saved | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("schema", None) != _SCHEMA:
            raise ValueError(f"schema is not {_SCHEMA}")
        return Saved(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise StacksleuthError(f"{path}: not a readable debug-logging state file ({exc}); remove it and set the "
                               "daemon's filters by hand (virt-admin daemon-log-filters)") from exc


def _store(path: Path, saved: Saved) -> None:
    """Written whole or not at all (a rename), before anything on the daemon changes."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps({"schema": _SCHEMA, **asdict(saved)}, indent=2) + "\n", encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        raise StacksleuthError(f"{path}: cannot save the daemon's settings ({exc.strerror}); nothing was changed") from exc
