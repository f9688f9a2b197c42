"""``flashpoint run``: broker, topics, app, sinks and sources started in order and stopped
in reverse, with ``--drain`` and graceful SIGTERM/SIGINT handling.

The exit code tells the truth about the run (:class:`ExitCode`): 0 only when every record
read was published and every resulting alert delivered. The stats are written whatever
the outcome, even when the hard stop deadline fires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from prometheus_client import start_http_server

from alerts.articles import Article
from alerts.config.loader import config_paths_from_env
from alerts.config.models import JsonlSinkConfig
from alerts.config.reload import LiveConfig
from alerts.engine import Engine
from alerts.errors import FlashpointError
from alerts.metrics import Metrics
from alerts.secrets import remember_environment
from alerts.silences import SilenceBook
from alerts.sinks.base import Sink, build_sinks, sink_factory
from alerts.sinks.dispatch import Dispatcher, RetryPolicy
from alerts.topics import GLOBAL_TOPIC
from streams.agents import OUTSIDE_SOURCE, Topology, build_topology
from streams.app import create_app
from streams.broker import EmbeddedBroker
from streams.pipeline import Handlers, RunStats, stats_json
from streams.publisher import KafkaPublisher
from streams.sensor import MetricsMonitor
from streams.settings import Settings
from streams.silences import SilenceFollower
from streams.sources import FeedSource, HttpIngest, Source, build_sources
from streams.topics import (
    ALERTS,
    ARTICLES,
    ARTICLES_GLOBAL,
    STREAMS,
    TABLES,
    all_topics,
    ensure_topics,
)

log = logging.getLogger(__name__)

ALERTS_OUT_SINK = "alerts-out"
DRAIN_POLL_SECONDS = 0.05
DRAIN_QUIET_CHECKS = 10
STREAM_TOPICS = frozenset(STREAMS)
UPSTREAM_TOPICS = STREAM_TOPICS - {ALERTS}


class ExitCode(IntEnum):
    """What ``flashpoint`` exits with (README, docs/reliability.md)."""

    OK = 0
    CONFIG_ERROR = 1
    """A rules file or setting is invalid (every problem printed)."""
    ERROR = 2
    """Flashpoint could not start or run: a broker, port, path or source it cannot use."""
    INPUT_LOST = 3
    """Some input was not stored: unreadable, refused by the broker, a dead letter the broker
    refused, or records left unprocessed in the embedded broker's memory at stop."""
    DELIVERY_FAILED = 4
    """Every input was stored, but an alert could not be delivered (it is dead-lettered)."""
    STOP_TIMEOUT = 5
    """A stop took longer than its hard deadline; the process was ended."""


def exit_code(stats: RunStats, *, unprocessed: bool = False) -> ExitCode:
    """The truthful exit code for a run that ended with ``stats``."""
    if stats.input_lost() or unprocessed:
        return ExitCode.INPUT_LOST
    if stats.failed:
        return ExitCode.DELIVERY_FAILED
    return ExitCode.OK


@dataclass
class RunOptions:
    """What ``flashpoint run`` was asked to do."""

    config: Sequence[str] = ()
    sources: Sequence[str] = ()
    broker: str | None = None
    drain: bool = False
    alerts_out: str | None = None
    stats_out: str | None = None
    metrics_port: int | None = None
    listen: str | None = None
    settings: Settings = field(default_factory=Settings)


async def run(options: RunOptions, stop: asyncio.Event | None = None) -> int:
    """Run the pipeline until drained (``--drain``), stopped by SIGTERM/SIGINT, or until
    ``stop`` is set by the caller; returns the exit code."""
    settings = options.settings
    metrics = Metrics()
    stats = RunStats()
    try:
        return await _run(options, settings, metrics, stats, stop)
    finally:
        if options.stats_out:
            await asyncio.to_thread(_write_stats, options.stats_out, stats)


async def _run(
    options: RunOptions,
    settings: Settings,
    metrics: Metrics,
    stats: RunStats,
    stop: asyncio.Event | None,
) -> int:
    # What the user named is checked before the slow start-up (rules compile, broker).
    sources = build_sources(
        list(options.sources),
        metrics=metrics,
        poll_interval=settings.poll_interval,
        feed_limits=settings.feed_limits(),
    )
    if options.alerts_out:
        await asyncio.to_thread(_check_writable, Path(options.alerts_out))
    silences = SilenceBook()
    live = LiveConfig(
        config_paths_from_env(list(options.config)),
        lambda config: Engine(config, metrics, silences=silences),
        metrics,
        timeout=settings.reload_timeout,
    )
    live.load_initial()
    remember_environment(os.environ, _secret_variables(live))
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    unprocessed = False

    def on_signal() -> None:
        if not stop.is_set():
            log.info("stopping: finishing what is in flight")
            _arm_deadline(settings.shutdown_timeout + 10.0, stats, options.stats_out)
        stop.set()

    async with contextlib.AsyncExitStack() as stack:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal)
            stack.callback(loop.remove_signal_handler, signum)
        port = options.metrics_port if options.metrics_port is not None else settings.metrics_port
        if port is not None:
            try:
                server, _ = start_http_server(
                    port, addr=settings.metrics_host, registry=metrics.registry
                )
            except OSError as exc:
                raise FlashpointError(
                    f"cannot serve metrics on {settings.metrics_host}:{port}: {exc.strerror}"
                ) from None
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
            log.info("metrics on http://%s:%d/metrics", settings.metrics_host, port)
        broker_url = options.broker or settings.broker
        embedded = broker_url is None
        if broker_url is None:
            broker = EmbeddedBroker(settings.broker_bin)
            await broker.start()
            stack.push_async_callback(broker.stop)
            broker_url = broker.url
        await ensure_topics(
            broker_url, settings.app_id, settings.partitions, timeout=settings.connect_timeout
        )
        follower = SilenceFollower(
            broker_url, silences, fetch_max_wait_ms=settings.effective_fetch_wait_ms(embedded)
        )
        await follower.start()
        stack.push_async_callback(follower.stop)

        sinks = build_sinks(live.config.sinks, os.environ, metrics)
        if options.alerts_out:
            factory = sink_factory("jsonl")
            out = factory(
                ALERTS_OUT_SINK,
                JsonlSinkConfig(type="jsonl", path=options.alerts_out),
                os.environ,
                metrics,
            )
            if out is not None:
                sinks[ALERTS_OUT_SINK] = out
        await _start_sinks(sinks, stack)
        policy = RetryPolicy(
            budget=settings.delivery_budget, max_backoff=settings.delivery_max_backoff
        )
        dispatcher = Dispatcher(sinks, metrics, policy=policy)
        after = [ALERTS_OUT_SINK] if ALERTS_OUT_SINK in sinks else []
        handlers = Handlers(live, dispatcher, metrics, stats, after_sinks=after)

        app = create_app(settings, broker_url, embedded=embedded)
        app.monitor = MetricsMonitor(metrics)
        topology = build_topology(app, handlers, settings.partitions)
        await app.start()
        stack.push_async_callback(_stop_app, app, settings.shutdown_timeout)
        # Stopped before the app, so deliveries finishing in the grace are still recorded.
        stack.push_async_callback(_stop_dispatcher, dispatcher, settings.shutdown_timeout)
        # First of all: what waits in groups and digests goes out in the grace, not lost.
        stack.push_async_callback(_flush_batches, handlers)

        def lane(article: Article) -> str:
            """Where an article queues: classifying costs one Hyperscan pass of the title
            and body, and keeps a flood of off-topic news out of the watch-topic lane."""
            topics = live.current.topics_of(article)
            return ARTICLES_GLOBAL if topics == [GLOBAL_TOPIC] else ARTICLES

        publisher = KafkaPublisher(
            broker_url, metrics, stats, request_timeout=settings.publish_timeout, lane=lane
        )
        await publisher.start()
        stack.push_async_callback(publisher.stop)

        async def readiness() -> dict[str, bool]:
            try:
                assigned = bool(app.consumer.assignment())
            except Exception:  # not started, or rebalancing
                assigned = False
            return {"broker": await publisher.reachable(2.0), "consumers_assigned": assigned}

        source_names = [OUTSIDE_SOURCE, *(source.name for source in sources)]
        listen = options.listen or settings.listen
        if listen:
            host, listen_port = _listen_address(listen)
            token = settings.ingest_token.get_secret_value() if settings.ingest_token else None
            ingest = HttpIngest(
                publisher,
                metrics,
                host=host,
                port=listen_port,
                token=token,
                limits=settings.ingest_limits(),
                readiness=readiness,
            )
            try:
                await ingest.start()
            except OSError as exc:
                raise FlashpointError(f"cannot listen on {listen}: {exc.strerror}") from None
            stack.push_async_callback(ingest.stop)
            source_names.append(ingest.name)
            log.info("accepting articles on http://%s:%d/articles", host, ingest.port)
        metrics.zero_known_labels(
            sinks=sinks,
            sources=source_names,
            kafka_topics=all_topics(settings.app_id),
            tables=TABLES,
        )

        background = [
            asyncio.create_task(live.watch(stop), name="config-watch"),
            asyncio.create_task(_report_lag(app, topology, metrics, stop), name="lag"),
        ]
        source_tasks = [
            asyncio.create_task(_run_source(s, publisher), name=f"source:{s.name}") for s in sources
        ]
        try:
            if options.drain:
                finite_tasks = [
                    task
                    for task, source in zip(source_tasks, sources, strict=True)
                    if source.finite
                ]
                feeds = [source for source in sources if isinstance(source, FeedSource)]
                await _drain(finite_tasks, feeds, publisher, app, topology, handlers, stop)
            else:
                await stop.wait()
        finally:
            stop.set()
            for task in source_tasks + background:
                task.cancel()
            await asyncio.gather(*source_tasks, *background, return_exceptions=True)
            flushed = handlers.batcher.flush_all()  # what waits in groups goes out, not lost
            if flushed or (embedded and stats.read):
                # The embedded broker's records are gone at exit: what it holds goes through
                # first, within a grace, as what waited in groups does.
                await _hold_still(app, topology, stats, min(5.0, settings.shutdown_timeout / 2))
            if embedded and stats.read:
                unprocessed = not _settled(app, topology, stats)
                if unprocessed:
                    log.error(
                        "stopping with records not yet through the pipeline; the embedded "
                        "broker keeps them in memory only, so they are lost"
                    )
    if stats.failed:
        log.error("%d alerts could not be delivered (see flashpoint.deadletter)", stats.failed)
    code = exit_code(stats, unprocessed=unprocessed)
    log.info("stopped: %s; exit %d (%s)", stats.contract(), code, code.name.lower())
    return int(code)


def _check_writable(path: Path) -> None:
    """Raise a clear error unless ``path`` can be appended to (created if missing)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
    except OSError as exc:
        raise FlashpointError(f"--alerts-out: cannot open {path}: {exc.strerror}") from None


def _write_stats(path: str, stats: RunStats) -> None:
    Path(path).write_text(stats_json(stats) + "\n")


def _secret_variables(live: LiveConfig[Engine]) -> list[str]:
    """Environment variables the configured sinks read credentials from."""
    names: list[str] = []
    for config in live.config.sinks.values():
        for attribute in ("token_env", "webhook_env"):
            value = getattr(config, attribute, None)
            if isinstance(value, str):
                names.append(value)
    return names


def _listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``:PORT`` (loopback) for ``--listen``."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise FlashpointError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8765")
    return host or "127.0.0.1", int(port)


def _arm_deadline(seconds: float, stats: RunStats, stats_out: str | None) -> None:
    """Exit the process if a graceful stop takes longer than ``seconds``, stats written.

    A faust worker stuck in start-up (a partition mismatch, say) can ignore stop requests
    for many minutes; a thread, unlike the event loop, still runs then.
    """

    def expire() -> None:
        code = exit_code(stats)
        if code is ExitCode.OK:
            code = ExitCode.STOP_TIMEOUT
        log.error("graceful stop took more than %gs; exiting now with %d", seconds, code)
        if stats_out:
            try:
                _write_stats(stats_out, stats)
            except OSError as exc:
                log.error("cannot write %s: %s", stats_out, exc.strerror)
        logging.shutdown()
        os._exit(int(code))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


async def _run_source(source: Source, publisher: KafkaPublisher) -> None:
    try:
        await source.run(publisher)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a source that ends early lost the rest of its input
        log.exception("source %s failed", source.name)
        publisher.unreadable(source.name, f"stopped early: {type(exc).__name__}: {exc}")
    try:
        await publisher.flush()
    except FlashpointError as exc:
        log.error("source %s: %s", source.name, exc)


async def _drain(
    finite: list[asyncio.Task[None]],
    feeds: list[FeedSource],
    publisher: KafkaPublisher,
    app: Any,
    topology: Topology,
    handlers: Handlers,
    stop: asyncio.Event,
) -> None:
    """Return once every finite source is done, each feed polled once, and every message
    went through every stage. Alerts waiting in groups and digests are sent as soon as
    nothing more can join them: a drain does not wait an hour for a digest."""
    stats = handlers.stats
    waits: list[asyncio.Future[Any]] = [*finite, *(f.first_poll for f in feeds)]
    if waits:
        stopped = asyncio.ensure_future(stop.wait())
        pending: set[asyncio.Future[Any]] = {*waits, stopped}
        while not stop.is_set() and any(not w.done() for w in waits):
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
    for feed in feeds:
        if feed.first_poll.done() and not feed.first_poll.result():
            publisher.unreadable(feed.name, "the feed's first poll failed; nothing was read")
    quiet = 0
    while not stop.is_set() and quiet < DRAIN_QUIET_CHECKS:
        if (
            handlers.batcher.waiting()
            and handlers.notified_seen >= stats.alerts_sent
            and _settled(app, topology, stats, UPSTREAM_TOPICS)
        ):
            handlers.batcher.flush_all()
        quiet = quiet + 1 if _settled(app, topology, stats) else 0
        await asyncio.sleep(DRAIN_POLL_SECONDS)


async def _hold_still(app: Any, topology: Topology, stats: RunStats, within: float) -> None:
    """Wait up to ``within`` seconds until the pipeline is settled for
    ``DRAIN_QUIET_CHECKS`` checks in a row: a consumer's high watermark is only as new as
    its last fetch, so one settled check can come before the last records are seen."""
    deadline = time.monotonic() + within
    quiet = 0
    while quiet < DRAIN_QUIET_CHECKS and time.monotonic() < deadline:
        quiet = quiet + 1 if _settled(app, topology, stats) else 0
        await asyncio.sleep(DRAIN_POLL_SECONDS)


def _settled(
    app: Any, topology: Topology, stats: RunStats, topics: frozenset[str] = STREAM_TOPICS
) -> bool:
    """Every record read is stored, and every record in the partitions of ``topics`` (the
    stream topics) this worker holds has been handled, including any a previous run left
    unhandled."""
    if not stats.intake_settled() or stats.in_flight:
        return False  # sent on but not yet in the broker, so not yet in its high watermark
    try:
        assignment = app.consumer.assignment()
    except Exception:  # not started or rebalancing
        return False
    # Where faust started each partition: its committed offset (None: from the start).
    started: dict[Any, int | None] = getattr(app.consumer, "_committed_offset", {})
    held = [tp for tp in assignment if tp.topic in topics]
    if not held:
        return False
    for tp in held:
        highwater = app.consumer.highwater(tp)
        if highwater is None or highwater < 0:
            return False  # not fetched yet
        done = topology.positions.get((tp.topic, tp.partition))
        if done is None:
            done = started.get(tp) or 0
        if done < highwater:
            return False
    return True


async def _start_sinks(sinks: dict[str, Sink], stack: contextlib.AsyncExitStack) -> None:
    for sink in sinks.values():
        await sink.start()
        stack.push_async_callback(sink.stop)


async def _flush_batches(handlers: Handlers) -> None:
    sent = handlers.batcher.flush_all()
    if sent:
        log.info("stopping: sent %d alerts that waited in groups or digests", sent)
    await handlers.batcher.stop()


async def _stop_dispatcher(dispatcher: Dispatcher, timeout: float) -> None:
    """Let requests in flight finish (briefly); alerts still queued are delivered again by
    Kafka to the next worker, since their messages were never acknowledged."""
    left = await dispatcher.stop(grace=min(5.0, timeout / 2))
    if left:
        log.warning("stopped with %d alerts not yet delivered; Kafka will deliver them again", left)


async def _stop_app(app: Any, timeout: float) -> None:
    """Stop faust within ``timeout``: a worker stuck in start-up can ignore stop for ages."""
    try:
        await asyncio.wait_for(app.stop(), timeout)
    except TimeoutError:
        log.error("faust did not stop within %gs; exiting anyway", timeout)


async def _report_lag(app: Any, topology: Topology, metrics: Metrics, stop: asyncio.Event) -> None:
    """Consumer lag per topic: high watermark minus the next offset each agent will process."""
    while not stop.is_set():
        await asyncio.sleep(2.0)
        try:
            assignment = app.consumer.assignment()
        except Exception:  # not started or rebalancing
            continue
        lag: dict[str, int] = {}
        for tp in assignment:
            if tp.topic not in STREAM_TOPICS:
                continue  # changelogs are written, not consumed, by the active tables
            highwater = app.consumer.highwater(tp)
            if highwater is None or highwater < 0:
                continue
            position = topology.positions.get((tp.topic, tp.partition), 0)
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, highwater - position)
        for topic, value in lag.items():
            metrics.consumer_lag.labels(topic).set(value)
