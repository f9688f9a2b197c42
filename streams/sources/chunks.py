"""Reading bytes without ever blocking the event loop.

A pipe or socket is read by the event loop itself. Anything else (a regular file, a
terminal) is read by a daemon thread a few chunks ahead of the reader. Opening is done by a
daemon thread too: opening a FIFO blocks until a writer appears, and a daemon thread stuck
there never holds up ``/healthz``, SIGTERM or the process's exit (the default executor's
threads would: ``asyncio.run`` waits for them).
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from collections.abc import AsyncGenerator
from pathlib import Path

CHUNK_BYTES = 256 * 1024
_READ_AHEAD = 4


async def open_for_reading(path: Path) -> int:
    """A read-only descriptor for ``path``, opened off the loop; raises ``OSError``."""
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[int] = loop.create_future()

    def deliver(fd: int | None, error: OSError | None) -> None:
        if opened.cancelled():
            if fd is not None:
                os.close(fd)
        elif error is not None:
            opened.set_exception(error)
        else:
            assert fd is not None
            opened.set_result(fd)

    def target() -> None:
        fd: int | None = None
        error: OSError | None = None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            error = exc
        try:
            loop.call_soon_threadsafe(deliver, fd, error)
        except RuntimeError:  # the loop closed while we waited for a writer
            if fd is not None:
                os.close(fd)

    threading.Thread(target=target, name="flashpoint-open", daemon=True).start()
    return await opened


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
        name="flashpoint-read",
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
