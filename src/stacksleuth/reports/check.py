"""The terminal report of `stacksleuth check`: findings as `diagnose` prints them, then what was checked."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from stacksleuth.reports.terminal import _escape, _finding_panel

_STATUS = {"ok": "[green]ok[/green]", "problem": "[red]problem[/red]", "info": "[cyan]info[/cyan]",
           "skipped": "[dim]skipped[/dim]"}


def render_check(console: Console, document: dict[str, Any]) -> None:
    """Print a check document: what was read, the findings, and the table of checks."""
    source = document["source"]
    where = source.get("cloud") or ("the live host" if source["live"] else source["root"])
    console.print(f"[bold]stacksleuth check[/bold] of {_escape(where)}" + (f" (host {source['host']})" if source["host"] else ""))
    findings = document["findings"]
    if not any(f["severity"] != "info" for f in findings):
        console.print(Panel("[green]No problem found.[/green]", expand=False))
    for number, finding in enumerate(findings, 1):
        console.print(_finding_panel(number, finding))
    table = Table(title="Checks", title_justify="left")
    for column in ("check", "status", "what was seen"):
        table.add_column(column, overflow="fold")
    for check in document["checks"]:
        table.add_row(_escape(check["id"]), _STATUS.get(check["status"], check["status"]), _escape(check["summary"]))
    console.print(table)
