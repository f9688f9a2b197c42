"""The faust agents, run with ``test_context()``: no broker, real agent code and tables."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from alerts.config.loader import load_config
from alerts.config.models import JsonlSinkConfig, SlackSinkConfig
from alerts.engine import Engine
from alerts.metrics import Metrics
from alerts.sinks.base import build_sinks
from alerts.sinks.dispatch import Dispatcher, RetryPolicy
from alerts.sinks.jsonl import JsonlSink
from streams.agents import INGESTED_AT_HEADER, SOURCE_HEADER, Topology, build_topology
from streams.app import create_app
from streams.pipeline import Handlers, RunStats
from streams.settings import Settings
from tests.conftest import ROOT
from tests.support.slack_stub import SlackStub

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
    by_topic_global: Sent
    alerts: Sent
    deadletter: Sent
    alerts_file: Any
    engine: Engine


def build_harness(sinks: dict[str, Any], alerts_file: Any, metrics: Metrics) -> Harness:
    """The three agents on a faust app that never connects: sends are captured."""
    stats = RunStats()
    engine = Engine(load_config(), metrics)
    policy = RetryPolicy(budget=1.0, backoff=0.01)
    dispatcher = Dispatcher(sinks, metrics, policy=policy)
    after = [name for name in sinks if name == "audit"]
    handlers = Handlers(Fixed(engine), dispatcher, metrics, stats, after_sinks=after)
    app = create_app(Settings(partitions=1), "kafka://127.0.0.1:1", embedded=True)
    topology = build_topology(app, handlers, 1)
    by_topic, by_topic_global, alerts, deadletter = Sent(), Sent(), Sent(), Sent()
    # The agents forward with topic.send; capture what they send instead of producing.
    topology.by_topic.send = by_topic
    topology.by_topic_global.send = by_topic_global
    topology.alerts.send = alerts
    topology.deadletter.send = deadletter
    return Harness(
        topology, stats, metrics, by_topic, by_topic_global, alerts, deadletter, alerts_file, engine
    )


async def handled(harness: Harness, counter: str, count: int) -> None:
    """``put`` returns once the agent has the message; wait until it has handled them."""
    for _ in range(200):
        if getattr(harness.stats, counter) >= count:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"the agent handled {getattr(harness.stats, counter)} of {count} messages")


def close_harness(harness: Harness) -> None:
    # test_context() never starts faust's consumer thread, which made its own event loop.
    app = harness.topology.triage.app
    if app._consumer is not None:
        app._consumer._thread.thread_loop.close()


@pytest.fixture
async def harness(tmp_path: Any) -> AsyncIterator[Harness]:
    metrics = Metrics()
    alerts_file = tmp_path / "alerts.jsonl"
    sink = JsonlSink.from_config(
        "audit", JsonlSinkConfig(type="jsonl", path=str(alerts_file)), {}, metrics
    )
    assert sink is not None
    await sink.start()
    built = build_harness({"audit": sink}, alerts_file, metrics)
    yield built
    await sink.stop()
    close_harness(built)


async def test_triage_keys_the_story_by_watch_topic(harness: Harness) -> None:
    async with harness.topology.triage.test_context() as agent:
        await agent.put(
            STORY, headers={INGESTED_AT_HEADER: b"1700000000.0", SOURCE_HEADER: b"file"}
        )
        await handled(harness, "triaged", 1)
    keys = [key for key, _ in harness.by_topic.records]
    assert b"china-japan" in keys
    envelope = json.loads(harness.by_topic.records[0][1])
    assert envelope["article"]["title"].startswith("Japan and China")
    assert envelope["ingested_at"] == 1700000000.0 and envelope["source"] == "file"


async def test_off_topic_articles_take_the_global_lane_and_quiet_ones_stop_at_triage(
    harness: Harness,
) -> None:
    def record(n: int, title: str, body: str) -> bytes:
        return json.dumps({"id": f"q{n}", "title": title, "body": body}).encode()

    quiet = record(1, "Harvest", "Farmers in Iowa expect a record corn crop this year.")
    balloon = record(2, "Odd sky", "Farmers in Iowa photographed what looked like a spy balloon.")
    market = record(3, "Markets", "Shares rose in Frankfurt on Tuesday.")
    async with harness.topology.triage_global.test_context() as agent:
        await agent.put(quiet)
        await agent.put(balloon)
        await agent.put(STORY)  # classified again: a config reload may have made it on-topic
        await handled(harness, "triaged", 3)
    async with harness.topology.triage.test_context() as agent:
        await agent.put(market)  # from a producer of its own, not through our publisher
        await handled(harness, "triaged", 4)
    [(key, value)] = harness.by_topic_global.records
    assert key == b"global" and json.loads(value)["article"]["id"] == "q2"
    assert b"china-japan" in [key for key, _ in harness.by_topic.records]

    async with harness.topology.detect_global.test_context() as agent:
        await agent.put(value, key=b"global")
        await handled(harness, "detected", 1)
    [(_, raised)] = harness.alerts.records
    alert = json.loads(raised)["alert"]
    assert (alert["rule"], alert["topic"]) == ("spy-balloon", "global")
    assert "global/story/q2" in harness.topology.global_state


async def test_triage_drops_the_same_article_sent_twice(harness: Harness) -> None:
    async with harness.topology.triage.test_context() as agent:
        await agent.put(STORY)
        await agent.put(STORY)
        await handled(harness, "triaged", 2)
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
        await handled(harness, "triaged", 2)
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


async def test_a_dead_letter_warning_names_the_feed_and_the_item(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    feed = b"rss:news.example.org/world.xml"
    bad = b'{"id": "urn:item:7", "title": "t", "body": "b", "published": "soon"}'
    with caplog.at_level(logging.WARNING, logger="streams.pipeline"):
        async with harness.topology.triage.test_context() as agent:
            await agent.put(bad, headers={SOURCE_HEADER: feed})
            await handled(harness, "triaged", 1)

    [warning] = [r.getMessage() for r in caplog.records if "dead-lettered" in r.getMessage()]
    assert "from rss:news.example.org/world.xml" in warning
    assert "urn:item:7" in warning
    letter = json.loads(harness.deadletter.records[0][1])
    assert (letter["source"], letter["record_id"]) == (feed.decode(), "urn:item:7")


async def test_detect_turns_the_story_into_escalation_and_commitment_alerts(
    harness: Harness,
) -> None:
    article = json.loads(STORY)
    envelope = {"topic": "china-japan", "article": article, "ingested_at": 1.0, "source": "file"}
    async with harness.topology.detect.test_context() as agent:
        await agent.put(json.dumps(envelope).encode(), key=b"china-japan")
        await agent.put(json.dumps(envelope).encode(), key=b"china-japan")
        await handled(harness, "detected", 2)
    alerts = [json.loads(value)["alert"] for _, value in harness.alerts.records]
    kinds = sorted(a["kind"] for a in alerts)
    assert "escalation" in kinds and "commitment" in kinds
    assert len(kinds) == len(set(kinds)), "the repeated article raised nothing new"
    levels = harness.topology.topic_state["china-japan/levels"]
    assert levels["escalation"] in ("warning", "critical")


async def test_an_article_is_analysed_once_from_triage_to_detect_behind_quiet_news(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("streams.pipeline.RECENT_ANALYSES", 2)
    analysed: list[str] = []
    analyze = harness.engine.analyze
    monkeypatch.setattr(
        harness.engine, "analyze", lambda a, *r: analysed.append(a.id) or analyze(a, *r)
    )
    quiet = [
        json.dumps({"id": f"quiet-{n}", "title": "Rain", "body": f"Rain in Oslo, day {n}."})
        for n in range(4)
    ]
    headers = {INGESTED_AT_HEADER: b"1.0", SOURCE_HEADER: b"file"}
    async with harness.topology.triage.test_context() as agent:
        for record in [STORY, *(q.encode() for q in quiet)]:
            await agent.put(record, headers=headers)
        await handled(harness, "triaged", 5)
    forwarded = harness.by_topic.records
    async with harness.topology.detect.test_context() as agent:
        for key, value in forwarded:
            await agent.put(value, key=key)
        await handled(harness, "detected", len(forwarded))
    assert harness.alerts.records, "the story raised its alerts"
    assert len(analysed) == 5, "news that stops at triage does not push the story out"


async def test_detect_dead_letters_an_envelope_it_cannot_read(harness: Harness) -> None:
    async with harness.topology.detect.test_context() as agent:
        await agent.put(b'{"topic": "china-japan"}', key=b"china-japan")
        await handled(harness, "detected", 1)
    letter = json.loads(harness.deadletter.records[0][1])
    assert (letter["stage"], letter["reason"]) == ("detect", "invalid_envelope")


async def test_notify_delivers_each_alert_once(harness: Harness) -> None:
    article = json.loads(STORY)
    envelope = {"topic": "china-japan", "article": article, "ingested_at": 1.0, "source": "file"}
    async with harness.topology.detect.test_context() as agent:
        await agent.put(json.dumps(envelope).encode(), key=b"china-japan")
        await handled(harness, "detected", 1)
    async with harness.topology.notify.test_context() as agent:
        for key, value in harness.alerts.records * 2:  # at-least-once: everything twice
            await agent.put(value, key=key)
        await handled(harness, "notified", 2 * len(harness.alerts.records))
    delivered = [json.loads(line) for line in harness.alerts_file.read_text().splitlines()]
    assert sorted(a["id"] for a in delivered) == sorted(
        {json.loads(v)["alert"]["id"] for _, v in harness.alerts.records}
    )
    assert harness.stats.delivered == len(delivered)


async def test_a_failed_alert_is_dead_lettered_not_marked_delivered_and_its_replay_delivers(
    tmp_path: Any,
) -> None:
    metrics = Metrics()
    async with SlackStub(token="xoxb-t") as stub:
        env = {"SLACK_API_URL": stub.url, "SLACK_BOT_TOKEN": "xoxb-t", "SLACK_CHANNEL": "#geo"}
        sinks = build_sinks({"slack": SlackSinkConfig(type="slack", hold=0)}, env, metrics)
        for sink in sinks.values():
            await sink.start()
        built = build_harness(dict(sinks), tmp_path / "unused.jsonl", metrics)
        article = json.loads(STORY)
        envelope = {"topic": "china-japan", "article": article, "ingested_at": 1.0}
        try:
            async with built.topology.detect.test_context() as agent:
                await agent.put(json.dumps(envelope).encode(), key=b"china-japan")
                await handled(built, "detected", 1)
            stub.error_next(1, error="channel_not_found")
            alerts = built.alerts.records
            async with built.topology.notify.test_context() as agent:
                for key, value in alerts:
                    await agent.put(value, key=key)
                await handled(built, "notified", len(alerts))
                letters = [json.loads(value) for _, value in built.deadletter.records]
                for letter in letters:  # replay the dead letters, as an operator would
                    await agent.put(letter["value"].encode(), key=letter["key"].encode())
                await handled(built, "notified", len(alerts) + len(letters))
        finally:
            for sink in sinks.values():
                await sink.stop()
            close_harness(built)
    assert letters, "the refused message was dead-lettered"
    for letter in letters:
        assert (letter["stage"], letter["reason"]) == ("notify", "sink_failed")
        assert "channel_not_found" in letter["detail"]
    assert built.stats.failed == len(letters)
    assert built.stats.delivered == len(alerts), "every alert delivered once, replays included"
    posted = [i for m in stub.messages for i in m["metadata"]["event_payload"]["alert_ids"].split()]
    assert sorted(posted) == sorted(json.loads(v)["alert"]["id"] for _, v in alerts)
    assert metrics.registry.get_sample_value(
        "flashpoint_deliveries_total", {"sink": "slack", "outcome": "failed"}
    ) == len(letters)


PRODUCER_LIMIT = 1_000_000


@dataclass
class LimitedSent(Sent):
    """Captures sends like :class:`Sent`, but refuses what the producer would refuse."""

    fail: int = 0
    """Refuse this many sends first, as a broker gone away."""

    async def __call__(self, key: bytes | None = None, value: bytes = b"", **_: Any) -> None:
        if self.fail > 0:
            self.fail -= 1
            raise ConnectionError("broker unavailable")
        if len(value) > PRODUCER_LIMIT:
            raise ValueError(f"message of {len(value)} bytes is over the producer's limit")
        await super().__call__(key=key, value=value)


async def test_a_dead_letter_always_fits_the_topic_and_is_counted_once(
    harness: Harness,
) -> None:
    harness.topology.deadletter.send = harness.deadletter = LimitedSent()
    escaped = b"\x01" * 170_000  # JSON writes each control byte as six: \u0001
    async with harness.topology.triage.test_context() as agent:
        await agent.put(escaped)
        await agent.put(STORY)
        await handled(harness, "triaged", 2)

    [letter] = [json.loads(value) for _, value in harness.deadletter.records]
    assert letter["reason"] == "invalid_json"
    assert letter["value_truncated"] and letter["value_bytes"] == len(escaped)
    assert letter["value"] == escaped[: len(letter["value"])].decode()
    assert len(letter["value"]) > 10_000, "as much of the value as fits is kept"
    assert harness.stats.deadlettered == 1
    assert harness.by_topic.records, "the stream went on"


async def test_a_dead_letter_the_broker_refuses_is_counted_as_lost_not_a_crash(
    harness: Harness,
) -> None:
    harness.topology.deadletter.send = harness.deadletter = LimitedSent(fail=2)
    async with harness.topology.triage.test_context() as agent:
        await agent.put(b"{oops")
        await agent.put(STORY)
        await handled(harness, "triaged", 2)

    assert harness.stats.deadlettered == 1
    assert harness.stats.send_failed == 1
    assert harness.stats.input_lost()
    assert harness.by_topic.records, "the stream went on"


async def test_an_article_that_failed_on_its_way_is_not_a_duplicate_when_resent(
    harness: Harness,
) -> None:
    harness.topology.by_topic.send = harness.by_topic = LimitedSent(fail=1)
    async with harness.topology.triage.test_context() as agent:
        await agent.put(STORY)
        await handled(harness, "triaged", 1)
        await agent.put(STORY)  # the sender's resend of the same article
        await handled(harness, "triaged", 2)

    [letter] = [json.loads(value) for _, value in harness.deadletter.records]
    assert letter["reason"] == "internal_error"
    assert harness.by_topic.records, "the resend went through"
    assert harness.stats.duplicates == 0
