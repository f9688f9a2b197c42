"""The faust agents: triage → detect → notify, each catching per message.

An exception escaping a faust agent crashes it and the supervisor restarts it, stalling
the partition; so every message is handled inside ``_guard`` and anything unexpected is
dead-lettered with the reason, counted, and the stream goes on.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust

from streams import topics as names
from streams.pipeline import DeadLetter, Handlers, Outcome

log = logging.getLogger(__name__)

INGESTED_AT_HEADER = "flashpoint-ingested-at"
SOURCE_HEADER = "flashpoint-source"
OUTSIDE_SOURCE = "kafka"
"""The ``source`` label of articles another producer wrote straight to flashpoint.articles."""


@dataclass
class Topology:
    """The topics, tables and agents of one app, for the runner and for tests."""

    articles: Any
    by_topic: Any
    alerts: Any
    deadletter: Any
    seen: Any
    topic_state: Any
    deliveries: Any
    triage: Any
    detect: Any
    notify: Any
    positions: dict[tuple[str, int], int]


def build_topology(app: faust.App, handlers: Handlers, partitions: int) -> Topology:
    """Declare topics, tables and agents on ``app``."""

    def topic(name: str) -> Any:
        return app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
        )

    articles = topic(names.ARTICLES)
    by_topic = topic(names.BY_TOPIC)
    alerts = topic(names.ALERTS)
    deadletter = topic(names.DEADLETTER)

    def table(name: str) -> Any:
        schema: Any = faust.Schema(key_serializer="json", value_serializer="json")
        return app.Table(name, default=None, partitions=partitions, schema=schema)

    seen = table(names.SEEN_TABLE)
    topic_state = table(names.TOPIC_STATE_TABLE)
    deliveries = table(names.DELIVERIES_TABLE)
    positions: dict[tuple[str, int], int] = {}
    stats = handlers.stats

    async def send_dead(letter: DeadLetter, origin: str) -> None:
        record = DeadLetter(
            letter.stage, letter.reason, letter.detail, letter.value, letter.key, origin
        )
        await deadletter.send(key=letter.key, value=record.to_json())

    async def process(
        stage: str,
        event: Any,
        handle: Callable[[Any], Awaitable[Outcome]],
        target: Any | None,
        sent: str | None,
        done: str,
    ) -> None:
        message = event.message
        origin = f"{message.topic}/{message.partition}/{message.offset}"
        try:
            outcome = await handle(event)
            for out in outcome.forward:
                if target is None or sent is None:
                    raise RuntimeError(f"{stage} has nowhere to forward")
                setattr(stats, sent, getattr(stats, sent) + 1)
                await target.send(key=out.key, value=out.value)
            for letter in outcome.dead:
                await send_dead(letter, origin)
        except Exception as exc:  # one bad message must not stop the stream
            log.error("%s failed on %s: %s", stage, origin, traceback.format_exc())
            raw = event.value if isinstance(event.value, bytes) else b""
            letter = handlers.dead(
                DeadLetter(stage, "internal_error", f"{type(exc).__name__}: {exc}", raw)
            )
            await send_dead(letter, origin)
        # Not in a finally: a message cancelled mid-way (shutdown) was not handled, and Kafka
        # will deliver it again.
        setattr(stats, done, getattr(stats, done) + 1)
        positions[(message.topic, message.partition)] = message.offset + 1

    async def handle_triage(event: Any) -> Outcome:
        headers = _headers(event)
        ingested = headers.get(INGESTED_AT_HEADER)
        if SOURCE_HEADER not in headers:
            # Flashpoint's sources count what they publish; count the other producers here.
            handlers.metrics.articles.labels(OUTSIDE_SOURCE).inc()
        return handlers.triage(
            event.value or b"",
            source=headers.get(SOURCE_HEADER, OUTSIDE_SOURCE),
            ingested_at=float(ingested) if ingested else time.time(),
            seen=seen,
        )

    async def handle_detect(event: Any) -> Outcome:
        return handlers.detect(event.value or b"", states=topic_state)

    async def handle_notify(event: Any) -> Outcome:
        return await handlers.notify(event.value or b"", deliveries=deliveries)

    @app.agent(articles, name="triage")
    async def triage(stream: Any) -> None:
        async for event in stream.events():
            await process("triage", event, handle_triage, by_topic, "routed", "triaged")

    @app.agent(by_topic, name="detect")
    async def detect(stream: Any) -> None:
        async for event in stream.events():
            await process("detect", event, handle_detect, alerts, "alerts_sent", "detected")

    @app.agent(alerts, name="notify")
    async def notify(stream: Any) -> None:
        async for event in stream.events():
            await process("notify", event, handle_notify, None, None, "notified")

    return Topology(
        articles,
        by_topic,
        alerts,
        deadletter,
        seen,
        topic_state,
        deliveries,
        triage,
        detect,
        notify,
        positions,
    )


def _headers(event: Any) -> dict[str, str]:
    raw = event.headers or {}
    items = raw.items() if isinstance(raw, dict) else raw
    return {
        key: value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        for key, value in items
    }
