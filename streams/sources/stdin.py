"""Articles as JSON lines on standard input (``--source -``), read without blocking the loop.

A pipe or socket is read by the event loop itself. Anything else (a redirected file, a
terminal) is read by a daemon thread, so a terminal waiting for input never holds up
shutdown. Lines are framed as in :mod:`streams.sources.files`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
from collections.abc import AsyncGenerator
from contextlib import aclosing

from alerts.articles import MAX_RECORD_BYTES
from alerts.metrics import Metrics
from streams.sources.base import Publisher
from streams.sources.files import CHUNK_BYTES, Line, LineFramer

log = logging.getLogger(__name__)

_READ_AHEAD = 4


class StdinSource:
    """Publishes each non-blank line of standard input (or of ``fd``) until end of input."""

    name = "stdin"
    finite = True

    def __init__(
        self, metrics: Metrics, *, fd: int | None = None, max_record_bytes: int = MAX_RECORD_BYTES
    ) -> None:
        self._metrics = metrics
        self._fd = fd
        self._limit = max_record_bytes

    async def run(self, publisher: Publisher) -> None:
        """Publish every line, then return at end of input."""
        fd = sys.stdin.fileno() if self._fd is None else self._fd
        framer = LineFramer(self._limit)
        count = 0
        try:
            async with aclosing(read_chunks(fd)) as chunks:
                async for chunk in chunks:
                    for line in framer.feed(chunk):
                        await self._publish(publisher, line)
                        count += 1
        except OSError as exc:
            log.error("source stdin: read failed after %d records: %s", count, exc)
            self._metrics.source_errors.labels(source=self.name, reason="read_error").inc()
        for line in framer.close():
            await self._publish(publisher, line)
            count += 1
        log.info("source stdin: published %d records", count)

    async def _publish(self, publisher: Publisher, line: Line) -> None:
        if line.truncated:
            log.warning(
                "stdin:%d: line is over %d bytes; publishing its first %d bytes, which triage "
                "rejects as too_large",
                line.number,
                self._limit,
                len(line.data),
            )
        await publisher.publish(line.data, source=self.name)
        self._metrics.articles.labels(source=self.name).inc()


def read_chunks(fd: int) -> AsyncGenerator[bytes, None]:
    """Chunks read from ``fd`` until end of input. ``fd`` stays open; a duplicate is read."""
    mode = os.fstat(fd).st_mode
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return _read_pipe(fd)
    return _read_in_thread(fd)


async def _read_pipe(fd: int) -> AsyncGenerator[bytes, None]:
    loop = asyncio.get_running_loop()
    was_blocking = os.get_blocking(fd)
    reader = asyncio.StreamReader(limit=CHUNK_BYTES)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(fd), "rb", buffering=0)
    )
    try:
        while chunk := await reader.read(CHUNK_BYTES):
            yield chunk
    finally:
        transport.close()
        # The duplicate shares the open file with ``fd``: give the caller back its mode.
        os.set_blocking(fd, was_blocking)


async def _read_in_thread(fd: int) -> AsyncGenerator[bytes, None]:
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | OSError] = asyncio.Queue()
    room = threading.Semaphore(_READ_AHEAD)
    stop = threading.Event()
    pump = threading.Thread(
        target=_pump,
        args=(os.dup(fd), chunks, loop, room, stop),
        name="flashpoint-stdin",
        daemon=True,
    )
    pump.start()
    try:
        while True:
            item = await chunks.get()
            room.release()
            if isinstance(item, OSError):
                raise item
            if not item:
                return
            yield item
    finally:
        stop.set()


def _pump(
    fd: int,
    chunks: asyncio.Queue[bytes | OSError],
    loop: asyncio.AbstractEventLoop,
    room: threading.Semaphore,
    stop: threading.Event,
) -> None:
    """Thread body: read ``fd`` into ``chunks``, at most a few chunks ahead of the reader."""
    try:
        while not stop.is_set():
            if not room.acquire(timeout=0.2):
                continue
            item: bytes | OSError
            try:
                item = os.read(fd, CHUNK_BYTES)
            except OSError as exc:
                item = exc
            loop.call_soon_threadsafe(chunks.put_nowait, item)
            if not isinstance(item, bytes) or not item:
                return
    except RuntimeError:
        # The event loop closed under us: nobody is reading any more.
        return
    finally:
        os.close(fd)
