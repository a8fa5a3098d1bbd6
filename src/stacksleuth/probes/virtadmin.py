"""A libvirt daemon's runtime logging settings, read and set through `virt-admin` on the daemon a URI names
(`libvirtd:///system`, `virtqemud:///system`, `…?socket=/path/admin-sock`): nothing is restarted or edited."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

from stacksleuth.errors import StacksleuthError
from stacksleuth.probes.interface import knowledge

_TIMEOUT = 30  # virt-admin answers in milliseconds; a hung daemon must not hang the CLI
_NOISE = ("Failed to connect to the admin server", "no valid connection")  # virt-admin's generic preamble


class AdminError(StacksleuthError):
    """virt-admin is missing, or the daemon refused or could not be reached (one line, with what to do)."""


@dataclass(frozen=True, slots=True)
class Daemon:
    """A daemon's admin connection, as virt-admin resolved it (`virt-admin uri`)."""

    uri: str

    @property
    def name(self) -> str:
        """The daemon's program name: the URI's scheme (libvirtd, virtqemud, …)."""
        return urlsplit(self.uri).scheme or "libvirtd"

    @property
    def session(self) -> bool:
        """A per-user daemon (`…:///session`), which logs under the user's cache directory, not /var/log."""
        return urlsplit(self.uri).path.rstrip("/") == "/session"


def connect(uri: str | None) -> Daemon:
    """The daemon `uri` names (virt-admin's default when None); fails when it cannot be reached."""
    return Daemon(_run(uri, "uri").strip() or (uri or ""))


def filters(daemon: Daemon) -> str:
    """The filters as the daemon reports them (libvirt ≥ 4.4 shows each match wrapped in `*`: `3:*remote*`)."""
    return _value(_run(daemon.uri, "daemon-log-filters"), "Logging filters:")


def outputs(daemon: Daemon) -> str:
    """The outputs as the daemon reports them, e.g. `3:file:/var/log/libvirt/libvirtd.log`."""
    return _value(_run(daemon.uri, "daemon-log-outputs"), "Logging outputs:")


def set_filters(daemon: Daemon, value: str) -> None:
    """Replace the filters; "" removes them all."""
    _run(daemon.uri, "daemon-log-filters", value)


def set_outputs(daemon: Daemon, value: str) -> None:
    """Replace the outputs; "" returns to the daemon's default output."""
    _run(daemon.uri, "daemon-log-outputs", value)


def as_given(reported: str) -> str:
    """The filters to give back so the daemon reports `reported` again: libvirt stores `remote` as `*remote*`
    and reports that, so setting the report verbatim would wrap it twice (`**remote**`)."""
    parts = [part.split(":", 1) for part in reported.split()]
    if not parts or not all(len(p) == 2 and len(p[1]) >= 2 and p[1][0] == p[1][-1] == "*" for p in parts):
        return " ".join(reported.split())  # an older libvirt that reports filters as given
    return " ".join(f"{level}:{match[1:-1]}" for level, match in parts)


def _value(text: str, label: str) -> str:
    for line in text.splitlines():
        if label in line:
            return " ".join(line.split(label, 1)[1].split())
    raise AdminError(f"virt-admin printed no '{label}' line: {' '.join(text.split())[:200]!r}")


def _run(uri: str | None, *args: str) -> str:
    if shutil.which("virt-admin") is None:
        raise AdminError(knowledge("debug-logging.yaml")["errors"]["missing"])
    argv = ["virt-admin", *(("-c", uri) if uri else ()), *args]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AdminError(f"virt-admin {' '.join(args)}: no answer from {uri or 'the default daemon'} in "
                         f"{_TIMEOUT} s") from exc
    if done.returncode != 0:
        raise AdminError(_explain(uri, done.stderr))
    return done.stdout


def _explain(uri: str | None, stderr: str) -> str:
    """virt-admin's errors as one line, with the likely reason: the daemon is down, or we may not talk to it."""
    said = [line.removeprefix("error:").strip() for line in stderr.splitlines() if line.strip()]
    said = [line for line in said if line not in _NOISE] or said or ["virt-admin failed"]
    errors = knowledge("debug-logging.yaml")["errors"]
    text = "; ".join(said)
    if any(word in text for word in ("No such file", "Connection refused")):
        hint = errors["not-running"]
    elif any(word in text for word in ("Permission denied", "forbidden", "authentication", "Authentication")):
        hint = errors["permission"]
    else:
        hint = ""
    daemon = Daemon(uri or "libvirtd:///system")
    return f"{uri or 'default admin URI'}: {text}" + (f" — {hint.format(daemon=daemon.name)}" if hint else "")
