"""What runs on a host and what systemd knows of its units, from `ps auxwww` and `systemctl list-units` /
`list-unit-files` (live, or sosreport's captures): one reader for every probe that asks whether a daemon runs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacksleuth.probes.host import Host

_UNIT = re.compile(r"^\W*(?P<unit>[\w@.-]+)\.service\s+(?P<a>\S+)\s+(?P<b>\S+)(?:\s+(?P<c>\S+))?")


@dataclass(frozen=True, slots=True)
class Process:
    """One `ps auxwww` row: its line number in the listing and its command line."""

    line: int
    command: str

    @property
    def name(self) -> str:
        """The program's file name (`/usr/sbin/libvirtd --listen` → `libvirtd`)."""
        return self.command.split()[0].rsplit("/", 1)[-1]

    @property
    def args(self) -> list[str]:
        return self.command.split()[1:]


@dataclass(frozen=True, slots=True)
class Unit:
    """One row of a systemd unit listing: `list-units` gives (load, active, sub), `list-unit-files` (state, preset)."""

    line: int
    name: str  # without `.service`
    columns: tuple[str, str, str]

    @property
    def text(self) -> str:
        return " ".join(x for x in (f"{self.name}.service", *self.columns) if x)


def processes(host: Host) -> tuple[list[Process], str] | None:
    """The host's processes and where the list came from; None when no `ps` output exists."""
    captured = host.command("ps")
    if captured is None:
        return None
    text, where = captured
    found = []
    for number, row in enumerate(text.splitlines(), 1):
        fields = row.split(None, 10)
        if len(fields) == 11 and fields[0] != "USER" and fields[10].strip():
            found.append(Process(number, fields[10].strip()))
    return found, where


def units(host: Host, command: str) -> tuple[dict[str, Unit], str] | None:
    """`systemctl-units` or `systemctl-unit-files` as {unit name: row}; None without systemd (or its capture)."""
    captured = host.command(command)
    if captured is None or ".service" not in captured[0]:
        return None  # systemctl absent, or "System has not been booted with systemd"
    table = {}
    for number, row in enumerate(captured[0].splitlines(), 1):
        if m := _UNIT.match(row):
            table[m["unit"]] = Unit(number, m["unit"], (m["a"], m["b"], m["c"] or ""))
    return table, captured[1]


def running(host: Host, unit: str, programs: tuple[str, ...]) -> tuple[bool | None, str]:
    """Whether a daemon runs: its systemd unit when listed, else one of `programs` in `ps`; None when neither was
    captured. The second value says where that was seen."""
    listed = units(host, "systemctl-units")
    if listed is not None and unit in listed[0]:
        row = listed[0][unit]
        return row.columns[1] == "active", f"{listed[1]}: {row.text}"
    ps = processes(host)
    if ps is None:
        return None, "no systemctl or ps output"
    found = sorted({p.name for p in ps[0]} & set(programs))
    return bool(found), f"{ps[1]}: {', '.join(found) or 'no ' + '/'.join(programs)} process"
