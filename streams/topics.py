"""Kafka topic names, and creating them before any worker starts.

Flashpoint creates every topic itself with the configured partition count, changelog
topics of tables included, because brokers that auto-create pick their own count (tansu:
4) and faust tables need their changelog to match their source topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from alerts.errors import BrokerError

log = logging.getLogger(__name__)

ARTICLES = "flashpoint.articles"
ARTICLES_GLOBAL = "flashpoint.articles.global"
"""The off-topic lane in: articles the publisher found about no watch topic."""
BY_TOPIC = "flashpoint.by-topic"
BY_TOPIC_GLOBAL = "flashpoint.by-topic.global"
"""The off-topic lane after triage: articles keyed ``global``."""
ALERTS = "flashpoint.alerts"
DEADLETTER = "flashpoint.deadletter"
TICKS = "flashpoint.ticks"
"""Timer messages keyed by watch topic: time passed, for rules that act on silence."""
SILENCES = "flashpoint.silences"
"""Silences set at run time, keyed by id, compacted; one partition, read whole by every
worker (not by the consumer group)."""
STREAMS = (ARTICLES, ARTICLES_GLOBAL, BY_TOPIC, BY_TOPIC_GLOBAL, ALERTS)
COMPACTED = {"cleanup.policy": "compact"}

SEEN_TABLE = "seen"
TOPIC_STATE_TABLE = "topic-state"
GLOBAL_STATE_TABLE = "global-state"
DELIVERIES_TABLE = "deliveries"
TABLES = (SEEN_TABLE, TOPIC_STATE_TABLE, GLOBAL_STATE_TABLE, DELIVERIES_TABLE)


def changelog_topic(app_id: str, table: str) -> str:
    return f"{app_id}-{table}-changelog"


def all_topics(app_id: str) -> list[str]:
    """The topics with ``FLASHPOINT_PARTITIONS`` partitions (all but the silences)."""
    return [*STREAMS, TICKS, DEADLETTER] + [changelog_topic(app_id, t) for t in TABLES]


def bootstrap_servers(broker_url: str) -> str:
    """``kafka://h1:9092;h2:9092`` or ``h1:9092,h2:9092`` → ``h1:9092,h2:9092``."""
    hosts = []
    for part in broker_url.replace(";", ",").split(","):
        part = part.strip()
        if "://" in part:
            part = part.split("://", 1)[1]
        if part:
            hosts.append(part if ":" in part else f"{part}:9092")
    if not hosts:
        raise BrokerError(f"no broker address in {broker_url!r}")
    return ",".join(hosts)


async def ensure_topics(
    broker_url: str, app_id: str, partitions: int, *, timeout: float = 30.0
) -> None:
    """Create Flashpoint's topics; fail clearly if one exists with other partitions."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers(broker_url),
        request_timeout_ms=int(min(timeout, 30.0) * 1000),
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            await asyncio.wait_for(admin.start(), max(0.1, deadline - time.monotonic()))
            break
        except (KafkaError, OSError, TimeoutError) as exc:
            await _close_quietly(admin)
            if time.monotonic() >= deadline:
                raise BrokerError(
                    f"cannot reach the Kafka broker at {broker_url} within {timeout:g}s: "
                    f"{exc or type(exc).__name__}"
                ) from None
            await asyncio.sleep(1.0)
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(broker_url))
    try:
        names = all_topics(app_id)
        # Describe only topics that exist: a metadata request for a missing topic makes
        # auto-creating brokers create it with their default partition count.
        present = set(await admin.list_topics()) & {*names, SILENCES}
        described = sorted(present - {SILENCES})
        existing = await admin.describe_topics(described) if described else []
        counts = {t["topic"]: len(t["partitions"]) for t in existing if t.get("error_code", 0) == 0}
        wrong = {name: n for name, n in counts.items() if n != partitions}
        if wrong:
            listed = ", ".join(f"{name} has {n}" for name, n in sorted(wrong.items()))
            raise BrokerError(
                f"topics exist with a different partition count than {partitions} ({listed}); "
                "set FLASHPOINT_PARTITIONS to match or delete the topics"
            )
        missing = [name for name in names if name not in counts]
        changelogs = {changelog_topic(app_id, t) for t in TABLES}
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker won the race
                await admin.create_topics(
                    [
                        # A changelog keeps the latest value per key, not a window of history.
                        NewTopic(name, partitions, 1, topic_configs=dict(COMPACTED))
                        if name in changelogs
                        else NewTopic(name, partitions, 1)
                        for name in missing
                    ],
                    timeout_ms=int(timeout * 1000),
                )
            log.info("created topics %s with %d partitions", ", ".join(missing), partitions)
        if SILENCES not in present:
            await _create_silences(admin, timeout)
    finally:
        await _close_quietly(admin)


async def _create_silences(admin: AIOKafkaAdminClient, timeout: float) -> None:
    with contextlib.suppress(TopicAlreadyExistsError):  # another worker won the race
        await admin.create_topics(
            [NewTopic(SILENCES, 1, 1, topic_configs=dict(COMPACTED))],
            timeout_ms=int(timeout * 1000),
        )
    log.info("created topic %s (compacted)", SILENCES)


async def ensure_silences_topic(broker_url: str, *, timeout: float = 15.0) -> None:
    """Create the silences topic if it is missing (``flashpoint silence`` before any run)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers(broker_url),
        request_timeout_ms=int(timeout * 1000),
    )
    try:
        await asyncio.wait_for(admin.start(), timeout)
        if SILENCES not in set(await admin.list_topics()):
            await _create_silences(admin, timeout)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise BrokerError(f"cannot reach the Kafka broker at {broker_url}: {exc!r}") from None
    finally:
        await _close_quietly(admin)


async def _close_quietly(admin: AIOKafkaAdminClient) -> None:
    try:
        await admin.close()
    except Exception:  # closing a client that never connected
        log.debug("admin client close failed", exc_info=True)
