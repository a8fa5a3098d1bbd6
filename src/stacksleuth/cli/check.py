"""`stacksleuth check [ROOT]`: host and configuration checks on the live host, a host root or a sosreport."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stacksleuth.errors import ExitCode
from stacksleuth.probes.host import open_host
from stacksleuth.probes.run import check_file, check_host
from stacksleuth.reports.check import render_check

_ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2")


@click.command()
@click.argument("root", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the stacksleuth/diagnosis/v1 JSON document (with `checks`).")
def check(root: Path | None, as_json: bool) -> None:
    """Check a host: KVM, libvirt, qemu logs, memory and disk, OpenStack configuration.

    ROOT: a host root (a directory laid out like /, e.g. an unpacked sosreport), a sosreport tarball, or one
    config file / Guru Meditation Report. Without ROOT, this machine. Secrets are never printed.
    Exit code 0: nothing wrong found; 1: problems found; 2: bad usage or unreadable input.
    """
    from stacksleuth.cli.main import _console, _guarded  # at call time: main imports this module at its end

    def run() -> int:
        if root is not None and root.is_file() and not root.name.endswith(_ARCHIVES):
            document = check_file(root)
        else:
            with open_host(root) as host:
                document = check_host(host)
        if as_json:
            click.echo(json.dumps(document, indent=2))
        else:
            render_check(_console(), document)
        serious = [f for f in document["findings"] if f["severity"] in ("critical", "error", "warning")]
        return ExitCode.PROBLEMS if serious else ExitCode.OK

    _guarded(run)
