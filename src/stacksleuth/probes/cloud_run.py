"""`check cloud` and `check server UUID` end to end: answers from the live APIs (or a saved capture), optionally
saved, turned into facts, reasoned on, and put in the `stacksleuth/diagnosis/v1` document `check` prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stacksleuth.probes import cloud, cloud_api, cloud_capture, cloud_server
from stacksleuth.probes.cloud_facts import Source, cloud_facts, server_facts
from stacksleuth.probes.run import document


def cloud_document(os_cloud: str | None, replay: Path | None, save: Path | None) -> dict[str, Any]:
    """The cloud-wide checks."""
    answers = _answers("cloud", os_cloud, replay, save, cloud_api.cloud_answers)
    facts = cloud_facts(answers)
    return document(_source(facts.source, replay), [cloud.check(facts)])


def server_document(uuid: str, os_cloud: str | None, replay: Path | None, save: Path | None) -> dict[str, Any]:
    """One server's checks; `source.request_ids` lists its failed actions' request ids for `stacksleuth trace`."""
    answers = _answers("server", os_cloud, replay, save, lambda conn: cloud_api.server_answers(conn, uuid))
    facts = server_facts(answers)
    if replay is not None and facts.id and facts.id != uuid:
        raise cloud_api.CloudError(f"{replay} holds server {facts.id}, not {uuid}")
    source = dict(_source(facts.source, replay), server=facts.id or uuid,
                  request_ids=cloud_server.failed_requests(facts))
    return document(source, [cloud_server.check(facts)])


def _answers(kind: str, os_cloud: str | None, replay: Path | None, save: Path | None, ask: Any) -> dict[str, Any]:
    if replay is not None:
        answers: dict[str, Any] = cloud_capture.load(replay, kind)
    else:
        answers = ask(cloud_api.connect(os_cloud))
    if save is not None:
        cloud_capture.save(answers, save)
    return answers


def _source(source: Source, replay: Path | None) -> dict[str, Any]:
    """Which cloud, and the capture file when the answers were read from one."""
    where = source.describe(f"answers captured {source.captured_at}, read from {replay}" if replay else "")
    return {"host": None, "root": str(replay) if replay else None, "live": replay is None, "cloud": where}
