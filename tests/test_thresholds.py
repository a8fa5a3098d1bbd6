"""Rules with a threshold fire on a burst of real lines, not on the same lines logged a few times."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import ROOT, SHARED_DATA
from scenario_files import materialise
from stacksleuth.analysis import Analysis
from stacksleuth.diagnose.engine import diagnose
from stacksleuth.diagnose.rulebook import Rule, Threshold, load_rules
from stacksleuth.errors import KnowledgeError
from stacksleuth.findings import Finding

RULES = {r.id: r for r in load_rules()}
HOTSOS = SHARED_DATA / "hotsos-fixtures"
RABBIT_STORM = HOTSOS / "fake_data_root" / "rabbitmq"  # a charmed cloud's broker during service restarts
RABBIT_LAB = ROOT / "corpus" / "lab" / "linuxbridge-agent-down"  # our lab's broker: a handful of closes


def _findings(rule: Rule, *paths: Path) -> tuple[list[Finding], int]:
    """The bundle findings of one rule on `paths`, and how many events its patterns match at all."""
    analysis = Analysis.open(list(paths), workers=1)
    try:
        where = " OR ".join(f"({p.sql()[0]})" for p in rule.match)
        params = [x for p in rule.match for x in p.sql()[1]]
        matched = int(analysis.store.scalar(f"SELECT count(*) FROM events WHERE {where}", params))
        return diagnose(analysis.store, [], [rule], {}), matched
    finally:
        analysis.close()


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return path


def _densest(times: list[datetime], within: timedelta) -> int:
    """Most timestamps in any window of length `within` ending at one of them (a plain two-pointer count)."""
    best, first = 0, 0
    for last, end in enumerate(times):
        while times[first] < end - within:
            first += 1
        best = max(best, last - first + 1)
    return best


def _abrupt_closes(log: Path) -> Iterator[datetime]:
    """Times of 'client unexpectedly closed TCP connection', read straight from a RabbitMQ 3.8 log."""
    lines = log.read_text().splitlines()
    for head, reason in zip(lines, lines[1:], strict=False):
        if "closing AMQP connection" in head and reason == "client unexpectedly closed TCP connection":
            yield datetime.strptime(head[:23], "%Y-%m-%d %H:%M:%S.%f")


def test_connection_storm_fires_with_the_densest_window() -> None:
    rule = RULES["messaging/rabbitmq-connection-churn"]
    log = _need(RABBIT_STORM) / "var" / "log" / "rabbitmq" / "rabbit@juju-04f1e3-1-lxd-5.log"
    assert rule.threshold is not None and rule.threshold.within is not None
    within = rule.threshold.within
    times = sorted(_abrupt_closes(log))
    findings, matched = _findings(rule, RABBIT_STORM)
    assert len(findings) == 1
    found = findings[0]
    assert found.count == matched == len(times) == 1246
    burst = _densest(times, within)
    assert burst >= rule.threshold.count
    assert f"{burst} clients vanished without closing within 10m" in found.title
    # the evidence is the densest window's first lines, not the file's first lines
    end = next(t for i, t in enumerate(times) if _densest(times[: i + 1], within) == burst)
    start = min(t for t in times if t >= end - within)
    assert found.evidence[0].text.startswith(start.strftime("%Y-%m-%d %H:%M:%S.%f")[:23])
    assert start > times[0]


def test_a_few_abrupt_closes_are_not_a_storm() -> None:
    rule = RULES["messaging/rabbitmq-connection-churn"]
    findings, matched = _findings(rule, RABBIT_LAB)
    assert rule.threshold is not None
    assert 0 < matched < rule.threshold.count  # the pattern matches, the rate does not
    assert findings == []


def test_threshold_is_reached_exactly() -> None:
    """One more than the densest window is too many: the window count, not the total, decides."""
    base = RULES["messaging/rabbitmq-connection-churn"]
    log = _need(RABBIT_STORM) / "var" / "log" / "rabbitmq" / "rabbit@juju-04f1e3-1-lxd-5.log"
    within = timedelta(minutes=1)
    burst = _densest(sorted(_abrupt_closes(log)), within)
    assert burst < 1246  # the total is far above the one-minute peak
    at = replace(base, threshold=Threshold(burst, within, "1m"))
    above = replace(base, threshold=Threshold(burst + 1, within, "1m"))
    assert len(_findings(at, RABBIT_STORM)[0]) == 1
    assert _findings(above, RABBIT_STORM)[0] == []


@pytest.mark.parametrize(("rule_id", "scenario"), [
    ("network/ovn-bfd-flapping", "openvswitch/ovn/bfd_flapping_vswitchd_only.yaml"),
    ("network/ovn-raft-elections", "openvswitch/ovn/ovn_elections_sb.yaml"),
    ("network/ovn-db-leader-changing", "openstack/neutron/ovndb_nb_leader_bouncing.yaml"),
    ("octavia/amphora-failovers", "openstack/octavia/excessive_failovers.yaml"),
])
def test_hotsos_burst_scenarios_fire_at_their_threshold_only(rule_id: str, scenario: str) -> None:
    """hotsos's own fixtures for its rate checks fire; asking for more lines than they hold does not."""
    rule = RULES[rule_id]
    assert rule.threshold is not None
    with tempfile.TemporaryDirectory() as tmp:
        materialise(_need(HOTSOS / "scenarios" / scenario), Path(tmp))
        findings, matched = _findings(rule, Path(tmp))
        assert len(findings) == 1 and findings[0].count == matched >= rule.threshold.count
        more = Threshold(matched + 1, rule.threshold.within, rule.threshold.text)
        assert _findings(replace(rule, threshold=more), Path(tmp))[0] == []


def _match_times(rule: Rule, path: Path) -> list[datetime]:
    """When the events a rule's patterns match were logged (one host here), read from the index."""
    analysis = Analysis.open([path], workers=1)
    try:
        where = " OR ".join(f"({p.sql()[0]})" for p in rule.match)
        params = [x for p in rule.match for x in p.sql()[1]]
        rows = analysis.store.rows(f"SELECT ts FROM events WHERE {where} ORDER BY ts", params)
    finally:
        analysis.close()
    return [datetime.fromisoformat(r[0]) for r in rows]


def test_long_poll_intervals_spread_over_days_are_not_a_stall() -> None:
    """hotsos's compute host: OVS and OVN daemons logged more long loops than the rule's count, but spread over a
    week; no hour holds that many, so the rule is quiet. At the densest hour's size it fires, one above it not."""
    rule = RULES["network/ovs-long-poll-intervals"]
    root = _need(HOTSOS / "fake_data_root" / "openstack")
    assert rule.threshold is not None and rule.threshold.within is not None
    times = _match_times(rule, root)
    burst = _densest(times, rule.threshold.within)
    assert len(times) >= rule.threshold.count > burst >= 2
    assert _findings(rule, root)[0] == []
    at = replace(rule, threshold=Threshold(burst, rule.threshold.within, rule.threshold.text))
    found = _findings(at, root)[0]
    assert len(found) == 1 and f"{burst} unreasonably long poll intervals within 1h" in found[0].title
    assert _findings(replace(rule, threshold=Threshold(burst + 1, rule.threshold.within, "1h")), root)[0] == []


def _load(tmp_path: Path, extra: str) -> list[Rule]:
    (tmp_path / "area").mkdir(exist_ok=True)
    (tmp_path / "area" / "r.yaml").write_text(
        "id: area/r\ntitle: t\ncomponent: c\nseverity: warning\nsymptom: s\ncause: c\nfix: [f]\nevidence: [e]\n"
        "match: [{message: oops}]\n" + extra)
    return load_rules(tmp_path)


def test_threshold_is_loaded(tmp_path: Path) -> None:
    rule = _load(tmp_path, "scope: bundle\nthreshold: {count: 10, within: 90s}\n")[0]
    assert rule.threshold == Threshold(10, timedelta(seconds=90), "90s")
    assert _load(tmp_path, "scope: bundle\nthreshold: {count: 20}\n")[0].threshold == Threshold(20)


@pytest.mark.parametrize(("extra", "error"), [
    ("threshold: {count: 10, within: 1h}\n", "needs `scope: bundle`"),
    ("scope: bundle\nthreshold: {count: 1, within: 1h}\n", "at least 2"),
    ("scope: bundle\nthreshold: {count: 5, within: 1 hour}\n", "duration like"),
    ("scope: bundle\nthreshold: {count: 5, within: 0m}\n", "duration like"),
    ("scope: bundle\nthreshold: {within: 1h}\n", "a mapping with `count`"),
])
def test_bad_threshold_names_the_file(tmp_path: Path, extra: str, error: str) -> None:
    with pytest.raises(KnowledgeError, match=re.escape("area/r.yaml") + ".*" + re.escape(error)):
        _load(tmp_path, extra)
