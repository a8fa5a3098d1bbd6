"""Walk the user's paths (directories, sosreports, tarballs of several nodes) into an `Inventory`.

Each directory given is one host unless it holds several sosreports or a `hostname` file names it.
"""

from __future__ import annotations

import tarfile
import tempfile
from pathlib import Path

from stacksleuth.errors import SourceError
from stacksleuth.parsers.registry import sniff
from stacksleuth.services import service_for
from stacksleuth.sources.interface import Inventory, LogFile
from stacksleuth.sources.openers import looks_binary

_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")
_STATE_NAMES = ("server-show.json", "server-event.json")
_NOT_LOGS = (".conf", ".ini", ".json", ".yaml", ".yml", ".py", ".pyc", ".data", ".tsv", ".csv", ".md", ".txt", ".sh")


def discover(paths: list[Path], workdir: Path | None = None) -> Inventory:
    """Find every log under `paths`; archives are unpacked into `workdir` (a temp dir by default)."""
    inventory = Inventory()
    for path in paths:
        if not path.exists():
            raise SourceError(f"{path}: no such file or directory")
        if path.is_file() and path.name.endswith(_ARCHIVES):
            root = _unpack(path, workdir or Path(tempfile.mkdtemp(prefix="stacksleuth-")), inventory)
            if root is not None:
                for host_root, host in _hosts_in(root, default=_archive_stem(path.name)):
                    _walk(host_root, host, f"{path.name}:", inventory)
        elif path.is_file():
            _add(path, _host_name(path.parent), path.parent, str(path), inventory)
        else:
            for host_root, host in _hosts_in(path, default=path.resolve().name):
                _walk(host_root, host, f"{path}/" if host_root == path else "", inventory)
    if not inventory.logs and not inventory.states:
        found = "; ".join(inventory.problems) or "no log files found"
        raise SourceError(f"{', '.join(map(str, paths))}: nothing to read ({found})")
    return inventory


def _archive_stem(name: str) -> str:
    for suffix in _ARCHIVES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _unpack(archive: Path, workdir: Path, inventory: Inventory) -> Path | None:
    """Extract safely (no absolute paths, links out, devices); a truncated archive keeps what was read."""
    target = workdir / _archive_stem(archive.name)
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                try:
                    tar.extract(member, target, filter="data")
                except (tarfile.FilterError, OSError) as exc:
                    inventory.problems.append(f"{archive}:{member.name}: not extracted ({exc})")
    except (tarfile.TarError, EOFError, OSError) as exc:
        inventory.problems.append(f"{archive}: archive is damaged or truncated ({exc}); reading what was extracted")
    return target if any(target.iterdir()) else None


def _hosts_in(root: Path, default: str) -> list[tuple[Path, str]]:
    """Several sosreports (or node dirs with var/log) under one root are several hosts."""
    children = [c for c in sorted(root.iterdir()) if c.is_dir()] if root.is_dir() else []
    nodes = [c for c in children if (c / "var" / "log").is_dir() or (c / "sos_commands").is_dir()]
    if len(nodes) > 1 or (nodes and len(children) == 1):
        return [(node, _host_name(node)) for node in nodes]
    return [(root, _host_name(root, default))]


def _host_name(root: Path, default: str | None = None) -> str:
    """The node's name: sosreport `hostname`, `etc/hostname`, else the directory's name."""
    for candidate in (root / "hostname", root / "etc" / "hostname"):
        if candidate.is_file():
            name = candidate.read_text(errors="replace").strip().split("\n")[0]
            if name:
                return name
    return default or root.resolve().name


def _walk(root: Path, host: str, prefix: str, inventory: Inventory) -> None:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    if not files:
        inventory.problems.append(f"{root}: empty directory")
    for path in files:
        _add(path, host, root, prefix + str(path.relative_to(root)), inventory)


def _add(path: Path, host: str, root: Path, display: str, inventory: Inventory) -> None:
    """Classify one file: a log (with its parser), captured state, or something we do not read."""
    name = path.name
    parts = path.relative_to(root).parts if path.is_relative_to(root) else (name,)
    if name in _STATE_NAMES or name.endswith(tuple(f"__{s}" for s in _STATE_NAMES)):
        inventory.states.append(LogFile(host, path, display, "nova-api", "state"))
        return
    if name.endswith(_NOT_LOGS) or name.startswith(("trace_", "fip_info", "trigger_log")):
        inventory.skipped.append(display)
        return
    try:
        if path.stat().st_size == 0:
            inventory.skipped.append(display)
            return
        if looks_binary(path):
            inventory.problems.append(f"{display}: binary or unreadable file, skipped")
            return
        service = service_for(parts)
        fmt = sniff(path, service)
    except (OSError, EOFError) as exc:
        inventory.problems.append(f"{display}: cannot read ({exc.__class__.__name__}: {exc})")
        return
    if fmt is None:
        fmt = "oslo"  # read it anyway: every line will be counted as unparsed and shown
    inventory.logs.append(LogFile(host, path, display, service, fmt))
