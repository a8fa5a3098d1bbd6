"""Load a workflow (stages and their markers) and find how far an operation got through it."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from stacksleuth.errors import KnowledgeError
from stacksleuth.events import Event
from stacksleuth.patterns import Pattern
from stacksleuth.yamlfile import load_mapping


@dataclass(frozen=True, slots=True)
class Stage:
    """One step of an operation, reached when any of its markers is seen."""

    id: str
    component: str  # the service that owns the step, blamed when nothing more specific is known
    markers: tuple[Pattern, ...]


@dataclass(frozen=True, slots=True)
class Workflow:
    """An operation's stages in order, how it starts, and what proves it succeeded."""

    operation: str
    title: str
    request_triggers: tuple[Pattern, ...]  # API access lines that start an operation (any of them)
    instance_trigger: Pattern | None  # a line that starts an operation whose API call is not in the bundle
    observed_trigger: Pattern | None  # an API read of a resource nothing else mentions
    success: tuple[Pattern, ...]
    stages: tuple[Stage, ...]
    # the catch-all for calls no other workflow describes: lines that make a request an operation of its own
    failure_trigger: Pattern | None = None
    ignore: tuple[Pattern, ...] = ()  # error lines known to break nothing
    # a server action's API access line (`POST /servers/{id}/action`) does not say which action it is: these
    # lines, carrying the request id, name it (nova-api's "Going to try to live migrate", compute's first line)
    action_triggers: tuple[Pattern, ...] = ()
    # lines that mean the operation failed whatever their level (conductor WARNs "Failed to
    # compute_task_migrate_server: …" and puts the server back to ACTIVE)
    failed: tuple[Pattern, ...] = ()
    # how lines that carry only the instance uuid join an operation: "all" of them (a boot creates the instance),
    # or those logged in the operation's own time "window" (a server action: one of many on the same instance)
    instance_lines: str = "all"
    # a request its triggers name is never a boot, though compute logs boot's "Claim successful on node" for it (a
    # resize's or an evacuation's claim on the destination); a delete does not: a failed build's cleanup logs
    # "Terminating instance" under the boot's own request id
    outranks_boot: bool = False

    def harmful(self, event: Event) -> bool:
        """An error that fails the operation: ERROR or worse, and not a known harmless one; or a failure line."""
        if any(p.matches(event) for p in self.failed):
            return True
        return event.severity >= 40 and not any(p.matches(event) for p in self.ignore)

    def reached(self, events: list[Event]) -> list[str]:
        """The ids of the stages whose markers appear among `events`, in workflow order."""
        return [s.id for s in self.stages if any(m.matches(e) for e in events for m in s.markers)]

    def succeeded(self, events: list[Event]) -> bool:
        """True when a success marker is among `events`."""
        return any(p.matches(e) for e in events for p in self.success)


def load_workflow(path: Path) -> Workflow:
    """Read one workflow file; errors name the file and the key."""
    data = load_mapping(path, path.name)
    where = path.name
    try:
        stages = tuple(
            Stage(s["id"], s["component"], tuple(Pattern.load(m, f"{where}:stages.{s['id']}.markers") for m in s["markers"]))
            for s in data["stages"]
        )
        trigger = data["trigger"]
        if "request" not in trigger and "action" not in trigger:
            raise KnowledgeError(f"{where}: trigger needs `request` (API access lines) or `action` (lines naming it)")
        instance_lines = str(data.get("instance_lines", "all"))
        if instance_lines not in ("all", "window"):
            raise KnowledgeError(f"{where}: instance_lines must be `all` or `window`")
        return Workflow(
            operation=data["operation"],
            title=data["title"],
            request_triggers=tuple(
                Pattern.load(p, f"{where}:trigger.request") for p in _as_list(trigger.get("request", []))
            ),
            instance_trigger=_optional(data["trigger"], "instance", where),
            observed_trigger=_optional(data["trigger"], "observed", where),
            success=tuple(Pattern.load(p, f"{where}:success") for p in data["success"]),
            stages=stages,
            failure_trigger=_optional(data["trigger"], "failure", where),
            ignore=tuple(Pattern.load(p, f"{where}:ignore") for p in data.get("ignore", [])),
            action_triggers=tuple(Pattern.load(p, f"{where}:trigger.action") for p in _as_list(trigger.get("action", []))),
            failed=tuple(Pattern.load(p, f"{where}:failed") for p in data.get("failed", [])),
            instance_lines=instance_lines,
            outranks_boot=bool(data.get("outranks_boot", False)),
        )
    except (KeyError, TypeError) as exc:
        raise KnowledgeError(f"{where}: missing or malformed key {exc}") from exc


def builtin_workflow(name: str = "boot") -> Workflow:
    """A workflow shipped with stacksleuth."""
    return load_workflow(_builtin_dir() / f"{name}.yaml")


def builtin_workflows() -> list[Workflow]:
    """Every workflow shipped with stacksleuth, boot first (its operations lead the report), then by name: a
    request two workflows' triggers name belongs to the first (live_migration before resize)."""
    paths = sorted(_builtin_dir().glob("*.yaml"), key=lambda p: (p.stem != "boot", p.stem))
    return [load_workflow(p) for p in paths]


def _builtin_dir() -> Path:
    return Path(str(resources.files("stacksleuth.knowledge"))) / "workflows"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _optional(trigger: dict[str, Any], key: str, where: str) -> Pattern | None:
    """Only a server boot can start from compute's lines or be seen through API reads alone; only the
    catch-all starts from error lines."""
    return Pattern.load(trigger[key], f"{where}:trigger.{key}") if key in trigger else None
