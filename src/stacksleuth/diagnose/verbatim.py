"""Replace each evidence line's reconstructed text with the line exactly as the file holds it.

Operators grep for what they are shown, so evidence must be the real bytes (ANSI codes removed). Each
file is read once, up to the last line any finding needs, while the bundle is still on disk.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from stacksleuth.findings import Evidence, Finding
from stacksleuth.parsers.interface import ANSI
from stacksleuth.sources.openers import open_text

#: Longest evidence text kept (a line can hold a whole libvirt XML).
MAX_TEXT = 2000


def verbatim(findings: list[Finding], paths: dict[str, Path]) -> list[Finding]:
    """The findings with evidence texts read from `paths` (display name → file on disk)."""
    wanted: defaultdict[str, set[int]] = defaultdict(set)
    for finding in findings:
        for ev in finding.evidence:
            if ev.file in paths:
                wanted[ev.file].add(ev.line)
    lines = {name: _read(paths[name], numbers) for name, numbers in wanted.items()}
    return [
        replace(f, evidence=tuple(_exact(ev, lines.get(ev.file, {})) for ev in f.evidence))
        for f in findings
    ]


def _exact(ev: Evidence, lines: dict[int, str]) -> Evidence:
    text = lines.get(ev.line)
    return replace(ev, text=text) if text is not None else ev


def _read(path: Path, numbers: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    last = max(numbers)
    try:
        with open_text(path) as fh:
            for number, line in enumerate(fh, 1):
                if number in numbers:
                    found[number] = ANSI.sub("", line.rstrip("\r\n"))[:MAX_TEXT]
                if number >= last:
                    break
    except (OSError, EOFError, ValueError):
        pass  # the reconstructed text stays; the file's problem is already in the parse report
    return found
