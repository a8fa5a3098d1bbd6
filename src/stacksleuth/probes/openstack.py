"""OpenStack configuration: unknown options and invalid values (against the services' own definitions),
malformed or empty credentials, services pointed at different message brokers or memcached servers, and
the overcommit settings explained. Secret values are never copied into a finding."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from stacksleuth.findings import Evidence, Finding
from stacksleuth.probes import installed_options, options
from stacksleuth.probes.host import Host
from stacksleuth.probes.ini import Setting, parse_ini
from stacksleuth.probes.interface import Check, Outcome, finding
from stacksleuth.probes.redaction import is_secret

# service → its config files on a host (globs, as on the host)
CONFIG_FILES = {
    "nova": ("/etc/nova/nova.conf", "/etc/nova/nova-compute.conf"),
    "neutron": ("/etc/neutron/neutron.conf", "/etc/neutron/*_agent.ini", "/etc/neutron/plugins/ml2/*.ini"),
    "glance": ("/etc/glance/glance-api.conf",),
    "cinder": ("/etc/cinder/cinder.conf",),
    "keystone": ("/etc/keystone/keystone.conf",),
    "placement": ("/etc/placement/placement.conf",),
}
_CREDENTIALS = ("username", "password", "project_name", "auth_url")
_RATIOS = ("cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio",
           "initial_cpu_allocation_ratio", "initial_ram_allocation_ratio", "initial_disk_allocation_ratio",
           "reserved_host_memory_mb", "reserved_host_disk_mb", "reserved_host_cpus")


def probe(host: Host) -> Outcome:
    """Every service config file found on the host."""
    files = {service: [(p, t) for g in globs for p in host.glob(g) if (t := host.file(p)) is not None]
             for service, globs in CONFIG_FILES.items()}
    found = {s: [(p, parse_ini(t, p)) for p, t in f] for s, f in files.items() if f}
    if not found:
        return Outcome((Check("openstack/config", "skipped", "no OpenStack configuration file under /etc"),))
    return check_settings(host.name, found, installed_options.for_host(host))


def check_settings(host: str, found: dict[str, list[tuple[str, list[Setting]]]],
                   definitions: options.Definitions | None = None, gmr: bool = False) -> Outcome:
    """All config checks over parsed files, against `definitions` (the bundled table when None). A Guru
    Meditation Report (`gmr`) lists only registered options, possibly of another release, so it is checked for
    values, not for unknown names."""
    defs = definitions or options.bundled()
    checks: list[Check] = [Check("openstack/option-definitions", "info", f"options checked against {defs.source}")]
    findings: list[Finding] = []
    for service, files in found.items():
        for path, settings in files:
            per_file = list(_file_findings(host, service, settings, gmr, defs))
            findings += per_file
            checks.append(Check(f"openstack/config:{path}", "problem" if per_file else "ok",
                                f"{service}: {len(settings)} option(s) checked"
                                + (f" against {service} {defs.version(service)}" if defs.known_service(service) else "")))
    # a report prints `None` for every unset option: that is "not set", not a value
    everything = [(s, p, st) for s, files in found.items() for p, sts in files for st in sts
                  if not (gmr and st.value == "None")]
    cross = [_endpoints(host, everything, "transport_url", "message broker"),
             _endpoints(host, everything, "memcached_servers|memcache_servers", "memcached servers")]
    for outcome in cross + ([] if gmr else [_overcommit(host, everything)]):
        checks += outcome.checks
        findings += outcome.findings
    return Outcome(tuple(checks), tuple(findings))


def _evidence(host: str, s: Setting) -> Evidence:
    value = "***" if is_secret(s.key) and s.value else s.value
    return Evidence(host, s.file, s.line, f"[{s.section}] {s.key} = {value}")


def _file_findings(host: str, service: str, settings: list[Setting], gmr: bool,
                   defs: options.Definitions) -> Iterable[Finding]:
    with_auth = {s.section for s in settings if s.key in ("auth_type", "auth_section")} | {"keystone_authtoken"}
    for s in settings:
        if gmr and s.value == "None":
            continue
        if s.value.startswith("=") and not is_secret(s.key):
            yield finding("error", "config/malformed-value", f"[{s.section}] {s.key} is '{s.value}'",
                          f"The line reads `{s.key} = {s.value}`: the value is a stray '=' (a Debian package template "
                          f"bug writes `username = =`). {service} uses '{s.value}' literally, so the credential it sends "
                          "is wrong and keystone answers 401 Unauthorized.",
                          [f"set [{s.section}] {s.key} in {s.file} to the real value", f"restart {service}"],
                          service, [_evidence(host, s)], symptom="401 Unauthorized between services")
        elif s.section in with_auth and s.key in options.AUTH_PLUGIN_OPTIONS:
            continue
        elif defs.known_service(service):
            yield from _against_definitions(host, service, s, gmr, defs)
    if not gmr:  # a report lists registered options only, not the auth plugin's user name and password
        yield from _credentials(host, service, settings)


def _against_definitions(host: str, service: str, s: Setting, gmr: bool, defs: options.Definitions) -> Iterable[Finding]:
    definition = defs.spec(service, s.section, s.key)
    if definition is None and gmr and len(moved := defs.elsewhere(service, s.key)) == 1:
        definition = defs.spec(service, moved[0], s.key)  # an older release's report: the option moved since
    if definition is not None:
        reason = options.invalid(definition, s.value)
        if reason:
            shown = "***" if definition.get("secret") or is_secret(s.key) else s.value
            yield finding("error", "config/invalid-value", f"[{s.section}] {s.key} = {shown}: {reason}",
                          f"{service} rejects this value ({reason}) when it reads the option: the service fails to "
                          "start, or fails the requests that need it, with oslo.config's ConfigFileValueError.",
                          [f"fix [{s.section}] {s.key} in {s.file}", f"oslo-config-validator --namespace {service} "
                           f"--input-file {s.file}  # checks the whole file"], service, [_evidence(host, s)])
    elif not gmr and defs.known_section(service, s.section):
        near = defs.near_options(service, s.section, s.key)
        other = [g for g in defs.elsewhere(service, s.key) if g != s.section.lower()]
        hint = (f" Did you mean {' or '.join(near)}?" if near else "") + (
            f" {service} {defs.version(service)} reads `{s.key}` from [{'], ['.join(other)}]." if other else "")
        yield finding("warning", "config/unknown-option", f"{service} does not know [{s.section}] {s.key}",
                      f"{service} {defs.version(service)} has no option `{s.key}` in [{s.section}]; oslo.config "
                      f"ignores it silently, so the setting has no effect and the default applies.{hint}",
                      [f"correct or remove the line in {s.file}"], service, [_evidence(host, s)], confidence=0.8)
    elif not gmr:
        near = defs.near_sections(service, s.section)
        if near:
            yield finding("warning", "config/unknown-section", f"{service} has no section [{s.section}]",
                          f"Every option under [{s.section}] is ignored; the section is probably [{near[0]}].",
                          [f"rename the section in {s.file}"], service, [_evidence(host, s)], confidence=0.8)


def _credentials(host: str, service: str, settings: list[Setting]) -> Iterable[Finding]:
    """A section with `auth_type`/`auth_url` (keystone_authtoken, placement, neutron, nova, service_user…)
    must carry a user name and password: an empty one means every call between services gets 401."""
    sections = {s.section for s in settings if s.key in ("auth_type", "auth_url")}
    for section in sorted(sections):
        own = {s.key: s for s in settings if s.section == section}
        empty = [k for k in ("username", "password") if k not in own or not own[k].value.strip()]
        if empty and own.get("auth_type", None) is not None and own["auth_type"].value not in ("password", "v3password"):
            continue  # token/application-credential plugins need no user name
        if empty:
            where = own.get("auth_url") or own.get("auth_type") or next(iter(own.values()))
            yield finding("error", "config/credentials-missing", f"[{section}] has no {' or '.join(empty)}",
                          f"[{section}] configures keystone authentication but {', '.join(empty)} is empty or missing: "
                          f"{service} cannot get a token for it and every call it makes there fails with 401 "
                          "Unauthorized (or 'auth plugin requires parameters which were not given').",
                          [f"set {', '.join(empty)} under [{section}] in {where.file}", f"restart {service}"],
                          service, [_evidence(host, s) for s in own.values() if s.key in _CREDENTIALS] or
                          [_evidence(host, where)], symptom="401 Unauthorized between services")


def _endpoints(host: str, settings: list[tuple[str, str, Setting]], keys: str, what: str) -> Outcome:
    """Services (or files) on one host that name different servers for the same shared thing."""
    pattern = re.compile(f"^(?:{keys})$")
    seen: dict[tuple[str, ...], list[tuple[str, Setting]]] = {}
    for service, _, s in settings:
        if pattern.match(s.key) and s.value and "$" not in s.value:
            seen.setdefault(_servers(s.value), []).append((service, s))
    check_id = f"openstack/same-{what.replace(' ', '-')}"
    if len(seen) <= 1:
        servers = ", ".join(next(iter(seen))) if seen else "none set"
        return Outcome((Check(check_id, "ok" if seen else "skipped", f"{what}: {servers}"),))
    groups = "; ".join(f"{', '.join(sorted({svc for svc, _ in users}))} → {', '.join(key) or '(no host)'}"
                       for key, users in seen.items())
    evidence = [_evidence(host, s) for users in seen.values() for _, s in users]
    return Outcome((Check(check_id, "problem", f"{what}: {groups}"),), (finding(
        "error", f"config/different-{what.replace(' ', '-')}", f"Services use different {what}",
        f"The services on this host do not agree on their {what}: {groups}. RPC casts and replies (or cached "
        "tokens) sent to one are never seen by services listening on the other, so requests hang or time out "
        "(e.g. a server stays in BUILD: nova-api's cast never reaches the scheduler).",
        [f"make every service use the same {what} (compare the lines below)", "rabbitmqctl list_connections"],
        "configuration", evidence),))


def _servers(value: str) -> tuple[str, ...]:
    """host:port list of a transport_url (`rabbit://u:p@h1:5672,u:p@h2:5672/vhost`) or a memcached list,
    without credentials; the vhost is kept since a different vhost is a different broker for RPC."""
    if "://" not in value:
        return tuple(sorted(v.strip() for v in value.split(",") if v.strip()))
    scheme, _, rest = value.partition("://")
    hosts, _, vhost = rest.partition("/")
    servers = sorted(urlsplit(f"{scheme}://{h.rpartition('@')[2]}").netloc for h in hosts.split(","))
    return (*servers, f"vhost /{vhost}") if vhost else tuple(servers)


def _overcommit(host: str, settings: list[tuple[str, str, Setting]]) -> Outcome:
    """nova's allocation ratios and reserved resources, explained; a RAM overcommit is a warning."""
    set_here = [s for service, _, s in settings if service == "nova" and s.section == "DEFAULT" and s.key in _RATIOS]
    if not set_here:
        return Outcome((Check("openstack/overcommit", "ok", "nova allocation ratios and reserves at their defaults "
                              "(cpu 4.0, ram 1.0, disk 1.0 for new hosts; 512 MB RAM reserved)"),))
    values = {s.key: s.value for s in set_here}
    summary = ", ".join(f"{k}={v}" for k, v in values.items())
    severity = "info"
    try:
        if float(values.get("ram_allocation_ratio", "1.0")) > 1.0:
            severity = "warning"
    except ValueError:
        pass  # an invalid number is reported by the definitions check
    cause = ("Placement offers (total - reserved) × allocation_ratio of each resource: cpu_allocation_ratio 4.0 "
             "lets 4 vCPUs share a core; ram_allocation_ratio above 1.0 promises guests more memory than exists, "
             "so a busy host swaps or the OOM killer ends a guest; reserved_host_memory_mb is kept for the host "
             f"and QEMU overhead. Set here: {summary}. A value in nova.conf overrides what an operator sets on "
             "the resource provider in placement; initial_* ratios apply only when the provider is created.")
    return Outcome((Check("openstack/overcommit", "problem" if severity == "warning" else "info", summary),),
                   (finding(severity, "config/overcommit", f"nova overcommit and reserves: {summary}", cause,
                            ["openstack resource provider inventory list <compute node uuid>"], "nova-compute",
                            [_evidence(host, s) for s in set_here], confidence=0.7),))
