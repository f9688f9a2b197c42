"""Decisions between detection and delivery, through the embedded broker into a
Slack-compatible stub, as a user sees them: one message for a burst, a digest, inhibition,
flatline with reminders, and silences set with ``flashpoint silence`` while it runs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from streams.broker import EmbeddedBroker, free_port
from streams.runner import RunOptions, run
from tests.conftest import ROOT, tansu_settings
from tests.support.slack_stub import SlackStub, StoredMessage

pytestmark = pytest.mark.integration

TOKEN = "xoxb-decisions"
CHANNEL = "C0DECISIONS"
QUIET_DEFAULTS = """
  - {name: escalation, type: escalation, enabled: false}
  - {name: new-commitment, type: commitment, enabled: false}
"""


def _ids(message: StoredMessage) -> list[str]:
    payload = (message.metadata or {}).get("event_payload") or {}
    return str(payload.get("alert_ids") or payload.get("alert_id") or "").split()


def _text(message: StoredMessage) -> str:
    return json.dumps(message.blocks) + message.text


def _write(path: Path, *articles: dict[str, str]) -> str:
    path.write_text("".join(json.dumps(a) + "\n" for a in articles))
    return str(path)


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_WEBHOOK_URL", "SLACK_CHANNEL", "FLASHPOINT_BROKER", "FLASHPOINT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)


async def test_a_burst_is_one_message_info_waits_for_the_digest_and_critical_inhibits(
    broker: EmbeddedBroker, tmp_path: Path, slack_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(
        f"""
rules:
{QUIET_DEFAULTS}
  - {{name: blockade, type: keyword, phrases: [naval blockade], severity: critical}}
  - {{name: harbour-drill, type: keyword, phrases: [harbour drill], severity: warning}}
  - {{name: ferry-notice, type: keyword, phrases: [ferry timetable], severity: info}}
  - {{name: strait-busy, type: spike, topics: [taiwan-strait], window: 1h, baseline: 1h,
     factor: 2, min_count: 3, warm_up: 0s}}
  - {{name: first-pair, type: new_term, term: pair, warm_up: 0s}}
classifier: {{enabled: false}}
inhibit_rules:
  - {{source: {{severity: critical}}, target: {{severity: warning}}}}
routes:
  - {{match: {{severity: info}}, sinks: [slack], digest: 1h}}
  - {{sinks: [slack], group_by: [topic], group_wait: 10m, group_interval: 10m}}
sinks:
  slack: {{type: slack, channel: {CHANNEL}, hold: 0s, pace: 0s}}
"""
    )
    feed = _write(
        tmp_path / "burst.jsonl",
        {
            "title": "Keelung harbour drill",
            "body": "Taiwan's navy held a harbour drill at Keelung.",
        },
        {"title": "Kaohsiung exercise", "body": "Sailors in Taiwan ran a harbour drill at dawn."},
        {"title": "Taipei port practice", "body": "A harbour drill took place near Taipei today."},
        {
            "title": "Pyongyang announcement",
            "body": "North Korea announced a naval blockade and a harbour drill at Wonsan.",
        },
        {"title": "Lisbon ferries", "body": "Lisbon published a new ferry timetable for summer."},
        {"title": "Oslo ferries", "body": "Oslo changed its ferry timetable for the winter."},
        {
            "title": "Border shelling",
            "body": "North Korean troops fired artillery shells at South Korean border posts.",
        },
    )
    alerts_out, stats_out = tmp_path / "alerts.jsonl", tmp_path / "stats.json"
    async with SlackStub(token=TOKEN) as stub:
        monkeypatch.setenv("SLACK_API_URL", stub.url)
        code = await run(
            RunOptions(
                config=[str(config)],
                sources=[feed],
                broker=broker.url,
                drain=True,
                alerts_out=str(alerts_out),
                stats_out=str(stats_out),
                settings=tansu_settings(partitions=2, shutdown_timeout=10.0),
            )
        )
    assert code == 0
    alerts = {a["id"]: a for a in map(json.loads, alerts_out.read_text().splitlines())}
    messages = stub.channel(CHANNEL)
    by_rules = sorted(sorted({alerts[i]["rule"] for i in _ids(m)}) for m in messages)
    assert by_rules == [
        ["blockade"],  # korea: its harbour drill (a warning) is muted by the critical
        ["ferry-notice", "first-pair"],  # one digest of every info alert
        ["harbour-drill", "strait-busy"],  # taiwan-strait: the burst and its spike, once
    ]
    burst = next(m for m in messages if "strait-busy" in {alerts[i]["rule"] for i in _ids(m)})
    assert len(_ids(burst)) == 4
    for title in ("Keelung harbour drill", "Kaohsiung exercise", "Taipei port practice"):
        assert title in _text(burst)
    digest = next(m for m in messages if "ferry-notice" in {alerts[i]["rule"] for i in _ids(m)})
    assert len(_ids(digest)) == 3
    assert "an act or commitment between North Korea and South Korea" in _text(digest)
    assert "harbour-drill" not in {a["rule"] for a in alerts.values() if a["topic"] == "korea"}
    stats = json.loads(stats_out.read_text())
    assert stats["alerts"] == stats["delivered"] == len(alerts) == 8
    assert stats["failed"] == 0


def _silence(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "silence", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _metric(port: int, name: str, labels: dict[str, str]) -> float | None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        text = await response.text()
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


async def test_flatline_reminders_and_a_silence_set_at_run_time(
    broker: EmbeddedBroker, tmp_path: Path, slack_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = _silence(
        "add",
        "--match",
        "rule=harbour-drill",
        "--match",
        "topic=taiwan-strait",
        "--for",
        "2h",
        "--comment",
        "navy exercise week",
        "--broker",
        broker.url,
    )
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.strip()
    listed = _silence("list", "--broker", broker.url)
    assert listed.returncode == 0, listed.stderr
    [header, row] = listed.stdout.splitlines()
    assert header.split()[:3] == ["ID", "STATE", "MATCHERS"]
    assert row.startswith(f"{silence_id}  active  rule=harbour-drill,topic=taiwan-strait")
    assert row.endswith("navy exercise week")

    config = tmp_path / "rules.yaml"
    config.write_text(
        f"""
rules:
{QUIET_DEFAULTS}
  - {{name: harbour-drill, type: keyword, phrases: [harbour drill], severity: warning}}
  - {{name: korea-quiet, type: flatline, topics: [korean-peninsula], after: 2s}}
routes:
  - {{match: {{rule: korea-quiet}}, sinks: [slack], repeat_interval: 2s}}
  - {{sinks: [slack]}}
sinks:
  slack: {{type: slack, channel: {CHANNEL}, hold: 0s, pace: 0s}}
"""
    )
    feed = _write(
        tmp_path / "drill.jsonl",
        {
            "title": "Keelung harbour drill",
            "body": "Taiwan's navy held a harbour drill at Keelung.",
        },
        {"title": "Busan harbour drill", "body": "Japan and Spain held a harbour drill off Cadiz."},
    )
    port = free_port()
    stop = asyncio.Event()
    async with SlackStub(token=TOKEN) as stub:
        monkeypatch.setenv("SLACK_API_URL", stub.url)
        running = asyncio.create_task(
            run(
                RunOptions(
                    config=[str(config)],
                    sources=[feed],
                    broker=broker.url,
                    metrics_port=port,
                    settings=tansu_settings(partitions=2, shutdown_timeout=10.0),
                ),
                stop,
            )
        )
        try:

            def titles() -> list[str]:
                return [m.text for m in stub.channel(CHANNEL)]

            await _until(
                lambda: any("Still:" in t for t in titles()), 90, "a flatline and its reminder"
            )
            quiet = [t for t in titles() if "Korean Peninsula: no articles" in t]
            assert quiet and not quiet[0].startswith("Still") and "Still" in quiet[-1]
            assert any("Busan harbour drill" in t for t in titles())  # global: not silenced
            assert not any("Keelung" in t for t in titles())
            silenced = await _metric(
                port,
                "flashpoint_alerts_suppressed_total",
                {"rule": "harbour-drill", "reason": "silenced"},
            )
            assert silenced == 1.0
        finally:
            stop.set()
            code = await asyncio.wait_for(running, 60)
    assert code == 0

    expired = _silence("expire", silence_id[:8], "--broker", broker.url)
    assert expired.returncode == 0 and expired.stdout.strip() == f"{silence_id} expired"
    assert _silence("list", "--broker", broker.url).stdout.splitlines()[1:] == []
    everything = _silence("list", "--all", "--broker", broker.url).stdout
    assert f"{silence_id}  expired" in everything
