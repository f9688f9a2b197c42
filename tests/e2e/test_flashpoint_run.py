"""``flashpoint run`` as a user runs it: a subprocess, a Slack-compatible stub on loopback,
a real Prometheus scraping the metrics port, and signals."""

from __future__ import annotations

import asyncio
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
from tests.support.slack_stub import SlackStub

pytestmark = pytest.mark.e2e

STORY = ROOT / "tests" / "data" / "security-talks.jsonl"
TOKEN = "xoxb-e2e-token"
LIVE_MENTION = ("<!channel>", "<!here>", "<!everyone>", "<@U", "<#C", "<http://evil")


def _env(stub: SlackStub, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLASHPOINT_"))}
    env.update(
        SLACK_API_URL=stub.url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_CHANNEL="#geo-alerts",
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


async def test_drain_delivers_each_alert_to_slack_once(tmp_path: Path) -> None:
    hostile = {
        "title": "<!channel> Spy balloon <@U0ADMIN> sighted over Okinawa",
        "body": "Japan's defence ministry said a Chinese spy balloon crossed Okinawa on "
        "Tuesday <!here> <http://evil.example|click here>. Tokyo accused Beijing of "
        "espionage and scrambled fighter jets.",
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
        messages = stub.messages
        posted_ts = {
            call.payload["metadata"]["event_payload"]["alert_id"]: call.response["ts"]
            for call in stub.calls
            if call.method == "chat.postMessage"
            and isinstance(call.response, dict)
            and call.response.get("ok")
        }

    assert code == 0, err[-3000:]
    alerts = [json.loads(line) for line in alerts_out.read_text().splitlines()]
    stats = json.loads(stats_out.read_text())
    assert {"escalation", "commitment", "keyword"} <= {a["kind"] for a in alerts}
    posted_ids = [m["metadata"]["event_payload"]["alert_id"] for m in messages]
    assert sorted(posted_ids) == sorted(a["id"] for a in alerts)
    assert len(set(posted_ids)) == len(posted_ids), "an alert was posted twice"
    for message in messages:
        assert message["blocks"], message
        assert message["channel"]
        assert _mention_free(message), message
    # Follow-ups (a rising level, a second alert on one story) thread under the first.
    by_id = {m["metadata"]["event_payload"]["alert_id"]: m for m in messages}
    threads: dict[str, list[str]] = {}
    for alert in alerts:
        threads.setdefault(alert["thread_key"], []).append(alert["id"])
    followed = [ids for ids in threads.values() if len(ids) > 1]
    assert followed, threads
    for first, *rest in followed:
        assert "thread_ts" not in by_id[first]
        for later in rest:
            assert by_id[later]["thread_ts"] == posted_ts[first]
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
            await _wait_until(lambda: len(stub.messages) >= 2, 60, "alerts in Slack")
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
            assert float(delivered[0]["value"][1]) == len(stub.messages)
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
