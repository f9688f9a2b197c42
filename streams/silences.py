"""Silences in Kafka: the compacted ``flashpoint.silences`` topic, keyed by silence id.

Every worker reads the whole topic from the start, outside the consumer group, and keeps
following it (:class:`SilenceFollower`), so a silence added by ``flashpoint silence add``
on any machine mutes matching alerts on every worker within a fetch. The CLI reads the topic
to its end to list silences, and writes a record to add or expire one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from alerts.errors import BrokerError
from alerts.silences import Silence, SilenceBook
from streams.topics import SILENCES, bootstrap_servers

log = logging.getLogger(__name__)

PARTITION = TopicPartition(SILENCES, 0)
CATCH_UP_SECONDS = 30.0


def _consumer(broker_url: str, fetch_max_wait_ms: int) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers(broker_url),
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=fetch_max_wait_ms,
    )


def _take(book: SilenceBook, key: bytes | None, value: bytes | None) -> None:
    name = key.decode("utf-8", "replace") if key else ""
    if value is None:
        book.apply(None, name)
        return
    try:
        book.apply(Silence.from_json(value), name)
    except ValueError as exc:
        log.warning("ignored a record of %s that is not a silence (%s): %s", SILENCES, name, exc)


async def _read_to_end(consumer: AIOKafkaConsumer, book: SilenceBook, timeout: float) -> None:
    """Read from the start to the end offset the topic had when this began."""
    consumer.assign([PARTITION])
    await consumer.seek_to_beginning(PARTITION)
    end = (await consumer.end_offsets([PARTITION]))[PARTITION]
    deadline = time.monotonic() + timeout
    while await consumer.position(PARTITION) < end:
        if time.monotonic() > deadline:
            raise BrokerError(f"could not read {SILENCES} to its end within {timeout:g}s")
        batch = await consumer.getmany(PARTITION, timeout_ms=500)
        for record in batch.get(PARTITION, ()):
            _take(book, record.key, record.value)


class SilenceFollower:
    """Keeps ``book`` up to date with the silences topic, from its start."""

    def __init__(self, broker_url: str, book: SilenceBook, *, fetch_max_wait_ms: int) -> None:
        self._broker_url = broker_url
        self._book = book
        self._fetch_wait = fetch_max_wait_ms
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read every silence there is before alerts flow, then follow new ones."""
        self._consumer = _consumer(self._broker_url, self._fetch_wait)
        await self._consumer.start()
        await _read_to_end(self._consumer, self._book, CATCH_UP_SECONDS)
        log.info("%d silences known", len(self._book.silences))
        self._task = asyncio.create_task(self._follow(), name="silences")

    async def _follow(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batch = await self._consumer.getmany(PARTITION, timeout_ms=1000)
            except KafkaError as exc:  # the consumer reconnects by itself
                log.warning("reading %s: %s", SILENCES, exc)
                await asyncio.sleep(1.0)
                continue
            for record in batch.get(PARTITION, ()):
                _take(self._book, record.key, record.value)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


async def read_silences(broker_url: str, *, timeout: float = CATCH_UP_SECONDS) -> SilenceBook:
    """Every silence stored now (for ``flashpoint silence list`` and ``expire``)."""
    book = SilenceBook()
    consumer = _consumer(broker_url, 10)
    try:
        await asyncio.wait_for(consumer.start(), timeout)
        await _read_to_end(consumer, book, timeout)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BrokerError(f"cannot read silences from {broker_url}: {exc!r}") from None
    finally:
        await consumer.stop()
    return book


async def write_silence(broker_url: str, silence: Silence, *, timeout: float = 15.0) -> None:
    """Store ``silence`` (new, or a newer version of one) and wait for the broker."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers(broker_url), request_timeout_ms=int(timeout * 1000)
    )
    try:
        await asyncio.wait_for(producer.start(), timeout)
        await asyncio.wait_for(
            producer.send_and_wait(SILENCES, silence.to_json(), key=silence.id.encode()), timeout
        )
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BrokerError(f"cannot store the silence at {broker_url}: {exc!r}") from None
    finally:
        await producer.stop()
