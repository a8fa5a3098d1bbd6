"""Known bugs against installed package versions (rules with `affects`), on hotsos's real should-(not-)raise data."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import diagnose_json, run_cli
from scenario_files import materialise
from stacksleuth.diagnose.affected import affected
from stacksleuth.diagnose.rulebook import Affects, load_rules
from stacksleuth.errors import KnowledgeError

KEYSTONE = "scenarios/openstack/keystone/bugs"
LEAK = "identity/ldap-pool-connection-leak"


def _root(shared_data: Path, scenario: str, tmp_path: Path) -> Path:
    materialise(shared_data / "hotsos-fixtures" / scenario, tmp_path / "root")
    return tmp_path / "root"


@pytest.mark.parametrize(("version", "raised"), [("16-30-99", True), ("17-0-0", True), ("17-0-1", False),
                                                 ("17-0-2", False), ("18-0-0", True), ("18-0-1", False)])
def test_ldap_pool_leak_only_where_keystone_has_the_bug(shared_data: Path, tmp_path: Path, version: str,
                                                        raised: bool) -> None:
    name = f"lp1896125-{version}-should-{'raise' if raised else 'not-raise'}.yaml"
    _, doc = diagnose_json(_root(shared_data, f"{KEYSTONE}/{name}", tmp_path))
    rules = [f["rule"] for f in doc["findings"]]
    assert "identity/ldap-pool-exhausted" in rules  # the pool ran out either way
    assert (LEAK in rules) is raised
    spared = [s for s in doc["spared"] if s["rule"] == LEAK]
    assert bool(spared) is not raised
    if spared:
        assert spared[0]["versions"] == {"root": f"2:{version.replace('-', '.')}-0ubuntu0.20.04.1"}


def test_spared_bug_is_said_in_the_terminal_report(shared_data: Path, tmp_path: Path) -> None:
    root = _root(shared_data, f"{KEYSTONE}/lp1896125-17-0-1-should-not-raise.yaml", tmp_path)
    _, out, _ = run_cli("diagnose", str(root))
    assert f"not raised: {LEAK} (a known bug): keystone 2:17.0.1-0ubuntu0.20.04.1 on root has the fix" in out


def test_unknown_version_raises(shared_data: Path, tmp_path: Path) -> None:
    """No package list: the bug cannot be ruled out, so it is raised."""
    root = _root(shared_data, f"{KEYSTONE}/lp1896125-17-0-1-should-not-raise.yaml", tmp_path)
    (root / "sos_commands" / "dpkg" / "dpkg_-l").unlink()
    _, doc = diagnose_json(root)
    assert LEAK in [f["rule"] for f in doc["findings"]] and doc["spared"] == []


def test_heartbeat_traceback_in_syslog_after_the_fix(shared_data: Path, tmp_path: Path) -> None:
    scenarios = "scenarios/openstack/oslo_messaging"
    _, fixed = diagnose_json(_root(shared_data, f"{scenarios}/lp1934937_syslog_not_has_fix.yaml", tmp_path / "a"))
    _, unknown = diagnose_json(_root(shared_data, f"{scenarios}/lp1934937_syslog.yaml", tmp_path / "b"))
    rule = "messaging/heartbeat-in-pthread"
    assert rule not in [f["rule"] for f in fixed["findings"]] and fixed["spared"][0]["rule"] == rule
    assert rule in [f["rule"] for f in unknown["findings"]]


def test_debian_version_order() -> None:
    leak = next(r for r in load_rules() if r.id == LEAK).affects
    assert leak is not None
    assert affected(leak, "2:17.0.0-0ubuntu0.20.04.1") and affected(leak, "2:17.0.0~rc1-0ubuntu1")
    assert not affected(leak, "2:17.0.1-0ubuntu0.20.04.1") and not affected(leak, "2:19.0.0-0ubuntu1")
    assert not affected(leak, "1:16.0.0-1")  # an older epoch is another lineage, below every range
    assert affected(Affects("p", (("1.0", "1.2", None),)), "1.2") and not affected(Affects("p", ((None, "1.2", None),)), "1.2.1")


def test_bad_affects_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "area").mkdir()
    body = ("id: area/bad\ntitle: t\ncomponent: c\nseverity: error\nsymptom: s\ncause: c\nfix: [f]\nevidence: [e]\n"
            "match: [{message: oops}]\n")
    (tmp_path / "area" / "bad.yaml").write_text(body + "affects: {package: nova-common, versions: [{upto: '1'}]}\n")
    with pytest.raises(KnowledgeError, match=r"area/bad.yaml:affects.versions\[0\]: a range with"):
        load_rules(tmp_path)
