"""``flashpoint run`` as a user runs it: a subprocess, a Slack-compatible stub on loopback,
a real Prometheus scraping the metrics port, and signals."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streams.broker import free_port
from tests.conftest import ROOT
from tests.support.prometheus import run_prometheus
from tests.support.slack_stub import Call, SlackStub, StoredMessage

pytestmark = pytest.mark.e2e

STORY = ROOT / "tests" / "data" / "security-talks.jsonl"
OUTLETS = ROOT / "tests" / "data" / "launch-outlets.jsonl"
RISING = ROOT / "tests" / "data" / "strait-rising.jsonl"
TOKEN = "xoxb-e2e-token"
CHANNEL = "C0GEOALERTS"
LIVE_MENTION = ("<!channel>", "<!here>", "<!everyone>", "<@U", "<#C", "<http://evil")


def _env(stub: SlackStub, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLASHPOINT_"))}
    env.update(
        SLACK_API_URL=stub.url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_CHANNEL=CHANNEL,
        FLASHPOINT_PARTITIONS="2",
        **extra,
    )
    return env


async def _flashpoint(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streams.cli",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _finish(process: asyncio.subprocess.Process, timeout: float) -> tuple[int, str, str]:
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        pytest.fail(f"flashpoint did not exit in {timeout}s:\n{err.decode()[-3000:]}")
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _mention_free(message: dict[str, Any]) -> bool:
    text = json.dumps(message)
    return not any(marker in text for marker in LIVE_MENTION)


def _posted_ids(stub: SlackStub) -> list[str]:
    """Every alert id in a message Slack kept (a message may carry several)."""
    ids: list[str] = []
    for message in stub.stored:
        payload = (message.metadata or {}).get("event_payload") or {}
        ids += str(payload.get("alert_ids") or payload.get("alert_id") or "").split()
    return ids


def _root(message: StoredMessage) -> str:
    return message.thread_ts or message.ts


async def test_drain_delivers_each_alert_to_slack_once(tmp_path: Path) -> None:
    hostile = {
        "title": "<!channel> Spy balloon <@U0ADMIN> sighted over Okinawa :rotating_light:",
        "body": "Japan's defence ministry said a Chinese spy balloon crossed Okinawa on "
        "Tuesday <!here> <http://evil.example|click here>. Tokyo accused Beijing of "
        "espionage and scrambled fighter jets. \u202eInfo only\u202c",
        "url": "https://news.example.org/asia/balloon-okinawa",
        "source": "Harbour Wire",
    }
    feed = tmp_path / "feed.jsonl"
    feed.write_text(STORY.read_text() + json.dumps(hostile) + "\n")
    alerts_out, stats_out = tmp_path / "alerts.jsonl", tmp_path / "stats.json"
    async with SlackStub(token=TOKEN) as stub:
        process = await _flashpoint(
            "run",
            "--source",
            str(feed),
            "--drain",
            "--alerts-out",
            str(alerts_out),
            "--stats-out",
            str(stats_out),
            env=_env(stub),
        )
        code, _, err = await _finish(process, 150)

    assert code == 0, err[-3000:]
    alerts = [json.loads(line) for line in alerts_out.read_text().splitlines()]
    stats = json.loads(stats_out.read_text())
    assert {"escalation", "commitment", "keyword"} <= {a["kind"] for a in alerts}
    posted = _posted_ids(stub)
    assert sorted(posted) == sorted(a["id"] for a in alerts), "each alert once, all recorded"
    for message in stub.messages:
        assert message["blocks"], message
        assert _mention_free(message), message
        assert ":rotating_light:" not in json.dumps(message)
        assert "\u202e" not in json.dumps(message, ensure_ascii=False)
    internal = ("Rolling score", "weight", "_keyword_", "rule escalation", "spy-balloon")
    for stored in stub.stored:
        visible = stored.text + json.dumps(stored.blocks, ensure_ascii=False)
        assert not [word for word in internal if word in visible], visible
        assert not [a["id"] for a in alerts if a["id"] in visible], "no raw alert hash"
    # One article is one message and its thread, however many alerts it raised.
    roots_by_article: dict[str, set[str]] = {}
    for message in stub.stored:
        payload = (message.metadata or {}).get("event_payload") or {}
        for alert in alerts:
            if alert["id"] in str(payload.get("alert_ids")).split():
                roots_by_article.setdefault(alert["article"]["id"], set()).add(_root(message))
    rises = {a["article"]["id"] for a in alerts if a.get("level") in ("warning", "critical")}
    for article, roots in roots_by_article.items():
        assert len(roots) == 1 or article in rises, (article, roots)
    assert stats == {
        "articles": 2,
        "duplicates": 0,
        "deadlettered": 0,
        "matches": stats["matches"],
        "alerts": len(alerts),
        "delivered": len(alerts),
        "failed": 0,
        "read": 2,
        "published": 2,
        "publish_failed": 0,
        "read_errors": 0,
        "send_failed": 0,
    }
    assert stats["matches"] > 0


async def test_slack_threads_read_as_a_person_expects(tmp_path: Path) -> None:
    """Three outlets → one message, replies in publication order, "3 outlets" on the first;
    a topic rising WATCH → WARNING → CRITICAL shows each rise in the channel."""
    outlets = [json.loads(line) for line in OUTLETS.read_text().splitlines()]
    rising = [json.loads(line) for line in RISING.read_text().splitlines()]
    config = tmp_path / "slack.yaml"
    config.write_text("sinks:\n  slack: {type: slack, hold: 2s, mention: S0ONCALL}\n")
    listen_port = free_port()
    async with SlackStub(token=TOKEN) as stub:
        process = await _flashpoint(
            "run",
            "--config",
            str(config),
            "--listen",
            f"127.0.0.1:{listen_port}",
            env=_env(stub, FLASHPOINT_INGEST_TOKEN="ingest-secret"),
        )
        try:
            first, *later = outlets
            await _post_when_ready(listen_port, json.dumps(first).encode())
            await _wait_until(lambda: len(stub.channel(CHANNEL)) == 1, 60, "the story's message")
            await _post_when_ready(listen_port, json.dumps(later[::-1]).encode())
            [story] = stub.channel(CHANNEL)
            await _wait_until(
                lambda: (
                    len(stub.replies(CHANNEL, story.ts)) == 2
                    and "3 outlets" in json.dumps(story.blocks)
                ),
                60,
                "two replies and the first message updated",
            )
            for n, article in enumerate(rising, start=2):
                await _post_when_ready(listen_port, json.dumps(article).encode())
                await _wait_until(
                    lambda n=n: len(stub.channel(CHANNEL)) == n, 60, f"message {n} in the channel"
                )
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            code, _, err = await _finish(process, 60)
        channel = stub.channel(CHANNEL)
        replies = stub.replies(CHANNEL, story.ts)
    assert code == 0, err[-3000:]

    assert story.blocks[0]["text"]["text"].endswith(first["title"])
    assert " · 3 outlets · latest <!date^" in story.blocks[1]["text"]["text"]
    assert [r.text for r in replies] == [
        "Also reported by Daily Ledger",
        "Also reported by Meridian News",
    ]
    assert all(not r.broadcast for r in replies)

    headers = [m.blocks[0]["text"]["text"] for m in channel[1:]]
    assert headers == [
        "ℹ️ Taiwan Strait escalation: WATCH",  # noqa: RUF001
        "⚠️ Taiwan Strait escalation: WARNING",
        "🚨 Taiwan Strait escalation: CRITICAL",
    ]
    assert all(m.thread_ts is None for m in channel), "every rise is a message of its own"
    assert channel[-1].text.startswith("<!subteam^S0ONCALL> Critical:")
    assert "S0ONCALL" not in json.dumps([m.blocks for m in channel[:-1]])


async def test_slack_outage_loses_nothing_and_keeps_to_retry_after_and_pace(
    tmp_path: Path,
) -> None:
    """429 (Retry-After: 1.5), then 503 for a while, then hanging requests. Scaled to run in
    seconds: 503 for 3 s (the issue's 60 s), hanging 3 s (20 s) with a 1 s request timeout
    (10 s) and backoff capped at 2 s (60 s); the outage budget stays at its default."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text(STORY.read_text() + OUTLETS.read_text() + RISING.read_text())
    config = tmp_path / "slack.yaml"
    config.write_text("sinks:\n  slack: {type: slack, timeout: 1s}\n")
    alerts_out, stats_out = tmp_path / "alerts.jsonl", tmp_path / "stats.json"
    async with SlackStub(token=TOKEN) as stub:
        stub.fail_next(1, status=429, retry_after="1.5")
        stub.unavailable_for(3.0)
        stub.hang_for(3.0)
        process = await _flashpoint(
            "run",
            "--config",
            str(config),
            "--source",
            str(feed),
            "--drain",
            "--alerts-out",
            str(alerts_out),
            "--stats-out",
            str(stats_out),
            env=_env(stub, FLASHPOINT_DELIVERY_MAX_BACKOFF="2"),
        )
        code, _, err = await _finish(process, 240)
        calls = sorted(stub.calls, key=lambda c: c.at)
        posted = _posted_ids(stub)

    assert code == 0, err[-3000:]
    statuses = {c.status for c in calls}
    assert {429, 503} <= statuses, "the outage happened"
    assert "timed out" in err, "the hang happened"
    alerts = [json.loads(line)["id"] for line in alerts_out.read_text().splitlines()]
    assert sorted(posted) == sorted(alerts), "every alert exactly once"
    assert len(set(posted)) == len(posted)
    for limited in (c for c in calls if c.status == 429):
        wait = float(limited.headers["Retry-After"])
        early = [c for c in calls if limited.at < c.at < limited.at + wait]
        assert early == [], "a request came before its Retry-After"
    accepted = [c.at for c in calls if c.method == "chat.postMessage" and _accepted_post(c)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(accepted)]
    timeline = [(round(c.at - calls[0].at, 2), c.method, c.status) for c in calls]
    assert gaps and min(gaps) >= 0.8, timeline
    stats = json.loads(stats_out.read_text())
    assert stats["failed"] == 0
    assert stats["delivered"] == stats["alerts"] == len(alerts)


async def test_a_bad_slack_token_is_said_at_start_up_and_drain_exits_non_zero(
    tmp_path: Path,
) -> None:
    alerts_out, stats_out = tmp_path / "alerts.jsonl", tmp_path / "stats.json"
    async with SlackStub(token=TOKEN) as stub:
        env = _env(stub)
        env["SLACK_BOT_TOKEN"] = "xoxb-revoked-token"
        process = await _flashpoint(
            "run",
            "--source",
            str(STORY),
            "--drain",
            "--alerts-out",
            str(alerts_out),
            "--stats-out",
            str(stats_out),
            env=env,
        )
        code, _, err = await _finish(process, 150)
    assert code == 4
    assert "Slack rejected the bot token in SLACK_BOT_TOKEN (invalid_auth)" in err
    assert err.index("invalid_auth") < err.index("NOT delivered")
    assert "xoxb-revoked-token" not in err
    stats = json.loads(stats_out.read_text())
    assert stats["delivered"] == 0
    assert stats["failed"] == stats["alerts"] > 0
    assert not alerts_out.exists() or alerts_out.read_text() == "", "only delivered alerts"
    assert stub.messages == []


def _accepted_post(call: Call) -> bool:
    return call.status == 200 and isinstance(call.response, dict) and call.response.get("ok")


async def test_metrics_scraped_by_prometheus_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    metrics_port, listen_port = free_port(), free_port()
    stats_out = tmp_path / "stats.json"
    async with SlackStub(token=TOKEN) as stub:
        process = await _flashpoint(
            "run",
            "--metrics-port",
            str(metrics_port),
            "--listen",
            f"127.0.0.1:{listen_port}",
            "--stats-out",
            str(stats_out),
            env=_env(stub, FLASHPOINT_INGEST_TOKEN="ingest-secret"),
        )
        try:
            await _post_when_ready(listen_port, STORY.read_bytes())
            await _wait_until(lambda: len(_posted_ids(stub)) >= 2, 60, "alerts in Slack")
            with run_prometheus(tmp_path, [f"127.0.0.1:{metrics_port}"]) as prometheus:
                await asyncio.to_thread(
                    prometheus.wait_for,
                    'sum(flashpoint_alerts_total{topic="china-japan"})',
                    lambda r: bool(r) and float(r[0]["value"][1]) >= 2,
                    30,
                )
                latency = await asyncio.to_thread(
                    prometheus.query, "sum(flashpoint_pipeline_latency_seconds_count)"
                )
                delivered = await asyncio.to_thread(
                    prometheus.query,
                    'sum(flashpoint_deliveries_total{sink="slack",outcome="delivered"})',
                )
            assert float(latency[0]["value"][1]) >= 2
            assert float(delivered[0]["value"][1]) == len(_posted_ids(stub))
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            code, _, err = await _finish(process, 60)
    assert code == 0, err[-3000:]
    assert TOKEN not in err and "ingest-secret" not in err
    assert json.loads(stats_out.read_text())["articles"] == 1


async def test_unreachable_broker_is_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASHPOINT_")}
    env["FLASHPOINT_CONNECT_TIMEOUT"] = "3"
    process = await _flashpoint(
        "run",
        "--broker",
        f"kafka://127.0.0.1:{free_port()}",
        "--source",
        str(STORY),
        "--drain",
        env=env,
    )
    code, _, err = await _finish(process, 60)
    assert code == 2
    assert "cannot reach the Kafka broker" in err  # and _finish saw it give up, not hang


async def _post_when_ready(port: int, body: bytes) -> None:
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("POST /articles never came up")
            await asyncio.sleep(0.2)
        headers = {"Authorization": "Bearer ingest-secret", "Content-Type": "application/json"}
        async with session.post(f"{url}/articles", data=body, headers=headers) as response:
            assert response.status == 202, await response.text()


async def _wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout}s")
        await asyncio.sleep(0.1)


async def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLASHPOINT_")}
        process = await _flashpoint("run", "--metrics-port", str(port), "--drain", env=env)
        code, _, err = await _finish(process, 60)
    assert code == 2
    assert f"cannot serve metrics on 127.0.0.1:{port}" in err
