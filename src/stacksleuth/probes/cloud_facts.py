"""API answers (cloud_api.py, live or from a capture) turned into plain facts: what the reasoning in cloud.py
and cloud_server.py needs, nothing of how it was asked. A list the caller could not get is None, with the
reason in `failed`, so "not checked" never reads as "nothing there"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stacksleuth.probes.cloud_capture import Answers


@dataclass(frozen=True, slots=True)
class Failed:
    """A call the API did not answer (`status` None: no answer at all: refused, timed out, not in the catalog)."""

    call: str
    status: int | None
    error: str
    endpoint: str | None = None  # the catalog's URL of that API, when known


@dataclass(frozen=True, slots=True)
class Source:
    """Which cloud was asked, when, and the client's locale variables."""

    auth_url: str
    region: str
    project: str
    captured_at: str
    locale: dict[str, str | None]

    def describe(self, more: str = "") -> str:
        """The cloud as reports name it: `cloud URL (project P, region R[; more])`."""
        return (f"cloud {self.auth_url or '?'} (project {self.project or '?'}, region {self.region or '-'}"
                + (f"; {more})" if more else ")"))


@dataclass(frozen=True, slots=True)
class Service:
    """A nova (or cinder) service: its binary on its host, as `openstack compute service list` shows it."""

    id: str
    binary: str
    host: str
    zone: str
    status: str
    state: str
    disabled_reason: str
    updated_at: str
    forced_down: bool


@dataclass(frozen=True, slots=True)
class Agent:
    """A neutron agent: alive is neutron's verdict on its heartbeat."""

    id: str
    agent_type: str
    binary: str
    host: str
    alive: bool
    admin_state_up: bool
    heartbeat: str


@dataclass(frozen=True, slots=True)
class Hypervisor:
    """A compute node nova lists: only those whose host is mapped to a cell appear."""

    id: str
    hostname: str
    host: str
    state: str
    status: str


@dataclass(frozen=True, slots=True)
class Provider:
    """A placement resource provider (the root ones are compute nodes, or shared storage)."""

    uuid: str
    name: str
    parent: str | None


@dataclass(frozen=True, slots=True)
class Endpoint:
    interface: str
    region: str
    url: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A keystone service and its endpoints."""

    id: str
    name: str
    type: str
    enabled: bool
    endpoints: tuple[Endpoint, ...]


@dataclass(frozen=True, slots=True)
class Quota:
    """One resource's limit and use in the project (-1: unlimited)."""

    api: str
    resource: str
    limit: int
    used: int


@dataclass(frozen=True, slots=True)
class Named:
    """A resource a user lists by name: server, image, flavor, network."""

    kind: str
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class CloudFacts:
    """Everything `check cloud` reasons on."""

    source: Source
    failed: dict[str, Failed]
    services: tuple[Service, ...] | None
    volume_services: tuple[Service, ...] | None
    agents: tuple[Agent, ...] | None
    hypervisors: tuple[Hypervisor, ...] | None
    providers: tuple[Provider, ...] | None
    catalog: tuple[CatalogEntry, ...] | None
    catalog_from: str  # "admin" (services + endpoints) or "token" (the token's catalog: no empty services)
    quotas: tuple[Quota, ...] | None
    names: tuple[Named, ...] | None


@dataclass(frozen=True, slots=True)
class Fault:
    """The fault nova recorded on the server (what `server show` prints)."""

    code: int
    message: str
    details: str
    created: str


@dataclass(frozen=True, slots=True)
class Event:
    """One step of an instance action (e.g. compute__do_build_and_run_instance) and how it ended."""

    name: str
    result: str
    start: str
    finish: str
    host: str
    traceback: str
    details: str


@dataclass(frozen=True, slots=True)
class Action:
    """An instance action: one API request on the server (its request id leads into the logs)."""

    action: str
    request_id: str
    start: str
    message: str
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Port:
    """A neutron port of the server, with its binding."""

    id: str
    status: str
    vif_type: str
    host: str
    admin_state_up: bool
    network_id: str
    ips: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Volume:
    """A cinder volume attached to the server (None fields when cinder was not asked)."""

    id: str
    status: str | None
    name: str


@dataclass(frozen=True, slots=True)
class ServerFacts:
    """Everything `check server` reasons on."""

    source: Source
    failed: dict[str, Failed]
    id: str
    name: str
    status: str
    task_state: str
    vm_state: str
    host: str
    updated: str
    fault: Fault | None
    actions: tuple[Action, ...]
    ports: tuple[Port, ...] | None
    volumes: tuple[Volume, ...]


def cloud_facts(capture: Answers) -> CloudFacts:
    """The facts of a `check cloud` capture."""
    answers: dict[str, Any] = capture["answers"]
    body, failed = _bodies(answers)
    catalog, catalog_from = _catalog(body)
    return CloudFacts(
        source=_source(capture), failed=failed,
        services=_list(body, "compute_services", "services", _service),
        volume_services=_list(body, "volume_services", "services", _service),
        agents=_list(body, "network_agents", "agents", _agent),
        hypervisors=_list(body, "hypervisors", "hypervisors", _hypervisor),
        providers=_list(body, "resource_providers", "resource_providers",
                        lambda r: Provider(r["uuid"], r.get("name") or "", r.get("parent_provider_uuid"))),
        catalog=catalog, catalog_from=catalog_from, quotas=_quotas(body), names=_names(body))


def server_facts(capture: Answers) -> ServerFacts:
    """The facts of a `check server` capture."""
    answers: dict[str, Any] = capture["answers"]
    body, failed = _bodies(answers)
    server = (body.get("server") or {}).get("server") or {}
    fault = server.get("fault")
    actions = [_action(body[key]["instanceAction"]) for key in body if key.startswith("action ")
               and isinstance(body[key], dict) and "instanceAction" in body[key]]
    listed = {a["request_id"]: a for a in (body.get("actions") or {}).get("instanceActions", [])}
    for request, summary in listed.items():  # an action whose details could not be read still counts
        if not any(a.request_id == request for a in actions):
            actions.append(_action(summary))
    volumes = tuple(_volume(v["id"], body.get(f"volume {v['id']}")) for v in server.get("os-extended-volumes:volumes_attached", []))
    return ServerFacts(
        source=_source(capture), failed=failed, id=str(server.get("id", "")), name=str(server.get("name") or ""),
        status=str(server.get("status") or ""), task_state=str(server.get("OS-EXT-STS:task_state") or ""),
        vm_state=str(server.get("OS-EXT-STS:vm_state") or ""), host=str(server.get("OS-EXT-SRV-ATTR:host") or ""),
        updated=str(server.get("updated") or ""),
        fault=Fault(int(fault.get("code") or 0), str(fault.get("message") or ""), str(fault.get("details") or ""),
                    str(fault.get("created") or "")) if fault else None,
        actions=tuple(sorted(actions, key=lambda a: a.start, reverse=True)),
        ports=_list(body, "ports", "ports", _port), volumes=volumes)


def _source(capture: Answers) -> Source:
    cloud = capture.get("cloud") or {}
    return Source(str(cloud.get("auth_url") or ""), str(cloud.get("region") or ""),
                  str(cloud.get("project_name") or cloud.get("project_id") or ""), str(capture.get("captured_at") or ""),
                  dict(capture.get("client") or {}))


def _bodies(answers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Failed]]:
    """Answer bodies by key, and the calls that failed."""
    bodies = {k: a.get("body") for k, a in answers.items() if "error" not in a}
    failed = {k: Failed(a.get("call", k), a.get("status"), a["error"], a.get("endpoint"))
              for k, a in answers.items() if "error" in a}
    return bodies, failed


def _list(body: dict[str, Any], key: str, field: str, make: Any) -> Any:
    if key not in body or body[key] is None:
        return None
    return tuple(make(item) for item in body[key].get(field, []))


def _service(s: dict[str, Any]) -> Service:
    return Service(str(s.get("id", "")), s.get("binary", ""), s.get("host", ""), s.get("zone", ""), s.get("status", ""),
                   s.get("state", ""), s.get("disabled_reason") or "", s.get("updated_at") or "",
                   bool(s.get("forced_down")))


def _agent(a: dict[str, Any]) -> Agent:
    return Agent(a.get("id", ""), a.get("agent_type", ""), a.get("binary", ""), a.get("host", ""), bool(a.get("alive")),
                 bool(a.get("admin_state_up", True)), a.get("heartbeat_timestamp") or "")


def _hypervisor(h: dict[str, Any]) -> Hypervisor:
    service = h.get("service") or {}
    return Hypervisor(str(h.get("id", "")), h.get("hypervisor_hostname", ""), service.get("host", ""),
                      h.get("state", ""), h.get("status", ""))


def _catalog(body: dict[str, Any]) -> tuple[tuple[CatalogEntry, ...] | None, str]:
    """The admin view (every service, with or without endpoints) when we may read it, else the token's."""
    services, endpoints = body.get("identity_services"), body.get("identity_endpoints")
    if services is not None and endpoints is not None:
        by_service: dict[str, list[Endpoint]] = {}
        for e in endpoints.get("endpoints", []):
            by_service.setdefault(e["service_id"], []).append(_endpoint(e))
        return tuple(CatalogEntry(s["id"], s.get("name") or "", s.get("type") or "", bool(s.get("enabled", True)),
                                  tuple(by_service.get(s["id"], []))) for s in services.get("services", [])), "admin"
    token = body.get("token_catalog")
    if token is None:
        return None, "none"
    return tuple(CatalogEntry(s["id"], s.get("name") or "", s.get("type") or "", True,
                              tuple(_endpoint(e) for e in s.get("endpoints", []))) for s in token.get("catalog", [])), "token"


def _endpoint(e: dict[str, Any]) -> Endpoint:
    return Endpoint(e.get("interface", ""), e.get("region_id") or e.get("region") or "", e.get("url", ""),
                    bool(e.get("enabled", True)))


def _quotas(body: dict[str, Any]) -> tuple[Quota, ...] | None:
    compute = (body.get("compute_quota") or {}).get("quota_set")
    network = (body.get("network_quota") or {}).get("quota")
    volume = (body.get("volume_quota") or {}).get("quota_set")
    if compute is None and network is None and volume is None:
        return None
    quotas = [Quota(api, name, int(v["limit"]), int(v.get("in_use", 0)) + int(v.get("reserved", 0)))
              for api, answer in (("compute", compute), ("volume", volume))
              for name, v in (answer or {}).items() if isinstance(v, dict)]
    quotas += [Quota("network", name, int(v["limit"]), int(v.get("used", 0)) + int(v.get("reserved", 0)))
               for name, v in (network or {}).items() if isinstance(v, dict)]
    return tuple(quotas)


def _names(body: dict[str, Any]) -> tuple[Named, ...] | None:
    lists = {"server": ("servers", "servers"), "image": ("images", "images"), "flavor": ("flavors", "flavors"),
             "network": ("networks", "networks")}
    found = [Named(kind, str(item.get("id", "")), str(item.get("name") or ""))
             for kind, (key, field) in lists.items() for item in (body.get(key) or {}).get(field, [])]
    return tuple(found) if any(body.get(key) is not None for key, _ in lists.values()) else None


def _action(a: dict[str, Any]) -> Action:
    events = tuple(Event(e.get("event", ""), e.get("result") or "", e.get("start_time") or "", e.get("finish_time") or "",
                         e.get("host") or "", e.get("traceback") or "", (e.get("details") or "").strip())
                   for e in a.get("events", []))
    return Action(a.get("action", ""), a.get("request_id", ""), a.get("start_time") or "", a.get("message") or "", events)


def _port(p: dict[str, Any]) -> Port:
    return Port(p.get("id", ""), p.get("status", ""), p.get("binding:vif_type") or "", p.get("binding:host_id") or "",
                bool(p.get("admin_state_up", True)), p.get("network_id", ""),
                tuple(ip.get("ip_address", "") for ip in p.get("fixed_ips", [])))


def _volume(volume_id: str, body: dict[str, Any] | None) -> Volume:
    volume = (body or {}).get("volume") or {}
    return Volume(volume_id, volume.get("status"), volume.get("name") or "")
