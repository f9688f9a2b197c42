"""The fault suite: ``flashpoint run`` killed, its broker frozen, its output disk full.

Each fault is one a worker meets in production; each test checks what people see: every
alert in Slack exactly once, a worker that recovers by itself, a clear error, a metric and
an exit code that tells the truth. (Two workers with one killed: test_scale_out.py.)
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streams.broker import EmbeddedBroker, free_port
from tests.conftest import ROOT, SAMPLE_FEED
from tests.support.slack_stub import SlackStub

pytestmark = pytest.mark.e2e

TOKEN = "xoxb-fault-token"
STORY = ROOT / "tests" / "data" / "security-talks.jsonl"


def _env(stub: SlackStub, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLASHPOINT_"))}
    env.update(
        SLACK_API_URL=stub.url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_CHANNEL="#geo-alerts",
        # One partition: articles reach each topic in file order in every run, so a clean
        # run and an interrupted one decide the same alerts.
        FLASHPOINT_PARTITIONS="1",
        FLASHPOINT_FAST_REBALANCE="1",
        FLASHPOINT_FETCH_MAX_WAIT_MS="10",
        **extra,
    )
    return env


async def _flashpoint(
    *args: str, env: dict[str, str], log: Path, stdin: int | None = None
) -> asyncio.subprocess.Process:
    """``flashpoint run ARGS`` with its log in ``log``."""
    with log.open("wb") as stderr:  # the child keeps its own copy of the descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "streams.cli",
            "run",
            *args,
            env=env,
            cwd=ROOT,
            stdin=stdin if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )


async def _exit(process: asyncio.subprocess.Process, timeout: float, log: Path) -> int:
    try:
        return await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        tail = (await asyncio.to_thread(log.read_text))[-3000:]
        pytest.fail(f"flashpoint did not exit in {timeout}s:\n{tail}")


async def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout}s")
        await asyncio.sleep(0.1)


async def _quiet(count: Callable[[], int], *, minimum: int, quiet: float, timeout: float) -> None:
    """Wait until ``count()`` reaches ``minimum`` and then stays put for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = count()
        if now != last:
            last, since = now, time.monotonic()
        elif now >= minimum and time.monotonic() - since >= quiet:
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"count never settled (last {last})")


def _alert_ids(stub: SlackStub) -> list[str]:
    """Every alert posted, one message each or several in one (``alert_ids``)."""
    ids: list[str] = []
    for message in stub.messages:
        payload = message["metadata"]["event_payload"]
        ids += str(payload.get("alert_ids") or payload["alert_id"]).split()
    return ids


async def test_a_worker_killed_mid_stream_and_restarted_delivers_every_alert_once(
    tmp_path: Path,
) -> None:
    lines = SAMPLE_FEED.read_bytes().splitlines(keepends=True)

    async def clean_run() -> list[str]:
        async with EmbeddedBroker() as clean_broker, SlackStub(token=TOKEN) as clean_stub:
            log = tmp_path / "clean.log"
            clean = await _flashpoint(
                "--broker", clean_broker.url, "--source", str(SAMPLE_FEED), "--drain",
                env=_env(clean_stub), log=log,
            )  # fmt: skip
            assert await _exit(clean, 180, log) == 0, log.read_text()[-3000:]
            return _alert_ids(clean_stub)

    reference = asyncio.ensure_future(clean_run())  # alongside, on a broker of its own
    async with EmbeddedBroker() as broker, SlackStub(token=TOKEN) as stub:
        log = tmp_path / "killed.log"
        read_end, write_end = os.pipe()
        killed = await _flashpoint(
            "--broker", broker.url, "--source", "-", env=_env(stub), stdin=read_end, log=log
        )
        os.close(read_end)
        with os.fdopen(write_end, "wb") as feed:
            for line in lines[:4]:  # the first stories; more are still to come
                feed.write(line)
                feed.flush()
                await asyncio.sleep(0.2)
            await _quiet(lambda: len(stub.messages), minimum=1, quiet=2.0, timeout=120)
            killed.send_signal(signal.SIGKILL)
            await _exit(killed, 30, log)
        before = len(stub.messages)

        log = tmp_path / "restarted.log"
        restarted = await _flashpoint(
            "--broker", broker.url, "--source", str(SAMPLE_FEED), "--drain",
            env=_env(stub), log=log,
        )  # fmt: skip
        assert await _exit(restarted, 180, log) == 0, log.read_text()[-3000:]
        delivered = _alert_ids(stub)
    expected = await reference

    assert 0 < before < len(expected), "the kill came mid-stream"
    assert len(delivered) == len(set(delivered)), "an alert reached Slack twice"
    assert sorted(delivered) == sorted(expected)


async def _status(http: aiohttp.ClientSession, url: str) -> int:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as reply:
            return reply.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def _post(http: aiohttp.ClientSession, url: str, article: dict[str, Any]) -> int:
    try:
        async with http.post(url, json=article, timeout=aiohttp.ClientTimeout(total=60)) as reply:
            return reply.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def test_a_frozen_broker_is_survived_and_the_worker_recovers_by_itself(
    tmp_path: Path,
) -> None:
    stories = [json.loads(line) for line in SAMPLE_FEED.read_text().splitlines()]
    first, during, after = stories[0], stories[2], stories[3]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "worker.log"
    async with EmbeddedBroker() as broker, SlackStub(token=TOKEN) as stub:
        worker = await _flashpoint(
            "--broker", broker.url, "--listen", f"127.0.0.1:{port}",
            env=_env(stub, FLASHPOINT_PUBLISH_TIMEOUT="5"), log=log,
        )  # fmt: skip
        try:
            async with aiohttp.ClientSession() as http:
                deadline = time.monotonic() + 120
                while await _status(http, f"{base}/readyz") != 200:
                    assert time.monotonic() < deadline, log.read_text()[-3000:]
                    await asyncio.sleep(0.5)
                assert await _post(http, f"{base}/articles", first) == 202
                await _quiet(lambda: len(stub.messages), minimum=1, quiet=1.0, timeout=60)
                before = len(stub.messages)

                pid = broker._process.pid  # type: ignore[union-attr]
                os.kill(pid, signal.SIGSTOP)
                paused = time.monotonic()
                try:
                    alive = await _status(http, f"{base}/healthz")
                    ready = await _status(http, f"{base}/readyz")
                    refused = await _post(http, f"{base}/articles", during)
                    await asyncio.sleep(max(0.0, 15.0 - (time.monotonic() - paused)))
                finally:
                    os.kill(pid, signal.SIGCONT)

                deadline = time.monotonic() + 120
                while await _status(http, f"{base}/readyz") != 200:
                    assert time.monotonic() < deadline, "never ready again"
                    await asyncio.sleep(0.5)
                # The client retries what was refused, and sends what is new.
                assert await _post(http, f"{base}/articles", during) == 202
                assert await _post(http, f"{base}/articles", after) == 202
                await _quiet(lambda: len(stub.messages), minimum=before + 2, quiet=2.0, timeout=120)
            assert worker.returncode is None, "the worker recovered without a restart"
        finally:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
            code = await _exit(worker, 90, log)

    assert (alive, ready, refused) == (200, 503, 503)
    delivered = _alert_ids(stub)
    assert len(delivered) == len(set(delivered)), "an alert reached Slack twice"
    assert code in (0, 3)  # 3 when the refused article's first try was counted as lost


def _sample(text: str, name: str, labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(part in line for part in labels.split(",")):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_a_full_disk_under_alerts_out_is_a_clear_error_a_metric_and_exit_4(
    tmp_path: Path,
) -> None:
    # /dev/full fails every write with ENOSPC, as a full disk does; mounting a tiny tmpfs
    # would need privileges CI may not have.
    metrics_port = free_port()
    stats_out = tmp_path / "stats.json"
    log = tmp_path / "full.log"
    scrapes: list[str] = []
    async with EmbeddedBroker() as broker, SlackStub(token=TOKEN) as stub:
        process = await _flashpoint(
            "--broker", broker.url, "--source", str(STORY), "--drain",
            "--alerts-out", "/dev/full", "--stats-out", str(stats_out),
            "--metrics-port", str(metrics_port), env=_env(stub), log=log,
        )  # fmt: skip
        waiting = asyncio.ensure_future(process.wait())
        async with aiohttp.ClientSession() as http:
            while not waiting.done():
                try:
                    async with http.get(f"http://127.0.0.1:{metrics_port}/metrics") as page:
                        scrapes.append(await page.text())
                except aiohttp.ClientError:
                    pass
                await asyncio.wait([waiting], timeout=0.3)
        code = waiting.result()
        delivered = len(set(_alert_ids(stub)))

    stats = json.loads(stats_out.read_text())
    err = log.read_text()
    failed_metric = _sample(
        scrapes[-1], "flashpoint_deliveries_total", 'sink="alerts-out",outcome="failed"'
    )
    assert code == 4, err[-3000:]
    assert "cannot write /dev/full: No space left on device" in err
    assert stats["failed"] == stats["alerts"] > 0 and stats["delivered"] == 0
    assert failed_metric == stats["alerts"]
    assert delivered == stats["alerts"], "Slack still got every alert"


async def test_an_alerts_out_that_cannot_be_opened_is_a_clear_error_at_start(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    log = tmp_path / "unwritable.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLASHPOINT_"))}
    process = await _flashpoint(
        "--source", str(STORY), "--drain", "--alerts-out", str(blocker / "alerts.jsonl"),
        env=env, log=log,
    )  # fmt: skip

    assert await _exit(process, 120, log) == 2
    assert f"--alerts-out: cannot open {blocker}/alerts.jsonl" in log.read_text()
