"""`python -m stacksleuth`: the same CLI from this very installation (the lab runs `check cloud` this way)."""

from stacksleuth.cli.main import cli

cli(prog_name="stacksleuth")
