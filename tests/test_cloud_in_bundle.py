"""A saved `check cloud --save` capture inside a `diagnose` bundle: recognised by its content, reasoned on as
`check cloud --from` does, its findings marked as coming from the API answers and ranked after what the logs say
about failed operations. The captures are tests/data/cloud's real lab answers (see test_check_cloud.py); the
bundles are the lab corpus' logs, copied (the corpus itself is never changed here)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, diagnose_json, run_cli
from stacksleuth.lab import host, scenarios
from stacksleuth.lab.host import LabError
from test_lab_corpus import check_expectation

CORPUS = ROOT / "corpus" / "lab"
DATA = Path(__file__).parent / "data" / "cloud"


def _bundle(tmp_path: Path, scenario: str, capture: str | None, name: str = "check-cloud.json") -> Path:
    bundle = tmp_path / scenario
    shutil.copytree(CORPUS / scenario, bundle)
    (bundle / "check-cloud.json").unlink(missing_ok=True)  # the corpus's own capture, where a scenario saved one
    if capture is not None:
        shutil.copy(DATA / f"{capture}.json", bundle / name)
    return bundle


def _serious(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in doc["findings"] if f["severity"] in ("critical", "error")]


def test_the_stale_endpoint_no_log_shows_is_found_in_the_saved_answers(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "stale-network-endpoint", "stale-network-endpoint")
    assert diagnose_json(_bundle(tmp_path / "logs-only", "stale-network-endpoint", None))[0] == 0  # the logs alone
    code, doc = diagnose_json(bundle)
    assert code == 1
    top = doc["findings"][0]
    assert (top["rule"], top["component"], top["severity"]) == ("check/cloud/catalog-duplicate", "keystone", "error")
    assert "127.0.0.1:9697" in top["cause"]
    captured_at = json.loads((DATA / "stale-network-endpoint.json").read_text())["captured_at"]
    assert f"captured at {captured_at}" in top["origin"] and "not from logs" in top["origin"]
    lines = (bundle / "check-cloud.json").read_text().splitlines()
    for evidence in top["evidence"]:
        assert evidence["file"] == str(bundle / "check-cloud.json") and evidence["host"] == "vm"
        assert evidence["text"].startswith("GET identity /services + /endpoints, item ")
        item = evidence["text"].split(" id=")[1].split()[0]  # the line shown is that catalog entry's own id
        assert lines[evidence["line"] - 1].strip() == f'"id": "{item}",'
    (saved,) = doc["saved_answers"]
    assert saved["read"] and saved["captured_at"] == captured_at and saved["findings"] == 1
    assert {c["id"]: c["status"] for c in saved["checks"]}["cloud/catalog"] == "problem"
    # what the scenario expects once the lab captures check-cloud.json beside its logs
    check_expectation(code, doc, scenarios.get("stale-network-endpoint").expect)


def test_a_capture_is_known_by_its_content_whatever_its_name(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "stale-network-endpoint", "stale-network-endpoint", name="answers-before-the-fix.out")
    code, doc = diagnose_json(bundle)
    assert code == 1 and doc["findings"][0]["rule"] == "check/cloud/catalog-duplicate"
    assert doc["findings"][0]["evidence"][0]["file"].endswith("answers-before-the-fix.out")
    code, doc = diagnose_json(DATA / "stale-network-endpoint.json")  # the capture given by itself
    assert code == 1 and doc["findings"][0]["rule"] == "check/cloud/catalog-duplicate"


def test_a_healthy_cloud_beside_healthy_logs_is_still_healthy(tmp_path: Path) -> None:
    code, doc = diagnose_json(_bundle(tmp_path, "volume-create-ok", "normal"))
    assert code == 0 and not _serious(doc), doc["findings"]
    (saved,) = doc["saved_answers"]
    assert saved["read"] and {c["status"] for c in saved["checks"]} == {"ok"}
    code, out, _ = run_cli("diagnose", str(tmp_path / "volume-create-ok"))
    assert code == 0 and "saved cloud API answers show no problem" in out


def test_garbage_and_foreign_json_are_skipped_or_one_line(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "volume-create-ok", None)
    (bundle / "bad.json").write_text("{not json")
    (bundle / "foreign.json").write_text('{"schema": "someone-else/v2", "kind": "cloud", "answers": {}}\n')
    (bundle / "binary.json").write_bytes(b"\x00\x01\x02\xff" * 64)
    (bundle / "report.json").write_text(json.dumps({"text": "stacksleuth/cloud-answers/v1 is the schema"}))
    capture = json.loads((DATA / "normal.json").read_text())
    ordered = {"schema": capture["schema"], "kind": capture["kind"], **capture}  # as `--save` writes it: schema first
    (bundle / "truncated.json").write_text(json.dumps(ordered, indent=1)[:3000])
    (bundle / "odd.json").write_text(json.dumps({"schema": capture["schema"], "kind": "cloud", "answers": []}))
    code, out, err = run_cli("diagnose", "--json", str(bundle))
    assert code == 0 and err == "", err
    doc = json.loads(out)
    assert not _serious(doc) and doc["saved_answers"] == []
    skipped = {Path(s).name for s in doc["parse"]["skipped"]}
    assert {"bad.json", "foreign.json", "binary.json", "report.json"} <= skipped
    problems = [p for p in doc["parse"]["problems"] if "truncated.json" in p or "odd.json" in p]
    assert len(problems) == 2 and all("\n" not in p for p in problems), problems
    assert any("truncated.json: names stacksleuth/cloud-answers/v1 but is not a readable capture" in p for p in problems)


def test_a_saved_check_server_capture_is_recognised_not_read(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "volume-create-ok", "server-error", name="server.json")
    code, doc = diagnose_json(bundle)
    assert code == 0
    (saved,) = doc["saved_answers"]
    assert saved["kind"] == "server" and not saved["read"] and "check server" in saved["note"]


def test_what_the_logs_say_about_a_failed_boot_stays_first(tmp_path: Path) -> None:
    alone = diagnose_json(_bundle(tmp_path, "compute-down", None))[1]["findings"]
    code, doc = diagnose_json(_bundle(tmp_path / "with", "compute-down", "compute-down"))
    assert code == 1
    logged = [f for f in doc["findings"] if "origin" not in f]
    assert [f["rule"] for f in logged] == [f["rule"] for f in alone]  # the logs' findings, in their order
    assert doc["findings"][0]["rule"] == alone[0]["rule"] and alone[0]["operation"]
    cloud = [i for i, f in enumerate(doc["findings"]) if f.get("origin")]
    assert doc["findings"][cloud[0]]["rule"] == "check/cloud/service-down"
    failed = [i for i, f in enumerate(doc["findings"]) if f["operation"] and "origin" not in f]
    assert max(failed) < min(cloud)


def _stale_and_refused(tmp_path: Path) -> Path:
    """The stale-endpoint capture as it would be had the SDK picked the stale URL for neutron's agents too."""
    capture = json.loads((DATA / "stale-network-endpoint.json").read_text())
    capture["answers"]["network_agents"] = {
        "call": "GET network /agents", "endpoint": "http://127.0.0.1:9697",
        "error": "cannot connect to http://127.0.0.1:9697/v2.0/agents: [Errno 111] Connection refused"}
    path = tmp_path / "refused.json"
    path.write_text(json.dumps(capture, indent=1))
    return path


def test_an_api_refused_at_a_duplicated_catalog_url_is_the_duplicates_consequence(tmp_path: Path) -> None:
    path = _stale_and_refused(tmp_path)
    code, out, _ = run_cli("check", "cloud", "--from", str(path), "--json")
    rules = [f["rule"] for f in json.loads(out)["findings"]]
    assert code == 1 and rules == ["check/cloud/catalog-duplicate", "check/cloud/api-unreachable"]
    refused = json.loads(out)["findings"][1]
    assert "the duplicate catalog entry is the cause" in refused["cause"] and refused["confidence"] < 0.9
    bundle = _bundle(tmp_path, "stale-network-endpoint", None)
    shutil.copy(path, bundle / "check-cloud.json")
    code, doc = diagnose_json(bundle)
    top = doc["findings"][0]
    assert (code, top["rule"], top["component"]) == (1, "check/cloud/catalog-duplicate", "keystone")
    unreachable = doc["findings"][1]
    assert unreachable["evidence"][0]["text"].startswith("GET network /agents: cannot connect")
    line = (bundle / "check-cloud.json").read_text().splitlines()[unreachable["evidence"][0]["line"] - 1]
    assert line.strip().startswith('"network_agents": ')


def test_reports_say_where_cloud_findings_come_from(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, "stale-network-endpoint", "stale-network-endpoint")
    page = tmp_path / "report.html"
    code, out, _ = run_cli("diagnose", str(bundle), "--html", str(page))
    assert code == 1
    assert "saved cloud API answers" in out and "From the cloud's API answers captured at" in out
    html = page.read_text()
    assert "Saved cloud API answers" in html and "From the cloud&#39;s API answers captured at" in html


# -- the lab side: `collect: {cloud: true}` saves the answers while the fault is in ------------------------------

def test_collect_is_validated_where_scenarios_are_loaded(tmp_path: Path) -> None:
    text = (scenarios.scenario_dir() / "stale-network-endpoint.yaml").read_text()
    assert scenarios.get("stale-network-endpoint").collect == {"cloud": True}
    for bad in ("collect: {logs: true}", "collect: {cloud: yes please}", "collect: [cloud]"):
        path = tmp_path / "stale-network-endpoint.yaml"
        path.write_text(text.replace("collect: {cloud: true}", bad))
        with pytest.raises(LabError, match="collect"):
            scenarios.load(path)
    assert not any(s.collect for name, s in scenarios.load_all().items() if name != "stale-network-endpoint")


def test_the_answers_are_saved_before_the_fault_is_restored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[str] = []

    def stacksleuth(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        steps.append("check cloud")
        assert args[:2] == ("check", "cloud") and "--save" in args
        Path(args[args.index("--save") + 1]).write_text((DATA / "stale-network-endpoint.json").read_text())
        return subprocess.CompletedProcess(["stacksleuth", *args], 1, "{}", "")

    monkeypatch.setattr(host, "stacksleuth", stacksleuth)
    monkeypatch.setattr(host, "require_up", lambda: None)
    monkeypatch.setattr(scenarios, "restore_active", lambda say=print: steps.append("restore"))
    monkeypatch.setattr(scenarios, "delete_lab_servers", lambda: None)
    monkeypatch.setattr(scenarios, "ensure_healthy", lambda say=print: None)
    monkeypatch.setattr(scenarios, "mark", lambda: tmp_path / "marks.json")
    monkeypatch.setattr(scenarios.logs, "load_marks", lambda path: {})
    monkeypatch.setattr(scenarios.logs, "collect", lambda marks, out: steps.append("logs") or ["hostname"])
    monkeypatch.setattr(scenarios.injectors, "apply_step", lambda step: steps.append("inject") or {})
    monkeypatch.setattr(scenarios, "_save_active", lambda applied: None)
    monkeypatch.setattr(scenarios, "_boot", lambda spec, name: {"exit": 1, "error": "connection refused"})
    monkeypatch.setattr(scenarios, "_server_state", lambda name, out: {})
    scenario = scenarios.get("stale-network-endpoint")
    out = tmp_path / "capture"
    out.mkdir()
    record = scenarios.run(dataclasses.replace(scenario, settle=0), out, say=lambda text: None)
    assert steps == ["restore", "inject", "logs", "check cloud", "restore"]  # a leftover restored first, as always
    assert record["cloud_answers"]["exit"] == 1 and "error" not in record["cloud_answers"]
    assert "check-cloud.json" in record["files"] and "xfail" not in record
    assert record["expect"]["rule"] == "check/cloud/catalog-duplicate"


def test_a_failed_save_is_recorded_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "stacksleuth", lambda *args, timeout=300: subprocess.CompletedProcess(
        args, 2, "", "stacksleuth: error: cannot authenticate to keystone at http://127.0.0.1:5000/v3: refused\n"))
    record = scenarios.save_cloud_answers(tmp_path)
    assert record["exit"] == 2 and "cannot authenticate" in record["error"]


def test_python_m_stacksleuth_is_the_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "stacksleuth", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("stacksleuth")
