"""diagnose on the DessertLab fault-injection tests: the injected fault's stage, component and real error.

Each core test holds a faulty run (logs/round_1) and its fault-free re-run (logs/round_2). The data is
AGPL and lives in ../shared only; these tests skip when it is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import diagnose_json

CORE = "dessertlab-fault-injection-dataset/core"


def _round(shared_data: Path, test: str, number: int) -> Path:
    return shared_data / CORE / test / "logs" / f"round_{number}"


@pytest.mark.parametrize(
    ("test", "rule", "stage", "component", "cause_words"),
    [
        # nova-api refuses the boot with a 403 and logs no ERROR (Italian message)
        ("Nova/Test_3", "api/port-quota-exceeded", "api", "nova-api", ["Numero massimo di porte superato", "port quota"]),
        # nova-api 500s: the innermost frame says which call broke
        ("Nova/Test_302", "api/unexpected-api-error", "api", "nova-api",
         ["TypeError: 'NoneType' object is not iterable", "nova/image/api.py"]),
        ("Nova/Test_5", "api/unexpected-api-error", "api", "nova-api",
         ["TypeError: 'NoneType' object is not iterable", "_ports_needed_per_instance"]),
        ("Nova/Test_250", "api/unexpected-api-error", "api", "nova-api",
         ["raised Exception", "schedule_and_build_instances", "nova/conductor/api.py"]),
        ("Nova/Test_23", "compute/unexpected-build-failure", "spawning", "nova-compute",
         ["AttributeError: 'NoneType' object has no attribute 'info'", "notify_about_instance_usage() in nova/compute/utils.py"]),
        ("Nova/Test_93", "conductor/build-crashed", "scheduling", "nova-conductor",
         ["TypeError: izip argument #3 must support iteration", "schedule_and_build_instances", "BUILD"]),
        ("Nova/Test_244", "compute/libvirt-domain-exists", "spawning", "nova-compute",
         ["instance-00000004", "92388629-e842-462e-bddc-7e50e9923976"]),
        # silent: only DEBUG lines show the instance was built without its network
        ("Nova/Test_4", "network/instance-without-network", "networking", "nova-api",
         ["Instance network_info: |[]|", "no port"]),
        # the reboot crashed but the server stayed ACTIVE: a warning, not a failed operation
        ("Nova/Test_28", "compute/server-action-crashed", "active", "nova-compute",
         ["reboot_instance", "AttributeError: 'NoneType' object has no attribute 'to_dict'"]),
        # the cause is a DEBUG line of neutron; the ERROR lines are nova-compute's
        ("Neutron/Test_38", "network/network-without-segment", "spawning", "neutron-server",
         ["b1df29a6-1e95-4baa-9470-4f069fd59090", "has no segments, skipping binding"]),
        ("Neutron/Test_1", "network/neutron-api-internal-error", "api", "neutron-server",
         ["raised Exception", "_add_network_segment"]),
        ("Cinder/Test_15", "volume/scheduler-create-failed", "scheduling", "cinder-scheduler",
         ["update_from_volume_capability() takes at least 2 arguments (2 given)", "status error"]),
    ],
)
def test_injected_fault_is_diagnosed(shared_data: Path, test: str, rule: str, stage: str, component: str,
                                     cause_words: list[str]) -> None:
    code, doc = diagnose_json(_round(shared_data, test, 1))
    assert code == 1
    top = doc["findings"][0]
    assert (top["rule"], top["stage"], top["component"]) == (rule, stage, component)
    for word in cause_words:
        assert word in top["cause"]
    assert top["evidence"] and all(e["line"] > 0 for e in top["evidence"])
    assert doc["parse"]["unparsed"] == 0


@pytest.mark.parametrize(
    ("test", "operation"),
    [("Nova/Test_302", "boot"), ("Neutron/Test_1", "network_create"), ("Cinder/Test_15", "volume_create")],
)
def test_finding_names_the_failed_operation(shared_data: Path, test: str, operation: str) -> None:
    _, doc = diagnose_json(_round(shared_data, test, 1))
    top = doc["findings"][0]
    assert top["operation"] == operation
    (failed,) = [op for op in doc["operations"] if op["outcome"] != "active" and op["operation"] == operation]
    assert (failed["operation"], failed["request_id"]) == (operation, top["request_id"])


def test_symptom_is_what_the_user_saw(shared_data: Path) -> None:
    _, doc = diagnose_json(_round(shared_data, "Nova/Test_3", 1))
    assert doc["findings"][0]["symptom"] == "POST /servers returned HTTP 403: Numero massimo di porte superato"


def test_latent_reboot_crash_is_only_a_warning(shared_data: Path) -> None:
    """The fault fired and logged 56 ERROR lines, but the user saw no failure: every boot is still ACTIVE."""
    _, doc = diagnose_json(_round(shared_data, "Nova/Test_28", 1))
    assert [f["severity"] for f in doc["findings"]] == ["warning"]
    assert {op["outcome"] for op in doc["operations"] if op["operation"] == "boot"} == {"active"}


@pytest.mark.parametrize(
    "test",
    ["Nova/Test_302", "Nova/Test_5", "Nova/Test_250", "Nova/Test_23", "Nova/Test_244", "Nova/Test_4", "Nova/Test_28",
     "Neutron/Test_38", "Neutron/Test_1", "Cinder/Test_15"],
)
def test_fault_free_round_is_clean(shared_data: Path, test: str) -> None:
    _, doc = diagnose_json(_round(shared_data, test, 2))
    assert [f for f in doc["findings"] if f["severity"] in ("critical", "error")] == []
    assert {op["outcome"] for op in doc["operations"]} == {"active"}


@pytest.mark.parametrize("test", ["Nova/Test_3", "Nova/Test_93"])
def test_fault_free_round_that_really_failed(shared_data: Path, test: str) -> None:
    """These re-runs failed too (labelled ROUND_2=FAILURE): a localised libvirt error crashed nova-compute."""
    code, doc = diagnose_json(_round(shared_data, test, 2))
    assert code == 1
    top = doc["findings"][0]
    assert (top["rule"], top["stage"], top["component"]) == ("compute/non-ascii-libvirt-error", "spawning", "nova-compute")
    assert "UnicodeDecodeError: 'ascii' codec can't decode byte 0xc3" in top["cause"]


EXTENDED = "dessertlab-fault-injection-dataset/extended_gz"
#: The OpenStack services' logs of a round only (never the workload's output, trigger_log or fip_info).
SERVICES = ("nova", "neutron", "cinder", "glance", "keystone", "heat")


def _services(shared_data: Path, test: str, tmp_path: Path) -> Path:
    """An extended_gz test's round_1 service logs (gzipped), copied into one host directory."""
    source = shared_data / EXTENDED / test / "logs" / "round_1"
    host = tmp_path / test.replace("/", "-")
    for name in SERVICES:
        if (source / name).is_dir():
            shutil.copytree(source / name, host / name)
    return host


@pytest.mark.parametrize(
    ("test", "rule", "component", "words"),
    [
        # a hard reboot that failed after the guest was shut down: nova put the server in ERROR
        ("Nova/Test_34", "compute/reboot-left-instance-in-error", "nova-compute", ["Exception"]),
        ("Nova/Test_402", "compute/reboot-left-instance-in-error", "nova-compute",
         ["disconnect_volume() takes at least 3 arguments (2 given)"]),
        # a server action refused with HTTP 500 by nova-api: its own operation, not hidden in the boot
        ("Nova/Test_77", "api/unexpected-api-error", "nova-api", ["'NoneType' object has no attribute 'mq_connection'"]),
        ("Nova/Test_407", "api/unexpected-api-error", "nova-api", ["TypeError"]),
        # silent for nova's own API: the guest's metadata requests failed (500) or were not found (404)
        ("Nova/Test_142", "api/metadata-service-failed-guest", "nova-api", ["HTTP 500", "meta-data/instance-id"]),
        ("Nova/Test_185", "api/metadata-service-failed-guest", "nova-api", ["HTTP 404"]),
        # the volume is created, but cinder-api reports it with status null (seen in nova-api's DEBUG copy)
        ("Cinder/Test_129", "volume/api-volume-without-status", "cinder-api", ["status"]),
        # a cascade: nova-compute fails the attach/boot afterwards, the first error is the callee's
        ("Cinder/Test_28", "generic/error-in-operation", "cinder-volume", ["notify_about_volume_usage", "first error of a cascade"]),
        ("Neutron/Test_36", "generic/error-in-operation", "neutron-server", ["first error of a cascade"]),
        ("Neutron/Test_203", "network/neutron-api-internal-error", "neutron-server", ["order_by"]),
    ],
)
def test_extended_fault_is_diagnosed(shared_data: Path, tmp_path: Path, test: str, rule: str, component: str,
                                     words: list[str]) -> None:
    code, doc = diagnose_json(_services(shared_data, test, tmp_path))
    assert code == 1
    top = doc["findings"][0]
    assert top["severity"] in ("critical", "error")
    assert (top["rule"], top["component"]) == (rule, component)
    text = f"{top['title']} {top['cause']}"
    for word in words:
        assert word in text
    assert top["evidence"] and all(e["line"] > 0 for e in top["evidence"])


def test_failed_action_is_its_own_operation(shared_data: Path, tmp_path: Path) -> None:
    """The reboot that failed is an operation of its own; the boot of the same server still succeeded."""
    _, doc = diagnose_json(_services(shared_data, "Nova/Test_34", tmp_path))
    outcomes = {(op["operation"], op["outcome"]) for op in doc["operations"]}
    assert ("boot", "active") in outcomes
    assert ("POST /v2.1/{id}/servers/{id}/action", "failed") in outcomes
