"""End to end on a live lab (root, Debian 12, minutes): bring it up, break every scenario afresh, diagnose.

Deselected by default (`-m 'not lab'` in pyproject); run with `python -m pytest -m lab tests/test_lab_e2e.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, diagnose_json
from stacksleuth.lab import host, scenarios
from test_lab_corpus import check_expectation

pytestmark = pytest.mark.lab

CORPUS = ROOT / "corpus" / "lab"


@pytest.fixture(scope="module")
def lab_up() -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    try:
        host.check_host()
    except host.LabError as exc:
        pytest.skip(str(exc))
    subprocess.run(["stacksleuth", "lab", "up"], check=True)


def _captured() -> list[str]:
    return sorted(p.parent.name for p in CORPUS.glob("*/scenario.json"))


def _capture_dir(name: str) -> Path:
    """Under the lab's state, not pytest's tmp_path: other pytest runs on the machine prune
    /tmp/pytest-of-<user>/ (only the last 3 kept) while a long lab run still writes there."""
    out = host.STATE / "e2e" / name
    shutil.rmtree(out, ignore_errors=True)
    return out


@pytest.mark.parametrize("name", _captured())
def test_scenario_breaks_afresh_and_is_diagnosed(lab_up: None, name: str) -> None:
    expected = json.loads((CORPUS / name / "scenario.json").read_text())
    if expected.get("xfail"):
        pytest.xfail(expected["xfail"])
    out = _capture_dir(name)
    record = scenarios.run(scenarios.get(name), out)
    assert record.get("user_saw"), "the scenario must end in something the user saw"
    assert record["expect"] == expected["expect"], "the corpus is older than the scenario: capture it again"
    code, doc = diagnose_json(out)
    check_expectation(code, doc, expected["expect"])
    assert not (host.STATE / "active.json").exists(), "the scenario must restore the lab"
