"""Known secrets never leave Flashpoint, even when every outside service echoes them back:
the run's logs, output files, metrics and every Kafka topic are scanned for them."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from streams.broker import EmbeddedBroker, free_port
from streams.topics import all_topics, bootstrap_servers
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

STORY = ROOT / "tests" / "data" / "security-talks.jsonl"
BOT_TOKEN = "xoxb-4242-echoed-bot-token-value"
HOOK_SECRET = "Zq8hookSecretPathSegment1234"
HOOK_AUTH = "hook-bearer-secret-5150"
INGEST_TOKEN = "ingest-secret-token-8080"
FEED_PASSWORD = "feed-pass-word-7777"
SECRETS = (BOT_TOKEN, HOOK_SECRET, HOOK_AUTH, INGEST_TOKEN, FEED_PASSWORD)


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    """A Slack-compatible API, a Slack webhook, a JSON webhook and a feed that all answer
    with what they were sent: headers, path and body."""

    def echoed(request: web.Request, body: bytes) -> str:
        return f"{request.path} {dict(request.headers)} {body.decode(errors='replace')}"

    async def auth_test(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "team": "T", "user": "U"})

    async def post_message(request: web.Request) -> web.Response:
        said = echoed(request, await request.read())
        return web.json_response({"ok": False, "error": f"invalid_auth: {said}"})

    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=400, text=echoed(request, await request.read()))

    app = web.Application()
    app.router.add_post("/api/auth.test", auth_test)
    app.router.add_post("/api/chat.postMessage", post_message)
    app.router.add_post(f"/services/T1/B1/{HOOK_SECRET}", refuse)
    app.router.add_post("/hook", refuse)
    app.router.add_get("/feed.xml", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def _topic_contents(broker: EmbeddedBroker, partitions: int) -> list[bytes]:
    """Every record of every Flashpoint topic, key and value."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers(broker.url), group_id=None, fetch_max_wait_ms=10
    )
    await consumer.start()
    try:
        assigned = [
            TopicPartition(topic, p)
            for topic in all_topics("flashpoint")
            for p in range(partitions)
        ]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        values: list[bytes] = []
        deadline = time.monotonic() + 60
        while True:
            behind = [tp for tp in assigned if await consumer.position(tp) < ends[tp]]
            if not behind:
                return values
            assert time.monotonic() < deadline, "could not read the topics back"
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                for message in messages:
                    values.append((message.key or b"") + b" " + (message.value or b""))
    finally:
        await consumer.stop()


async def test_no_known_secret_appears_in_any_output(
    broker: EmbeddedBroker, echo: str, tmp_path: Path
) -> None:
    config = tmp_path / "sinks.yaml"
    config.write_text(
        "sinks:\n"
        "  slack-bot: {type: slack, channel: '#geo'}\n"
        "  slack-hook: {type: slack, token_env: NO_BOT_TOKEN, webhook_env: ECHO_WEBHOOK_URL}\n"
        f"  hook: {{type: webhook, url: '{echo}/hook', token_env: HOOK_AUTH}}\n"
        "routes:\n"
        "  - {sinks: [slack-bot, slack-hook, hook]}\n"
    )
    metrics_port = free_port()
    alerts_out, stats_out = tmp_path / "alerts.jsonl", tmp_path / "stats.json"
    feed = echo.replace("http://", f"http://reader:{FEED_PASSWORD}@") + "/feed.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLASHPOINT_"))}
    env.update(
        SLACK_API_URL=f"{echo}/api/",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        ECHO_WEBHOOK_URL=f"{echo}/services/T1/B1/{HOOK_SECRET}",
        HOOK_AUTH=HOOK_AUTH,
        FLASHPOINT_INGEST_TOKEN=INGEST_TOKEN,
        FLASHPOINT_PARTITIONS="2",
        FLASHPOINT_FAST_REBALANCE="1",
        FLASHPOINT_FETCH_MAX_WAIT_MS="10",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streams.cli",
        "run",
        "--broker",
        broker.url,
        "--config",
        str(config),
        "--source",
        str(STORY),
        "--source",
        feed,
        "--drain",
        "--alerts-out",
        str(alerts_out),
        "--stats-out",
        str(stats_out),
        "--metrics-port",
        str(metrics_port),
        "--listen",
        f"127.0.0.1:{free_port()}",
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    scrapes: list[str] = []
    communicate = asyncio.ensure_future(process.communicate())
    async with aiohttp.ClientSession() as http:
        while not communicate.done():
            try:
                async with http.get(f"http://127.0.0.1:{metrics_port}/metrics") as page:
                    scrapes.append(await page.text())
            except aiohttp.ClientError:
                pass
            await asyncio.wait([communicate], timeout=0.5)
    out, err = communicate.result()
    outputs = {
        "stdout": out.decode(),
        "stderr": err.decode(),
        "metrics": scrapes[-1] if scrapes else "",
        "alerts-out": alerts_out.read_text() if alerts_out.exists() else "",
        "stats-out": stats_out.read_text(),
        "topics": b"\n".join(await _topic_contents(broker, 2)).decode(errors="replace"),
    }

    assert process.returncode not in (0, None), outputs["stderr"][-3000:]
    letters = [
        json.loads(line.split(b" ", 1)[1])
        for line in outputs["topics"].encode().splitlines()
        if b'"stage": "notify"' in line
    ]
    assert letters and all(letter["reason"] == "sink_failed" for letter in letters)
    assert "[redacted]" in outputs["stderr"], "the echoes reached the logs, scrubbed"
    assert "flashpoint_deliveries_total" in outputs["metrics"]
    for name, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {name}"
