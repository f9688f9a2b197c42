"""The faust agents, run with ``test_context()``: no broker, real agent code and tables."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from alerts.config.loader import load_config
from alerts.engine import Engine
from alerts.metrics import Metrics
from alerts.sinks.dispatch import Dispatcher
from alerts.sinks.jsonl import JsonlSink
from streams.agents import INGESTED_AT_HEADER, SOURCE_HEADER, Topology, build_topology
from streams.app import create_app
from streams.pipeline import Handlers, RunStats
from streams.settings import Settings
from tests.conftest import ROOT

STORY = (ROOT / "tests" / "data" / "security-talks.jsonl").read_bytes().strip()


@dataclass
class Fixed:
    """The engine source the agents read; hot reload swaps ``current``."""

    current: Engine


@dataclass
class Sent:
    records: list[tuple[bytes | None, bytes]] = field(default_factory=list)

    async def __call__(self, key: bytes | None = None, value: bytes = b"", **_: Any) -> None:
        self.records.append((key, value))


@dataclass
class Harness:
    topology: Topology
    stats: RunStats
    metrics: Metrics
    by_topic: Sent
    alerts: Sent
    deadletter: Sent
    alerts_file: Any


@pytest.fixture
async def harness(tmp_path: Any) -> AsyncIterator[Harness]:
    metrics = Metrics()
    stats = RunStats()
    engine = Engine(load_config(), metrics)
    alerts_file = tmp_path / "alerts.jsonl"
    from alerts.config.models import JsonlSinkConfig

    sink = JsonlSink.from_config(
        "audit", JsonlSinkConfig(type="jsonl", path=str(alerts_file)), {}, metrics
    )
    assert sink is not None
    await sink.start()
    handlers = Handlers(
        Fixed(engine), Dispatcher({"audit": sink}, metrics), metrics, stats, always_sinks=["audit"]
    )
    app = create_app(Settings(partitions=1), "kafka://127.0.0.1:1", embedded=True)
    topology = build_topology(app, handlers, 1)
    by_topic, alerts, deadletter = Sent(), Sent(), Sent()
    # The agents forward with topic.send; capture what they send instead of producing.
    topology.by_topic.send = by_topic
    topology.alerts.send = alerts
    topology.deadletter.send = deadletter
    yield Harness(topology, stats, metrics, by_topic, alerts, deadletter, alerts_file)
    await sink.stop()
    # test_context() never starts faust's consumer thread, which made its own event loop.
    if app._consumer is not None:
        app._consumer._thread.thread_loop.close()


async def test_triage_keys_the_story_by_watch_topic(harness: Harness) -> None:
    async with harness.topology.triage.test_context() as agent:
        await agent.put(
            STORY, headers={INGESTED_AT_HEADER: b"1700000000.0", SOURCE_HEADER: b"file"}
        )
    keys = [key for key, _ in harness.by_topic.records]
    assert b"china-japan" in keys
    envelope = json.loads(harness.by_topic.records[0][1])
    assert envelope["article"]["title"].startswith("Japan and China")
    assert envelope["ingested_at"] == 1700000000.0 and envelope["source"] == "file"


async def test_triage_drops_the_same_article_sent_twice(harness: Harness) -> None:
    async with harness.topology.triage.test_context() as agent:
        await agent.put(STORY)
        await agent.put(STORY)
    fanned = len({key for key, _ in harness.by_topic.records})
    assert len(harness.by_topic.records) == fanned
    assert (
        harness.metrics.registry.get_sample_value("flashpoint_duplicates_total", {"reason": "id"})
        == 1.0
    )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{oops", "invalid_json"),
        (b"\xc3\x28", "invalid_utf8"),
        (b'{"body": "no title"}', "missing_field"),
        (b'{"title": ["a"], "body": "b"}', "wrong_type"),
    ],
)
async def test_triage_dead_letters_bad_records_and_keeps_going(
    harness: Harness, raw: bytes, reason: str
) -> None:
    async with harness.topology.triage.test_context() as agent:
        await agent.put(raw)
        await agent.put(STORY)
    assert len(harness.deadletter.records) == 1
    letter = json.loads(harness.deadletter.records[0][1])
    assert letter["stage"] == "triage" and letter["reason"] == reason
    assert harness.by_topic.records, "the good article after the bad one was still processed"
    assert (
        harness.metrics.registry.get_sample_value(
            "flashpoint_deadletter_total", {"stage": "triage", "reason": reason}
        )
        == 1.0
    )


async def test_detect_turns_the_story_into_escalation_and_commitment_alerts(
    harness: Harness,
) -> None:
    article = json.loads(STORY)
    envelope = {"topic": "china-japan", "article": article, "ingested_at": 1.0, "source": "file"}
    async with harness.topology.detect.test_context() as agent:
        await agent.put(json.dumps(envelope).encode(), key=b"china-japan")
        await agent.put(json.dumps(envelope).encode(), key=b"china-japan")
    alerts = [json.loads(value)["alert"] for _, value in harness.alerts.records]
    kinds = sorted(a["kind"] for a in alerts)
    assert "escalation" in kinds and "commitment" in kinds
    assert len(kinds) == len(set(kinds)), "the repeated article raised nothing new"
    state = harness.topology.topic_state["china-japan"]
    assert state["levels"]["escalation"] in ("warning", "critical")


async def test_detect_dead_letters_an_envelope_it_cannot_read(harness: Harness) -> None:
    async with harness.topology.detect.test_context() as agent:
        await agent.put(b'{"topic": "china-japan"}', key=b"china-japan")
    letter = json.loads(harness.deadletter.records[0][1])
    assert (letter["stage"], letter["reason"]) == ("detect", "invalid_envelope")


async def test_notify_delivers_each_alert_once(harness: Harness) -> None:
    article = json.loads(STORY)
    envelope = {"topic": "china-japan", "article": article, "ingested_at": 1.0, "source": "file"}
    async with harness.topology.detect.test_context() as agent:
        await agent.put(json.dumps(envelope).encode(), key=b"china-japan")
    async with harness.topology.notify.test_context() as agent:
        for key, value in harness.alerts.records * 2:  # at-least-once: everything twice
            await agent.put(value, key=key)
    delivered = [json.loads(line) for line in harness.alerts_file.read_text().splitlines()]
    assert sorted(a["id"] for a in delivered) == sorted(
        {json.loads(v)["alert"]["id"] for _, v in harness.alerts.records}
    )
    assert harness.stats.delivered == len(delivered)
