"""Server actions beyond boot: volume attach, live migration, resize / cold migrate, delete, evacuate, snapshot.

Each is named and localised from real logs where the public data has them:
- live migration: os-log-merger-contrib/debug-live-migration (2015 RDO, two hosts; the API log covers only the last
  minutes, the conductor log the days of refused migrations) and the hotsos scenario of bug 1860743;
- volume attach and delete: the DessertLab fault-injection runs (queens; "server add volume", then delete);
- resize / cold migrate: the hotsos scenario of bug 1904580 (a compute line only).
Evacuate and snapshot have no public logs here: their stage machines are checked for structure only.

DessertLab rounds are copied without the workload's output, the fault injector's records or the traces.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from conftest import diagnose_json
from scenario_files import materialise
from stacksleuth.correlate.operations import Operation, classify
from stacksleuth.errors import KnowledgeError
from stacksleuth.events import Event
from stacksleuth.workflows.machine import builtin_workflow, builtin_workflows, load_workflow

DESSERT = "dessertlab-fault-injection-dataset"
SERVICE_DIRS = ("nova", "neutron", "cinder", "glance", "keystone", "heat")
LIVE = "os-log-merger-contrib/debug-live-migration/logs"
REFUSED = "a18a5824-4215-4e24-bcfc-cb9f89f6bcbd"


# --- structure (no data needed) ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "stages"), [
    ("volume_attach", ["api", "compute", "initialize_connection", "connecting", "attaching", "attached"]),
    ("live_migration", ["api", "prechecks", "pre_live_migration", "migrating", "post_live_migration", "completed"]),
    ("resize", ["api", "scheduling", "prep_resize", "resize_instance", "finish_resize", "resized", "confirmed"]),
    ("delete", ["api", "terminating", "destroyed", "network_deallocated", "volumes_detached", "deleted"]),
    ("evacuate", ["api", "scheduling", "rebuilding", "spawning", "active"]),
    ("snapshot", ["api", "snapshotting", "uploading", "uploaded"]),
])
def test_action_workflow_structure(name: str, stages: list[str]) -> None:
    workflow = builtin_workflow(name)
    assert [s.id for s in workflow.stages] == stages
    assert workflow.request_triggers or workflow.action_triggers
    assert workflow.success, f"{name}: nothing proves it succeeded"
    assert workflow.instance_lines == "window"  # one of many operations on the same server
    assert workflow.instance_trigger is None and workflow.observed_trigger is None and workflow.failure_trigger is None


def test_workflow_order_boot_first_live_migration_before_resize() -> None:
    names = [w.operation for w in builtin_workflows()]
    assert names[0] == "boot"
    # both claim conductor's "Failed to compute_task_migrate_server": live migration's specific texts win
    assert names.index("live_migration") < names.index("resize")
    assert builtin_workflow("boot").instance_lines == "all" and not builtin_workflow("boot").outranks_boot
    assert not builtin_workflow("delete").outranks_boot  # a failed build's cleanup logs "Terminating instance"


def test_a_trigger_needs_request_or_action(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("operation: x\ntitle: X\ntrigger: {}\nsuccess: []\nstages: [{id: api, component: a, markers: [{service: a}]}]\n")
    with pytest.raises(KnowledgeError, match="x.yaml: trigger needs"):
        load_workflow(path)
    path.write_text("operation: x\ntitle: X\ntrigger: {action: {service: a}}\ninstance_lines: some\nsuccess: []\n"
                    "stages: [{id: api, component: a, markers: [{service: a}]}]\n")
    with pytest.raises(KnowledgeError, match="instance_lines"):
        load_workflow(path)


def _event(service: str, level: str, message: str, line: int = 1, request_id: str | None = "req-1") -> Event:
    return Event("h", f"{service}.log", line, f"2026-01-01 00:00:0{line}.000", service, level, "x", None, None,
                 request_id, "i", message, "", None, None)


def test_a_refused_precheck_is_a_failure_although_only_a_warning() -> None:
    workflow = builtin_workflow("live_migration")
    op = Operation("live_migration", ["req-1"], "i", None, [
        _event("nova-conductor", "WARNING", "Failed to compute_task_migrate_server: Unable to migrate instance "
               "(i) to current host (h)."),
        _event("nova-conductor", "WARNING", "Setting instance to ACTIVE state.", 2),
    ])
    classify(op, workflow)
    assert (op.outcome, op.stage, op.reached) == ("failed", "prechecks", ["prechecks"])


def test_a_live_migration_that_finished_is_active() -> None:
    workflow = builtin_workflow("live_migration")
    op = Operation("live_migration", ["req-1"], "i", None, [
        _event("nova-compute", "INFO", "_post_live_migration() is started..", 1, None),
        _event("nova-compute", "INFO", "Migrating instance to h2 finished successfully.", 2, None),
    ])
    classify(op, workflow)
    assert (op.outcome, op.stage) == ("active", None)
    assert op.reached == ["post_live_migration", "completed"]


# --- live migration: os-log-merger-contrib debug-live-migration ------------------------------------------------

@pytest.fixture(scope="module")
def live_doc() -> dict[str, Any]:
    root = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / LIVE
    if not root.is_dir():
        pytest.skip("../shared/data is not present")
    code, doc = diagnose_json(*sorted(root.iterdir()))
    assert code == 1
    return doc


def test_refused_live_migrations_are_named_and_localised(live_doc: dict[str, Any]) -> None:
    ops = [op for op in live_doc["operations"] if op["instance"] == REFUSED and op["operation"] == "live_migration"]
    failed = [op for op in ops if op["outcome"] == "failed"]
    # the conductor refused it again and again (the API calls are older than nova-api's log)
    assert len(failed) >= 15
    assert {op["stage"] for op in failed} == {"prechecks"}
    assert all(op["api_status"] is None and op["hosts"] == ["hp-ms-01-c29"] for op in failed)
    # no request of them fell to the catch-all or became a boot
    kinds = {op["operation"] for op in live_doc["operations"] if op["request_id"] in {f["request_id"] for f in failed}}
    assert kinds == {"live_migration"}


def test_refused_live_migration_cause(live_doc: dict[str, Any]) -> None:
    first = next(f for f in live_doc["findings"] if f["operation"])  # the first finding about an operation
    assert first["operation"] == "live_migration"
    assert first["stage"] == "prechecks" and first["component"] == "nova-conductor"
    assert first["rule"] == "migration/live-migration-to-same-host"
    assert "to current host" in first["evidence"][0]["text"]
    mine = [f for f in live_doc["findings"] if f["instance"] == REFUSED and f["operation"] == "live_migration"]
    rules = {f["rule"] for f in mine}
    assert rules >= {"migration/live-migration-to-same-host", "migration/live-migration-destination-unavailable"}
    same = next(f for f in mine if f["rule"] == "migration/live-migration-to-same-host")
    assert same["count"] >= 15  # one finding for the repeated refusals, with their count
    others = {f["rule"] for f in live_doc["findings"] if f["operation"] == "live_migration"}
    assert "migration/live-migration-not-shared-storage" in others


def test_the_last_two_live_migrations_succeeded(live_doc: dict[str, Any]) -> None:
    ok = {op["request_id"]: op for op in live_doc["operations"]
          if op["operation"] == "live_migration" and op["outcome"] == "active"}
    assert set(ok) == {"req-5f2adc28-1772-480e-a35c-c12ec08b94d7", "req-4b3cdd21-f6ba-4b00-be58-07a1414717ea"}
    for op in ok.values():
        assert op["api_status"] == 202  # POST /servers/{id}/action: the action is named by its own lines
        assert op["hosts"] == ["hp-ms-01-c29", "hp-ms-01-c30"]
        assert {"api", "migrating", "post_live_migration", "completed"} <= set(op["reached"])


# --- hotsos scenarios: live migration and resize known only from a compute line ---------------------------------

@pytest.mark.parametrize(("scenario", "kind", "stage", "rule"), [
    ("lp1860743", "live_migration", "migrating", "compute/live-migration-host-key-rejected"),
    ("lp1904580", "resize", "resize_instance", "compute/resize-ssh-failed"),
])
def test_hotsos_server_actions(shared_data: Path, scenario: str, kind: str, stage: str, rule: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        materialise(shared_data / "hotsos-fixtures/scenarios/openstack/nova/bugs" / f"{scenario}.yaml", Path(tmp))
        _, doc = diagnose_json(tmp)
    assert [(op["operation"], op["outcome"], op["stage"]) for op in doc["operations"]] == [(kind, "failed", stage)]
    top = doc["findings"][0]
    assert (top["operation"], top["stage"], top["component"], top["rule"]) == (kind, stage, "nova-compute", rule)


# --- volume attach and delete: DessertLab ----------------------------------------------------------------------

def _dessert(shared_data: Path, test: str, number: int, tmp: Path) -> Path:
    """The round's service logs only, in one host directory (as benchmarks/accuracy.py feeds them)."""
    sub, name = test.split("/")
    for part in ("core", "extended_gz"):
        source = shared_data / DESSERT / part / sub / name / "logs" / f"round_{number}"
        if source.is_dir():
            host = tmp / f"{sub}-{name}-round_{number}"
            for service in SERVICE_DIRS:
                if (source / service).is_dir():
                    shutil.copytree(source / service, host / service)
            return host
    pytest.skip(f"{test} is not in ../shared")


@pytest.mark.parametrize(("test", "stage", "component", "cause_words"), [
    # libvirt's attach_device broke inside nova (injected in the libvirt driver's attach_volume)
    ("Nova/Test_331", "attaching", "nova-compute", ["Failed to attach volume at mountpoint: /dev/vdb"]),
    # cinder's connection setup failed (LVM activation), nova rolled the attach back
    ("Cinder/Test_255", "initialize_connection", "cinder-volume", ["Error activating LV"]),
    # the disk was attached; cinder-volume crashed marking the volume in-use (os-attach answered 400)
    ("Cinder/Test_28", "attached", "cinder-volume", ["notify_about_volume_usage()", "req-15615d92"]),
])
def test_failed_volume_attach(shared_data: Path, tmp_path: Path, test: str, stage: str, component: str,
                              cause_words: list[str]) -> None:
    code, doc = diagnose_json(_dessert(shared_data, test, 1, tmp_path))
    assert code == 1
    attach = [op for op in doc["operations"] if op["operation"] == "volume_attach"]
    assert [(op["outcome"], op["stage"], op["api_status"]) for op in attach] == [("failed", stage, 200)]
    top = doc["findings"][0]
    assert (top["operation"], top["component"]) == ("volume_attach", component)
    # a rule's `stages:` may move the finding to a stage of its own (volume/attach-failed lists boot's and the
    # catch-all's stages only); the operation above is where the attach stopped
    assert top["stage"] == stage or top["rule"] == "volume/attach-failed"
    assert top["request_id"] == attach[0]["request_id"]
    assert all(w in top["cause"] for w in cause_words), top["cause"]


def test_fault_free_attach_and_delete_succeed(shared_data: Path, tmp_path: Path) -> None:
    code, doc = diagnose_json(_dessert(shared_data, "Nova/Test_331", 2, tmp_path))
    assert code == 0
    kinds = {op["operation"]: op for op in doc["operations"]}
    assert kinds["volume_attach"]["outcome"] == "active" and kinds["volume_attach"]["reached"][-1] == "attached"
    assert kinds["delete"]["outcome"] == "active" and kinds["delete"]["api_status"] == 204
    assert "destroyed" in kinds["delete"]["reached"]
    assert not any(op["operation"].startswith(("POST", "DELETE", "request")) for op in doc["operations"])
