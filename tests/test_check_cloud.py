"""`stacksleuth check cloud` and `check server UUID` on real API answers: tests/data/cloud/*.json were saved with
`--save` from our lab (Debian Zed: keystone, glance, placement, nova, neutron linuxbridge, cinder) while it was
broken for real, each state restored afterwards:

- normal: nothing wrong; compute-down: nova-compute stopped until nova reported it down; disabled: nova-compute
  disabled with a reason and the DHCP agent set admin-down;
- agent-down: neutron-linuxbridge-agent stopped until neutron reported it dead; server-error-max-retries: a
  boot during that state once nova gave up (PortBindingFailed, rescheduled, out of hosts);
- server-port-unbound / server-port-binding-failed: an ACTIVE server whose port was unbound, then bound again to
  its host while that host's linuxbridge agent was dead (binding:host_id set through the port API);
- server-stuck-build: a boot while nova-conductor was stopped (BUILD, task_state scheduling);
- server-attach-failed: an ACTIVE server to which attaching a 1 GB cinder volume failed (in this lab the
  attach fails in nova-compute with a cinderclient error);
- unmapped-compute: the compute host's cell host mapping deleted (the lab scenario of that name);
- duplicate-network-service: a second `network` service without endpoints, plus a resource provider created
  with no compute service; stale-network-endpoint: a second `network` service with endpoints on a dead port;
- placement-stopped: placement-api stopped; quota-at-limit: one server, project quota instances=1, ram=70 MB;
- non-ascii-names: an image named `lab-镜像测试` (and the server `lab-云主机`), asked under LANG=C;
- server-error: a boot forced onto a host that does not exist (No valid host, the conductor's event failed);
  server-active: a healthy server.

The @pytest.mark.lab tests ask the live lab (as root, under the lab's lock)."""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import socket
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from stacksleuth.probes.cloud import locale_of
from stacksleuth.probes.cloud_capture import load
from stacksleuth.probes.cloud_facts import cloud_facts
from stacksleuth.probes.cloud_server import last_line

DATA = Path(__file__).parent / "data" / "cloud"
OPENRC = Path("/var/lib/stacksleuth-lab/admin-openrc")


def _cloud(name: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run_cli("check", "cloud", "--from", str(DATA / f"{name}.json"), "--json")
    return code, json.loads(out)


def _server(name: str) -> tuple[int, dict[str, Any]]:
    uuid = json.loads((DATA / f"{name}.json").read_text())["answers"]["server"]["body"]["server"]["id"]
    code, out, _ = run_cli("check", "server", uuid, "--from", str(DATA / f"{name}.json"), "--json")
    return code, json.loads(out)


def _rules(document: dict[str, Any]) -> list[str]:
    return [f["rule"] for f in document["findings"]]


def _one(document: dict[str, Any], rule: str) -> dict[str, Any]:
    found = [f for f in document["findings"] if f["rule"] == rule]
    assert len(found) == 1, (rule, _rules(document))
    return found[0]


def _checks(document: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in document["checks"]}


def test_a_healthy_cloud_has_no_finding() -> None:
    code, document = _cloud("normal")
    assert code == 0 and document["findings"] == []
    assert document["schema"] == "stacksleuth/diagnosis/v1"
    assert _checks(document) == {"cloud/compute-services": "ok", "cloud/volume-services": "ok",
                                 "cloud/network-agents": "ok", "cloud/compute-hosts": "ok", "cloud/catalog": "ok",
                                 "cloud/quotas": "ok", "cloud/names": "ok"}
    assert "cloud http://127.0.0.1:5000/v3" in document["source"]["cloud"]


def test_facts_are_read_from_the_answers() -> None:
    facts = cloud_facts(load(DATA / "normal.json", "cloud"))
    assert facts.services is not None and {s.binary for s in facts.services} >= {"nova-compute", "nova-conductor",
                                                                                  "nova-scheduler"}
    assert facts.hypervisors is not None and [h.host for h in facts.hypervisors] == ["vm"]
    assert facts.providers is not None and facts.providers[0].uuid == facts.hypervisors[0].id
    assert facts.catalog_from == "admin" and facts.catalog is not None
    assert {e.type for e in facts.catalog} >= {"compute", "identity", "image", "network", "placement"}


def test_a_stopped_nova_compute_is_reported_down() -> None:
    code, document = _cloud("compute-down")
    assert code == 1
    down = _one(document, "check/cloud/service-down")
    assert down["severity"] == "error" and down["title"] == "nova-compute on vm is down"
    assert "No valid host" in down["symptom"] and down["component"] == "nova-compute"
    assert "state=down" in down["evidence"][0]["text"]
    assert any("systemctl restart nova-compute" in step for step in down["fix"])
    assert _checks(document)["cloud/compute-services"] == "problem"


def test_a_stopped_linuxbridge_agent_is_reported_dead() -> None:
    code, document = _cloud("agent-down")
    assert code == 1
    dead = _one(document, "check/cloud/agent-down")
    assert dead["component"] == "neutron-linuxbridge-agent" and "binding_failed" in dead["symptom"]
    assert "alive=False" in dead["evidence"][0]["text"]
    assert _checks(document)["cloud/network-agents"] == "problem"


def test_a_disabled_compute_service_and_an_admin_down_agent() -> None:
    code, document = _cloud("disabled")
    assert code == 1
    disabled = _one(document, "check/cloud/service-disabled")
    assert "an operator disabled it (reason: hardware maintenance, ticket 4711)" in disabled["cause"]
    assert any(step.startswith("openstack compute service set --enable vm nova-compute") for step in disabled["fix"])
    agent = _one(document, "check/cloud/agent-admin-down")
    assert agent["component"] == "neutron-dhcp-agent" and agent["severity"] == "warning"
    assert "check/cloud/service-down" not in _rules(document)


def test_a_compute_host_without_cell_mapping_needs_discover_hosts() -> None:
    code, document = _cloud("unmapped-compute")
    assert code == 1
    unmapped = _one(document, "check/cloud/not-discovered")
    assert "vm" in unmapped["title"] and any("discover_hosts" in step for step in unmapped["fix"])
    assert "resource provider" in unmapped["cause"]  # placement still has it: the scheduler can pick the host
    assert "check/cloud/orphan-provider" not in _rules(document)


def test_a_duplicate_service_without_endpoints_and_an_orphan_provider() -> None:
    code, document = _cloud("duplicate-network-service")
    assert code == 1
    duplicate = _one(document, "check/cloud/catalog-duplicate-empty")
    assert "Invalid service catalog service: network" in duplicate["symptom"]
    assert "neutron-duplicate" in duplicate["title"] and duplicate["severity"] == "warning"
    assert any(step.startswith("openstack service delete ") for step in duplicate["fix"])
    orphan = _one(document, "check/cloud/orphan-provider")
    assert "lab-orphan-provider" in orphan["title"]


def test_a_duplicate_service_with_a_stale_endpoint_is_an_error() -> None:
    code, document = _cloud("stale-network-endpoint")
    assert code == 1
    duplicate = _one(document, "check/cloud/catalog-duplicate")
    assert duplicate["severity"] == "error" and "127.0.0.1:9697" in duplicate["cause"]
    assert "check/cloud/catalog-duplicate-empty" not in _rules(document)


def test_an_api_that_does_not_answer_is_a_finding_and_its_checks_are_skipped() -> None:
    code, document = _cloud("placement-stopped")
    assert code == 1
    down = _one(document, "check/cloud/api-unreachable")
    assert down["title"] == "The placement API does not answer" and down["component"] == "placement-api"
    assert _checks(document)["cloud/compute-hosts"] == "skipped"
    assert _checks(document)["cloud/compute-services"] == "ok"  # nova still answers


def test_quotas_at_and_near_their_limit() -> None:
    code, document = _cloud("quota-at-limit")
    assert code == 1
    quotas = {f["title"].split(" quota")[0]: f for f in document["findings"] if f["rule"] == "check/cloud/quota"}
    assert quotas["instances"]["severity"] == "error" and "(1 of 1)" in quotas["instances"]["title"]
    assert "Quota exceeded for instances" in quotas["instances"]["symptom"]
    assert quotas["RAM (MB)"]["severity"] == "warning" and "(64 of 70)" in quotas["RAM (MB)"]["title"]
    assert set(quotas) == {"instances", "RAM (MB)"}


def test_non_ascii_names_under_an_ascii_locale() -> None:
    code, document = _cloud("non-ascii-names")
    assert code == 1
    names = _one(document, "check/cloud/non-ascii-names")
    assert "'ascii' codec can't encode" in names["symptom"] and "locale is C" in names["title"]
    assert any("lab-镜像测试" in e["text"] for e in names["evidence"])
    assert any("LC_ALL=C.UTF-8" in step for step in names["fix"])


def test_the_same_names_under_a_utf8_locale_are_fine(tmp_path: Path) -> None:
    capture = json.loads((DATA / "non-ascii-names.json").read_text())
    capture["client"] = {"LANG": "zh_CN.UTF-8", "LC_ALL": None, "LC_CTYPE": None}
    (tmp_path / "utf8.json").write_text(json.dumps(capture))
    code, out, _ = run_cli("check", "cloud", "--from", str(tmp_path / "utf8.json"), "--json")
    document = json.loads(out)
    assert "check/cloud/non-ascii-names" not in _rules(document)
    assert _checks(document)["cloud/names"] == "ok"


def test_locale_as_a_c_program_sees_it() -> None:
    assert locale_of({"LANG": "C", "LC_CTYPE": "C.UTF-8", "LC_ALL": None}) == ("C", "LANG")  # Python's coercion
    assert locale_of({"LANG": "en_US.UTF-8", "LC_ALL": "C"}) == ("C", "LC_ALL")
    assert locale_of({"LANG": "C", "LC_CTYPE": "en_US.UTF-8"}) == ("en_US.UTF-8", "LC_CTYPE")
    assert locale_of({})[0] == "C"


def test_a_failed_server_names_the_failed_event_and_its_request_id() -> None:
    code, document = _server("server-error")
    assert code == 1
    error = _one(document, "check/cloud-server/server-error")
    assert "No valid host was found" in error["title"]
    assert error["operation"] == "boot" and error["stage"] == "scheduling" and error["component"] == "nova-conductor"
    assert error["request_id"].startswith("req-") and document["source"]["request_ids"] == [error["request_id"]]
    assert "conductor_schedule_and_build_instances" in error["cause"]
    assert any("NoValidHost" in e["text"] for e in error["evidence"])
    assert any(step.startswith(f"stacksleuth trace {error['request_id']}") for step in error["fix"])
    assert _checks(document)["cloud-server/state"] == "problem"


def test_a_port_that_failed_to_bind() -> None:
    code, document = _server("server-port-binding-failed")
    assert code == 1
    port = _one(document, "check/cloud-server/port-binding-failed")
    assert "binding_failed" in port["title"] and "binding:vif_type=binding_failed" in port["evidence"][0]["text"]
    assert "agent on vm" in port["cause"] and port["instance"] == document["source"]["server"]


def test_an_active_server_with_an_unbound_port() -> None:
    code, document = _server("server-port-unbound")
    assert code == 1
    port = _one(document, "check/cloud-server/port-unbound")
    assert "binding:vif_type=unbound" in port["evidence"][0]["text"]


def test_a_build_that_ran_out_of_retries() -> None:
    code, document = _server("server-error-max-retries")
    assert code == 1
    error = _one(document, "check/cloud-server/server-error")
    assert "Exceeded maximum number of retries" in error["title"] and error["request_id"].startswith("req-")


def test_a_server_held_in_a_task_state_is_stuck(tmp_path: Path) -> None:
    """A boot while nova-conductor was stopped, read as if taken 20 minutes later: the task_state is now stuck."""
    capture = json.loads((DATA / "server-stuck-build.json").read_text())
    server = capture["answers"]["server"]["body"]["server"]
    assert server["OS-EXT-STS:task_state"] == "scheduling" and server["status"] == "BUILD"
    assert "check/cloud-server/stuck" not in _rules(_server("server-stuck-build")[1])
    updated = datetime.fromisoformat(server["updated"].replace("Z", "+00:00"))
    capture["captured_at"] = (updated + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (tmp_path / "later.json").write_text(json.dumps(capture))
    code, out, _ = run_cli("check", "server", server["id"], "--from", str(tmp_path / "later.json"), "--json")
    stuck = _one(json.loads(out), "check/cloud-server/stuck")
    assert server["OS-EXT-STS:task_state"] in stuck["title"] and "20 minutes" in stuck["cause"]


def test_a_failed_volume_attach_on_an_active_server() -> None:
    code, document = _server("server-attach-failed")
    assert code == 1
    failed = _one(document, "check/cloud-server/action-failed")
    assert failed["operation"] == "attach_volume" and failed["component"] == "nova-compute"
    assert "compute_attach_volume" in failed["cause"] and "cinderclient" in failed["cause"]
    assert document["source"]["request_ids"] == [failed["request_id"]]
    assert _checks(document)["cloud-server/state"] == "ok"


def test_a_healthy_server_has_no_finding() -> None:
    code, document = _server("server-active")
    assert code == 0 and document["findings"] == []
    assert _checks(document)["cloud-server/ports"] == "ok"


def test_last_line_of_a_traceback() -> None:
    details = json.loads((DATA / "server-error.json").read_text())["answers"]["server"]["body"]["server"]["fault"]["details"]
    assert last_line(details).startswith("nova.exception.NoValidHost: No valid host was found")


def test_captures_hold_no_secret() -> None:
    for capture in DATA.glob("*.json"):
        text = capture.read_text()
        assert "labadmin" not in text and "X-Auth-Token" not in text and "user_data" not in text, capture


def test_wrong_captures_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for args in (["cloud", "--from", str(bad)], ["server", "x", "--from", str(DATA / "normal.json")],
                 ["cloud", "--from", str(DATA / "server-error.json")],
                 ["server", "00000000-0000-0000-0000-000000000000", "--from", str(DATA / "server-error.json")]):
        code, out, err = run_cli("check", *args)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, (args, err)
        assert err.startswith("stacksleuth: error: ")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_keystone_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("OS_")]:
        monkeypatch.delenv(name)
    port = _closed_port()
    monkeypatch.setenv("OS_AUTH_URL", f"http://127.0.0.1:{port}/v3")
    for name, value in (("OS_USERNAME", "admin"), ("OS_PASSWORD", "x"), ("OS_PROJECT_NAME", "admin"),
                        ("OS_USER_DOMAIN_NAME", "Default"), ("OS_PROJECT_DOMAIN_NAME", "Default")):
        monkeypatch.setenv(name, value)
    for command in (["cloud"], ["server", "00000000-0000-0000-0000-000000000000"]):
        code, out, err = run_cli("check", *command)
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1 and f"127.0.0.1:{port}" in err and "refused" in err, err


def test_an_unknown_cloud_name_is_one_line() -> None:
    code, _, err = run_cli("check", "cloud", "--os-cloud", "no-such-cloud-here")
    assert code == 2 and "no-such-cloud-here" in err and len(err.strip().splitlines()) == 1


@pytest.fixture
def lab() -> Iterator[dict[str, str]]:
    """The live lab's admin environment, holding the lab's lock (another session may be breaking it)."""
    with open("/tmp/stacksleuth-lab.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not OPENRC.is_file():
            pytest.skip("the lab is not up here")
        env = dict(os.environ)
        for item in shlex.split(OPENRC.read_text().replace("export ", ""), comments=True):
            key, _, value = item.partition("=")
            env[key] = value
        yield env


def _stacksleuth(env: dict[str, str], *args: str) -> tuple[int, str]:
    proc = subprocess.run(["stacksleuth", *args], capture_output=True, text=True, env=env, timeout=300)
    return proc.returncode, proc.stdout


@pytest.mark.lab
def test_check_cloud_on_the_live_lab(lab: dict[str, str], tmp_path: Path) -> None:
    code, out = _stacksleuth(lab, "check", "cloud", "--json", "--save", str(tmp_path / "now.json"))
    document = json.loads(out)
    assert code == 0, document["findings"]  # the lab is healthy between scenarios
    assert set(_checks(document).values()) == {"ok"}
    again, replayed = _stacksleuth(lab, "check", "cloud", "--json", "--from", str(tmp_path / "now.json"))
    assert again == code and json.loads(replayed)["checks"] == document["checks"]
    assert "labadmin" not in (tmp_path / "now.json").read_text()


@pytest.mark.lab
def test_check_server_on_a_live_failed_boot(lab: dict[str, str]) -> None:
    """A boot forced onto a host that does not exist fails in the scheduler without breaking the lab."""
    name = "lab-check-server"
    create = subprocess.run(["openstack", "server", "create", "--flavor", "m1.nano", "--image", "tiny", "--nic", "none",
                             "--availability-zone", "nova:no-such-host", "--wait", name, "-f", "json"],
                            capture_output=True, text=True, env=lab, timeout=300)
    try:
        shown = subprocess.run(["openstack", "server", "show", name, "-f", "json"], capture_output=True, text=True,
                               env=lab, timeout=120, check=True)
        uuid = json.loads(shown.stdout)["id"]
        code, out = _stacksleuth(lab, "check", "server", uuid, "--json")
        document = json.loads(out)
        assert code == 1, create.stderr
        error = _one(document, "check/cloud-server/server-error")
        assert error["stage"] == "scheduling" and error["request_id"] in document["source"]["request_ids"]
    finally:
        subprocess.run(["openstack", "server", "delete", "--wait", name], capture_output=True, env=lab, timeout=300)
