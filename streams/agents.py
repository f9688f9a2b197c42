"""The faust agents: triage → detect → notify, each catching per message.

An exception escaping a faust agent crashes it and the supervisor restarts it, stalling
the partition; so every message is handled inside ``process`` and anything unexpected is
dead-lettered with the reason, counted, and the stream goes on.

Two lanes run side by side: articles about a watch topic go through ``flashpoint.articles``
and ``flashpoint.by-topic``; articles about none (``global``, most of a general feed) through
``flashpoint.articles.global`` and ``flashpoint.by-topic.global``, with agents of their own
that give the event loop back after every message. A burst of off-topic news therefore
queues in its own topics and never in front of an article about a watch topic.

The notify agent does not wait for Slack: it queues each alert with the dispatcher (in
order) and moves on, and the alert's message is acknowledged only once every sink has an
outcome, so Kafka commits an offset only when the alerts before it are settled. At most
``MAX_IN_FLIGHT`` alerts wait at once; beyond that the agent waits too.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust

from alerts.state import STANDING_SECTION
from alerts.topics import GLOBAL_TOPIC
from streams import topics as names
from streams.pipeline import DeadLetter, Handlers, Outcome, Outgoing

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 1000
TIMER_SECONDS = 1.0
INGESTED_AT_HEADER = "flashpoint-ingested-at"
SOURCE_HEADER = "flashpoint-source"
OUTSIDE_SOURCE = "kafka"
"""The ``source`` label of articles another producer wrote straight to flashpoint.articles."""


@dataclass
class Topology:
    """The topics, tables and agents of one app, for the runner and for tests."""

    articles: Any
    articles_global: Any
    by_topic: Any
    by_topic_global: Any
    alerts: Any
    deadletter: Any
    seen: Any
    topic_state: Any
    global_state: Any
    deliveries: Any
    triage: Any
    triage_global: Any
    detect: Any
    detect_global: Any
    notify: Any
    positions: dict[tuple[str, int], int]


def build_topology(app: faust.App, handlers: Handlers, partitions: int) -> Topology:
    """Declare topics, tables and agents on ``app``."""

    def topic(*name: str) -> Any:
        return app.topic(
            *name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
        )

    articles = topic(names.ARTICLES)
    articles_global = topic(names.ARTICLES_GLOBAL)
    by_topic = topic(names.BY_TOPIC)
    by_topic_global = topic(names.BY_TOPIC_GLOBAL)
    alerts = topic(names.ALERTS)
    deadletter = topic(names.DEADLETTER)
    ticks = topic(names.TICKS)
    # The detect agent reads ticks beside articles: partition N of both holds the same
    # watch topics, so a tick is handled where that topic's state is.
    by_topic_and_ticks = topic(names.BY_TOPIC, names.TICKS)

    def table(name: str) -> Any:
        schema: Any = faust.Schema(key_serializer="json", value_serializer="json")
        return app.Table(name, default=None, partitions=partitions, schema=schema)

    seen = table(names.SEEN_TABLE)
    topic_state = table(names.TOPIC_STATE_TABLE)
    global_state = table(names.GLOBAL_STATE_TABLE)
    deliveries = table(names.DELIVERIES_TABLE)
    positions: dict[tuple[str, int], int] = {}
    stats = handlers.stats

    def track(sending: Any, stage: str, origin: str) -> None:
        """Count a send until the broker acknowledges it; a refusal is input lost."""
        if not isinstance(sending, asyncio.Future):
            return  # test_context() sends synchronously
        stats.in_flight += 1

        def settle(done: asyncio.Future[Any]) -> None:
            stats.in_flight -= 1
            error = None if done.cancelled() else done.exception()
            if done.cancelled() or error is not None:
                stats.send_failed += 1
                handlers.metrics.sends_failed.labels(stage).inc()
                log.error("the broker refused a record sent by %s for %s: %r", stage, origin, error)

        sending.add_done_callback(settle)

    async def send_dead(letter: DeadLetter, origin: str) -> None:
        """Store ``letter``; never raises, so a letter the broker refuses cannot crash the
        agent. Without its value it is tried once more; after that only the log has it."""
        record = letter.with_origin(origin)
        for attempt in (record, record.minimal()):
            try:
                sending = await deadletter.send(key=letter.key, value=attempt.to_json())
            except Exception as exc:
                log.error(
                    "could not store a dead letter (%s at %s, %s): %s",
                    letter.reason,
                    letter.stage,
                    origin,
                    f"{type(exc).__name__}: {exc}",
                )
                continue
            track(sending, "deadletter", origin)
            return
        stats.send_failed += 1
        handlers.metrics.sends_failed.labels("deadletter").inc()

    async def process(
        stage: str,
        event: Any,
        handling: Awaitable[Outcome],
        target: Callable[[Outgoing], Any] | None,
        sent: str | None,
        done: str,
        commit: Callable[[Outcome], None] | None = None,
    ) -> None:
        message = event.message
        origin = f"{message.topic}/{message.partition}/{message.offset}"
        try:
            outcome = await handling
            for out in outcome.forward:
                if target is None or sent is None:
                    raise RuntimeError(f"{stage} has nowhere to forward")
                setattr(stats, sent, getattr(stats, sent) + 1)
                track(await target(out).send(key=out.key, value=out.value), stage, origin)
            if commit is not None:
                commit(outcome)
        except Exception as exc:  # one bad message must not stop the stream
            log.error("%s failed on %s: %s", stage, origin, traceback.format_exc())
            raw = event.value if isinstance(event.value, bytes) else b""
            outcome = Outcome(
                dead=[
                    handlers.dead(
                        DeadLetter(stage, "internal_error", f"{type(exc).__name__}: {exc}", raw)
                    )
                ]
            )
        for letter in outcome.dead:
            await send_dead(letter, origin)
        # Not in a finally: a message cancelled mid-way (shutdown) was not handled, and Kafka
        # will deliver it again.
        setattr(stats, done, getattr(stats, done) + 1)
        tp = (message.topic, message.partition)
        positions[tp] = max(positions.get(tp, 0), message.offset + 1)

    def remember_seen(outcome: Outcome) -> None:
        for key, moment in outcome.remember.items():
            seen[key] = moment

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

    async def handle_detect_global(event: Any) -> Outcome:
        return handlers.detect(event.value or b"", states=global_state)

    def start_notify(event: Any) -> Awaitable[Outcome]:
        """Queue the alert now, in arrival order; an error here is raised when awaited."""
        try:
            return handlers.notify(event.value or b"", deliveries=deliveries)
        except Exception as exc:
            return _raising(exc)

    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    in_flight: set[asyncio.Task[None]] = set()

    async def settle_notify(event: Any, handling: Awaitable[Outcome]) -> None:
        try:
            await process("notify", event, handling, None, None, "notified")
            event.ack()
        finally:
            slots.release()

    def lane(out: Outgoing) -> Any:
        return by_topic_global if out.key == _GLOBAL_KEY else by_topic

    def to_alerts(out: Outgoing) -> Any:
        return alerts

    @app.agent(articles, name="triage")
    async def triage(stream: Any) -> None:
        async for event in stream.events():
            await process(
                "triage", event, handle_triage(event), lane, "routed", "triaged", remember_seen
            )

    @app.agent(articles_global, name="triage-global")
    async def triage_global(stream: Any) -> None:
        async for event in stream.events():
            await process(
                "triage", event, handle_triage(event), lane, "routed", "triaged", remember_seen
            )
            await asyncio.sleep(0)  # let the watch-topic lane in between any two messages

    async def send_ticks() -> None:
        """Tell the detect agent that time passed, for the topics whose rules need it."""
        now = time.time()
        try:
            due = handlers.due_ticks(now, lambda: _standing_topics(topic_state))
            for out in due:
                await ticks.send(key=out.key, value=out.value)
        except Exception as exc:  # a tick missed is sent again at the next interval
            log.warning("could not send ticks: %s: %s", type(exc).__name__, exc)

    app.timer(TIMER_SECONDS)(send_ticks)

    @app.agent(by_topic_and_ticks, name="detect")
    async def detect(stream: Any) -> None:
        async for event in stream.events():
            await process(
                "detect", event, handle_detect(event), to_alerts, "alerts_sent", "detected"
            )

    @app.agent(by_topic_global, name="detect-global")
    async def detect_global(stream: Any) -> None:
        async for event in stream.events():
            await process(
                "detect", event, handle_detect_global(event), to_alerts, "alerts_sent", "detected"
            )
            await asyncio.sleep(0)

    @app.agent(alerts, name="notify")
    async def notify(stream: Any) -> None:
        async for event in stream.noack().events():
            await slots.acquire()
            # The task inherits this context, where faust's current event is this one, so
            # its table write lands on the event's partition.
            task = asyncio.create_task(settle_notify(event, start_notify(event)))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

    return Topology(
        articles=articles,
        articles_global=articles_global,
        by_topic=by_topic,
        by_topic_global=by_topic_global,
        alerts=alerts,
        deadletter=deadletter,
        seen=seen,
        topic_state=topic_state,
        global_state=global_state,
        deliveries=deliveries,
        triage=triage,
        triage_global=triage_global,
        detect=detect,
        detect_global=detect_global,
        notify=notify,
        positions=positions,
    )


_GLOBAL_KEY = GLOBAL_TOPIC.encode()
_STANDING_SUFFIX = "/" + STANDING_SECTION


def _standing_topics(table: Any) -> list[str]:
    """Topics with a standing condition in this worker's part of the table."""
    return [
        key[: -len(_STANDING_SUFFIX)]
        for key in list(table.keys())
        if isinstance(key, str) and key.endswith(_STANDING_SUFFIX) and table.get(key)
    ]


async def _raising(exc: Exception) -> Outcome:
    raise exc


def _headers(event: Any) -> dict[str, str]:
    raw = event.headers or {}
    items = raw.items() if isinstance(raw, dict) else raw
    return {
        key: value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        for key, value in items
    }
