"""OpenStack configuration as (section, key, value, line) records: from an oslo.config INI file, or from the
Configuration section of a Guru Meditation Report (`kill -USR2 <pid>`), which prints every option in effect:

    default:
      auth_strategy = keystone
      baremetal_scheduler_default_filters =
        AvailabilityZoneFilter
        ComputeFilter
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SECTION = re.compile(r"^\[(?P<name>[^\]]+)\]\s*$")
_OPTION = re.compile(r"^(?P<key>[\w.-]+)\s*[=:]\s?(?P<value>.*?)\s*$")
_GMR_HEADER = re.compile(r"^=+\s*$\n^====\s+Configuration\s+====\s*$\n^=+\s*$\n", re.M)
_GMR_GROUP = re.compile(r"^(?P<name>[\w.-]+):\s*$")
_GMR_OPTION = re.compile(r"^  (?P<key>[\w.-]+) =\s?(?P<value>.*?)\s*$")
_GMR_PRODUCT = re.compile(r"^product = OpenStack (\w+)", re.M)


@dataclass(frozen=True, slots=True)
class Setting:
    """One option as written: its section, key, raw value, and where (file, line)."""

    section: str
    key: str
    value: str
    file: str
    line: int


def parse_ini(text: str, file: str) -> list[Setting]:
    """Every `key = value` under its `[section]`; comments and blank lines skipped, indented lines continue a value."""
    settings: list[Setting] = []
    section = "DEFAULT"
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if line[0] in " \t" and settings and settings[-1].section == section:
            last = settings.pop()
            settings.append(Setting(last.section, last.key, f"{last.value},{stripped}", file, last.line))
            continue
        if m := _SECTION.match(stripped):
            section = m["name"].strip()
        elif m := _OPTION.match(stripped):
            settings.append(Setting(section, m["key"], m["value"], file, number))
    return settings


def is_gmr(text: str) -> bool:
    """Whether `text` is a Guru Meditation Report with a Configuration section."""
    return "Guru Meditation" in text[:2000] and _GMR_HEADER.search(text) is not None


def gmr_service(text: str) -> str:
    """The service a report is from (`product = OpenStack Nova` → nova)."""
    m = _GMR_PRODUCT.search(text)
    return m.group(1).lower() if m else "unknown"


def parse_gmr(text: str, file: str) -> list[Setting]:
    """The report's Configuration section; multi-line values (one item per line) are joined with commas."""
    m = _GMR_HEADER.search(text)
    if m is None:
        return []
    first = text.count("\n", 0, m.end()) + 1
    settings: list[Setting] = []
    group = "DEFAULT"
    for number, line in enumerate(text[m.end():].splitlines(), first):
        if line.startswith("===="):
            break  # the next section of the report
        if g := _GMR_GROUP.match(line):
            group = "DEFAULT" if g["name"] == "default" else g["name"]
        elif o := _GMR_OPTION.match(line):
            settings.append(Setting(group, o["key"], o["value"], file, number))
        elif line.startswith("    ") and settings:
            last = settings.pop()
            value = f"{last.value},{line.strip()}" if last.value else line.strip()
            settings.append(Setting(last.section, last.key, value, file, last.line))
    return settings
