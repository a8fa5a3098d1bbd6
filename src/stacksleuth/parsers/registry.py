"""Pick the parser for a file: by the service its name says, confirmed or corrected by sniffing its lines."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from stacksleuth.parsers.apache import ApacheAccessParser, ApacheErrorParser
from stacksleuth.parsers.dnsmasq import DnsmasqParser
from stacksleuth.parsers.interface import Parser
from stacksleuth.parsers.libvirtd import LibvirtdParser
from stacksleuth.parsers.mariadb import MariadbParser
from stacksleuth.parsers.oslo import OsloParser
from stacksleuth.parsers.plain import PlainParser
from stacksleuth.parsers.qemu import QemuParser
from stacksleuth.parsers.rabbitmq import RabbitmqParser
from stacksleuth.parsers.syslog import SyslogParser
from stacksleuth.parsers.tooltag import ToolTagParser
from stacksleuth.parsers.vlog import VlogParser
from stacksleuth.sources.openers import open_text

PARSERS: dict[str, Parser] = {
    p.name: p
    for p in (OsloParser(), OsloParser(prefixed=True), LibvirtdParser(), QemuParser(), RabbitmqParser(), MariadbParser(),
              VlogParser(), DnsmasqParser(), SyslogParser(), ApacheErrorParser(), ApacheAccessParser(),
              ToolTagParser(), PlainParser())
}

#: Services whose files are in a known non-oslo format.
_BY_SERVICE = {"qemu": "qemu", "libvirtd": "libvirtd", "virtqemud": "libvirtd", "rabbitmq": "rabbitmq", "mariadb": "mariadb",
               "ovs-vswitchd": "vlog", "ovsdb-server": "vlog", "ovsdb-server-nb": "vlog", "ovsdb-server-sb": "vlog",
               "ovn-controller": "vlog", "ovn-northd": "vlog", "ovs-ctl": "vlog", "dnsmasq": "dnsmasq",
               "syslog": "syslog", "kernel": "syslog", "journal": "syslog"}
#: Services whose files have no line format at all: chosen by name, never by content. A guest's console.log
#: (nova's serial console file) is one line per record so that evidence points at the DHCP or metadata line.
_FORCED = {"rabbitmq-startup": "plain", "console": "plain"}

_SNIFF_LINES = 40


def sniff(path: Path, service: str) -> str | None:
    """Name the format of `path`, or None when no parser recognises any of its first lines."""
    if service in _FORCED:
        return _FORCED[service]
    with open_text(path) as fh:
        head = [line.rstrip("\r\n") for line in islice(fh, _SNIFF_LINES)]
    preferred = _BY_SERVICE.get(service)
    if path.parent.name in ("apache2", "httpd"):
        preferred = "apache-access" if "access" in path.name else "apache-error"
    if preferred and any(PARSERS[preferred].sniff.match(line) for line in head):
        return preferred
    scores = {name: sum(1 for line in head if parser.sniff.match(line)) for name, parser in PARSERS.items()}
    if scores["oslo-prefixed"] and scores["oslo-prefixed"] >= scores["oslo"]:
        # Loghub files: each line starts with its own file name; plain oslo lines match the prefixed form too
        prefixed_only = sum(1 for line in head if line[:1].isalpha() and PARSERS["oslo-prefixed"].sniff.match(line))
        if prefixed_only:
            return "oslo-prefixed"
    best = max(scores, key=lambda name: scores[name])
    return best if scores[best] else preferred
