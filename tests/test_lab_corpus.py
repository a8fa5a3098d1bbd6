"""The lab corpus: every scenario captured from the real lab is diagnosed as scenario.json expects.

Also the parts of the lab that run without root: scenario files, `lab list`, the host checks, log capture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, diagnose_json, run_cli
from stacksleuth.lab import host, injectors, logs, scenarios

CORPUS = ROOT / "corpus" / "lab"


def _cases() -> list[Any]:
    cases = []
    for path in sorted(CORPUS.glob("*/scenario.json")):
        record = json.loads(path.read_text())
        marks = [pytest.mark.xfail(reason=record["xfail"], strict=True)] if record.get("xfail") else []
        cases.append(pytest.param(path.parent, record, id=path.parent.name, marks=marks))
    return cases


def check_expectation(code: int, doc: dict[str, Any], expect: dict[str, Any]) -> None:
    """The diagnosis of one scenario's logs is what scenario.json (the scenario's `expect`) says."""
    assert doc["parse"]["unparsed"] == 0
    if expect.get("healthy"):  # a fault that, measured, does not break the operation: say nothing is wrong
        assert code == 0 and not [f for f in doc["findings"] if f["severity"] in ("critical", "error")]
        assert [op["outcome"] for op in doc["operations"]] == [expect["outcome"]]
        return
    assert code == 1, "a broken lab must be reported as a problem"
    top = doc["findings"][0]
    for key in ("rule", "stage", "component"):
        if key in expect:
            assert top[key] == expect[key], (key, top[key], top["rule"], top["cause"])
    for word in expect.get("cause_words", []):
        assert word in top["cause"]
    assert top["evidence"] and all(e["file"] and e["line"] > 0 for e in top["evidence"])


@pytest.mark.parametrize(("case", "record"), _cases())
def test_captured_scenario_is_diagnosed(case: Path, record: dict[str, Any]) -> None:
    code, doc = diagnose_json(case)
    check_expectation(code, doc, record["expect"])


def test_corpus_is_small_and_complete() -> None:
    dirs = [d for d in CORPUS.iterdir() if d.is_dir()] if CORPUS.is_dir() else []
    if not dirs:
        pytest.skip("no corpus captured yet")
    total = sum(f.stat().st_size for d in dirs for f in d.iterdir())
    assert total < 8 * 1024 * 1024, f"corpus/lab is {total} bytes; keep it to a few MB"
    names = set(scenarios.load_all())
    for d in dirs:
        record = json.loads((d / "scenario.json").read_text())
        assert record["scenario"] == d.name and d.name in names
        assert {"injected", "user_saw", "expect", "breaks"} <= set(record)
        for name in record.get("files", []):
            assert (d / name).is_file(), f"{d.name}: {name} listed but missing"


def test_readme_lists_every_captured_scenario() -> None:
    """The README's Lab table is where an operator looks up what a scenario breaks and what it must find."""
    readme = (ROOT / "README.md").read_text()
    missing = [p.parent.name for p in CORPUS.glob("*/scenario.json") if f"| `{p.parent.name}` |" not in readme]
    assert not missing, f"README's Lab table lacks {missing}"


def test_every_scenario_loads_and_restores_what_it_injects() -> None:
    found = scenarios.load_all()
    assert len(found) >= 15
    for scenario in found.values():
        assert scenario.breaks and scenario.expect
        for step in scenario.inject:
            ((kind, _),) = step.items()
            assert kind in injectors.INJECTORS


def test_lab_list_prints_one_scenario_a_line() -> None:
    code, out, _ = run_cli("lab", "list")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == len(scenarios.load_all())
    assert any(line.startswith("rabbit-down ") for line in lines)


def test_lab_up_refuses_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host.os, "geteuid", lambda: 1000)
    code, _, err = run_cli("lab", "up")
    assert code == 2 and "must run as root" in err


def test_lab_up_refuses_other_systems(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host.os, "geteuid", lambda: 0)
    monkeypatch.setattr(host, "_os_release", lambda: {"ID": "ubuntu", "PRETTY_NAME": "Ubuntu 22.04"})
    code, _, err = run_cli("lab", "up")
    assert code == 2 and "Debian 12" in err and "Ubuntu 22.04" in err


def test_collect_copies_only_the_bytes_gained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    var = tmp_path / "var" / "log" / "nova"
    var.mkdir(parents=True)
    compute = var / "nova-compute.log"
    compute.write_text("old line\n")
    monkeypatch.setattr(logs, "LOG_GLOBS", (str(var / "*.log"),))
    marks = logs.mark()
    compute.write_text("old line\nnew line\n")
    (var / "nova-api.log").write_text("fresh\n")
    out = tmp_path / "out"
    written = logs.collect(marks, out)
    assert sorted(written) == sorted(["hostname"] + [logs.flat_name(p) for p in (compute, var / "nova-api.log")])
    assert (out / logs.flat_name(compute)).read_text() == "new line\n"
    assert logs.flat_name(Path("/var/log/libvirt/qemu/instance-00000001.log")) == "libvirt__qemu__instance-00000001.log"


def test_lab_status_says_up_only_when_every_daemon_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`lab status` after `lab down --keep-packages` said "up: yes" with every daemon STOPPED.

    A lab set up once (state files in place) is "up" only while all its daemons run; on a machine without
    the lab none runs, on one with the lab up all do: either way the first line must agree with the list.
    """
    monkeypatch.setattr(host.os, "geteuid", lambda: 0)
    monkeypatch.setattr(host, "_os_release", lambda: {"ID": "debian", "VERSION_ID": "12"})
    for name in ("installed", "up"):
        (tmp_path / name).write_text("")
    (tmp_path / "admin-openrc").write_text("export OS_AUTH_URL=http://127.0.0.1:9/v3\n")
    monkeypatch.setattr(host, "STATE", tmp_path)
    monkeypatch.setattr(host, "OPENRC", tmp_path / "admin-openrc")
    code, out, _ = run_cli("lab", "status")
    rows = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert [name for name, _ in rows] == list(scenarios.DAEMONS)
    all_running = all(state == "running" for _, state in rows)
    assert ("up: yes" in out.splitlines()[0]) == all_running
    assert code == (0 if all_running else 1)
    if not all_running:
        stopped = sum(state == "STOPPED" for _, state in rows)
        assert f"{stopped} of {len(rows)} daemons stopped" in out.splitlines()[0]
