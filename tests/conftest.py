"""Shared fixtures: the bundled lab captures, the shared datasets, and a CLI runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stacksleuth.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "lab-zed"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip when this checkout has no shared/ beside it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run `stacksleuth ARGS`; returns (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def diagnose_json(*paths: Path | str) -> tuple[int, dict[str, Any]]:
    """`stacksleuth diagnose --json PATHS` as (exit code, document)."""
    code, out, _ = run_cli("diagnose", "--json", *map(str, paths))
    return code, json.loads(out)
