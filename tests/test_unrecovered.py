"""`unrecovered` rules: a failure that matters only while it lasts (a service that never reconnected to RabbitMQ),
on real lab captures of the broker going down and coming back."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, diagnose_json
from stacksleuth.diagnose.rulebook import load_rules
from stacksleuth.errors import KnowledgeError

RULE = "messaging/service-never-reconnected"
RABBIT_DOWN = ROOT / "corpus" / "lab" / "rabbit-down"  # 06:33-06:35: the broker is down until the capture ends
LATER = ROOT / "corpus" / "lab" / "conductor-down"  # 07:18: nova-api logs "Reconnected to AMQP server"


def _named(doc: dict[str, object]) -> set[str]:
    findings = doc["findings"]
    assert isinstance(findings, list)
    return {f["rule"] for f in findings} | {r for f in findings for r in f["related"]}


def test_everyone_reconnected_nothing_to_say() -> None:
    """The lab's first broker outage: every service logged its reconnect after its last error."""
    _, doc = diagnose_json(EXAMPLES / "fault-a-rabbit-down")
    assert "messaging/amqp-unreachable" in _named(doc) and RULE not in _named(doc)


def test_broker_still_down_is_not_a_failure_to_reconnect() -> None:
    """Nobody reconnected before the logs end: the broker is down, which amqp-unreachable says."""
    _, doc = diagnose_json(RABBIT_DOWN)
    assert RULE not in _named(doc)


def test_services_whose_logs_end_unreachable_while_another_reconnected_later() -> None:
    """The same host's logs of the outage, and a later capture in which nova-api reconnected: the services whose
    logs end on "unreachable" are named, each with its own last line."""
    _, doc = diagnose_json(RABBIT_DOWN, LATER)
    (boot,) = [f for f in doc["findings"] if f["instance"] == "4c05877e-cc18-49fe-ad80-cf2b5d964afa"]
    assert boot["rule"] == RULE and "messaging/amqp-unreachable" in boot["related"]
    files = [e["file"].rsplit("/", 1)[-1] for e in boot["evidence"]]
    assert "nova__nova-compute.log" in files and len(files) == len(set(files))  # one line per service: its last
    assert all("is unreachable" in e["text"] and e["text"] >= "2026-11-21 06:35" for e in boot["evidence"])


def test_unrecovered_needs_bundle_scope(tmp_path: Path) -> None:
    (tmp_path / "area").mkdir()
    body = ("id: area/bad\ntitle: t\ncomponent: c\nseverity: error\nsymptom: s\ncause: c\nfix: [f]\nevidence: [e]\n"
            "match: [{message: oops}]\nunrecovered: {recovery: {message: ok}}\n")
    (tmp_path / "area" / "bad.yaml").write_text(body)
    with pytest.raises(KnowledgeError, match=r"area/bad.yaml: `unrecovered` .* needs `scope: bundle`"):
        load_rules(tmp_path)
