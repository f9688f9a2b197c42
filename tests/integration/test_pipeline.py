"""The whole pipeline in-process over the real Kafka protocol (embedded tansu broker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from alerts.model import ALERT_CONTRACT_FIELDS
from streams.broker import EmbeddedBroker
from streams.runner import RunOptions, run
from streams.topics import DEADLETTER, bootstrap_servers
from tests.conftest import ROOT, tansu_settings

pytestmark = pytest.mark.integration

STORY = ROOT / "tests" / "data" / "security-talks.jsonl"


async def _run(broker: EmbeddedBroker, tmp_path: Path, *sources: str) -> tuple[list[dict], dict]:
    alerts_out = tmp_path / "alerts.jsonl"
    stats_out = tmp_path / "stats.json"
    code = await run(
        RunOptions(
            sources=list(sources),
            broker=broker.url,
            drain=True,
            alerts_out=str(alerts_out),
            stats_out=str(stats_out),
            settings=tansu_settings(partitions=2, shutdown_timeout=10.0),
        )
    )
    assert code == 0
    alerts = (
        [json.loads(line) for line in alerts_out.read_text().splitlines()]
        if alerts_out.exists()
        else []
    )
    return alerts, json.loads(stats_out.read_text())


async def test_security_talks_story_alerts_escalation_and_commitments(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    alerts, stats = await _run(broker, tmp_path, str(STORY))

    kinds = {(a["kind"], a["topic"]) for a in alerts}
    assert ("escalation", "china-japan") in kinds
    assert ("commitment", "china-japan") in kinds
    for alert in alerts:
        assert alert.keys() >= ALERT_CONTRACT_FIELDS
        assert alert["article"]["url"] == "https://news.example.org/asia/japan-china-security-talks"
        assert alert["evidence"], alert
    commitment = next(
        a for a in alerts if a["kind"] == "commitment" and a["topic"] == "china-japan"
    )
    attributes = [e["attributes"] for e in commitment["evidence"]]
    assert any(
        a.get("amount") == "2% of gross domestic product" or "2%" in a.get("amount", "")
        for a in attributes
    )
    assert any("spring" in a.get("deadline", "") for a in attributes)
    assert stats["articles"] == 1
    assert stats["alerts"] == stats["delivered"] == len(alerts)
    assert stats["failed"] == 0 and stats["deadlettered"] == 0


async def test_same_story_from_a_second_outlet_alerts_once(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    original = json.loads(STORY.read_text())
    copy = dict(
        original,
        id="other-outlet-1",
        url="https://other.example.net/japan-china",
        source="Meridian News",
        body=original["body"].replace("on Wednesday", "this week"),
    )
    exact_repeat = dict(original)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in (original, copy, exact_repeat)) + "\n")

    alerts, stats = await _run(broker, tmp_path, str(feed))

    per_kind_topic = [(a["kind"], a["topic"]) for a in alerts]
    assert len(per_kind_topic) == len(set(per_kind_topic)), per_kind_topic
    assert stats["articles"] == 3
    assert stats["duplicates"] == 1  # the exact repeat; the rewrite is folded into the story


async def test_bad_records_are_dead_lettered_and_good_ones_still_alert(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    story = STORY.read_text().strip()
    bad = [
        b"{not json",
        b"\xff\xfe\x00garbage",
        b'{"title": "no body here"}',
        b'{"title": 7, "body": "numbers are not titles"}',
        b"[" * 5000 + b"]" * 5000,
        json.dumps({"title": "huge", "body": "x" * 1_500_000}).encode(),
        b'"just a string"',
    ]
    feed = tmp_path / "mixed.jsonl"
    feed.write_bytes(b"\n".join([bad[0], story.encode(), *bad[1:]]) + b"\n")

    alerts, stats = await _run(broker, tmp_path, str(feed))

    assert {a["kind"] for a in alerts} >= {"escalation", "commitment"}
    assert stats["deadlettered"] == len(bad)
    reasons = await _deadletter_reasons(broker, len(bad))
    assert reasons == sorted(
        [
            "invalid_json",
            "invalid_utf8",
            "missing_field",
            "wrong_type",
            "too_deep",
            "too_large",
            "not_an_object",
        ]
    )


async def _deadletter_reasons(broker: EmbeddedBroker, expected: int) -> list[str]:
    consumer = AIOKafkaConsumer(
        DEADLETTER,
        bootstrap_servers=bootstrap_servers(broker.url),
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
        group_id=None,
    )
    await consumer.start()
    try:
        records = []
        while len(records) < expected:
            batch = await consumer.getmany(timeout_ms=5000)
            if not batch:
                break
            for messages in batch.values():
                records.extend(json.loads(m.value) for m in messages)
        for record in records:
            assert record["stage"] == "triage" and record["detail"]
            assert "value" in record or "value_base64" in record
        return sorted(r["reason"] for r in records)
    finally:
        await consumer.stop()


async def test_acts_between_two_states_no_watch_topic_covers_alert_on_a_pair_topic(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """India and China have no watch topic of their own: the clash gets ``china-india``."""
    alerts, stats = await _run(
        broker, tmp_path, str(ROOT / "tests" / "data" / "ladakh-clash.jsonl")
    )

    escalations = [a for a in alerts if a["kind"] == "escalation"]
    assert [a["topic"] for a in escalations] == ["china-india"]
    assert escalations[0]["severity"] in ("warning", "critical")
    actors = {e["attributes"].get("actor") for e in escalations[0]["evidence"]}
    assert actors <= {"China", "India"} and actors
    assert stats["failed"] == 0 and stats["deadlettered"] == 0
