"""diagnose on the real Zed lab captures: each fault's stage, component and cause."""

from __future__ import annotations

import pytest

from conftest import EXAMPLES, diagnose_json


@pytest.mark.parametrize(
    ("case", "rule", "stage", "component", "cause_words"),
    [
        ("fault-a-rabbit-down", "messaging/amqp-unreachable", "scheduling", "rabbitmq", ["message broker", "RabbitMQ"]),
        ("fault-b-disk-full", "compute/no-space-left", "spawning", "nova-compute", ["full", "_base"]),
        ("fault-c-glance-wrong-password", "image/glance-service-credentials", "api", "glance-api", ["keystone_authtoken"]),
        ("fault-d-compute-down", "scheduler/compute-not-heard-from", "scheduling", "nova-compute", ["ComputeFilter", "down"]),
        ("fault-f-nova-conf-typo", "config/invalid-option-value", "api", "nova-api", ["auth_strategy", "keyston"]),
    ],
)
def test_fault_is_diagnosed(case: str, rule: str, stage: str, component: str, cause_words: list[str]) -> None:
    code, doc = diagnose_json(EXAMPLES / case)
    assert code == 1
    top = doc["findings"][0]
    assert (top["rule"], top["stage"], top["component"]) == (rule, stage, component)
    for word in cause_words:
        assert word in top["cause"]
    assert top["evidence"] and all(e["file"] and e["line"] > 0 for e in top["evidence"])
    assert doc["parse"]["unparsed"] == 0


def test_symptom_differs_from_cause_for_disk_full() -> None:
    """The user saw 'Exceeded maximum number of retries'; the cause is the full disk."""
    _, doc = diagnose_json(EXAMPLES / "fault-b-disk-full")
    top = doc["findings"][0]
    assert "Exceeded maximum number of retries" in top["symptom"]
    assert "No space left on device" in top["cause"]
    assert top["instance"] == "87209c3b-04dc-4071-ae0a-46e6fcc3f1e3"
    assert top["request_id"] == "req-7f5e0809-20aa-4bea-8e47-5386e2bc0513"
    # evidence is the line exactly as the file has it, so an operator can grep for it
    first = top["evidence"][0]
    assert first["line"] == 4 and first["file"].endswith("nova__nova-compute.log")
    assert first["text"].startswith("2026-11-21 04:56:18.220 26382 ERROR nova.image.glance [None req-7f5e0809-")


def test_compute_down_explains_no_valid_host() -> None:
    _, doc = diagnose_json(EXAMPLES / "fault-d-compute-down")
    top = doc["findings"][0]
    assert "No valid host" in top["symptom"]
    assert "scheduler/no-valid-host" in top["related"]
    silent = [f for f in doc["findings"] if f["rule"] == "silence/service-stopped-writing"]
    assert [f["component"] for f in silent] == ["nova-compute"]
    assert silent[0]["evidence"][0]["text"].startswith("2026-11-21 04:53:32.908")


@pytest.mark.parametrize("case", ["baseline-boot-vm2-ok", "note-virt-type-kvm-works"])
def test_healthy_boot_says_so(case: str) -> None:
    code, doc = diagnose_json(EXAMPLES / case)
    assert code == 0
    assert doc["findings"] == []
    (op,) = doc["operations"]
    assert op["outcome"] == "active"
    assert op["reached"] == ["api", "scheduling", "networking", "spawning", "active"]


def test_json_contract() -> None:
    _, doc = diagnose_json(EXAMPLES / "fault-b-disk-full")
    assert doc["schema"] == "stacksleuth/diagnosis/v1"
    required = {"severity", "operation", "instance", "request_id", "stage", "component", "symptom", "cause",
                "fix", "rule", "confidence", "evidence"}
    for finding in doc["findings"]:
        assert required <= set(finding)
        assert finding["severity"] in ("critical", "error", "warning", "info")
        for ev in finding["evidence"]:
            assert set(ev) == {"host", "file", "line", "text"}
    assert {"files", "lines", "events", "unparsed", "per_file"} <= set(doc["parse"])
