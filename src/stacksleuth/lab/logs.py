"""What every service logged during a scenario: byte offsets before, the bytes gained after."""

from __future__ import annotations

import glob
import json
import socket
from pathlib import Path

LOG_GLOBS = (
    "/var/log/nova/*.log", "/var/log/keystone/*.log", "/var/log/glance/*.log", "/var/log/placement/*.log",
    "/var/log/neutron/*.log", "/var/log/cinder/*.log", "/var/log/libvirt/libvirtd.log", "/var/log/libvirt/qemu/*.log",
    "/var/log/rabbitmq/*.log", "/var/log/mysql/*.log",
)


def log_files() -> list[Path]:
    return sorted(Path(p) for pattern in LOG_GLOBS for p in glob.glob(pattern))


def flat_name(path: Path) -> str:
    """/var/log/nova/nova-compute.log -> nova__nova-compute.log (the corpus's file names)."""
    return str(path).removeprefix("/var/log/").replace("/", "__")


def mark() -> dict[str, int]:
    """The current size of every lab log."""
    return {str(p): p.stat().st_size for p in log_files()}


def collect(marks: dict[str, int], out: Path) -> list[str]:
    """Copy the bytes each log gained since `marks` into OUT/<dir>__<file>; the names written.

    A log that shrank (rotated or truncated) is copied whole; a log that is new is copied whole.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / "hostname").write_text(socket.gethostname() + "\n")  # names the host, as in a sosreport
    written = ["hostname"]
    for path in log_files():
        size = path.stat().st_size
        start = marks.get(str(path), 0)
        if size < start:
            start = 0
        if size == start:
            continue
        with path.open("rb") as src:
            src.seek(start)
            data = src.read(size - start)
        (out / flat_name(path)).write_bytes(data)
        written.append(flat_name(path))
    return written


def save_marks(marks: dict[str, int], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(marks, indent=1))


def load_marks(path: Path) -> dict[str, int]:
    return {str(k): int(v) for k, v in json.loads(path.read_text()).items()}



def trim(path: Path, max_bytes: int) -> bool:
    """Keep a capture small: when a file exceeds `max_bytes`, keep its head and tail whole lines.

    Used only for the committed corpus; the lines kept are the first and last ones, so the start of the
    scenario and the failure stay in, with line numbers changed.
    """
    data = path.read_bytes()
    if len(data) <= max_bytes:
        return False
    half = max_bytes // 2
    head = data[:half].rsplit(b"\n", 1)[0] + b"\n"
    tail = data[-half:].split(b"\n", 1)[-1]
    path.write_bytes(head + tail)
    return True
