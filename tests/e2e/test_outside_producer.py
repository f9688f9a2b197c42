"""Producers other than Flashpoint's own write articles straight to flashpoint.articles.

kafka-python (a separate client library) writes with the documented key, value and no
headers; scripts/sample_feed.py (the compose stack's sample feed, on aiokafka) writes a
round of the samples. Both reach Slack-free sinks as alerts and count as source "kafka".
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kafka import KafkaProducer

from streams.broker import EmbeddedBroker, free_port
from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

OUTSIDE_ARTICLE = {
    "id": "outside-0001",
    "title": "Spy balloon drifts over Hokkaido, Tokyo says",
    "body": "Japan's defence ministry said a Chinese spy balloon drifted over Hokkaido on "
    "Thursday. Tokyo accused Beijing of espionage and scrambled fighter jets.",
    "url": "https://news.example.org/asia/hokkaido-balloon",
    "source": "Northern Courier",
}
SAMPLE_ROUND = 14


def _metrics(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text: str = resp.read().decode()
            return text
    except (urllib.error.URLError, ConnectionError):
        return None


def _sample(text: str, line_start: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


async def _until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout}s")
        await asyncio.sleep(0.2)


def _produce_with_kafka_python(bootstrap: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=20_000)
    try:
        producer.send(
            "flashpoint.articles",
            key=OUTSIDE_ARTICLE["id"].encode(),
            value=json.dumps(OUTSIDE_ARTICLE).encode("utf-8"),
        ).get(timeout=30)
    finally:
        producer.close(timeout=10)


async def test_articles_from_other_kafka_clients_become_alerts(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    metrics_port = free_port()
    alerts_out = tmp_path / "alerts.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLASHPOINT_"))}
    env.update(FLASHPOINT_PARTITIONS="2", FLASHPOINT_FAST_REBALANCE="1")
    env["FLASHPOINT_FETCH_MAX_WAIT_MS"] = "10"
    log_path = tmp_path / "flashpoint.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "streams.cli", "run", "--broker", broker.url),
            *("--alerts-out", str(alerts_out), "--metrics-port", str(metrics_port)),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    ready = 'flashpoint_faust_messages_received_total{topic="flashpoint.articles"}'
    try:
        # Topics exist once the worker's series are there: produce only then, or the broker
        # would auto-create flashpoint.articles with its own partition count.
        await _until(lambda: ready in (_metrics(metrics_port) or ""), 90, "worker metrics")
        await asyncio.to_thread(_produce_with_kafka_python, broker.bootstrap)
        feeder = await asyncio.create_subprocess_exec(
            *(sys.executable, str(ROOT / "scripts" / "sample_feed.py")),
            *("--broker", broker.bootstrap, "--every", "0", "--once"),
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, feeder_err = await asyncio.wait_for(feeder.communicate(), 60)
        assert feeder.returncode == 0, feeder_err.decode()

        def alerted_ids() -> set[str]:
            if not alerts_out.exists():
                return set()
            return {
                json.loads(line)["article"]["id"] for line in alerts_out.read_text().splitlines()
            }

        await _until(
            lambda: (
                OUTSIDE_ARTICLE["id"] in alerted_ids()
                and any(article.endswith("-r1") for article in alerted_ids())
            ),
            90,
            "alerts for the outside records",
        )
        counted = 'flashpoint_articles_total{source="kafka"}'
        await _until(
            lambda: _sample(_metrics(metrics_port) or "", counted) == 1 + SAMPLE_ROUND,
            30,
            "articles counted as source kafka",
        )
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
    assert code == 0, log_path.read_text()[-3000:]
    alerts = [json.loads(line) for line in alerts_out.read_text().splitlines()]
    outside = [a for a in alerts if a["article"]["id"] == OUTSIDE_ARTICLE["id"]]
    assert {a["rule"] for a in outside} >= {"spy-balloon"}
    assert outside[0]["article"]["source"] == "Northern Courier"
