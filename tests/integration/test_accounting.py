"""Every record accounted for, over the real Kafka protocol: junk never changes what good
articles alert, every junk record is a dead letter with its reason, and the exit code and
``--stats-out`` tell the truth."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer

from alerts.errors import BrokerError
from alerts.metrics import Metrics
from streams.broker import EmbeddedBroker
from streams.pipeline import RunStats
from streams.publisher import KafkaPublisher
from streams.runner import ExitCode, RunOptions, exit_code, run
from streams.topics import DEADLETTER, bootstrap_servers, ensure_topics
from tests.conftest import ROOT, tansu_settings
from tests.support.feed_corpus import rss
from tests.support.junk import JUNK

pytestmark = pytest.mark.integration

STORY = ROOT / "tests" / "data" / "security-talks.jsonl"


def good_articles(count: int) -> list[bytes]:
    """The project's own labelled passages (eval/passages.jsonl) as articles."""
    passages = (ROOT / "eval" / "passages.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in passages]
    chosen = [r for r in rows if r["category"] in ("escalation", "commitment", "both")][:count]
    assert len(chosen) == count
    articles = []
    for row in chosen:
        title = re.split(r"(?<=[.!?])\s", row["text"], maxsplit=1)[0][:200]
        articles.append(json.dumps({"id": row["id"], "title": title, "body": row["text"]}).encode())
    return articles


async def drain(
    broker: EmbeddedBroker, tmp_path: Path, *sources: str, partitions: int = 2
) -> tuple[int, list[dict[str, Any]], dict[str, int]]:
    alerts_out = tmp_path / "alerts.jsonl"
    stats_out = tmp_path / "stats.json"
    code = await run(
        RunOptions(
            sources=list(sources),
            broker=broker.url,
            drain=True,
            alerts_out=str(alerts_out),
            stats_out=str(stats_out),
            settings=tansu_settings(partitions=partitions, shutdown_timeout=10.0),
        )
    )
    alerts = (
        [json.loads(line) for line in alerts_out.read_text().splitlines()]
        if alerts_out.exists()
        else []
    )
    return code, alerts, json.loads(stats_out.read_text())


async def dead_letters(broker: EmbeddedBroker, expected: int) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        DEADLETTER,
        bootstrap_servers=bootstrap_servers(broker.url),
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
        group_id=None,
    )
    await consumer.start()
    try:
        records: list[dict[str, Any]] = []
        while len(records) < expected:
            batch = await consumer.getmany(timeout_ms=5000)
            if not batch:
                break
            for messages in batch.values():
                records.extend(json.loads(m.value) for m in messages)
        return records
    finally:
        await consumer.stop()


async def test_junk_never_changes_the_alerts_of_the_good_articles(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    good = good_articles(46)
    clean_dir, mixed_dir = tmp_path / "clean", tmp_path / "mixed"
    clean_dir.mkdir()
    mixed_dir.mkdir()
    (clean_dir / "good.jsonl").write_bytes(b"\n".join(good) + b"\n")
    mixed = []
    for index, article in enumerate(good):
        mixed.append(article)
        if index < len(JUNK):
            mixed.append(JUNK[index][0])
    (mixed_dir / "mixed.jsonl").write_bytes(b"\n".join(mixed) + b"\n")

    async with EmbeddedBroker() as clean_broker:
        # One partition: articles reach each topic in file order in both runs, as windows
        # and levels depend on order.
        clean_code, clean_alerts, _ = await drain(
            clean_broker, clean_dir, str(clean_dir / "good.jsonl"), partitions=1
        )
    code, alerts, stats = await drain(
        broker, mixed_dir, str(mixed_dir / "mixed.jsonl"), partitions=1
    )
    letters = await dead_letters(broker, len(JUNK))

    assert (clean_code, code) == (0, 0)
    assert clean_alerts, "the good articles alert"
    assert sorted(a["id"] for a in alerts) == sorted(a["id"] for a in clean_alerts)
    assert sorted(letter["reason"] for letter in letters) == sorted(r for _, r in JUNK)
    assert all(letter["stage"] == "triage" and letter["detail"] for letter in letters)
    assert stats["read"] == stats["published"] == len(good) + len(JUNK)
    assert stats["articles"] == len(good)
    assert stats["deadlettered"] == len(JUNK)
    assert stats["publish_failed"] == stats["read_errors"] == stats["failed"] == 0


async def test_an_unreadable_file_makes_the_run_exit_3_and_the_rest_is_still_read(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-loop.jsonl").symlink_to(folder / "a-loop.jsonl")
    (folder / "b.jsonl").write_bytes(STORY.read_bytes())

    code, alerts, stats = await drain(broker, tmp_path, str(folder))

    assert code == ExitCode.INPUT_LOST == 3
    assert alerts, "the readable file still alerts"
    assert (stats["read_errors"], stats["read"], stats["published"]) == (1, 1, 1)


async def test_a_record_the_broker_never_stores_is_counted_and_the_exit_says_so(
    tmp_path: Path,
) -> None:
    stats = RunStats()
    async with EmbeddedBroker() as doomed:
        await ensure_topics(doomed.url, "flashpoint", 1, timeout=20)
        publisher = KafkaPublisher(doomed.url, Metrics(), stats, request_timeout=1.0)
        await publisher.start()
        stored = await publisher.publish(STORY.read_bytes(), source="file")
        await stored
        await doomed.stop()
        lost = await publisher.publish(STORY.read_bytes(), source="file")
        with pytest.raises(BrokerError):
            await asyncio.wait_for(lost, 60)
        await publisher.stop()

    assert (stats.read, stats.published, stats.publish_failed) == (2, 1, 1)
    assert exit_code(stats) == ExitCode.INPUT_LOST


@pytest.fixture
async def slow_feed() -> AsyncIterator[str]:
    story = json.loads(STORY.read_text())

    async def serve(request: web.Request) -> web.Response:
        await asyncio.sleep(3)  # a feed that takes its time, as real ones do
        item = (
            f"<item><title>{story['title']}</title><link>{story['url']}</link>"
            f"<guid>{story['url']}</guid><description>{story['body']}</description></item>"
        )
        return web.Response(body=rss(item).encode(), content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/feed.xml"
    await runner.cleanup()


async def test_drain_with_only_a_feed_waits_for_its_first_poll(
    broker: EmbeddedBroker, tmp_path: Path, slow_feed: str
) -> None:
    code, alerts, stats = await drain(broker, tmp_path, slow_feed)

    assert code == 0
    assert stats["read"] == stats["published"] == stats["articles"] == 1
    assert {a["kind"] for a in alerts} >= {"escalation", "commitment"}
