"""Sources' way into Kafka: an aiokafka producer writing to ``flashpoint.articles``, and
the intake's accounting: every record read ends up counted as published or as failed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer

from alerts.articles import Article, parse_article
from alerts.errors import BrokerError, InvalidArticle
from alerts.metrics import Metrics
from alerts.secrets import scrub
from streams.agents import INGESTED_AT_HEADER, SOURCE_HEADER
from streams.pipeline import RunStats
from streams.topics import ARTICLES, bootstrap_servers

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 2_000_000
"""Above triage's 1 MB record limit, so an oversized record reaches triage and is named."""


class KafkaPublisher:
    """Publishes raw article records keyed by article id, stamped with ingest time.

    A record that does not parse is still published (unkeyed): triage dead-letters it with
    the reason, so nothing is lost and validation happens in one place. Counts, in
    :class:`~streams.pipeline.RunStats`: ``read`` for every record handed in, then exactly
    one of ``published`` (the broker acknowledged it) or ``publish_failed``.
    """

    def __init__(
        self,
        broker_url: str,
        metrics: Metrics,
        stats: RunStats,
        *,
        request_timeout: float = 30.0,
        lane: Callable[[Article], str] | None = None,
    ) -> None:
        """``lane`` picks the topic an article goes to (the off-topic lane for articles
        about no watch topic, see :mod:`streams.agents`); by default ``flashpoint.articles``."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(broker_url),
            linger_ms=0,
            acks="all",
            max_request_size=MAX_REQUEST_BYTES,
            request_timeout_ms=int(request_timeout * 1000),
        )
        self._metrics = metrics
        self._stats = stats
        self._lane = lane
        self._pending: set[asyncio.Future[None]] = set()
        self._failed = 0

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        """Flush what is in flight, then close. Safe to call twice."""
        try:
            await self.flush()
        except BrokerError as exc:
            log.error("%s", exc)
        finally:
            await self._producer.stop()

    async def publish(self, raw: bytes, *, source: str) -> asyncio.Future[None]:
        """Queue ``raw`` for the articles topic; the receipt resolves once the broker has it.

        Not waiting for each acknowledgement keeps a file source from being bound by the
        broker's round trip; the producer still applies back-pressure when its buffer fills.
        """
        self._stats.read += 1
        receipt: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.add(receipt)
        topic = ARTICLES
        try:
            article = parse_article(raw)
            key: bytes | None = article.id.encode()
            if self._lane is not None:
                topic = self._lane(article)
        except InvalidArticle:
            key = None
        headers = [
            (INGESTED_AT_HEADER, repr(time.time()).encode()),
            (SOURCE_HEADER, source.encode()),
        ]
        try:
            delivery = await self._producer.send(topic, raw, key=key, headers=headers)
        except asyncio.CancelledError:
            self._settle(receipt, source, BrokerError("publishing was cancelled at shutdown"))
            raise
        except Exception as exc:  # the producer's own errors: timeouts, sizes, a closed client
            self._settle(receipt, source, exc)
            return receipt
        delivery.add_done_callback(lambda done: self._settle(receipt, source, _failure(done)))
        # send() returns without yielding while the producer's buffer has room, so a long
        # file or feed would otherwise hold the event loop until it is all queued.
        await asyncio.sleep(0)
        return receipt

    def unreadable(self, source: str, detail: str) -> None:
        """Input lost before it became a record: counted, and the run cannot exit 0."""
        self._stats.read_errors += 1
        self._metrics.source_errors.labels(source, "read_error").inc()
        log.error("source %s: %s", source, scrub(detail))

    async def flush(self) -> None:
        """Return once every record published so far is settled; raise
        :class:`~alerts.errors.BrokerError` if any of them failed since the last flush."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        failed, self._failed = self._failed, 0
        if failed:
            raise BrokerError(f"{failed} records could not be published")

    def _settle(
        self, receipt: asyncio.Future[None], source: str, error: BaseException | None
    ) -> None:
        self._pending.discard(receipt)
        if receipt.done():
            return
        if error is None:
            self._stats.published += 1
            receipt.set_result(None)
            return
        self._stats.publish_failed += 1
        self._failed += 1
        self._metrics.source_errors.labels(source, "publish_failed").inc()
        reason = scrub(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
        log.error("could not publish a record from %s: %s", source, reason)
        receipt.set_exception(BrokerError(reason))
        receipt.exception()  # counted here; a caller that ignores it is not an error

    async def reachable(self, timeout: float) -> bool:
        """True when the broker answers a metadata request within ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout)
        except Exception:
            return False
        return True


def _failure(delivery: asyncio.Future[Any]) -> BaseException | None:
    if delivery.cancelled():
        return BrokerError("publishing was cancelled")
    return delivery.exception()
