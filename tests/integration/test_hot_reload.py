"""Rules change under a running pipeline: new rules apply without a restart, broken files
change nothing but the reload metric and a log line."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from streams.broker import EmbeddedBroker, free_port
from streams.runner import RunOptions, run
from tests.conftest import tansu_settings

pytestmark = pytest.mark.integration

LASER_RULE = """
rules:
  - name: laser-dazzle
    type: keyword
    phrases: [laser dazzler, lasered]
    severity: critical
"""


async def test_a_new_rule_applies_without_restart_and_a_broken_file_is_ignored(
    broker: EmbeddedBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "flashpoint.yaml"
    config.write_text("rules: []\n")
    alerts_out = tmp_path / "alerts.jsonl"
    listen, metrics_port = free_port(), free_port()
    stop = asyncio.Event()
    running = asyncio.create_task(
        run(
            RunOptions(
                config=[str(config)],
                broker=broker.url,
                alerts_out=str(alerts_out),
                listen=f"127.0.0.1:{listen}",
                metrics_port=metrics_port,
                settings=tansu_settings(partitions=1),
            ),
            stop,
        )
    )
    try:
        async with aiohttp.ClientSession() as http:
            await _post(
                http,
                listen,
                "Coast guard fires water cannon",
                "A Chinese coast guard "
                "ship fired water cannon at a Philippine patrol boat and lasered its crew "
                "near Second Thomas Shoal in the South China Sea, Manila said.",
                "a1",
            )
            await _eventually(lambda: _rules(alerts_out) != [], "first article processed")
            assert _rules(alerts_out) == ["escalation"]

            config.write_text(LASER_RULE)
            await _eventually_async(
                lambda: _metric(http, metrics_port, "flashpoint_rules_loaded"),
                lambda v: v == 8.0,
                "reload with the new rule",
            )
            await _post(
                http,
                listen,
                "Second laser incident",
                "Philippine sailors said a "
                "Chinese vessel used a laser dazzler on their boat off Palawan.",
                "a2",
            )
            await _eventually(lambda: "laser-dazzle" in _rules(alerts_out), "new rule alerts")

            config.write_text("rules:\n  - {name: broken, type: keyword, sevrity: high}\n")
            await _eventually_async(
                lambda: _metric(http, metrics_port, "flashpoint_config_reload_success"),
                lambda v: v == 0.0,
                "rejected reload",
            )
            failed = await _metric(http, metrics_port, "flashpoint_config_reloads_failed_total")
            assert failed == 1.0
            await _post(
                http,
                listen,
                "Third laser incident",
                "Manila said Chinese sailors "
                "lasered a Philippine supply boat at Scarborough Shoal on Friday.",
                "a3",
            )
            await _eventually(
                lambda: _rules(alerts_out).count("laser-dazzle") == 2, "old rules still apply"
            )
        assert any("sevrity" in record.getMessage() for record in caplog.records)
    finally:
        stop.set()
        assert await asyncio.wait_for(running, 60) == 0


def _rules(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["rule"] for line in path.read_text().splitlines()]


async def _post(http: aiohttp.ClientSession, port: int, title: str, body: str, id_: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            async with http.post(
                f"http://127.0.0.1:{port}/articles",
                json={"id": id_, "title": title, "body": body},
            ) as response:
                assert response.status == 202
                return
        except aiohttp.ClientConnectionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _metric(http: aiohttp.ClientSession, port: int, name: str) -> float | None:
    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
    return None


async def _eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for: {what}")
        await asyncio.sleep(0.1)


async def _eventually_async(read, ok, what: str, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if ok(value):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for: {what} (last value {value!r})")
        await asyncio.sleep(0.1)
