"""Captured `server show` / `server event` answers join the boot that created the server (real lab captures)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, diagnose_json

CORPUS = ROOT / "corpus" / "lab"
WITH_SERVER = sorted(p.parent for p in CORPUS.glob("*/server-show.json"))


def _ops_of(doc: dict[str, Any], instance: str) -> list[dict[str, Any]]:
    return [op for op in doc["operations"] if op["instance"] == instance]


@pytest.mark.parametrize("case", WITH_SERVER, ids=[p.name for p in WITH_SERVER])
def test_each_captured_server_is_one_boot(case: Path) -> None:
    server = json.loads((case / "server-show.json").read_text())["id"]
    _, doc = diagnose_json(case)
    boots = [op for op in _ops_of(doc, server) if op["operation"] == "boot"]
    assert len(boots) == 1, [(op["request_ids"], op["outcome"]) for op in boots]
    assert boots[0]["request_ids"], "the boot of a captured server names the request that created it"


def test_hung_post_found_by_the_servers_created_time() -> None:
    """RabbitMQ down: nova-api created the server, then hung casting to the conductor and never wrote the POST's
    access line; the request it was serving at `created` is the boot, stuck before scheduling."""
    _, doc = diagnose_json(CORPUS / "rabbit-down")
    (boot,) = _ops_of(doc, "4c05877e-cc18-49fe-ad80-cf2b5d964afa")
    assert (boot["request_id"], boot["api_status"]) == ("req-e7fc36b1-77ea-4378-b25c-b7eb6530fbc5", None)
    assert (boot["outcome"], boot["stage"]) == ("stuck", "scheduling")
    top = doc["findings"][0]
    assert (top["rule"], top["operation"], top["instance"]) == ("messaging/amqp-unreachable", "boot", boot["instance"])


def test_answered_post_joined_by_time_and_by_create_event() -> None:
    _, doc = diagnose_json(CORPUS / "conductor-down")  # no server-event.json: `created` vs the POST's 202
    (boot,) = _ops_of(doc, "f6b62b81-b2b7-4094-b551-b82f81f693b3")
    assert (boot["request_id"], boot["api_status"], boot["stage"]) == (
        "req-fa9d5bc0-a7da-4485-ae97-ef961e56cee3", 202, "scheduling")
    _, doc = diagnose_json(CORPUS / "forced-host-compute-down")  # server-event.json names the create request
    event = json.loads((CORPUS / "forced-host-compute-down" / "server-event.json").read_text())
    (boot,) = _ops_of(doc, event["instance_uuid"])
    assert boot["request_id"] == event["request_id"] and boot["outcome"] == "stuck"
    assert doc["findings"][0]["rule"] == "scheduler/forced-host-compute-down"


def test_without_the_captured_answer_the_server_is_unknown(tmp_path: Path) -> None:
    """The join comes from the capture, not from the logs: drop server-show.json and no boot names the server."""
    shutil.copytree(CORPUS / "rabbit-down", tmp_path / "bundle")
    (tmp_path / "bundle" / "server-show.json").unlink()
    _, doc = diagnose_json(tmp_path / "bundle")
    assert not _ops_of(doc, "4c05877e-cc18-49fe-ad80-cf2b5d964afa")


def test_broken_capture_is_a_problem_line(tmp_path: Path) -> None:
    shutil.copytree(CORPUS / "conductor-down", tmp_path / "bundle")
    (tmp_path / "bundle" / "server-show.json").write_text('{"id": "f6b62b81-b2b7-4094-b551')
    code, doc = diagnose_json(tmp_path / "bundle")
    (problem,) = [p for p in doc["parse"]["problems"] if "server-show.json" in p]
    assert "not a server show / server event JSON document" in problem and code == 1
