"""The offline commands as a user runs them: on a feed URL, into a pipe that closes early."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.conftest import ROOT
from tests.support.feed_corpus import item, rss

pytestmark = pytest.mark.e2e

ITEMS = 2_000  # enough output to fill a pipe, so the early close is felt


@pytest.fixture
async def feed_url() -> AsyncIterator[str]:
    body = rss("".join(item(f"Navy drill number {n}", f"d{n}") for n in range(ITEMS))).encode()

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/feed.xml"
    await runner.cleanup()


async def test_detect_reads_a_feed_once_and_a_closed_pipe_ends_it_quietly(feed_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASHPOINT_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streams.cli",
        "detect",
        feed_url,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = await asyncio.wait_for(process.stdout.readline(), 120)
    process.stdout.feed_eof()
    transport = process._transport  # type: ignore[attr-defined]
    transport.get_pipe_transport(1).close()  # what `| head -1` does after one line
    err = await asyncio.wait_for(process.stderr.read(), 120)
    code = await asyncio.wait_for(process.wait(), 120)

    assert json.loads(first)["id"]
    assert code == 128 + signal.SIGPIPE
    assert b"Traceback" not in err, err.decode()[-2000:]
