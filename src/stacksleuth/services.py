"""Which service wrote a file, from its name: the one place that knows OpenStack's log file names."""

from __future__ import annotations

import re

# rotation and compression suffixes: .1  .2.gz  -20231010  .log.bzip2.out (dessertlab)
_ROTATION = re.compile(r"(\.(gz|bz2|xz|bzip2|out|\d+|\d{4}-\d\d-\d\d_[\d:]+))+$|-\d{8}$")

# generic file stems that only make sense with their project directory in front (cinder/api.log)
_GENERIC = {"api", "server", "scheduler", "volume", "backup", "registry", "manage", "engine", "dhcp-agent",
            "l3-agent", "metadata-agent", "openvswitch-agent", "linuxbridge-agent", "metering-agent",
            "privsep-helper", "api-cfn", "rpc-server", "ovs-cleanup", "netns-cleanup", "sriov-agent"}

# files that name their service outright, whatever directory they are in
_BY_NAME = {
    "startup_log": "rabbitmq-startup",  # rabbitmq-server's boot banner and errors (free text)
    "startup_err": "rabbitmq-startup",
    "syslog": "syslog",
    "messages": "syslog",
    "daemon": "syslog",
    "kern": "kernel",
    "auth": "syslog",
}

# apache2/httpd per-vhost logs: <project>_error.log, <project>_access.log → the API the vhost serves
_APACHE_DIRS = ("apache2", "httpd")
_APACHE_SUFFIX = re.compile(r"[_-](?:wsgi[_-])?(?:error|access)(?:_log)?$")

_ALIASES = {
    "nova-api-wsgi": "nova-api",  # with log_dir set, nova-api's oslo lines go here (Zed, uwsgi)
    "cinder-wsgi": "cinder-api",  # cinder-api under uwsgi with log_dir set (Debian, Zed): its oslo lines
    "neutron-api": "neutron-server",  # neutron under uwsgi
    "neutron-server": "neutron-server",
    "nova-placement-api": "placement-api",
    "placement": "placement-api",
    "glance": "glance-api",
}


def stem(file_name: str) -> str:
    """'nova-compute.log.1.gz' → 'nova-compute'; 'rabbit@vm.log' → 'rabbit@vm'."""
    base = _ROTATION.sub("", file_name)
    return base[:-4] if base.endswith(".log") else base


def service_for(parts: tuple[str, ...]) -> str:
    """Name the service from a path's parts ('var', 'log', 'cinder', 'api.log') → 'cinder-api'.

    Lab captures name files `<dir>__<file>` (nova__nova-compute.log); they are split the same way.
    """
    pieces = [p for part in parts for p in part.split("__")]
    name = stem(pieces[-1])
    if name.startswith("sample-"):  # the lab's `sample-nova-compute.log` excerpts
        name = name[7:]
    parent = pieces[-2] if len(pieces) > 1 else ""
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name.startswith("journalctl"):  # sosreport sos_commands/logs/journalctl_--no-pager…
        return "journal"
    if parent == "qemu" or re.fullmatch(r"(?:qemu-)?instance-[0-9a-f]{8}", name):
        return "qemu"
    if name.startswith("rabbit@") or parent == "rabbitmq":
        return "rabbitmq"
    if "dnsmasq" in name or parent == "dnsmasq":
        return "dnsmasq"
    if parent in _APACHE_DIRS:
        project = _APACHE_SUFFIX.sub("", name).replace("_", "-")
        if project in ("error", "access", "other-vhosts", "ssl", "error-log", "access-log", ""):
            return parent
        return _ALIASES.get(project, project if project in ("keystone", "horizon") or "api" in project else f"{project}-api")
    if parent in ("mysql", "mariadb") or name in ("mysqld", "mariadb", "mysql"):
        return "mariadb"
    if name in _GENERIC and parent:
        name = f"{parent}-{name}"
    return _ALIASES.get(name, name)
