"""`stacksleuth check [ROOT]`: host and configuration checks on the live host, a host root or a sosreport;
`stacksleuth check network --instance UUID [ROOT]`: walk one VM's network path on that host;
`stacksleuth check cloud` / `check server UUID`: what the cloud's APIs say is wrong (probes/cloud*.py)."""

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
    (`check [ROOT]`), or one VM's network path (`check network --instance UUID [ROOT]`), or the cloud
    through its APIs (`check cloud`, `check server UUID`).

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


_OS_CLOUD = click.option("--os-cloud", "os_cloud", envvar="OS_CLOUD", default=None,
                         help="A cloud in clouds.yaml (default: $OS_CLOUD, else the OS_* variables of an openrc).")
_FROM = click.option("--from", "replay", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                     help="Read the API answers from a file written by --save instead of asking the cloud.")
_SAVE = click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Also write the API answers to FILE (no token or password), to check again with --from.")


@check.command("cloud")
@_OS_CLOUD
@_FROM
@_SAVE
@click.option("--json", "as_json", is_flag=True, help="Print the stacksleuth/diagnosis/v1 JSON document (with `checks`).")
def cloud(os_cloud: str | None, replay: Path | None, save: Path | None, as_json: bool) -> None:
    """Ask the cloud's APIs (openstacksdk; credentials as the openstack client takes them): nova and cinder
    services down or disabled, neutron agents dead or admin-down, nova-compute hosts not mapped to a cell or
    without a placement resource provider, providers left without a host, catalog services duplicated or
    without endpoints, quotas at 90 % or more, non-ASCII names under an ASCII client locale."""
    from stacksleuth.probes.cloud_run import cloud_document  # openstacksdk takes a while to import

    guarded(lambda: _finish(cloud_document(os_cloud, replay, save), as_json))


@check.command("server")
@click.argument("uuid")
@_OS_CLOUD
@_FROM
@_SAVE
@click.option("--json", "as_json", is_flag=True, help="Print the stacksleuth/diagnosis/v1 JSON document (with `checks`).")
def server(uuid: str, os_cloud: str | None, replay: Path | None, save: Path | None, as_json: bool) -> None:
    """Why one server is broken, from the APIs: status, task and vm state, host, fault, the instance action
    and event that failed (with its traceback's last line and request id, for `stacksleuth trace`), its
    ports' binding, its volumes."""
    from stacksleuth.probes.cloud_run import server_document  # openstacksdk takes a while to import

    guarded(lambda: _finish(server_document(uuid.strip().lower(), os_cloud, replay, save), as_json))
