"""Every rule loads, and every rule's evidence is a real log line that the rule matches."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from conftest import ROOT
from scenario_files import materialise
from stacksleuth.diagnose.rulebook import Rule, load_rules
from stacksleuth.errors import KnowledgeError
from stacksleuth.events import Event
from stacksleuth.index.ingest import ingest
from stacksleuth.index.store import EventStore
from stacksleuth.sources.discover import discover
from stacksleuth.workflows.machine import builtin_workflow

RULES = load_rules()


def _events_of(path: Path) -> list[Event]:
    inventory = discover([path])
    with tempfile.TemporaryDirectory() as tmp:
        ingest(inventory.logs, Path(tmp) / "parts")
        store = EventStore(Path(tmp) / "parts")
        try:
            return store.events()
        finally:
            store.close()


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_evidence_is_real_and_matched(rule: Rule) -> None:
    assert rule.evidence, f"{rule.id} has no evidence"
    for ref in rule.evidence:
        path_text, _, line_text = ref.partition(":")
        path = (ROOT / path_text).resolve()
        if not path.exists():
            if "../shared/" in path_text:
                pytest.skip(f"{path_text} is in ../shared, not present here")
            pytest.fail(f"{rule.id}: evidence file {path_text} does not exist")
        if not line_text or not rule.match:
            continue  # missing-evidence rules point at a whole file
        line = int(line_text)
        if path.suffix == ".yaml":  # a hotsos scenario: the line is inside one of its embedded log files
            with tempfile.TemporaryDirectory() as tmp:
                where = materialise(path, Path(tmp))
                assert line in where, f"{rule.id}: {ref} is not a log line"
                file, line = where[line]
                events = [e for e in _events_of(file) if e.line == line]
        else:
            events = [e for e in _events_of(path) if e.line == line]
        assert events, f"{rule.id}: {ref} is not the first line of an event"
        assert any(p.matches(events[0]) for p in rule.match), f"{rule.id}: no pattern matches {ref}: {events[0].message}"


def test_rule_ids_are_paths() -> None:
    assert all(r.id.count("/") == 1 for r in RULES)


def test_unknown_key_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "area").mkdir()
    (tmp_path / "area" / "bad.yaml").write_text(
        "id: area/bad\ntitle: t\ncomponent: c\nseverity: error\nsymptom: s\ncause: c\nfix: [f]\nevidence: [e]\n"
        "match: [{mesage: oops}]\n"
    )
    with pytest.raises(KnowledgeError, match=r"area/bad.yaml:match\[0\]: unknown key"):
        load_rules(tmp_path)


def test_boot_workflow_stage_order() -> None:
    workflow = builtin_workflow("boot")
    assert [s.id for s in workflow.stages] == ["api", "scheduling", "networking", "block_device_mapping", "spawning", "active"]
