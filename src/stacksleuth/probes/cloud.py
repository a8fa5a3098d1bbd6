"""`check cloud`: what the APIs say is wrong with the cloud: services down or disabled, dead agents,
compute hosts nova cannot use (not in a cell, no resource provider) and providers without a host, a catalog
with duplicate or empty services, quotas at their limit, non-ASCII names under an ASCII locale. Decides from
cloud_facts only; every text is in knowledge/probes/cloud.yaml."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes.cloud_facts import CloudFacts, Failed, Service
from stacksleuth.probes.interface import Check, Outcome, finding, knowledge

_CALLS = {"compute_services": "GET compute /os-services", "volume_services": "GET block-storage /os-services",
          "network_agents": "GET network /agents", "hypervisors": "GET compute /os-hypervisors/detail",
          "resource_providers": "GET placement /resource_providers", "catalog": "GET identity /services + /endpoints",
          "quotas": "GET compute, network, block-storage quotas", "names": "GET servers, images, flavors, networks"}
# the saved answers behind the checks whose evidence names several calls (the others are one answer, same key)
_READ_FROM = {"catalog": ("identity_services", "identity_endpoints", "token_catalog"),
              "quotas": ("compute_quota", "network_quota", "volume_quota"),
              "names": ("servers", "images", "flavors", "networks")}
_QUOTA_OWNER = {"compute": "nova-api", "network": "neutron-server", "volume": "cinder-api"}
_UTF8 = re.compile(r"(?i)utf-?8")


def check(facts: CloudFacts) -> Outcome:
    """Every cloud check on the facts of one capture (live or saved)."""
    parts = [_apis(facts), _services(facts, "compute"), _services(facts, "volume"), _agents(facts), _hosts(facts),
             _catalog(facts), _quotas(facts), _names(facts)]
    return Outcome(tuple(c for p in parts for c in p.checks), tuple(f for p in parts for f in p.findings))


def answer_keys(call: str) -> tuple[str, ...]:
    """The keys of the saved answers an evidence line naming `call` was read from (to point into a capture);
    an unreachable API's evidence names its call as the capture does, so it has none here."""
    key = next((k for k, c in _CALLS.items() if c == call), None)
    return () if key is None else _READ_FROM.get(key, (key,))


def _spec() -> dict[str, Any]:
    data: dict[str, Any] = knowledge("cloud.yaml")
    return data


def _make(key: str, values: dict[str, Any], evidence: list[Evidence], component: str,
          severity: str | None = None) -> Finding:
    """A finding from its knowledge entry, placeholders filled from `values`."""
    entry = _spec()["findings"][key]
    text = {k: " ".join(str(entry.get(k, "")).split()).format(**values) for k in ("title", "cause", "symptom")}
    return finding(severity or entry["severity"], f"cloud/{key}", text["title"], text["cause"],
                   [c.format(**values) for c in entry["fix"]], component, evidence, symptom=text["symptom"])


def _evidence(facts: CloudFacts, key: str, index: int, text: str) -> Evidence:
    return Evidence(facts.source.region or facts.source.auth_url, _CALLS[key], index, text)


def _apis(facts: CloudFacts) -> Outcome:
    """An API that did not answer is a finding; one that refused us (403: not admin) only a skipped check."""
    checks, findings = [], []
    daemons = _spec()["api_daemons"]
    unreachable: dict[str, Failed] = {}
    for failed in facts.failed.values():
        service = failed.call.split()[1]
        if failed.status is None or failed.status >= 500:
            unreachable.setdefault(service, failed)
    duplicated = _duplicated_urls(facts)
    for service, failed in sorted(unreachable.items()):
        error = failed.error if failed.status is None else f"HTTP {failed.status}: {failed.error}"
        checks.append(Check(f"cloud/api:{service}", "problem", f"{failed.call}: {error}"))
        values = {"service": service, "daemon": daemons.get(service, service), "call": failed.call, "error": error,
                  "endpoint": failed.endpoint or "<its endpoint URL>"}
        made = _make("api-unreachable", values, [Evidence(facts.source.region, failed.call, 0, error)],
                     daemons.get(service, service))
        stale = next((url for url in duplicated if url in (failed.endpoint or "") + " " + failed.error), None)
        if stale is not None:  # the client picked a duplicated catalog entry's URL: the catalog finding leads
            made = replace(made, confidence=0.6,
                           cause=made.cause + " " + _spec()["api_behind_duplicate"].format(url=stale, **values))
        findings.append(made)
    return Outcome(tuple(checks), tuple(findings))


def _duplicated_urls(facts: CloudFacts) -> set[str]:
    """The endpoint URLs of catalog service types listed more than once with endpoints (catalog-duplicate)."""
    by_type: dict[str, list[Any]] = {}
    for entry in facts.catalog or ():
        if entry.endpoints:
            by_type.setdefault(entry.type, []).append(entry)
    return {p.url.rstrip("/") for entries in by_type.values() if len(entries) > 1 for e in entries for p in e.endpoints
            if p.url}


def _not_read(facts: CloudFacts, check_id: str, *keys: str) -> Check:
    why = "; ".join(f"{f.call}: {f.error}" if f.status is None else f"{f.call}: HTTP {f.status}"
                    for k in keys if (f := facts.failed.get(k)))
    return Check(check_id, "skipped", f"not checked ({why or 'not asked'})")


def _services(facts: CloudFacts, api: str) -> Outcome:
    key, rows = ("compute_services", facts.services) if api == "compute" else ("volume_services", facts.volume_services)
    check_id = f"cloud/{api}-services"
    if rows is None:
        if api == "volume" and key not in facts.failed:
            return Outcome()  # no cinder in this cloud
        return Outcome((_not_read(facts, check_id, key),))
    findings = []
    for index, s in enumerate(rows, 1):
        evidence = [_evidence(facts, key, index, _service_line(s))]
        values = _service_values(api, s)
        if s.state == "down":
            values["forced"] = " An operator forced it down (forced_down = true)." if s.forced_down else ""
            finding_ = _make("service-down", values, evidence, s.binary)
            symptoms = _spec()["down_symptoms"]
            findings.append(replace(finding_, symptom=symptoms.get(s.binary, symptoms["default"]).format(**values)))
        if s.status == "disabled":
            findings.append(_disabled(values, evidence, s))
    down = [s for s in rows if s.state == "down"]
    disabled = [s for s in rows if s.status == "disabled"]
    summary = (f"{len(rows)} service(s): " + (", ".join(f"{s.binary}@{s.host} down" for s in down) or "all up")
               + ("; disabled: " + ", ".join(f"{s.binary}@{s.host}" for s in disabled) if disabled else ""))
    return Outcome((Check(check_id, "problem" if findings else "ok", summary),), tuple(findings))


def _service_values(api: str, s: Service) -> dict[str, Any]:
    values: dict[str, Any] = {"binary": s.binary, "host": s.host, "updated_at": s.updated_at or "never",
                              "reason": s.disabled_reason or "none given"}
    commands = _spec()["services"][api]
    values.update({k: v.format(**values) for k, v in commands.items()})
    return values


def _disabled(values: dict[str, Any], evidence: list[Evidence], s: Service) -> Finding:
    for entry in _spec()["disabled_reasons"]:
        if re.search(entry["match"], s.disabled_reason):
            values = dict(values, means=entry["means"].format(**values))
            made = _make("service-disabled", values, evidence, s.binary)
            extra = tuple(c.format(**values) for c in entry["fix"])
            return replace(made, fix=extra + made.fix)
    raise AssertionError("cloud.yaml disabled_reasons must end with a catch-all")


def _service_line(s: Service) -> str:
    return (f"{s.binary} host={s.host} zone={s.zone} status={s.status} state={s.state} updated_at={s.updated_at}"
            + (f" disabled_reason={s.disabled_reason!r}" if s.disabled_reason else "")
            + (" forced_down=true" if s.forced_down else ""))


def _agents(facts: CloudFacts) -> Outcome:
    if facts.agents is None:
        return Outcome((_not_read(facts, "cloud/network-agents", "network_agents"),))
    spec = _spec()
    findings = []
    for index, a in enumerate(facts.agents, 1):
        values = {"agent_type": a.agent_type, "binary": a.binary, "host": a.host, "id": a.id,
                  "heartbeat": a.heartbeat or "never"}
        consequences = spec["agent_consequences"]
        values["consequence"] = consequences.get(a.binary, consequences["default"]).format(**values)
        evidence = [_evidence(facts, "network_agents", index,
                              f"{a.agent_type} ({a.binary}) host={a.host} alive={a.alive} admin_state_up={a.admin_state_up} "
                              f"heartbeat_timestamp={a.heartbeat} id={a.id}")]
        if not a.alive:
            findings.append(replace(_make("agent-down", values, evidence, a.binary), symptom=values["consequence"]))
        elif not a.admin_state_up:
            findings.append(_make("agent-admin-down", dict(values, consequence=spec["agent_admin_down"]), evidence,
                                  a.binary))
    bad = [f"{a.binary}@{a.host} " + ("dead" if not a.alive else "admin down") for a in facts.agents
           if not a.alive or not a.admin_state_up]
    return Outcome((Check("cloud/network-agents", "problem" if bad else "ok",
                          f"{len(facts.agents)} agent(s): " + (", ".join(bad) or "all alive")),), tuple(findings))


def _hosts(facts: CloudFacts) -> Outcome:
    """nova-compute services vs hypervisors (cell-mapped compute nodes) vs placement's root providers."""
    if facts.services is None or facts.hypervisors is None or facts.providers is None:
        return Outcome((_not_read(facts, "cloud/compute-hosts", "compute_services", "hypervisors", "resource_providers"),))
    computes = [s for s in facts.services if s.binary == "nova-compute"]
    roots = [p for p in facts.providers if p.parent in (None, p.uuid)]
    findings: list[Finding] = []
    for index, s in enumerate(facts.services, 1):
        if s.binary != "nova-compute":
            continue
        evidence = [_evidence(facts, "compute_services", index, _service_line(s))]
        mine = [h for h in facts.hypervisors if _same_host(h.host, s.host)]
        providers = [p for p in roots if any(p.uuid == h.id or _same_host(p.name, h.hostname) for h in mine)
                     or _same_host(p.name, s.host)]
        if not mine:
            where = (f" Placement does have its resource provider ({providers[0].name}, {providers[0].uuid}), so the "
                     "scheduler can still choose it." if providers else "")
            findings.append(_make("not-discovered", {"host": s.host, "provider": where}, evidence, "nova-conductor"))
        if not providers:
            findings.append(_make("no-provider", {"host": s.host}, evidence, "nova-compute"))
    known = {h.id for h in facts.hypervisors}
    for index, p in enumerate(facts.providers, 1):
        if p in roots and p.uuid not in known and not any(_same_host(p.name, s.host) for s in computes) \
                and not any(_same_host(p.name, h.hostname) for h in facts.hypervisors):
            evidence = [_evidence(facts, "resource_providers", index, f"resource provider name={p.name} uuid={p.uuid} root")]
            findings.append(_make("orphan-provider", {"name": p.name, "uuid": p.uuid}, evidence, "placement-api"))
    summary = (f"{len(computes)} nova-compute service(s), {len(facts.hypervisors)} hypervisor(s), "
               f"{len(roots)} root resource provider(s)")
    return Outcome((Check("cloud/compute-hosts", "problem" if findings else "ok", summary),), tuple(findings))


def _same_host(a: str, b: str) -> bool:
    """`cmp1` and `cmp1.example.com` are one host (nodename and service host may differ by the domain)."""
    a, b = a.lower(), b.lower()
    return bool(a) and (a == b or a.split(".")[0] == b.split(".")[0] and "." in a + b)


def _catalog(facts: CloudFacts) -> Outcome:
    if facts.catalog is None:
        return Outcome((_not_read(facts, "cloud/catalog", "identity_services", "identity_endpoints", "token_catalog"),))
    findings = []
    by_type: dict[str, list[tuple[int, Any]]] = {}
    for index, entry in enumerate(facts.catalog, 1):
        by_type.setdefault(entry.type, []).append((index, entry))
    for service_type, entries in sorted(by_type.items()):
        evidence = [_evidence(facts, "catalog", i, f"service {e.name} type={e.type} id={e.id} enabled={e.enabled} "
                              f"endpoints: {', '.join(f'{p.interface} {p.url}' for p in e.endpoints) or 'none'}")
                    for i, e in entries]
        empty = [e for _, e in entries if not e.endpoints]
        full = [e for _, e in entries if e.endpoints]
        values = {"type": service_type, "count": len(entries)}
        for e in empty:
            key = "catalog-duplicate-empty" if len(entries) > 1 else "catalog-no-endpoints"
            findings.append(_make(key, dict(values, name=e.name, id=e.id), evidence, "keystone"))
        if len(full) > 1:
            urls = "; ".join(f"{e.name}: {', '.join(sorted({p.url for p in e.endpoints}))}" for e in full)
            findings.append(_make("catalog-duplicate", dict(values, count=len(full), urls=urls), evidence, "keystone"))
    where = "services and endpoints" if facts.catalog_from == "admin" else "the token's catalog (not admin: services without endpoints are not shown)"
    summary = f"{len(facts.catalog)} service(s) in {where}: " + ", ".join(sorted(by_type))
    return Outcome((Check("cloud/catalog", "problem" if findings else "ok", summary),), tuple(findings))


def _quotas(facts: CloudFacts) -> Outcome:
    if facts.quotas is None:
        return Outcome((_not_read(facts, "cloud/quotas", "compute_quota", "network_quota"),))
    spec = _spec()["quotas"]
    findings, seen = [], []
    for index, q in enumerate(facts.quotas, 1):
        watched = spec["watched"].get(q.api, {}).get(q.resource)
        if watched is None or q.limit < 0:
            continue
        seen.append(f"{watched['what']} {q.used}/{q.limit}")
        ratio = q.used / q.limit if q.limit else 1.0
        if ratio < spec["warning_at"]:
            continue
        full = ratio >= spec["error_at"]
        values = {"project": facts.source.project, "used": q.used, "limit": q.limit, "what": watched["what"],
                  "option": watched["option"], "percent": round(100 * ratio),
                  "state": "is used up" if full else "is nearly used up"}
        values["symptom"] = watched["symptom"].format(**values)
        values["consequence"] = (values["symptom"] + "." if full else
                                 f"At {q.limit} the next request fails: {values['symptom']}.")
        evidence = [_evidence(facts, "quotas", index, f"{q.api} quota {q.resource}: limit={q.limit} in use={q.used}")]
        findings.append(_make("quota", values, evidence, _QUOTA_OWNER[q.api],
                              severity="error" if full else "warning"))
    return Outcome((Check("cloud/quotas", "problem" if findings else "ok",
                          f"project {facts.source.project}: " + (", ".join(seen) or "no watched quota is limited")),),
                   tuple(findings))


def locale_of(variables: dict[str, str | None]) -> tuple[str, str]:
    """(effective LC_CTYPE locale, the variable that set it) as a C program would see it. Python 3.7+ coerces
    a C locale by setting LC_CTYPE=C.UTF-8 in its own environment (PEP 538): that value under LANG=C is ours."""
    lang = variables.get("LANG") or ""
    ctype = variables.get("LC_CTYPE") or ""
    if ctype == "C.UTF-8" and lang.split(".")[0] in ("", "C", "POSIX"):
        ctype = ""
    for name, value in (("LC_ALL", variables.get("LC_ALL") or ""), ("LC_CTYPE", ctype), ("LANG", lang)):
        if value:
            return value, name
    return "C", "no LC_ALL, LC_CTYPE or LANG set"


def _names(facts: CloudFacts) -> Outcome:
    if facts.names is None:
        return Outcome((_not_read(facts, "cloud/names", "servers", "images", "flavors", "networks"),))
    odd = [(i, n) for i, n in enumerate(facts.names, 1) if not n.name.isascii()]
    locale, variable = locale_of(facts.source.locale)
    utf8 = bool(_UTF8.search(locale))
    summary = f"{len(facts.names)} name(s), {len(odd)} not ASCII; client locale {locale} ({variable})"
    if not odd or utf8:
        return Outcome((Check("cloud/names", "ok", summary),))
    kinds = sorted({n.kind for _, n in odd})
    evidence = [_evidence(facts, "names", i, f"{n.kind} {n.id} name={n.name!r}") for i, n in odd[:5]]
    values = {"count": len(odd), "locale": locale, "variable": variable, "kinds": "/".join(kinds), "example": odd[0][1].name}
    return Outcome((Check("cloud/names", "problem", summary),),
                   (_make("non-ascii-names", values, evidence, "client"),))


