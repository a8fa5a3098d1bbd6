"""The shared real datasets: every line explained (no unparsed line), the right format per file, ids traceable."""

from __future__ import annotations

import bisect
import re
import tempfile
from pathlib import Path

import pytest

from conftest import run_cli
from stacksleuth.analysis import Analysis
from stacksleuth.correlate.trace import trace_events
from stacksleuth.index.ingest import ingest
from stacksleuth.sources.discover import discover
from stacksleuth.sources.openers import open_text

_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f-]{27}|(?<=\[instance: )[0-9a-f-]{36}")

DATASETS = {
    "loghub-2k": ["loghub-openstack-2k/OpenStack_2k.log"],
    "hotsos": ["hotsos-fixtures/fake_data_root/openstack", "hotsos-fixtures/fake_data_root/rabbitmq"],
    "os-log-merger": ["os-log-merger-contrib"],
    "lab-zed": ["lab-zed"],
    "dessertlab": ["dessertlab-fault-injection-dataset/core"],
}
# every file of these services must be read by this parser, not fall back to oslo
EXPECTED_FORMAT = {"ovs-vswitchd": "vlog", "ovsdb-server": "vlog", "ovn-controller": "vlog", "ovn-northd": "vlog",
                   "ovsdb-server-nb": "vlog", "ovsdb-server-sb": "vlog", "qemu": "qemu", "libvirtd": "libvirtd",
                   "rabbitmq": "rabbitmq", "rabbitmq-startup": "plain", "pinger": "tool-tag"}


def _reports(shared: Path, name: str):
    inventory = discover([shared / p for p in DATASETS[name]])
    with tempfile.TemporaryDirectory() as tmp:
        return inventory, ingest(inventory.logs, Path(tmp) / "parts", workers=2)


@pytest.mark.parametrize("name", list(DATASETS))
def test_no_unparsed_line(shared_data: Path, name: str) -> None:
    inventory, reports = _reports(shared_data, name)
    assert not inventory.problems and not [r.error for r in reports if r.error]
    bad = {r.file: r.stats.samples for r in reports if r.stats.unparsed}
    assert not bad, bad
    for r in reports:
        assert r.stats.lines == r.stats.events + r.stats.continuation + r.stats.blank, r.file
        if r.service in EXPECTED_FORMAT:
            assert r.fmt == EXPECTED_FORMAT[r.service], (r.file, r.fmt)


def test_host_names_from_layout(shared_data: Path) -> None:
    hosts = lambda name: {log.host for log in discover([shared_data / p for p in DATASETS[name]]).logs}  # noqa: E731
    assert hosts("os-log-merger") == {"hp-ms-01-c29", "hp-ms-01-c30", "controller1", "networker2"}
    assert hosts("hotsos") == {"compute4.mylab.home", "juju-04f1e3-1-lxd-5"}
    dessert = hosts("dessertlab")
    assert "Nova-Test_23-round_1" in dessert and all(re.fullmatch(r"\w+-Test_\d+-round_\d", h) for h in dessert)


def _ids(paths: list[Path]) -> tuple[set[str], set[str]]:
    reqs: set[str] = set()
    insts: set[str] = set()
    for path in paths:
        with open_text(path) as fh:
            for line in fh:
                head = line[: line.find("] ", line.find("[instance: ") + 1) + 1]
                reqs.update(k for k in _ID.findall(head) if k.startswith("req-"))
                insts.update(k for k in _ID.findall(head) if not k.startswith("req-"))
    return reqs, insts


@pytest.mark.parametrize("name,paths", [
    ("loghub-2k", ["loghub-openstack-2k/OpenStack_2k.log"]),
    ("hotsos-nova", ["hotsos-fixtures/fake_data_root/openstack/var/log/nova"]),
])
def test_every_request_and_instance_id_is_traceable(shared_data: Path, name: str, paths: list[str]) -> None:
    """For each id, the events `trace` returns cover every physical line that carries it."""
    roots = [shared_data / p for p in paths]
    files = [f for r in roots for f in ([r] if r.is_file() else sorted(r.rglob("*"))) if f.is_file() and f.stat().st_size]
    reqs, insts = _ids(files)
    assert reqs and (insts or name == "hotsos-nova")  # hotsos' nova logs carry no `[instance: …]`
    analysis = Analysis.open(roots)
    try:
        starts: dict[str, list[int]] = {}
        for file, line in analysis.store.rows("SELECT file, line FROM events ORDER BY file, line"):
            starts.setdefault(file, []).append(line)
        carriers: dict[str, list[tuple[str, int]]] = {}
        for log in analysis.inventory.logs:
            with open_text(log.path) as fh:
                for lineno, line in enumerate(fh, 1):
                    # ids the line carries as its own: in its context bracket or `[instance: …]` prefix (an id
                    # quoted inside the message, e.g. placement's error body, belongs to another service's line)
                    for key in _ID.findall(line[: line.find("] ", line.find("[instance: ") + 1) + 1]):
                        carriers.setdefault(key, []).append((log.display, lineno))
        for key in sorted(reqs | insts):
            events = trace_events(analysis.store, key, limit=10**6)
            got = {(e.file, e.line) for e in events}
            for file, lineno in carriers[key]:
                # the line is an event's first line, or folded into the event that starts before it
                first = starts[file][bisect.bisect_right(starts[file], lineno) - 1]
                assert (file, first) in got, (key, file, lineno)
    finally:
        analysis.close()
    # and the CLI says the same for one of each
    for key in [sorted(reqs)[0]] + sorted(insts)[:1]:
        code, out, err = run_cli("trace", "--json", key, *map(str, roots))
        assert code == 0 and key in out and not err
