"""One way to ask a host for a file or a command's output, whether it is this machine or a root on disk.

A host root is any directory laid out like `/` (etc/, var/log/, proc/cpuinfo), such as an unpacked
sosreport, where commands are answered from their captured outputs (`sos_commands/…`, see
knowledge/probes/commands.yaml): hotsos' BinCmd | FileCmd idea, so a probe never knows which it reads.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacksleuth.errors import SourceError

_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")
_COMMAND_TIMEOUT = 60  # virt-host-validate takes a few seconds; nothing here should take a minute


@dataclass(frozen=True, slots=True)
class Host:
    """A host to check: `root` is `/` for the live machine, else the directory holding its files."""

    name: str
    root: Path
    live: bool

    def file(self, path: str) -> str | None:
        """The text of `path` (absolute, as on the host), or None when it is absent or unreadable."""
        try:
            return self._path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def exists(self, path: str) -> bool:
        """Whether `path` exists on the host (a device node counts)."""
        return os.path.lexists(self._path(path))

    def glob(self, pattern: str) -> list[str]:
        """Host paths (absolute) matching `pattern`, e.g. `/var/log/libvirt/qemu/*.log`, sorted."""
        return sorted("/" + str(p.relative_to(self.root)) for p in self.root.glob(pattern.lstrip("/")))

    def command(self, name: str, **params: str) -> tuple[str, str] | None:
        """(output, where it came from) of a catalogued command, run live or read from the root's captures.
        `params` fill the catalogue's `{placeholders}` (e.g. ns= for `ip netns exec {ns} …`)."""
        spec = _catalog().get(name)
        if spec is None:
            raise KeyError(f"{name}: not in knowledge/probes/commands.yaml")
        if self.live:
            return _run([part.format(**params) for part in spec["argv"]])
        for relative in spec["files"]:
            text = self.file(relative.format(**params))
            if text is not None:
                return text, relative.format(**params)
        return None

    def _path(self, path: str) -> Path:
        return self.root / path.lstrip("/")


def _catalog() -> dict[str, Any]:
    from stacksleuth.probes.interface import knowledge  # the catalog is knowledge data like the rest

    catalog: dict[str, Any] = knowledge("commands.yaml")
    return catalog


def _run(argv: list[str]) -> tuple[str, str] | None:
    """A command's stdout; None when it is not installed or printed nothing (e.g. systemctl without systemd)."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_COMMAND_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout, "$ " + " ".join(argv)) if done.stdout.strip() else None


def host_name(root: Path) -> str:
    """A root's host name: sosreport `hostname` / `sos_commands/host/hostname`, `etc/hostname`, else the directory."""
    for candidate in ("hostname", "sos_commands/host/hostname", "sos_commands/general/hostname", "etc/hostname"):
        try:
            name = (root / candidate).read_text(errors="replace").strip().splitlines()
        except OSError:
            continue
        if name and name[0].strip():
            return name[0].strip()
    return root.resolve().name


@contextmanager
def open_host(path: Path | None) -> Iterator[Host]:
    """The live host (`path` None), a host root directory, or a sosreport tarball unpacked for the duration."""
    if path is None:
        yield Host(socket.gethostname(), Path("/"), live=True)
    elif path.is_dir():
        yield Host(host_name(path), path, live=False)
    elif path.name.endswith(_ARCHIVES):
        with tempfile.TemporaryDirectory(prefix="stacksleuth-check-") as tmp:
            root = _unpack(path, Path(tmp))
            yield Host(host_name(root), root, live=False)
    else:
        raise SourceError(f"{path}: not a directory or a .tar[.gz|.xz|.bz2] host root")


def _unpack(archive: Path, target: Path) -> Path:
    """Extract safely (tarfile's `data` filter: no absolute paths, links out, devices); the node root inside."""
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceError(f"{archive}: cannot unpack ({exc.__class__.__name__}: {' '.join(str(exc).split())})") from exc
    entries = [p for p in target.iterdir()]
    # a sosreport tarball holds one top directory (sosreport-<host>-<date>/); a bare root holds etc/, var/…
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else target

