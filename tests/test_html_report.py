"""`diagnose --html`: a self-contained page with the findings and a timeline per failed operation."""

from __future__ import annotations

from pathlib import Path

from conftest import EXAMPLES, run_cli


def test_html_report_has_findings_and_timeline(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    code, _, _ = run_cli("diagnose", str(EXAMPLES / "fault-b-disk-full"), "--html", str(page))
    assert code == 1
    html = page.read_text()
    assert "compute/no-space-left" in html and "No space left on device" in html
    assert "Timeline: boot · 87209c3b-04dc-4071-ae0a-46e6fcc3f1e3" in html
    assert html.count("<svg") == 1 and "stopped at spawning" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html  # nothing to fetch


def test_html_escapes_log_text(tmp_path: Path) -> None:
    """Log lines are data: a '<' in a message must not become markup."""
    bundle = tmp_path / "host"
    bundle.mkdir()
    (bundle / "nova-compute.log").write_text(
        "2026-11-21 04:56:18.220 26382 ERROR nova.compute.manager [None req-7f5e0809-20aa-4bea-8e47-5386e2bc0513 "
        "u p - - default default] [instance: 87209c3b-04dc-4071-ae0a-46e6fcc3f1e3] Instance failed to spawn: "
        "<b>oops</b> No space left on device\n"
        "2026-11-21 04:56:18.221 26382 INFO nova.compute.claims [None req-7f5e0809-20aa-4bea-8e47-5386e2bc0513 "
        "u p - - default default] [instance: 87209c3b-04dc-4071-ae0a-46e6fcc3f1e3] Claim successful on node vm\n"
    )
    page = tmp_path / "r.html"
    run_cli("diagnose", str(bundle), "--html", str(page))
    html = page.read_text()
    assert "&lt;b&gt;oops&lt;/b&gt;" in html and "<b>oops</b>" not in html


def test_unwritable_html_path_is_one_line(tmp_path: Path) -> None:
    code, _, err = run_cli("diagnose", str(EXAMPLES / "fault-b-disk-full"), "--html", str(tmp_path / "no" / "r.html"))
    assert code == 2
    assert err.count("\n") == 1 and "cannot write the HTML report" in err
