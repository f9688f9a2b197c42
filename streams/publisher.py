"""Sources' way into Kafka: an aiokafka producer writing to ``flashpoint.articles``."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaProducer

from alerts.articles import parse_article
from alerts.errors import InvalidArticle
from alerts.metrics import Metrics
from streams.agents import INGESTED_AT_HEADER, SOURCE_HEADER
from streams.pipeline import RunStats
from streams.topics import ARTICLES, bootstrap_servers


class KafkaPublisher:
    """Publishes raw article records keyed by article id, stamped with ingest time.

    A record that does not parse is still published (unkeyed): triage dead-letters it with
    the reason, so nothing is lost and validation happens in one place.
    """

    def __init__(self, broker_url: str, metrics: Metrics, stats: RunStats) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(broker_url),
            linger_ms=0,
            acks="all",
            max_request_size=2_000_000,
        )
        self._metrics = metrics
        self._stats = stats

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, raw: bytes, *, source: str) -> None:
        try:
            key: bytes | None = parse_article(raw).id.encode()
        except InvalidArticle:
            key = None
        headers = [
            (INGESTED_AT_HEADER, repr(time.time()).encode()),
            (SOURCE_HEADER, source.encode()),
        ]
        self._stats.published += 1
        self._stats.articles += 1
        await self._producer.send_and_wait(ARTICLES, raw, key=key, headers=headers)
