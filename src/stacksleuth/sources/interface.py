"""The records the sources layer hands to the parsers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: LogFile.fmt of a saved `check cloud|server --save` capture, by its `kind`
SAVED_ANSWERS = {"cloud": "cloud-answers", "server": "server-answers"}


@dataclass(frozen=True, slots=True)
class LogFile:
    """One file to parse: where it is on disk and what it is."""

    host: str  # node the file belongs to
    path: Path  # readable path on disk (inside an extraction dir for archives)
    display: str  # the path as the user knows it (archive member or given path)
    service: str  # nova-compute, neutron-server, libvirtd, qemu, rabbitmq …
    fmt: str  # parser name: oslo, libvirtd, qemu, rabbitmq, mariadb, …


@dataclass(slots=True)
class Inventory:
    """Everything found under the user's paths, and what could not be read."""

    logs: list[LogFile] = field(default_factory=list)
    states: list[LogFile] = field(default_factory=list)  # server-show.json, saved `check cloud` answers: captured state
    problems: list[str] = field(default_factory=list)  # one line each: "<file>: <what is wrong>"
    skipped: list[str] = field(default_factory=list)  # files that are not logs we read (configs, traces…)
    roots: dict[str, Path] = field(default_factory=dict)  # host → the directory its files came from (host facts)
