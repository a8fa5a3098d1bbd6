"""`diagnose --since/--until/--last/--about`: one incident out of a bundle that holds several (real lab captures)."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import ROOT, diagnose_json, run_cli

COMPUTE_DOWN = ROOT / "corpus" / "lab" / "compute-down"  # boot at 06:39, No valid host
DISK_FULL = ROOT / "corpus" / "lab" / "disk-full-base"  # boot at 06:46, No space left on device
BOTH = (str(COMPUTE_DOWN), str(DISK_FULL))


def _instances(doc: dict[str, Any]) -> list[str | None]:
    return [op["instance"] for op in doc["operations"]]


def test_whole_bundle_has_both_incidents() -> None:
    _, doc = diagnose_json(*BOTH)
    rules = {f["rule"] for f in doc["findings"]}
    assert {"compute/no-space-left", "scheduler/compute-not-heard-from"} <= rules and doc["scope"] == {}


def test_since_keeps_the_later_incident_and_counts_what_it_left_out() -> None:
    code, out, _ = run_cli("diagnose", "--since", "2026-11-21 06:45", *BOTH)
    assert code == 1 and "events outside it left out" in out
    _, doc = diagnose_json("--since", "2026-11-21 06:45", *BOTH)
    assert _instances(doc) == ["a8598810-511a-4b0d-8212-eef3a8c31cc9"]
    assert doc["findings"][0]["rule"] == "compute/no-space-left"
    assert doc["scope"]["since"] == "2026-11-21 06:45:00.000" and doc["scope"]["events_outside"] > 0


def test_until_keeps_the_earlier_incident() -> None:
    _, doc = diagnose_json("--until", "2026-11-21T06:40", *BOTH)
    assert _instances(doc) == ["a8dbcb05-0d64-489b-a555-68ff525bc8a4"]
    assert "compute/no-space-left" not in {f["rule"] for f in doc["findings"]}


def test_last_counts_back_from_the_newest_line_not_from_now() -> None:
    _, whole = diagnose_json(*BOTH)
    newest = max(op["end"] for op in whole["operations"])
    _, doc = diagnose_json("--last", "2m", *BOTH)
    assert doc["scope"]["since"] is not None and doc["scope"]["since"] < newest
    assert "a8dbcb05-0d64-489b-a555-68ff525bc8a4" not in _instances(doc)


def test_about_one_server() -> None:
    _, doc = diagnose_json("--about", "a8dbcb05-0d64-489b-a555-68ff525bc8a4", *BOTH)
    assert _instances(doc) == ["a8dbcb05-0d64-489b-a555-68ff525bc8a4"]
    assert [f["rule"] for f in doc["findings"]] == ["scheduler/compute-not-heard-from"]
    assert doc["scope"]["other_operations"] == 1 and doc["scope"]["other_findings"] >= 1


def test_about_an_id_nothing_involves() -> None:
    code, out, _ = run_cli("diagnose", "--about", "00000000-0000-0000-0000-000000000000", *BOTH)
    assert code == 0 and "No operation in the bundle involves 00000000-0000-0000-0000-000000000000" in out


@pytest.mark.parametrize(("option", "value", "said"), [
    ("--last", "2x", "--last '2x': expected a duration like 30m"),
    ("--since", "yesterday", "--since 'yesterday': expected a time like"),
    ("--until", "21/11/2026", "--until '21/11/2026': expected a time like"),
])
def test_bad_window_is_one_line_exit_2(option: str, value: str, said: str) -> None:
    code, out, err = run_cli("diagnose", option, value, *BOTH)
    assert code == 2 and out == "" and err.strip().count("\n") == 0 and said in err


def test_a_later_incident_does_not_explain_an_earlier_failure() -> None:
    """All lab captures as one bundle, like a host's /var/log after a day of incidents: the boot that failed on a
    dead linuxbridge agent at 07:20 keeps its own cause, not the wrong service password injected at 07:31."""
    cases = sorted(str(p) for p in (ROOT / "corpus" / "lab").iterdir() if p.is_dir())
    _, doc = diagnose_json(*cases)
    (boot,) = [f for f in doc["findings"] if f["instance"] == "d2e81373-0fb2-4681-aa05-6ec89b812c02"]
    assert boot["rule"] == "network/port-binding-failed"
