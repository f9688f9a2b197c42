"""Scale-out as Kafka does it: two workers in one consumer group share the partitions, and
when one stops, or is killed, the other takes its partitions over with their table state."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from streams.broker import EmbeddedBroker, free_port
from tests.conftest import ROOT, SAMPLE_FEED

pytestmark = pytest.mark.integration

COPY_ID = "mn-2026-0218-cj"  # the second outlet's rewrite of the China-Japan talks story


class Worker:
    def __init__(self, broker: EmbeddedBroker, workdir: Path, name: str) -> None:
        self.port = free_port()
        self.alerts_out = workdir / f"{name}.jsonl"
        self.log = workdir / f"{name}.log"
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("FLASHPOINT_", "SLACK_"))
        }
        self.env.update(
            FLASHPOINT_BROKER=broker.url,
            FLASHPOINT_FAST_REBALANCE="1",
            FLASHPOINT_FETCH_MAX_WAIT_MS="10",
            FLASHPOINT_PARTITIONS="4",
        )
        self.process: asyncio.subprocess.Process | None = None
        self._log_file: Any = None

    async def start(self) -> None:
        self._log_file = self.log.open("wb")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "streams.cli",
            "run",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--alerts-out",
            str(self.alerts_out),
            env=self.env,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=self._log_file,
        )

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signum)
        try:
            return await asyncio.wait_for(self.process.wait(), 60)
        finally:
            self._log_file.close()

    def alerts(self) -> list[dict[str, Any]]:
        if not self.alerts_out.exists():
            return []
        return [json.loads(line) for line in self.alerts_out.read_text().splitlines()]


@pytest.mark.parametrize(
    ("signum", "exit_code"),
    [(signal.SIGTERM, 0), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["sigterm", "sigkill"],
)
async def test_two_workers_share_the_work_and_one_takes_over_for_the_other(
    broker: EmbeddedBroker, tmp_path: Path, signum: int, exit_code: int
) -> None:
    workers = [Worker(broker, tmp_path, "one"), Worker(broker, tmp_path, "two")]
    articles = [json.loads(line) for line in SAMPLE_FEED.read_text().splitlines()]
    copy = next(a for a in articles if a["id"] == COPY_ID)
    first_batch = [a for a in articles if a["id"] != COPY_ID]
    try:
        for worker in workers:
            await worker.start()
        async with aiohttp.ClientSession() as http:
            for index, article in enumerate(first_batch):
                await _post(http, workers[index % 2].port, article)
            await _settled(lambda: sum(len(w.alerts()) for w in workers))

            delivered = [a for w in workers for a in w.alerts()]
            ids = [a["id"] for a in delivered]
            assert len(ids) == len(set(ids)), "an alert was delivered twice"
            assert all(w.alerts() for w in workers), "both workers should have had partitions"

            # Stop whichever worker holds the China-Japan story's state; the other must
            # take its partitions over, table state included.
            holder = next(
                w
                for w in workers
                if any(
                    a["topic"] == "china-japan" and a["kind"] == "commitment" for a in w.alerts()
                )
            )
            survivor = workers[1 - workers.index(holder)]
            assert await holder.stop(signum) == exit_code
            before = len(survivor.alerts())
            await _post(http, survivor.port, copy)
            await _settled(lambda: len(survivor.alerts()), minimum=before + 1)

        new = survivor.alerts()[before:]
        assert [(a["kind"], a["topic"]) for a in new] == [("coverage", "china-japan")]
        assert new[0]["sources"] == 2
    finally:
        for worker in workers:
            if worker.process is not None and worker.process.returncode is None:
                await worker.stop()


async def _post(http: aiohttp.ClientSession, port: int, article: dict[str, Any]) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            async with http.post(f"http://127.0.0.1:{port}/articles", json=article) as response:
                assert response.status == 202, await response.text()
                return
        except aiohttp.ClientConnectionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.25)


async def _settled(
    count: Any, *, minimum: int = 1, quiet: float = 4.0, timeout: float = 90
) -> None:
    """Wait until ``count()`` reaches ``minimum`` and then stays put for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = count()
        if now != last:
            last, since = now, time.monotonic()
        elif now >= minimum and time.monotonic() - since >= quiet:
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"alerts never settled (last count {last})")
