"""Read one knowledge file (YAML) into a mapping; every error names the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stacksleuth.errors import KnowledgeError


def load_mapping(path: Path, where: str | None = None) -> dict[str, Any]:
    """The file's top-level mapping; `where` is how errors name the file (default: its path)."""
    name = where or str(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeError(f"{name}: cannot load ({exc})") from exc
    if not isinstance(data, dict):
        raise KnowledgeError(f"{name}: expected a mapping at the top")
    return data
