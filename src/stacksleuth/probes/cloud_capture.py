"""Saved API answers (`check cloud|server --save FILE`) as files: write, read back, and recognise one by its
content whatever its name. Kept apart from cloud_api.py so that reading a capture (`--from`, or a capture in a
`diagnose` bundle) needs neither openstacksdk nor a cloud."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stacksleuth.errors import SourceError

ANSWERS_SCHEMA = "stacksleuth/cloud-answers/v1"
KINDS = ("cloud", "server")
_MARK = json.dumps(ANSWERS_SCHEMA).encode()  # as `save` writes it, quotes included
_HEAD, _CHUNK = 4096, 1 << 20
_MAX_BYTES = 1 << 30  # larger files are not scanned for the schema: no capture of a real cloud is near this

Answers = dict[str, Any]


def save(answers: Answers, path: Path) -> None:
    """Write a capture; it holds API answers only, never the token or the password."""
    try:
        path.write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{path}: cannot write ({exc.strerror})") from exc


def load(path: Path, kind: str) -> Answers:
    """A capture written by `--save`, checked to be of `kind` (cloud or server)."""
    data = _read(path)
    if not isinstance(data, dict) or data.get("schema") != ANSWERS_SCHEMA:
        raise SourceError(f"{path}: not a stacksleuth cloud capture (no schema {ANSWERS_SCHEMA})")
    if data.get("kind") != kind:
        raise SourceError(f"{path}: a capture of `check {data.get('kind')}`, not of `check {kind}`")
    return data


def opens_like_save(head: bytes) -> bool:
    """`{` alone on the first line, as `save` writes a capture (JSON-lines logs start `{"`)."""
    return head.lstrip(b"\xef\xbb\xbf").startswith((b"{\n", b"{\r\n"))


def kind_of(path: Path, pretty_only: bool = False) -> str | None:
    """`cloud` or `server` when `path` is a capture (its top-level `schema` and `kind`), else None.

    Cheap for other files: only a JSON object (with `pretty_only`, one whose first line is `{` alone, as `save`
    writes it: JSON-lines logs start `{"`) is scanned for the schema, and only one naming it is parsed.
    SourceError when a file names the schema but cannot be read as a capture (truncated, not JSON).
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
            if not (opens_like_save(head) if pretty_only else head.lstrip(b"\xef\xbb\xbf").lstrip().startswith(b"{")):
                return None
            if os.fstat(fh.fileno()).st_size > _MAX_BYTES:
                return None
            found, tail = _MARK in head, head[-len(_MARK):]
            while not found and (chunk := fh.read(_CHUNK)):
                found, tail = _MARK in tail + chunk, chunk[-len(_MARK):]
    except OSError:
        return None
    if not found:
        return None
    try:
        data = _read(path)
    except SourceError as exc:
        raise SourceError(f"{path}: names {ANSWERS_SCHEMA} but is not a readable capture ({exc.__cause__})") from exc
    if isinstance(data, dict) and data.get("schema") == ANSWERS_SCHEMA and data.get("kind") in KINDS:
        return str(data["kind"])
    return None  # a document that only mentions the schema (a report quoting it)


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(f"{path}: not a stacksleuth cloud capture ({exc})") from exc
