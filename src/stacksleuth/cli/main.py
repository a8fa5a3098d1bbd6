"""`stacksleuth`: diagnose a bundle of OpenStack logs, or trace one id through it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.progress import Progress as RichProgress

from stacksleuth import __version__
from stacksleuth.analysis import Analysis, report_document
from stacksleuth.cli.guard import guarded
from stacksleuth.correlate.trace import trace_events
from stacksleuth.errors import ExitCode, StacksleuthError
from stacksleuth.index.ingest import Progress
from stacksleuth.reports.html import render_html
from stacksleuth.reports.terminal import render_diagnosis, render_timeline
from stacksleuth.window import Window, parse_duration, parse_time

_paths = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))


@contextmanager
def _reading_bar() -> Iterator[Progress | None]:
    """A progress bar on stderr while logs are read, when a person is watching (stderr is a terminal)."""
    if not sys.stderr.isatty():
        yield None
        return
    columns = (TextColumn("reading logs"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with RichProgress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("read", total=None)
        yield lambda total, done: bar.update(task, total=total, completed=done)


@click.group()
@click.version_option(__version__, prog_name="stacksleuth")
def cli() -> None:
    """Find why an OpenStack operation failed, from the logs the cloud left behind."""


@cli.command()
@_paths
@click.option("--json", "as_json", is_flag=True, help="Print the stacksleuth/diagnosis/v1 JSON document.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Also write a self-contained HTML report with a timeline per failed operation.")
@click.option("--workers", type=int, default=None, help="Parser processes (default: one per core).")
@click.option("--since", metavar="TIME", help="Only lines at or after TIME ('2026-11-21 07:15', the logs' clock).")
@click.option("--until", metavar="TIME", help="Only lines at or before TIME.")
@click.option("--last", metavar="DURATION", help="Only the last DURATION of the bundle (30m, 2h, 1d), counted back "
              "from its newest line.")
@click.option("--about", metavar="ID", help="Only the operations that involve ID (server, request, port or volume "
              "id) and their findings.")
def diagnose(paths: tuple[Path, ...], as_json: bool, html_out: Path | None, workers: int | None,
             since: str | None, until: str | None, last: str | None, about: str | None) -> None:
    """Diagnose every failed or stuck operation in PATHS (directories, sosreports, tarballs, a host's /var/log),
    with the cloud's API answers when a `check cloud --save` file is among them.

    Exit code 0: nothing wrong found; 1: problems found; 2: bad usage or unreadable input.
    """

    def run() -> int:
        window = Window(since=parse_time(since, "--since") if since else None,
                        until=parse_time(until, "--until") if until else None,
                        last=parse_duration(last) if last else None, about=about)
        with _reading_bar() as progress:
            analysis = Analysis.open(list(paths), workers, progress, window)
        try:
            ops, findings = analysis.diagnose()
            document = report_document(analysis, ops, findings)
        finally:
            analysis.close()
        if html_out is not None:
            _write_html(html_out, render_html(document, ops))
        _emit(document, as_json)
        serious = [f for f in findings if f.severity in ("critical", "error", "warning")]
        return ExitCode.PROBLEMS if serious else ExitCode.OK

    guarded(run)


@cli.command()
@click.argument("key")
@_paths
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
def trace(key: str, paths: tuple[Path, ...], as_json: bool) -> None:
    """Print the merged timeline of KEY (request id, instance, port, volume or image id) across PATHS."""

    def run() -> int:
        with _reading_bar() as progress:
            analysis = Analysis.open(list(paths), progress=progress)
        try:
            events = trace_events(analysis.store, key)
        finally:
            analysis.close()
        if as_json:
            click.echo(json.dumps({"schema": "stacksleuth/trace/v1", "key": key,
                                   "events": [_event_json(e) for e in events]}, indent=2))
        else:
            render_timeline(_console(), events, key)
        return ExitCode.OK if events else ExitCode.PROBLEMS

    guarded(run)


def _write_html(path: Path, page: str) -> None:
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise StacksleuthError(f"{path}: cannot write the HTML report ({exc.strerror})") from exc


def _console() -> Console:
    """A terminal console; when output goes to a file or pipe, wide enough that lines are not folded."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def _emit(document: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        render_diagnosis(_console(), document)


def _event_json(event: Any) -> dict[str, Any]:
    fields = ("ts", "host", "service", "level", "logger", "request_id", "global_request_id", "instance",
              "message", "file", "line", "exception", "status")
    return {name: getattr(event, name) for name in fields}


from stacksleuth.cli.lab import lab  # noqa: E402  (the lab group; see stacksleuth/lab)

cli.add_command(lab)

from stacksleuth.cli.check import check  # noqa: E402  (host and config checks; see stacksleuth/probes)

cli.add_command(check)
