"""Articles as JSON lines on standard input (``--source -``), read without blocking the loop.

A pipe or socket is read by the event loop itself; anything else (a redirected file, a
terminal) by a daemon thread, so a terminal waiting for input never holds up shutdown
(:mod:`streams.sources.chunks`). Lines are framed as in :mod:`streams.sources.files`.
"""

from __future__ import annotations

import logging
import sys
from contextlib import aclosing

from alerts.articles import MAX_RECORD_BYTES
from alerts.metrics import Metrics
from streams.sources.base import Publisher
from streams.sources.chunks import read_chunks
from streams.sources.files import Line, LineFramer

log = logging.getLogger(__name__)


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
        """Publish every line, then return at end of input (or after a failed read)."""
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
            publisher.unreadable(
                self.name, f"read failed after {count} records: {exc.strerror or exc}"
            )
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
