"""`trace`: one merged timeline for a request id or an instance id, across services."""

from __future__ import annotations

import json

from conftest import EXAMPLES, run_cli

BOOT = EXAMPLES / "baseline-boot-vm2-ok"
REQ = "req-569dd95d-dfc3-4f1b-825a-66d096e1d601"
INSTANCE = "877ae74c-fe20-4bc8-a0ac-218327dc0f92"


def test_request_id_spans_services() -> None:
    code, out, _ = run_cli("trace", REQ, str(BOOT), "--json")
    assert code == 0
    events = json.loads(out)["events"]
    services = {e["service"] for e in events}
    # nova's own id in nova-api and nova-compute, the same id as global id in placement, as glance's own id,
    # and the instance's lifecycle and qemu lines joined on the uuid
    assert {"nova-api", "nova-compute", "placement-api", "glance-api", "qemu"} <= services
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
    assert any(e["global_request_id"] == REQ for e in events if e["service"] == "placement-api")
    assert any(e["message"].startswith("VM Started") for e in events)


def test_instance_id_timeline_in_terminal() -> None:
    code, out, _ = run_cli("trace", INSTANCE, str(BOOT))
    assert code == 0
    assert "Timeline of" in out and "Claim successful" in out


def test_unknown_id_says_nothing_found() -> None:
    code, out, _ = run_cli("trace", "req-00000000-0000-0000-0000-000000000000", str(BOOT))
    assert code == 1
    assert "Nothing in the bundle mentions" in out


def test_instance_id_pulls_in_the_requests_that_acted_on_it() -> None:
    """Placement and glance lines carry only the request id; they join the instance through its boot."""
    code, out, _ = run_cli("trace", INSTANCE, str(BOOT), "--json")
    assert code == 0
    services = {e["service"] for e in json.loads(out)["events"]}
    assert {"nova-api", "nova-compute", "placement-api", "glance-api", "qemu"} <= services
