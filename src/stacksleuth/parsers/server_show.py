"""Captured API answers about servers: `openstack server show -f json` and `server event show/list -f json`.

They say what the user saw (status, task_state, fault) and which request created the server, which the logs
alone cannot always say: nova-api writes a POST's access line only when it answers, and a hung POST never does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class CapturedServer:
    """One server as the API showed it."""

    id: str
    status: str | None
    task_state: str | None
    created: str | None  # UTC, in the index's timestamp format ('YYYY-MM-DD HH:MM:SS.mmm')
    fault: str | None


@dataclass(frozen=True, slots=True)
class CapturedAction:
    """One instance action (`server event list`): the request id nova recorded for it."""

    instance: str
    action: str
    request_id: str


@dataclass(slots=True)
class CapturedState:
    """Everything the bundle's captured API answers say about its servers."""

    servers: list[CapturedServer] = field(default_factory=list)
    actions: list[CapturedAction] = field(default_factory=list)

    def faults(self) -> dict[str, str]:
        """{instance uuid: fault message} for servers that have one."""
        return {s.id: s.fault for s in self.servers if s.fault}

    def created_by(self, server: str) -> str | None:
        """The request id of the server's `create` action, when the events were captured."""
        return next((a.request_id for a in self.actions if a.instance == server and a.action == "create"), None)


def read_state(path: Path, into: CapturedState) -> str | None:
    """Add one captured file's servers or actions to `into`; an error line if it is not such a document."""
    try:
        data = json.loads(path.read_text(errors="replace"))
    except (OSError, json.JSONDecodeError) as exc:
        return f"{path}: not a server show / server event JSON document ({exc})"
    for item in data if isinstance(data, list) else [data]:
        if not isinstance(item, dict):
            continue
        action = _action(item)
        if action is not None:
            into.actions.append(action)
        elif item.get("id"):
            into.servers.append(_server(item))
    return None


def _server(item: dict[str, Any]) -> CapturedServer:
    fault = item.get("fault")
    message = str(fault["message"]) if isinstance(fault, dict) and fault.get("message") else None
    return CapturedServer(str(item["id"]), _text(item.get("status")), _text(item.get("OS-EXT-STS:task_state")),
                          _utc(item.get("created")), message)


def _action(item: dict[str, Any]) -> CapturedAction | None:
    """`server event show` keys (request_id, instance_uuid) or `server event list` columns (Request ID, Server ID)."""
    rid = item.get("request_id") or item.get("Request ID")
    instance = item.get("instance_uuid") or item.get("Server ID")
    action = item.get("action") or item.get("Action")
    if rid and instance and action:
        return CapturedAction(str(instance), str(action), str(rid))
    return None


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _utc(stamp: object) -> str | None:
    """'2026-11-21T06:33:28Z' → '2026-11-21 06:33:28.000'."""
    if not isinstance(stamp, str) or len(stamp) < 19:
        return None
    return f"{stamp[:10]} {stamp[11:19]}.000"
