"""Captured `openstack server show -f json` output: the fault message the user was shown."""

from __future__ import annotations

import json
from pathlib import Path


def faults(path: Path) -> tuple[dict[str, str], str | None]:
    """{instance uuid: fault message} from one file, and an error line if it is not valid JSON."""
    try:
        data = json.loads(path.read_text(errors="replace"))
    except (OSError, json.JSONDecodeError) as exc:
        return {}, f"{path}: not a server show JSON document ({exc})"
    servers = data if isinstance(data, list) else [data]
    found: dict[str, str] = {}
    for server in servers:
        if not isinstance(server, dict) or not server.get("id"):
            continue
        fault = server.get("fault")
        if isinstance(fault, dict) and fault.get("message"):
            found[str(server["id"])] = str(fault["message"])
    return found, None
