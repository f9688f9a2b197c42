"""Sources' way into Kafka: an aiokafka producer writing to ``flashpoint.articles``."""

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
from streams.agents import INGESTED_AT_HEADER, SOURCE_HEADER
from streams.pipeline import RunStats
from streams.topics import ARTICLES, bootstrap_servers

log = logging.getLogger(__name__)


class KafkaPublisher:
    """Publishes raw article records keyed by article id, stamped with ingest time.

    A record that does not parse is still published (unkeyed): triage dead-letters it with
    the reason, so nothing is lost and validation happens in one place.
    """

    def __init__(
        self,
        broker_url: str,
        metrics: Metrics,
        stats: RunStats,
        *,
        lane: Callable[[Article], str] | None = None,
    ) -> None:
        """``lane`` picks the topic an article goes to (the off-topic lane for articles
        about no watch topic, see :mod:`streams.agents`); by default ``flashpoint.articles``."""
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(broker_url),
            linger_ms=0,
            acks="all",
            max_request_size=2_000_000,
        )
        self._metrics = metrics
        self._stats = stats
        self._lane = lane
        self._pending: set[asyncio.Future[Any]] = set()
        self._failed = 0

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        """Flush what is in flight, then close. Safe to call twice."""
        try:
            await self.flush()
        finally:
            await self._producer.stop()

    async def publish(self, raw: bytes, *, source: str) -> None:
        """Queue ``raw`` for the articles topic; :meth:`flush` waits until the broker has it.

        Not waiting for each acknowledgement keeps a file source from being bound by the
        broker's round trip; the producer still applies back-pressure when its buffer fills.
        """
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
        self._stats.published += 1
        self._stats.articles += 1
        delivery = await self._producer.send(topic, raw, key=key, headers=headers)
        self._pending.add(delivery)
        delivery.add_done_callback(lambda done: self._settle(done, source))
        # send() returns without yielding while the producer's buffer has room, so a long
        # file or feed would otherwise hold the event loop until it is all queued.
        await asyncio.sleep(0)

    async def flush(self) -> None:
        """Return once every record published so far is acknowledged; raise
        :class:`~alerts.errors.BrokerError` if any of them failed since the last flush."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        failed, self._failed = self._failed, 0
        if failed:
            raise BrokerError(f"{failed} records could not be published")

    def _settle(self, delivery: asyncio.Future[Any], source: str) -> None:
        self._pending.discard(delivery)
        if delivery.cancelled() or delivery.exception() is None:
            return
        # Never reached the topic: it will never be triaged, so --drain must not wait for it.
        self._stats.published -= 1
        self._failed += 1
        self._metrics.source_errors.labels(source, "publish_failed").inc()
        log.error("could not publish a record from %s: %s", source, delivery.exception())
