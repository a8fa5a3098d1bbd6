"""hotsos scenario YAMLs embed real log snippets (`data-root: files:`); rules cite them as `<scenario>.yaml:<line>`.

`materialise` writes the embedded files out as a data root, and maps each line of the YAML that holds a log
line to (file, line number in that file), so a rule's evidence can be checked against the parsed events.
"""

from __future__ import annotations

from pathlib import Path

import yaml


def materialise(scenario: Path, dest: Path) -> dict[int, tuple[Path, int]]:
    """Write the scenario's files under `dest`; returns YAML line (1-based) → (file written, its line)."""
    root = yaml.compose(scenario.read_text())
    where: dict[int, tuple[Path, int]] = {}
    files = _get(_get(root, "data-root"), "files")
    for key, value in (files.value if isinstance(files, yaml.MappingNode) else []):
        target = dest / key.value
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(value.value)
        # a block scalar (`|`) starts on the line after its key; each of its lines is one line of the file
        first = value.start_mark.line + 2 if value.style == "|" else value.start_mark.line + 1
        for n in range(len(value.value.splitlines())):
            where[first + n] = (target, n + 1)
    return where


def _get(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if k.value == key), None)
