"""``flashpoint run``: broker, topics, app, sinks and sources started in order and stopped
in reverse, with ``--drain`` and graceful SIGTERM/SIGINT handling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import start_http_server

from alerts.config.loader import config_paths_from_env
from alerts.config.models import JsonlSinkConfig
from alerts.config.reload import LiveConfig
from alerts.engine import Engine
from alerts.errors import FlashpointError
from alerts.metrics import Metrics
from alerts.sinks.base import Sink, build_sinks, sink_factory
from alerts.sinks.dispatch import Dispatcher
from streams.agents import OUTSIDE_SOURCE, Topology, build_topology
from streams.app import create_app
from streams.broker import EmbeddedBroker
from streams.pipeline import Handlers, RunStats, stats_json
from streams.publisher import KafkaPublisher
from streams.sensor import MetricsMonitor
from streams.settings import Settings
from streams.sources import HttpIngest, Source, build_sources
from streams.topics import ALERTS, ARTICLES, BY_TOPIC, TABLES, all_topics, ensure_topics

log = logging.getLogger(__name__)

ALERTS_OUT_SINK = "alerts-out"
DRAIN_POLL_SECONDS = 0.05
DRAIN_QUIET_CHECKS = 10
STREAM_TOPICS = frozenset({ARTICLES, BY_TOPIC, ALERTS})


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
    live = LiveConfig(
        config_paths_from_env(list(options.config)),
        lambda config: Engine(config, metrics),
        metrics,
    )
    live.load_initial()
    sources = build_sources(
        list(options.sources), metrics=metrics, poll_interval=settings.poll_interval
    )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if not stop.is_set():
            log.info("stopping: finishing what is in flight")
            _arm_deadline(settings.shutdown_timeout + 10.0)
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
        dispatcher = Dispatcher(sinks, metrics)
        always = [ALERTS_OUT_SINK] if ALERTS_OUT_SINK in sinks else []
        handlers = Handlers(live, dispatcher, metrics, stats, always_sinks=always)

        app = create_app(settings, broker_url, embedded=embedded)
        app.monitor = MetricsMonitor(metrics)
        topology = build_topology(app, handlers, settings.partitions)
        await app.start()
        stack.push_async_callback(_stop_app, app, settings.shutdown_timeout)

        publisher = KafkaPublisher(broker_url, metrics, stats)
        await publisher.start()
        stack.push_async_callback(publisher.stop)

        source_names = [OUTSIDE_SOURCE, *(source.name for source in sources)]
        listen = options.listen or settings.listen
        if listen:
            host, listen_port = _listen_address(listen)
            token = settings.ingest_token.get_secret_value() if settings.ingest_token else None
            ingest = HttpIngest(publisher, metrics, host=host, port=listen_port, token=token)
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
                await _drain(finite_tasks, stats, stop)
            else:
                await stop.wait()
        finally:
            stop.set()
            for task in source_tasks + background:
                task.cancel()
            await asyncio.gather(*source_tasks, *background, return_exceptions=True)
    if options.stats_out:
        await asyncio.to_thread(Path(options.stats_out).write_text, stats_json(stats) + "\n")
    log.info("stopped: %s", stats.contract())
    return 0


def _listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``:PORT`` (loopback) for ``--listen``."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise FlashpointError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8765")
    return host or "127.0.0.1", int(port)


def _arm_deadline(seconds: float) -> None:
    """Exit the process if a graceful stop takes longer than ``seconds``.

    A faust worker stuck in start-up (a partition mismatch, say) can ignore stop requests
    for many minutes; a thread, unlike the event loop, still runs then.
    """

    def expire() -> None:
        log.error("graceful stop took more than %gs; exiting now", seconds)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()


async def _run_source(source: Source, publisher: KafkaPublisher) -> None:
    try:
        await source.run(publisher)
        await publisher.flush()
    except asyncio.CancelledError:
        raise
    except FlashpointError as exc:
        log.error("source %s stopped: %s", source.name, exc)
    except Exception:
        log.exception("source %s failed", source.name)


async def _drain(finite: list[asyncio.Task[None]], stats: RunStats, stop: asyncio.Event) -> None:
    """Return once every finite source is done and every message went through every stage."""
    if finite:
        stopped = asyncio.create_task(stop.wait())
        pending: set[asyncio.Task[Any]] = {*finite, stopped}
        while not stop.is_set() and any(not task.done() for task in finite):
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
    quiet = 0
    while not stop.is_set() and quiet < DRAIN_QUIET_CHECKS:
        quiet = quiet + 1 if stats.settled() else 0
        await asyncio.sleep(DRAIN_POLL_SECONDS)


async def _start_sinks(sinks: dict[str, Sink], stack: contextlib.AsyncExitStack) -> None:
    for sink in sinks.values():
        await sink.start()
        stack.push_async_callback(sink.stop)


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
