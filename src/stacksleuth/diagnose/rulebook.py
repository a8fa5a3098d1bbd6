"""Load the rules knowledge base: one YAML file per known failure, checked strictly at load."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from stacksleuth.durations import duration
from stacksleuth.errors import KnowledgeError
from stacksleuth.patterns import Pattern
from stacksleuth.yamlfile import load_mapping

SEVERITIES = ("critical", "error", "warning", "info")
_REQUIRED = {"id", "title", "component", "severity", "symptom", "cause", "fix", "evidence"}
_OPTIONAL = {"match", "requires", "when", "stages", "priority", "confidence", "references", "operation", "scope",
             "source", "samples", "threshold", "affects", "unrecovered"}
_WHEN = {"outcome", "stage", "silent"}


@dataclass(frozen=True, slots=True)
class Condition:
    """What must hold of an operation for a rule to apply to it.

    Alone, it makes a missing-evidence rule ('the logs are silent'); with `match`, it narrows a log rule to
    operations in that state (e.g. `outcome: [active]` for a server that went ACTIVE yet is broken).
    """

    outcome: tuple[str, ...] = ()  # failed / stuck
    stage: tuple[str, ...] = ()  # the stage it stopped at
    silent: tuple[str, ...] = ()  # services that wrote nothing for the operation (regexes)


@dataclass(frozen=True, slots=True)
class Threshold:
    """A rate instead of a single line, for messages that are harmless alone and a problem in a burst.

    The rule fires only when one host logged at least `count` matching events within `within` of each other
    (any window of that length; without `within`, anywhere in the bundle) — hotsos's `min-results` with
    `search-period-hours`. A BFD session that went down once is a blip; ten times in an hour is a flapping link.
    """

    count: int
    within: timedelta | None = None
    text: str = ""  # `within` as written ("1h"), for the rule's own text


@dataclass(frozen=True, slots=True)
class Affects:
    """The releases of one package that have a known bug: a host whose package list shows another version has the
    fix, so the same log line there is history or another cause, not this bug (hotsos's `apt:` version checks).

    Each range is (min, max, below): at least `min`, at most `max`, under `below`; any may be missing.
    """

    package: str
    ranges: tuple[tuple[str | None, str | None, str | None], ...]


@dataclass(frozen=True, slots=True)
class Unrecovered:
    """A failure that matters only while it lasts: the rule fires for the services (per host) whose last matching
    line no `recovery` line of their own follows — with `others_recovered`, only when another service logged that
    recovery after it, so the cause is gone for everyone else (the broker is back; this nova-compute never
    reconnected and needs a restart, seeds 003)."""

    recovery: Pattern
    others_recovered: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    """One known failure: how to recognise it, what it means, how to fix it."""

    id: str
    title: str
    component: str
    severity: str
    symptom: str
    cause: str
    fix: tuple[str, ...]
    evidence: tuple[str, ...]  # where the real lines that prove the rule live (a test reads them)
    match: tuple[Pattern, ...] = ()  # any one of these, on an event
    requires: tuple[Pattern, ...] = ()  # each of these somewhere in the bundle as well
    when: Condition | None = None  # operation conditions; without `match`, a missing-evidence rule
    stages: tuple[str, ...] = ()  # stages of a failed operation this rule can explain
    scope: str = "operation"  # operation: the event belongs to the op; bundle: joins failed ops by stage and time
    priority: int = 50  # higher = closer to the root cause
    confidence: float = 0.8
    references: tuple[str, ...] = ()
    # where no real log line was found: the service's own source, "repo path:line — the log message template"
    source: tuple[str, ...] = ()
    # log lines rendered from those templates (not captured): (file as it would sit in a bundle, the line)
    samples: tuple[tuple[str, str], ...] = ()
    threshold: Threshold | None = None  # fire only on a burst of matching events (bundle rules)
    affects: Affects | None = None  # a known bug: only hosts with these package versions (when known) have it
    unrecovered: Unrecovered | None = None  # fire only for services still failing when their logs end (bundle)


def load_rule(path: Path, root: Path) -> Rule:
    """Read and check one rule file; its id must be its path under `root` without `.yaml`."""
    where = str(path.relative_to(root))
    data = load_mapping(path, where)
    missing = _REQUIRED - set(data)
    unknown = set(data) - _REQUIRED - _OPTIONAL
    if missing or unknown:
        raise KnowledgeError(f"{where}: missing {sorted(missing)} / unknown {sorted(unknown)} keys")
    expected_id = where[: -len(".yaml")]
    if data["id"] != expected_id:
        raise KnowledgeError(f"{where}: id is {data['id']!r} but the file says {expected_id!r}")
    if data["severity"] not in SEVERITIES:
        raise KnowledgeError(f"{where}: severity must be one of {SEVERITIES}")
    if not data.get("match") and not data.get("when"):
        raise KnowledgeError(f"{where}: a rule needs `match` (log patterns) or `when` (missing evidence)")
    if not _list(data["evidence"]) and not _list(data.get("source")):
        raise KnowledgeError(f"{where}: `evidence: []` is allowed only with `source` (the message's own source)")
    if data.get("samples") and not data.get("source"):
        raise KnowledgeError(f"{where}: `samples` are rendered from `source` templates; give `source` too")
    if data.get("unrecovered") is not None and (data.get("scope") != "bundle" or data.get("threshold") is not None):
        raise KnowledgeError(f"{where}: `unrecovered` looks at each service's last line; it needs `scope: bundle` "
                             "and no `threshold`")
    if data.get("threshold") is not None and data.get("scope") != "bundle":
        raise KnowledgeError(f"{where}: `threshold` counts events across the bundle; it needs `scope: bundle`")
    for key in ("title", "component", "symptom", "cause"):
        _template(data[key], f"{where}:{key}")
    for i, item in enumerate(_list(data["fix"])):
        _template(item, f"{where}:fix[{i}]")
    for i, item in enumerate(_list(data.get("references"))):
        if not isinstance(item, str):
            raise KnowledgeError(f"{where}:references[{i}]: a reference is one line of text (quote it if it has ': ')")
    return Rule(
        id=data["id"],
        title=str(data["title"]),
        component=str(data["component"]),
        severity=data["severity"],
        symptom=str(data["symptom"]).strip(),
        cause=str(data["cause"]).strip(),
        fix=tuple(str(f) for f in _list(data["fix"])),
        evidence=tuple(str(e) for e in _list(data["evidence"])),
        match=tuple(Pattern.load(p, f"{where}:match[{i}]") for i, p in enumerate(_list(data.get("match")))),
        requires=tuple(Pattern.load(p, f"{where}:requires[{i}]") for i, p in enumerate(_list(data.get("requires")))),
        when=_condition(data.get("when"), where),
        stages=tuple(_list(data.get("stages"))),
        scope=str(data.get("scope", "operation")),
        priority=int(data.get("priority", 50)),
        confidence=float(data.get("confidence", 0.8)),
        references=tuple(str(r) for r in _list(data.get("references"))),
        source=tuple(str(s) for s in _list(data.get("source"))),
        samples=_samples(data.get("samples"), where),
        threshold=_threshold(data.get("threshold"), where),
        affects=_affects(data.get("affects"), where),
        unrecovered=_unrecovered(data.get("unrecovered"), where),
    )


def load_rules(root: Path | None = None) -> list[Rule]:
    """Every rule under `root` (the built-in knowledge base by default), sorted by id."""
    base = root or Path(str(resources.files("stacksleuth.knowledge"))) / "rules"
    rules = [load_rule(p, base) for p in sorted(base.rglob("*.yaml"))]
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise KnowledgeError(f"{rule.id}: defined twice")
        seen.add(rule.id)
    return rules


def _template(value: Any, where: str) -> None:
    """Texts are filled with the match's values (`{host}`, `{message}`): a YAML mapping where text was meant, or a
    brace that is not a placeholder, would break the report when the rule fires, so both are refused at load."""
    if not isinstance(value, str):
        raise KnowledgeError(f"{where}: expected text, got a {type(value).__name__} (quote it if it has ': ')")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
    except ValueError as exc:
        raise KnowledgeError(f"{where}: {exc} (write a literal brace as {{{{ or }}}})") from exc
    for field in fields:
        if not field.isidentifier():
            raise KnowledgeError(f"{where}: {{{field}}} is not a placeholder (write a literal brace as {{{{ or }}}})")


def _condition(data: Any, where: str) -> Condition | None:
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) - _WHEN:
        raise KnowledgeError(f"{where}:when: allowed keys are {sorted(_WHEN)}")
    return Condition(*(tuple(_list(data.get(k))) for k in ("outcome", "stage", "silent")))


def _threshold(data: Any, where: str) -> Threshold | None:
    if data is None:
        return None
    if not isinstance(data, dict) or not set(data) <= {"count", "within"} or "count" not in data:
        raise KnowledgeError(f"{where}:threshold: a mapping with `count` and optionally `within` (e.g. 10m, 1h)")
    count = data["count"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 2:
        raise KnowledgeError(f"{where}:threshold.count must be an integer of at least 2 (one line needs no threshold)")
    if "within" not in data:
        return Threshold(count)
    text = str(data["within"])
    within = duration(text)
    if within is None:
        raise KnowledgeError(f"{where}:threshold.within must be a duration like 90s, 10m, 1h or 1d, not {text!r}")
    return Threshold(count, within, text)


def _affects(data: Any, where: str) -> Affects | None:
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) != {"package", "versions"} or not _list(data["versions"]):
        raise KnowledgeError(f"{where}:affects: a mapping with `package` and `versions` (a list of ranges)")
    ranges: list[tuple[str | None, str | None, str | None]] = []
    for i, item in enumerate(_list(data["versions"])):
        if not isinstance(item, dict) or not item or set(item) - {"min", "max", "below"}:
            raise KnowledgeError(f"{where}:affects.versions[{i}]: a range with `min`, `max` and/or `below`")
        low, high, under = (str(item[k]) if k in item else None for k in ("min", "max", "below"))
        ranges.append((low, high, under))
    return Affects(str(data["package"]), tuple(ranges))


def _unrecovered(data: Any, where: str) -> Unrecovered | None:
    if data is None:
        return None
    if not isinstance(data, dict) or "recovery" not in data or set(data) - {"recovery", "others_recovered"}:
        raise KnowledgeError(f"{where}:unrecovered: a mapping with `recovery` (a pattern) and optional `others_recovered`")
    return Unrecovered(Pattern.load(data["recovery"], f"{where}:unrecovered.recovery"),
                       bool(data.get("others_recovered", False)))


def _samples(data: Any, where: str) -> tuple[tuple[str, str], ...]:
    samples = []
    for i, item in enumerate(_list(data)):
        if not isinstance(item, dict) or set(item) != {"file", "line"}:
            raise KnowledgeError(f"{where}:samples[{i}]: a sample is a mapping with `file` and `line`")
        samples.append((str(item["file"]), str(item["line"])))
    return tuple(samples)


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
