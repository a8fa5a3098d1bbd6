"""The only module that talks to a cloud: openstacksdk authenticates (OS_* variables or clouds.yaml, as the
`openstack` client does) and finds each API in the catalog; the answers are kept as the APIs sent them (JSON
bodies, keyed by call), so the reasoning runs the same on a live cloud and on a saved capture
(`--save FILE`, `--from FILE`: cloud_capture.py). cloud_facts.py turns these answers into dataclass facts.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import openstack
from keystoneauth1 import exceptions as ksa
from openstack import exceptions as sdk

from stacksleuth.errors import StacksleuthError
from stacksleuth.probes.cloud_capture import ANSWERS_SCHEMA, Answers

_TIMEOUT = 30  # seconds per call: a black-holed API must not hang the check
_PAGE = 500  # items per list call; lists are followed by marker, at most _PAGES pages
_PAGES = 20
_COMPUTE_VERSION = (2, 84)  # 2.53: uuid ids, hypervisor.service.host; 2.84: instance-action events' details
_PLACEMENT_VERSION = (1, 14)  # parent_provider_uuid
# keys dropped from saved answers: large and never read (hypervisor CPU flags, links, image hashes), or private
_DROP = frozenset({"cpu_info", "links", "os_hash_value", "OS-EXT-SRV-ATTR:user_data", "servers_links"})
_LOCALE_VARS = ("LC_ALL", "LC_CTYPE", "LANG")
_ERRORS = (ksa.ClientException, sdk.SDKException)


_CONNECT = re.compile(r"Unable to establish connection to (?P<url>\S+?):? ")
_ERRNO = re.compile(r"(\[Errno -?\d+\] [^'\")]+|timed out|Name or service not known)")


class CloudError(StacksleuthError):
    """The cloud cannot be reached or refuses our credentials (one line, exit code 2)."""


def connect(cloud: str | None) -> Any:
    """An authenticated openstacksdk connection: `cloud` names a clouds.yaml entry, else OS_CLOUD or OS_*."""
    for name in ("keystoneauth", "openstack"):  # their warnings would print around our one-line errors
        logging.getLogger(name).addHandler(logging.NullHandler())
        logging.getLogger(name).propagate = False
    try:
        conn = openstack.connect(cloud=cloud, api_timeout=_TIMEOUT)
        conn.authorize()
    except _ERRORS as exc:
        where = (f"cloud {cloud!r}" if cloud else f"keystone at {os.environ['OS_AUTH_URL']}" if os.environ.get("OS_AUTH_URL")
                 else "a cloud (no --os-cloud, OS_CLOUD or OS_AUTH_URL: source an openrc first)")
        raise CloudError(f"cannot authenticate to {where}: {_one_line(exc)}") from exc
    return conn


def cloud_answers(conn: Any) -> Answers:
    """Every answer `check cloud` reasons on (calls the caller may not make are kept as their error)."""
    project = conn.current_project_id
    compute = _version(conn, "compute", _COMPUTE_VERSION)
    calls: dict[str, tuple[str, str, str | None]] = {
        "compute_services": ("compute", "/os-services", compute),
        "hypervisors": ("compute", "/os-hypervisors/detail", compute),
        "resource_providers": ("placement", "/resource_providers", _version(conn, "placement", _PLACEMENT_VERSION)),
        "network_agents": ("network", "/agents", None),
        "identity_services": ("identity", "/services", None),
        "identity_endpoints": ("identity", "/endpoints", None),
        "token_catalog": ("identity", "/auth/catalog", None),
        "compute_quota": ("compute", f"/os-quota-sets/{project}/detail", compute),
        "network_quota": ("network", f"/quotas/{project}/details", None),
        "flavors": ("compute", "/flavors", compute),
        "networks": ("network", "/networks?fields=id&fields=name", None),
    }
    answers = {key: _get(conn, *call) for key, call in calls.items()}
    answers["servers"] = _listed(conn, "compute", "/servers", "servers", compute, all_tenants="1")
    answers["images"] = _listed(conn, "image", "/images", "images", None)
    if _has(conn, "block-storage"):
        answers["volume_services"] = _get(conn, "block-storage", "/os-services", None)
        answers["volume_quota"] = _get(conn, "block-storage", f"/os-quota-sets/{project}?usage=true", None)
    return _envelope(conn, "cloud", answers)


def server_answers(conn: Any, uuid: str) -> Answers:
    """The server, its instance actions (each with its events), its ports and its volumes."""
    compute = _version(conn, "compute", _COMPUTE_VERSION)
    answers: Answers = {"server": _get(conn, "compute", f"/servers/{uuid}", compute)}
    if answers["server"].get("status") == 404:
        raise CloudError(f"no server {uuid} in this cloud (compute answered 404)")
    if "error" in answers["server"]:
        raise CloudError(f"cannot read server {uuid}: {answers['server']['error']}")
    answers["actions"] = _get(conn, "compute", f"/servers/{uuid}/os-instance-actions", compute)
    for action in (answers["actions"].get("body") or {}).get("instanceActions", []):
        request = action.get("request_id")
        if request:
            answers[f"action {request}"] = _get(conn, "compute", f"/servers/{uuid}/os-instance-actions/{request}", compute)
    answers["ports"] = _get(conn, "network", "/ports?" + urlencode({"device_id": uuid}), None)
    if _has(conn, "block-storage"):
        server = (answers["server"].get("body") or {}).get("server", {})
        for volume in server.get("os-extended-volumes:volumes_attached", []):
            answers[f"volume {volume['id']}"] = _get(conn, "block-storage", f"/volumes/{volume['id']}", None)
    return _envelope(conn, "server", answers)


def _envelope(conn: Any, kind: str, answers: Answers) -> Answers:
    auth = conn.config.get_auth_args()
    return {"schema": ANSWERS_SCHEMA, "kind": kind, "captured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "cloud": {"name": conn.config.name, "auth_url": auth.get("auth_url"), "region": conn.config.region_name,
                      "project_id": conn.current_project_id, "project_name": auth.get("project_name")},
            "client": {name: os.environ.get(name) for name in _LOCALE_VARS}, "answers": answers}


def _get(conn: Any, service: str, path: str, microversion: str | None) -> dict[str, Any]:
    """One GET: {call, status, body} as the API answered, or {call, error} when it did not answer at all."""
    call = f"GET {service} {path}"
    try:
        response = _proxy(conn, service).get(path, microversion=microversion, raise_exc=False)
    except _ERRORS as exc:  # refused, timed out, no endpoint in the catalog, no version discovered
        return {"call": call, "error": _one_line(exc), "endpoint": _endpoint(conn, service)}
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.status_code >= 400:
        return {"call": call, "status": response.status_code, "error": _one_line(response.text or response.reason)}
    return {"call": call, "status": response.status_code, "body": _trim(body)}


def _listed(conn: Any, service: str, path: str, key: str, microversion: str | None, **query: str) -> dict[str, Any]:
    """A list followed page by page (by marker): glance returns 25 items per page unless asked."""
    items: list[Any] = []
    params = dict(query, limit=str(_PAGE))
    for _ in range(_PAGES):
        answer = _get(conn, service, f"{path}?{urlencode(params)}", microversion)
        if "error" in answer and key == "servers" and "all_tenants" in params:  # not admin: our project's only
            params.pop("all_tenants")
            continue
        if "error" in answer:
            return answer
        page = (answer.get("body") or {}).get(key, [])
        items += page
        if len(page) < _PAGE:
            break
        params["marker"] = page[-1]["id"]
    return {"call": f"GET {service} {path}", "status": 200, "body": {key: items}}


def _proxy(conn: Any, service: str) -> Any:
    """The SDK's adapter for one API (building it asks the API for its versions, which may fail)."""
    return getattr(conn, service.replace("-", "_"))


def _version(conn: Any, service: str, wanted: tuple[int, int]) -> str | None:
    """`wanted`, or the API's newest microversion when it is older; None when the API says nothing."""
    try:
        data = _proxy(conn, service).get_endpoint_data()
    except _ERRORS:
        return None
    newest = getattr(data, "max_microversion", None) if data else None
    if not newest or newest[0] != wanted[0]:
        return None
    major, minor = min(tuple(newest), wanted)
    return f"{major}.{minor}"


def _endpoint(conn: Any, service: str) -> str | None:
    """The catalog's URL for `service` (to say where an API did not answer)."""
    try:
        url = conn.endpoint_for(service)
    except _ERRORS:
        return None
    return str(url) if url else None


def _has(conn: Any, service: str) -> bool:
    try:
        return bool(conn.has_service(service))
    except _ERRORS:  # a broken catalog entry: the service is as good as absent
        return False


def _trim(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _trim(v) for k, v in value.items() if k not in _DROP}
    if isinstance(value, list):
        return [_trim(v) for v in value]
    return value


def _one_line(value: object) -> str:
    """An error in a line: a connection failure as its URL and the reason, not the urllib3 pool's repr."""
    text = " ".join(str(value).split())
    failed = _CONNECT.search(text)
    if failed:
        reasons = _ERRNO.findall(text)
        text = f"cannot connect to {failed['url']}: {reasons[-1] if reasons else 'no answer'}"
    text = text.rstrip(".")
    return text if len(text) <= 300 else text[:297] + "..."
