"""Timing anomalies: a spawn much slower than the bundle's other spawns is a warning, and nothing else is.

Loghub's OpenStack set labels four instances of openstack_abnormal.log as anomalous (anomaly_labels.txt).
They log no ERROR or WARNING and the same events as normal boots; what sets them apart is that their
spawns took 29–51 s where every other took at most 27 s (median 19.8 s).
"""

from __future__ import annotations

from pathlib import Path

from conftest import EXAMPLES, diagnose_json

LOGHUB = "loghub-openstack-full-derived"
LINES = f"{LOGHUB}/haraldott-instance-lines"


def _labelled(shared_data: Path) -> set[str]:
    text = (shared_data / LOGHUB / "anomaly_labels.txt").read_text()
    return {w for w in text.split() if w.count("-") == 4}


def _slow(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["rule"] == "timing/slow-stage"]


def test_loghub_labelled_instances_are_exactly_the_slow_spawns(shared_data: Path) -> None:
    labelled = _labelled(shared_data)
    assert len(labelled) == 4
    _, doc = diagnose_json(shared_data / LINES / "openstack_abnormal.instance_lines_sorted_per_instance.log",
                           shared_data / LINES / "openstack_normal1.instance_lines_sorted_per_instance.log")
    slow = _slow(doc)
    assert {f["instance"] for f in slow} == labelled
    for finding in slow:
        assert (finding["severity"], finding["stage"], finding["component"]) == ("warning", "spawning", "nova-compute")
        assert "seconds to spawn the instance on the hypervisor" in finding["evidence"][0]["text"]
        assert finding["instance"] in finding["evidence"][0]["text"]
    assert all(f["severity"] == "warning" for f in doc["findings"])


def test_loghub_normal_run_has_no_slow_spawn(shared_data: Path) -> None:
    """556 normal spawns (max 22.2 s, median 19.7 s): none is flagged."""
    _, doc = diagnose_json(shared_data / LINES / "openstack_normal1.instance_lines_sorted_per_instance.log")
    assert _slow(doc) == []


def test_few_boots_are_not_compared() -> None:
    """A bundle with a couple of boots has no 'elsewhere' to compare a spawn with."""
    _, doc = diagnose_json(EXAMPLES / "baseline-boot-vm2-ok")
    assert _slow(doc) == []


def _spawn_lines(instance: str, start_s: int, seconds: int) -> list[str]:
    def at(s: int) -> str:
        return f"2022-02-04 10:{s // 60:02d}:{s % 60:02d}.000"
    head = "1234 INFO nova.virt.libvirt.driver [req-5e1f2c4e-0000-4000-8000-000000000000 - - - - -]"
    return [f"{at(start_s)} {head} [instance: {instance}] Creating image",
            f"{at(start_s + seconds)} 1234 INFO nova.compute.manager [-] [instance: {instance}] VM Started (Lifecycle Event)"]


def test_without_nova_measurements_the_lines_are_timed(tmp_path: Path) -> None:
    """No 'Took N seconds' lines (rotated away, older release): Creating image → VM Started is measured."""
    slow = "0000000a-0000-4000-8000-00000000000a"
    lines = []
    for n in range(9):
        lines += _spawn_lines(f"0000000{n}-0000-4000-8000-00000000000{n}", n * 60, 12 + n % 3)
    lines += _spawn_lines(slow, 9 * 60, 40)
    (tmp_path / "nova-compute.log").write_text("\n".join(lines) + "\n")
    _, doc = diagnose_json(tmp_path)
    assert [f["instance"] for f in _slow(doc)] == [slow]
    assert "Creating image" in _slow(doc)[0]["cause"]
