"""`stacksleuth lab ...`: bring up a real all-in-one OpenStack, break it on purpose, capture its logs."""

from __future__ import annotations

import time
from pathlib import Path

import click

from stacksleuth.cli.guard import guarded
from stacksleuth.lab import host, scenarios


def _say(text: str) -> None:
    click.echo(f"[lab {time.strftime('%H:%M:%S')}] {text}", err=True)


@click.group()
def lab() -> None:
    """A real all-in-one OpenStack Zed (Debian 12 packages) that breaks on purpose.

    Needs root on Debian 12. Every daemon listens on 127.0.0.1.
    """


@lab.command()
def up() -> None:
    """Install (once), configure (once) and start the lab; wait for the compute node. Idempotent."""

    def run() -> int:
        host.check_host()
        started = time.monotonic()
        code = host.run_script("up")
        if code != 0:
            raise host.LabError(f"setup failed (exit {code}); see {host.STATE / 'setup.log'}")
        _say(f"up in {time.monotonic() - started:.0f}s; credentials: . {host.OPENRC}")
        return 0

    guarded(run, "stacksleuth lab")


@lab.command()
def status() -> None:
    """Which daemons run, the hypervisor, any injection still active; "up" only when every daemon runs."""

    def run() -> int:
        host.check_host()
        installed = (host.STATE / "installed").is_file()
        if not installed:
            click.echo("installed: no   up: no")
            return 1
        running = {name: host.service_running(name) for name in scenarios.DAEMONS}
        stopped = [name for name, ok in running.items() if not ok]
        up = host.is_up() and not stopped
        why = "" if up else (" (not set up: run `stacksleuth lab up`)" if not host.is_up()
                             else f" ({len(stopped)} of {len(running)} daemons stopped)")
        click.echo(f"installed: yes   up: {'yes' if up else 'no'}{why}")
        for name, ok in running.items():
            click.echo(f"  {name:28} {'running' if ok else 'STOPPED'}")
        if up:
            proc = host.osc("hypervisor", "list", "-f", "value", check=False)
            click.echo(f"hypervisors: {proc.stdout.strip() or proc.stderr.strip()}")
        active = host.STATE / "active.json"
        if active.is_file():
            click.echo(f"injection still active (run `stacksleuth lab reset`): {active.read_text().strip()}")
        return 0 if up and not active.is_file() else 1

    guarded(run, "stacksleuth lab")


@lab.command("list")
def list_() -> None:
    """The scenarios: one a line, its name and what it breaks."""

    def run() -> int:
        for name, scenario in scenarios.load_all().items():
            click.echo(f"{name:32} {scenario.breaks}")
        return 0

    guarded(run, "stacksleuth lab")


@lab.command("break")
@click.argument("scenario")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Where to write the capture (default: ./lab-captures/SCENARIO-<time>).")
def break_(scenario: str, out: Path | None) -> None:
    """Inject SCENARIO, trigger its operation, wait for the end state, collect the logs, restore."""

    def run() -> int:
        chosen = scenarios.get(scenario)
        target = out or Path("lab-captures") / f"{scenario}-{time.strftime('%Y%m%d-%H%M%S')}"
        record = scenarios.run(chosen, target, _say)
        _say(f"user saw: {record.get('user_saw')}")
        click.echo(str(target))
        return 0

    guarded(run, "stacksleuth lab")


@lab.command()
def mark() -> None:
    """Remember the size of every lab log now (what `lab collect` copies from)."""

    def run() -> int:
        host.require_up()
        click.echo(str(scenarios.mark()))
        return 0

    guarded(run, "stacksleuth lab")


@lab.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--server", "servers", multiple=True, help="Also save `server show`/`server event show` for it.")
def collect(directory: Path, servers: tuple[str, ...]) -> None:
    """Copy the byte ranges every service log gained since the last mark (or scenario start) to DIRECTORY."""

    def run() -> int:
        host.require_up()
        for name in scenarios.collect(directory, list(servers)):
            click.echo(name)
        return 0

    guarded(run, "stacksleuth lab")


@lab.command()
def reset() -> None:
    """Undo any injection left behind, delete the lab's servers, start every daemon."""

    def run() -> int:
        host.require_up()
        scenarios.restore_active(_say)
        scenarios.delete_lab_servers()
        code = host.run_script("start")
        return code

    guarded(run, "stacksleuth lab")


@lab.command()
@click.option("--keep-packages", is_flag=True, help="Only stop the daemons; keep packages and state.")
def down(keep_packages: bool) -> None:
    """Stop the lab; unless --keep-packages, purge its packages and state too."""

    def run() -> int:
        host.check_host()
        if keep_packages:
            return host.run_script("stop")
        return host.run_script("down")

    guarded(run, "stacksleuth lab")
