"""Dump the oslo.config option definitions of the OpenStack services installed on this host, as YAML.

Run by the *system* Python that has the services' packages (the file has no stacksleuth imports):
`/usr/bin/python3 src/stacksleuth/probes/optdump.py > src/stacksleuth/knowledge/probes/openstack-options.yaml`
(`--json`: the same document as JSON, which `stacksleuth check` reads on a live host with the services installed).
It asks each service's own `oslo.config.opts` entry points (what `oslo-config-generator` uses), so the
names, types and choices are exactly those the installed release accepts.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from typing import Any

# service → the entry points that make up its config files (as in each project's config-generator .conf)
NAMESPACES: dict[str, list[str]] = {
    "nova": ["nova.conf", "keystonemiddleware.auth_token", "oslo.log", "oslo.messaging", "oslo.policy",
             "oslo.privsep", "oslo.service.periodic_task", "oslo.service.service", "oslo.db",
             "oslo.db.concurrency", "oslo.cache", "oslo.middleware", "oslo.concurrency", "oslo.reports",
             "oslo.limit", "oslo.versionedobjects", "os_vif", "os_brick", "castellan.config", "osprofiler"],
    "neutron": ["neutron", "neutron.agent", "neutron.base.agent", "neutron.db", "neutron.extensions",
                "neutron.experimental", "neutron.dhcp.agent", "neutron.l3.agent", "neutron.metadata.agent",
                "neutron.ml2", "neutron.ml2.linuxbridge.agent", "neutron.ml2.ovs.agent", "neutron.ml2.ovn",
                "neutron.az.agent", "nova.auth", "placement.auth", "ironic.auth", "keystonemiddleware.auth_token",
                "oslo.log", "oslo.messaging", "oslo.policy", "oslo.db", "oslo.concurrency", "oslo.middleware",
                "oslo.service.sslutils", "oslo.service.wsgi", "oslo.reports", "oslo.privsep", "oslo.cache",
                "osprofiler"],
    "glance": ["glance.api", "glance", "glance.store", "glance.multi_store", "keystonemiddleware.auth_token",
               "oslo.log", "oslo.messaging", "oslo.policy", "oslo.db", "oslo.db.concurrency",
               "oslo.middleware.cors", "oslo.middleware.http_proxy_to_wsgi", "oslo.concurrency", "oslo.limit",
               "oslo.reports", "castellan.config", "osprofiler"],
    "cinder": ["cinder", "castellan.config", "keystonemiddleware.auth_token", "oslo.log", "oslo.messaging",
               "oslo.policy", "oslo.db", "oslo.concurrency", "oslo.middleware", "oslo.reports",
               "oslo.service.periodic_task", "oslo.service.service", "oslo.service.sslutils",
               "oslo.service.wsgi", "oslo.versionedobjects", "osprofiler"],
    "keystone": ["keystone", "keystonemiddleware.auth_token", "oslo.cache", "oslo.log", "oslo.messaging",
                 "oslo.policy", "oslo.db", "oslo.middleware", "oslo.service.sslutils", "osprofiler"],
    "placement": ["placement.conf", "keystonemiddleware.auth_token", "oslo.log", "oslo.middleware.cors",
                  "oslo.policy", "osprofiler"],
}


def _opt_json(opt: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    # oslo types are instances (types.Integer(min=0)); keystoneauth's plugin options use bare `str`/`int`
    kind = opt.type.__name__ if isinstance(opt.type, type) else type(opt.type).__name__
    kind = {"int": "Integer", "float": "Float", "bool": "Boolean"}.get(kind, kind)
    if kind not in ("String", "str", "NoneType"):
        entry["type"] = kind
    choices = getattr(opt.type, "choices", None)
    if choices:
        entry["choices"] = sorted(str(c) for c in choices)
    for bound in ("min", "max"):
        value = getattr(opt.type, bound, None)
        if value is not None:
            entry[bound] = value
    if opt.secret:
        entry["secret"] = True
    return entry


def dump_service(service: str) -> dict[str, Any]:
    """{group: {option: {type?, choices?, min?, max?, secret?}}} for one service, {} when it is not installed.

    A plain string option is `{}`; an option's deprecated names are listed too (they are still accepted).
    Run once per process: services register clashing options in oslo.config's global CONF.
    """
    from importlib.metadata import entry_points

    cfg = importlib.import_module("oslo_config.cfg")
    # some list_opts (glance's) read the global CONF, which must have been called once
    cfg.CONF([], project=service, default_config_files=[], default_config_dirs=[])
    available = {ep.name: ep for ep in entry_points(group="oslo.config.opts")}
    namespaces = NAMESPACES[service]
    if namespaces[0] not in available:
        return {}  # the service itself is not installed: its library options alone would mislead
    groups: dict[str, dict[str, Any]] = {}
    for namespace in namespaces:
        if namespace not in available:
            continue
        try:
            listed = _list_opts(cfg, available[namespace])
        except Exception as exc:  # a broken plugin must not hide the rest
            print(f"optdump: {service}: {namespace}: {exc}", file=sys.stderr)
            continue
        for group, opts in listed:
            name = str("DEFAULT" if group is None else getattr(group, "name", group))
            for opt in opts:
                if not isinstance(opt, cfg.Opt):
                    continue
                groups.setdefault(name, {})[opt.dest] = _opt_json(opt)
                for old in opt.deprecated_opts:
                    old_name = (old.name or opt.dest).replace("-", "_")
                    groups.setdefault(str(old.group or name), {}).setdefault(old_name, _opt_json(opt))
    return groups


def _list_opts(cfg: Any, entry_point: Any) -> Any:
    """An entry point's (group, options) list. Some register CLI options while they are imported (cinder's),
    which the already-parsed CONF refuses: then clear it and ask again."""
    try:
        return entry_point.load()()
    except cfg.ArgsAlreadyParsedError:
        cfg.CONF.clear()
        return entry_point.load()()


def _version(service: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    for dist in (f"openstack-{service}", service):
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return "unknown"


def dump() -> dict[str, Any]:
    """{"versions": {service: version}, "services": {service: groups}}, one child process per service."""
    services: dict[str, Any] = {}
    for service in NAMESPACES:
        out = subprocess.run([sys.executable, __file__, service], check=True, capture_output=True, text=True).stdout
        if out.strip() not in ("", "{}"):
            services[service] = json.loads(out)
    return {"versions": {s: _version(s) for s in services}, "services": services}


_HEADER = """\
# The OpenStack services' own option definitions (oslo.config list_opts entry points), used by `stacksleuth check`
# to find unknown options and invalid values when the services are not installed where stacksleuth runs.
# Generated, do not edit: /usr/bin/python3 src/stacksleuth/probes/optdump.py > this file
# A plain string option is {}.
"""


if __name__ == "__main__":
    # this file's directory is sys.path[0]: its sibling modules must not shadow what the services import
    sys.path = [p for p in sys.path if os.path.realpath(p or ".") != os.path.dirname(os.path.realpath(__file__))]
    if sys.argv[1:] == ["--json"]:  # stacksleuth check on a live host (probes/installed_options.py)
        json.dump(dump(), sys.stdout)
    elif len(sys.argv) > 1:  # a child: one service, as JSON for the parent
        json.dump(dump_service(sys.argv[1]), sys.stdout)
    else:
        yaml = importlib.import_module("yaml")
        sys.stdout.write(_HEADER + yaml.safe_dump(dump(), default_flow_style=None, width=200, sort_keys=True))
