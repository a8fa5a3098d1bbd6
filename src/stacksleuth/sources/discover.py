"""Walk the user's paths (directories, sosreports, tarballs of several nodes) into an `Inventory`.

Each directory given is one host unless it holds nodes: sosreports, data roots with `var/log` (hotsos'
fake_data_root, os-log-merger's `<case>/logs/<host>/var/log`), DESSERT lab runs (`logs/round_<n>`).
A node's name comes from its `hostname` file, its sosreport name, what its own daemons print, or its directory.
"""

from __future__ import annotations

import lzma
import re
import socket
import tarfile
import tempfile
import zlib
from itertools import islice
from pathlib import Path

from stacksleuth.errors import SourceError
from stacksleuth.parsers.registry import sniff
from stacksleuth.probes.cloud_capture import kind_of, opens_like_save
from stacksleuth.services import service_for
from stacksleuth.sources.interface import SAVED_ANSWERS, Inventory, LogFile
from stacksleuth.sources.openers import open_binary, open_text

_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")
_STATE_NAMES = ("server-show.json", "server-event.json")
# names `check cloud --save FILE` is often given; any other file is one too when its content says so
_CAPTURE_NAMES = (".json", ".txt")
_NOT_LOGS = (".conf", ".ini", ".json", ".yaml", ".yml", ".py", ".pyc", ".data", ".tsv", ".csv", ".md", ".txt", ".sh",
             ".rst", ".html", ".placeholder")
# not logs: zipkin trace dumps and fault descriptions (DESSERT lab), project documents
_NOT_LOG_NAMES = ("trace_", "fip_info", "README", "LICENSE", "NOTES", "COPYING", "AUTHORS", ".")
# a fault-injection harness's own records (the injector's trigger log, the workload's verdicts): they are
# the answer key of a test, not something a cloud writes, so a diagnosis must never read them
_HARNESS = ("trigger_log", "openstack_demo_workload-")
_ROUND = re.compile(r"round_\d+")
# sosreport-<host>[-<case id>]-<date>-<random>, sosreport-<host>-<date>… (sos 3 and 4)
_SOSREPORT = re.compile(r"sosreport-(.+?)(?:-\d{5,})?-\d{4}-\d\d-\d\d-\w+")
_LOGGED_HOST = re.compile(r"(?:hostname: |info : hostname: )([\w.-]+)")
_NODE_DEPTH = 4


def discover(paths: list[Path], workdir: Path | None = None) -> Inventory:
    """Find every log under `paths`; archives are unpacked into `workdir` (a temp dir by default).

    Nothing is fatal while something else is readable: a missing path, an empty directory, a binary or
    unreadable file, a damaged archive each become one line in `inventory.problems` naming the file.
    `SourceError` only when no log at all could be found.
    """
    inventory = Inventory()
    for path in paths:
        if not path.exists() and not path.is_symlink():
            inventory.problems.append(f"{path}: no such file or directory")
        elif path.is_file() and path.name.endswith(_ARCHIVES):
            root = _unpack(path, workdir or Path(tempfile.mkdtemp(prefix="stacksleuth-")), inventory)
            if root is not None:
                for host_root, host in _hosts_in(root, default=_archive_stem(path.name)):
                    _walk(host_root, host, f"{path.name}:{host_root.relative_to(root)}/".replace(":./", ":"), inventory)
        elif path.is_dir():
            for host_root, host in _hosts_in(path, default=_dir_name(path)):
                _walk(host_root, host, f"{host_root}/", inventory)
        else:
            # its directory names the service as in a tree: /var/log/neutron/server.log is neutron-server
            _add(path, _host_of_file(path), path.parent.parent, str(path), inventory)
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
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib.error) as exc:
        inventory.problems.append(f"{archive}: archive is damaged or truncated ({exc.__class__.__name__}: "
                                  f"{_one_line(exc)}); reading what was extracted")
    if not any(target.iterdir()):
        inventory.problems.append(f"{archive}: no file could be extracted")
        return None
    return target


def _one_line(exc: BaseException) -> str:
    """An exception's text on one line (tarfile lists every method it tried, one per line)."""
    return " ".join(str(exc).split())


def _looks_binary(head: bytes) -> bool:
    """Not text: starts with a NUL or an executable/archive magic, or over 10 % control bytes in the first 4 KiB.
    (A few garbage bytes inside a text log are not enough: those lines are counted as unparsed instead.)"""
    if not head:
        return False
    if head[:1] == b"\x00" or head.startswith((b"\x7fELF", b"PK\x03\x04", b"\x89PNG")):
        return True
    control = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 13, 27))
    return control * 10 > len(head)


def _is_node(path: Path) -> bool:
    """A node's root: a sosreport (sos_commands/, hostname), a data root with var/log, a DESSERT lab run."""
    return (
        (path / "var" / "log").is_dir()
        or (path / "sos_commands").is_dir()
        or (_ROUND.fullmatch(path.name) is not None and path.parent.name == "logs")
    )


def _hosts_in(root: Path, default: str) -> list[tuple[Path, str]]:
    """The nodes under `root` (searched a few levels down: os-log-merger's `<case>/logs/<host>/var/log`),
    or `root` itself as one host. Files outside every node belong to `root`'s host."""
    if not root.is_dir() or _is_node(root):
        return [(root, _host_name(root, default))]
    nodes: list[Path] = []
    frontier = [root]
    for _ in range(_NODE_DEPTH):
        children = [c for d in frontier for c in sorted(d.iterdir()) if c.is_dir() and not c.is_symlink()]
        nodes += [c for c in children if _is_node(c)]
        frontier = [c for c in children if not _is_node(c)]
        if not frontier:
            break
    if not nodes:
        return [(root, _host_name(root, default))]
    found = [(node, _host_name(node, _dir_name(node))) for node in nodes]
    if any(p.is_file() for p in _files(root, exclude=set(nodes))):
        found.append((root, _host_name(root, default)))
    return found


def _dir_name(path: Path) -> str:
    """A directory's name as a host; a DESSERT lab run `<Project>/Test_<n>/logs/round_<k>` is `Project-Test_n-round_k`."""
    path = path.resolve()
    if _ROUND.fullmatch(path.name) and path.parent.name == "logs" and len(path.parents) > 3:
        return f"{path.parents[2].name}-{path.parents[1].name}-{path.name}"
    return path.name


def _host_name(root: Path, default: str | None = None) -> str:
    """The node's name: sosreport `hostname`/`sos_commands/…/hostname`, `etc/hostname`, the sosreport's
    directory name, the node name its own logs print (qemu/libvirt `hostname:`, `rabbit@<host>`), else
    the directory's name."""
    for candidate in (root / "hostname", root / "sos_commands" / "host" / "hostname",
                      root / "sos_commands" / "general" / "hostname", root / "etc" / "hostname"):
        try:
            if candidate.is_file():
                name = candidate.read_text(errors="replace").strip().split("\n")[0].strip()
                if name:
                    return name
        except OSError:
            continue
    if root.name == "log" and root.parent.name == "var":  # a host's var/log given by itself (`diagnose /var/log`)
        system = root.resolve().parent.parent
        return _host_name(system, socket.gethostname() if system == Path("/") else _dir_name(system))
    sos = _SOSREPORT.fullmatch(root.name)
    if sos:
        return sos.group(1)
    if (root / "var" / "log").is_dir():
        named = _host_from_logs(root / "var" / "log")
        if named:
            return named
    return default or _dir_name(root)


def _host_of_file(path: Path) -> str:
    """A file given by itself belongs to the host whose var/log holds it, else to the host of its directory."""
    logs = next((d for d in path.resolve().parents if d.name == "log" and d.parent.name == "var"), None)
    return _host_name(logs if logs is not None else path.parent)


def _host_from_logs(log_dir: Path) -> str | None:
    """Hostname printed by the node's own daemons, for data roots that have no `hostname` file (hotsos)."""
    for pattern in ("libvirt/qemu/*.log", "libvirt/libvirtd.log"):
        for path in sorted(log_dir.glob(pattern))[:3]:
            try:
                with open_text(path) as fh:
                    for line in islice(fh, 50):
                        m = _LOGGED_HOST.search(line)
                        if m:
                            return m.group(1)
            except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):
                continue
    for path in sorted(log_dir.glob("rabbitmq/rabbit@*.log")):
        return path.name[len("rabbit@") : -len(".log")].removesuffix("_upgrade")
    return None


def _files(root: Path, exclude: set[Path] = frozenset()) -> list[Path]:  # type: ignore[assignment]
    """Files under `root`, not inside the `exclude` directories; a sosreport contributes its logs only."""
    if (root / "sos_commands").is_dir() and (root / "var" / "log").is_dir():
        bases = [root / "var" / "log", root / "sos_commands" / "logs"]
    else:
        bases = [root]
    found: list[Path] = []
    for base in bases:
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            if exclude and any(path.is_relative_to(e) for e in exclude):
                continue
            if path.is_symlink() and not path.exists():
                continue
            if path.is_file():
                found.append(path)
    return sorted(found)


def _walk(root: Path, host: str, prefix: str, inventory: Inventory) -> None:
    inventory.roots.setdefault(host, root)
    nodes = set() if _is_node(root) else {n for n, _ in _hosts_in(root, host) if n != root}
    files = _files(root, exclude=nodes)
    if not files:
        inventory.problems.append(f"{root}: empty directory, no files to read")
    for path in files:
        _add(path, host, root, prefix + str(path.relative_to(root)), inventory)


def _saved_answers(path: Path, host: str, display: str, named: bool, inventory: Inventory) -> bool:
    """A saved `check cloud|server --save` capture, known by its content (`schema`, `kind`) whatever its name:
    captured state, not a log. A file not `named` like one (.json, .txt) must look as `--save` writes it (`{` alone
    on the first line), so that JSON-lines logs are not read twice. True when the file was taken (or reported
    unreadable)."""
    try:
        kind = kind_of(path, pretty_only=not named)
    except SourceError as exc:
        inventory.problems.append(f"{str(exc).replace(str(path), display)}, skipped")
        return True
    if kind is None:
        return False
    inventory.states.append(LogFile(host, path, display, "cloud-api", SAVED_ANSWERS[kind]))
    return True


def _add(path: Path, host: str, root: Path, display: str, inventory: Inventory) -> None:
    """Classify one file: a log (with its parser), captured state, or something we do not read."""
    name = path.name
    parts = path.relative_to(root).parts if path.is_relative_to(root) else (name,)
    if name in _STATE_NAMES or name.endswith(tuple(f"__{s}" for s in _STATE_NAMES)):
        inventory.states.append(LogFile(host, path, display, "nova-api", "state"))
        return
    harness = name.startswith(_HARNESS)
    if not harness and name.endswith(_CAPTURE_NAMES) and _saved_answers(path, host, display, True, inventory):
        return
    if harness or name.endswith(_NOT_LOGS) or name.startswith(_NOT_LOG_NAMES):
        inventory.skipped.append(display)
        return
    try:
        if path.stat().st_size == 0:
            inventory.skipped.append(display)
            return
        with open_binary(path) as fh:
            head = fh.read(4096)
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        inventory.problems.append(f"{display}: cannot read ({exc.__class__.__name__}: {_one_line(exc)}), skipped")
        return
    if _looks_binary(head):
        inventory.problems.append(f"{display}: binary file (not text), skipped")
        return
    if opens_like_save(head) and _saved_answers(path, host, display, False, inventory):
        return  # a capture saved under a log-like name; other logs are not opened again for it
    service = service_for(parts)
    try:
        fmt = sniff(path, service)
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        inventory.problems.append(f"{display}: cannot read ({exc.__class__.__name__}: {exc}), skipped")
        return
    if fmt is None:
        fmt = "oslo"  # read it anyway: lines without a known header are kept as raw records
    inventory.logs.append(LogFile(host, path, display, service, fmt))
