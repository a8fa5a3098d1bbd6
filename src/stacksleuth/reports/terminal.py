"""The terminal report: readable at a glance at 3 a.m., root cause first."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from stacksleuth.events import Event

_CONTEXT = re.compile(r"\[(None |req-[0-9a-f-]{36} )?(req-[0-9a-f]{8})[0-9a-f-]*(?: [^\]]*)?\]")
_STYLE = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "cyan"}


def render_diagnosis(console: Console, document: dict[str, Any]) -> None:
    """Print findings, operations and the parse summary of a diagnosis document."""
    findings = document["findings"]
    parse = document["parse"]
    console.print(
        f"[bold]stacksleuth[/bold] read {parse['files']} files, {parse['lines']:,} lines, "
        f"{parse['events']:,} events from {len(parse['hosts'])} host(s): {', '.join(parse['hosts'])}"
    )
    scope = document.get("scope") or {}
    if "events_outside" in scope:
        console.print(f"window {scope['since'] or 'start'} → {scope['until'] or 'end'}: "
                      f"{scope['events_outside']:,} events outside it left out")
    if "about" in scope:
        console.print(f"about {scope['about']}: {scope['other_operations']} other operation(s) and "
                      f"{scope['other_findings']} other finding(s) left out (run without --about to see them)")
    for saved in document.get("saved_answers", []):
        console.print(_saved_line(saved))
    for spared in document.get("spared", []):
        installed = ", ".join(f"{v} on {h}" for h, v in spared["versions"].items())
        console.print(f"not raised: {spared['rule']} (a known bug): {spared['package']} {installed} has the fix")
    if not findings and "about" in scope and not document["operations"]:
        console.print(Panel(f"No operation in the bundle involves {scope['about']}.", expand=False))
    elif not findings:
        read = any(s["read"] for s in document.get("saved_answers", []))
        also = ", and the saved cloud API answers show no problem" if read else ""
        console.print(Panel(f"[green]No problem found.[/green] Every operation in the bundle completed{also}.",
                            expand=False))
    for number, finding in enumerate(findings, 1):
        console.print(_finding_panel(number, finding))
    ops = document["operations"]
    if ops:
        troubled = [op for op in ops if op["outcome"] != "active"]
        console.print(f"{len(ops)} operation(s): {len(ops) - len(troubled)} completed, {len(troubled)} failed, stuck or unknown"
                      + (" (all listed with --json)" if len(ops) > len(troubled) else ""))
        if troubled:
            console.print(_operations_table(troubled))
    _print_parse_problems(console, parse)


def _saved_line(saved: dict[str, Any]) -> str:
    """One line per saved `check cloud|server --save` capture found in the bundle."""
    if not saved["read"]:
        return f"{_escape(saved['file'])}: {_escape(saved['note'])}"
    problems = sum(1 for c in saved["checks"] if c["status"] == "problem")
    return (f"saved cloud API answers {_escape(saved['file'])}, captured at {saved['captured_at']} from "
            f"{_escape(saved['cloud'])}: {len(saved['checks'])} checks, {problems} with a problem")


def _finding_panel(number: int, f: dict[str, Any]) -> Panel:
    style = _STYLE.get(f["severity"], "white")
    where = " · ".join(
        part for part in (
            f"operation {f['operation']}" if f["operation"] else "",
            f"instance {f['instance']}" if f["instance"] else "",
            f"request {f['request_id']}" if f["request_id"] else "",
            f"stage [bold]{f['stage']}[/bold]" if f["stage"] else "",
            f"component [bold]{f['component']}[/bold]",
        ) if part
    )
    body = [
        *([Text(f"From {f['origin']}", style="bold magenta")] if f.get("origin") else []),
        Text.from_markup(where),
        Text.from_markup(f"[bold]User saw:[/bold] {_escape(f['symptom'])}"),
        Text.from_markup(f"[bold]Cause:[/bold] {_escape(f['cause'])}"),
        Text.from_markup("[bold]Fix:[/bold]"),
        *[Text(f"  $ {step}") for step in f["fix"]],
        Text.from_markup("[bold]Evidence:[/bold]"),
        *[Text(f"  {e['host']} {e['file']}:{e['line']}\n    {_short(e['text'])}", style="dim") for e in f["evidence"]],
    ]
    if f.get("related"):
        body.append(Text(f"Also matched: {', '.join(f['related'])}", style="dim"))
    title = f"{number}. [{style}]{f['severity'].upper()}[/{style}] {_escape(f['title'])}"
    subtitle = f"rule {f['rule']} · confidence {f['confidence']:.0%}" + (f" · {f['count']} lines" if f["count"] > 1 else "")
    return Panel(Group(*body), title=title, title_align="left", subtitle=subtitle, subtitle_align="right", border_style=style)


def _operations_table(ops: list[dict[str, Any]]) -> Table:
    table = Table(title="Operations that did not complete", title_justify="left")
    for column in ("operation", "instance", "request", "outcome", "stopped at", "stages reached", "hosts"):
        table.add_column(column)
    for op in ops:
        outcome = op["outcome"]
        colour = "green" if outcome == "active" else "red" if outcome == "failed" else "yellow"
        table.add_row(op["operation"], op["instance"] or "-", op["request_id"] or "-", f"[{colour}]{outcome}[/{colour}]",
                      op["stage"] or "-", " → ".join(op["reached"]), ", ".join(op["hosts"]))
    return table


def _print_parse_problems(console: Console, parse: dict[str, Any]) -> None:
    for problem in parse["problems"]:
        console.print(f"[yellow]warning:[/yellow] {_escape(problem)}")
    unparsed = [f for f in parse["per_file"] if f["unparsed"]]
    if unparsed:
        console.print(f"[yellow]{parse['unparsed']} line(s) could not be parsed:[/yellow]")
        for f in unparsed:
            sample = f["unparsed_samples"][0] if f["unparsed_samples"] else {"line": "?", "text": ""}
            console.print(f"  {_escape(f['file'])}: {f['unparsed']} unparsed, e.g. line {sample['line']}: {_escape(sample['text'][:120])!r}")


def render_timeline(console: Console, events: list[Event], key: str) -> None:
    """Print one merged, time-ordered timeline of every event that belongs to `key`."""
    if not events:
        console.print(
            f"Nothing in the bundle mentions {key}. If it is the request id a client printed, the request never "
            "reached an API service whose logs are here: check the load balancer or VIP in front of the API, "
            "haproxy's log, and the endpoint the client used (openstack endpoint list)."
        )
        return
    table = Table(title=f"Timeline of {key}", title_justify="left", show_lines=False)
    for column in ("time", "host", "service", "level", "message", "where"):
        table.add_column(column, overflow="fold")
    for e in events:
        style = _STYLE.get(e.level.lower(), "")
        table.add_row(e.ts or "", e.host, e.service, Text(e.level, style=style), e.message[:240], f"{e.file.split('/')[-1]}:{e.line}")
    console.print(table)


def _short(line: str, width: int = 400) -> str:
    """An evidence line for the eye: the long request-context bracket shortened to its request id."""
    return _CONTEXT.sub(r"[\2…]", line, count=1)[:width]


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
