"""`stacksleuth check [ROOT]`: host and configuration checks on the live host, a host root or a sosreport;
`stacksleuth check network --instance UUID [ROOT]`: walk one VM's network path on that host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from stacksleuth.cli.guard import guarded
from stacksleuth.errors import ExitCode
from stacksleuth.probes import debuglog
from stacksleuth.probes.host import open_host
from stacksleuth.probes.run import check_file, check_host, check_network
from stacksleuth.reports.check import render_check

_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")
_ROOT_HELP = "a host root (a directory laid out like /, e.g. an unpacked sosreport) or a sosreport tarball"


class _CheckGroup(click.Group):
    """`check ARGS` runs `check host ARGS` unless ARGS start with a subcommand's name (`network`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["host", *args]
        return super().parse_args(ctx, args)


def _finish(document: dict[str, Any], as_json: bool) -> int:
    from stacksleuth.cli.main import _console  # at call time: main imports this module at its end

    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        render_check(_console(), document)
    serious = [f for f in document["findings"] if f["severity"] in ("critical", "error", "warning")]
    return ExitCode.PROBLEMS if serious else ExitCode.OK


@click.group(cls=_CheckGroup)
def check() -> None:
    """Check a host: KVM, libvirt, qemu logs, memory and disk, OpenStack configuration, networking
    (`check [ROOT]`), or one VM's network path (`check network --instance UUID [ROOT]`).

    Exit code 0: nothing wrong found; 1: problems found; 2: bad usage or unreadable input.
    """


@check.command("host")
@click.argument("root", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the stacksleuth/diagnosis/v1 JSON document (with `checks`).")
def host(root: Path | None, as_json: bool) -> None:
    """The default: every host check. ROOT: a host root (a directory laid out like /, e.g. an unpacked
    sosreport), a sosreport tarball, or one config file / Guru Meditation Report. Without ROOT, this machine.
    Secrets are never printed."""

    def run() -> int:
        if root is not None and root.is_file() and not root.name.endswith(_ARCHIVES):
            document = check_file(root)
        else:
            with open_host(root) as opened:
                document = check_host(opened)
        return _finish(document, as_json)

    guarded(run)


@check.command("network")
@click.argument("root", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--instance", "instance", required=True, help="The instance (server) UUID whose network path to walk.")
@click.option("--port", "port", default=None, help="Its port id, when the host's files do not tell (one of several NICs).")
@click.option("--json", "as_json", is_flag=True, help="Print the stacksleuth/diagnosis/v1 JSON document (with `checks`).")
def network(root: Path | None, instance: str, port: str | None, as_json: bool) -> None:
    """Walk a VM's network path on its host the way operators debug it: port → security group → tap/bridge →
    console.log DHCP → qdhcp namespace → dnsmasq (process, port, host entry, lease) → metadata → ping/ssh →
    floating IP → external gateway → DNS. Says which step fails first and what to run next; a step this host
    has no facts for is 'not checked', with the command that checks it. Nothing is sent on the network.

    ROOT: """ + _ROOT_HELP + """; without ROOT, this machine (run as root to read iptables and /var/lib/neutron)."""

    def run() -> int:
        with open_host(root) as opened:
            document = check_network(opened, instance.strip().lower(), port)
        return _finish(document, as_json)

    guarded(run)


@check.command("debug-logging")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--uri", default=None, help="The daemon's admin URI as virt-admin takes it (-c): libvirtd:///system "
              "(virt-admin's default), virtqemud:///system for the modular daemon, …?socket=PATH for another socket.")
def debug_logging(state: str, uri: str | None) -> None:
    """Switch a libvirt daemon's debug logging at runtime, without a restart: `on` saves its current
    log filters and outputs, sets libvirt's recommended debug filters and adds a debug log file; `off`
    restores exactly what was saved. Needs virt-admin and the daemon's admin socket (root for a system daemon)."""

    def run() -> int:
        for line in debuglog.turn_on(uri) if state == "on" else debuglog.turn_off(uri):
            click.echo(line)
        return ExitCode.OK

    guarded(run)
