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
    assert rule.evidence or rule.source, f"{rule.id} has neither evidence (real lines) nor source (message templates)"
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


SOURCED = [r for r in RULES if r.source]


@pytest.mark.parametrize("rule", SOURCED, ids=[r.id for r in SOURCED])
def test_source_rule_matches_its_rendered_samples(rule: Rule) -> None:
    """A rule backed by source templates instead of captured lines: every sample line rendered from those
    templates, written where the service would log it, parses into an event the rule's patterns match."""
    if not rule.evidence:
        assert rule.samples, f"{rule.id}: a source-only rule needs `samples` rendered from its templates"
    matched = [False] * len(rule.match)
    for file, text in rule.samples:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "host" / file
            path.parent.mkdir(parents=True)
            path.write_text(text + "\n")
            events = [e for e in _events_of(path.parents[len(Path(file).parts) - 1]) if e.line == 1]
        assert events, f"{rule.id}: sample for {file} does not parse: {text}"
        hits = [p.matches(events[0]) for p in rule.match]
        assert any(hits), f"{rule.id}: no pattern matches its sample ({events[0].service}): {events[0].message}"
        matched = [a or b for a, b in zip(matched, hits, strict=True)]
    if not rule.evidence:  # no real line backs any pattern: each one must at least match a rendered sample
        assert all(matched), f"{rule.id}: pattern(s) {[i for i, m in enumerate(matched) if not m]} match no sample"


def test_evidence_or_source_is_required(tmp_path: Path) -> None:
    (tmp_path / "area").mkdir()
    body = "title: t\ncomponent: c\nseverity: error\nsymptom: s\ncause: c\nfix: [f]\nmatch: [{message: oops}]\n"
    (tmp_path / "area" / "bad.yaml").write_text("id: area/bad\nevidence: []\n" + body)
    with pytest.raises(KnowledgeError, match=r"area/bad.yaml: `evidence: \[\]` is allowed only with `source`"):
        load_rules(tmp_path)
    (tmp_path / "area" / "bad.yaml").write_text(
        "id: area/bad\nevidence: []\nsource: ['openstack/nova nova/x.py:1 — oops']\n"
        "samples: [{file: var/log/nova/nova-compute.log, line: 'oops'}]\n" + body)
    assert load_rules(tmp_path)[0].samples == (("var/log/nova/nova-compute.log", "oops"),)


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


@pytest.mark.parametrize(("extra", "said"), [
    ("fix: [\"awk '{print $1}'\"]\n", r"area/bad.yaml:fix\[0\]: \{print \$1\} is not a placeholder"),
    ("fix: [restart it]\nreferences: [nova/driver.py: _handle_conn_event]\n", r"area/bad.yaml:references\[0\]: a reference"),
    ("fix: [{restart: it}]\n", r"area/bad.yaml:fix\[0\]: expected text, got a dict"),
])
def test_texts_that_would_break_the_report_are_refused_at_load(tmp_path: Path, extra: str, said: str) -> None:
    """Texts are filled with the match's values when the rule fires; a stray brace or a YAML mapping would break
    (or silently blank) the report then, so the loader names the file and key first."""
    (tmp_path / "area").mkdir()
    body = "id: area/bad\ntitle: t\ncomponent: c\nseverity: error\nsymptom: s\ncause: c\nevidence: [e]\nmatch: [{message: oops}]\n"
    (tmp_path / "area" / "bad.yaml").write_text(body + extra)
    with pytest.raises(KnowledgeError, match=said):
        load_rules(tmp_path)
