"""The Dispatcher: retries, backoff, failures, threads and the metrics they leave behind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest

from alerts.errors import ConfigError, RetriableSinkError, SinkError
from alerts.metrics import Metrics
from alerts.model import Alert
from alerts.sinks import Dispatcher, Sink
from alerts.sinks.base import sink_factory

ALERT = Alert(
    id="d15pa7c40001",
    rule="new-commitment",
    kind="commitment",
    severity="info",
    topic="global",
    title="Ministry pledges new coastal radar sites",
    summary="New commitment by the ministry.",
    evidence=(),
    article={"id": "art-3", "url": "https://wire.example/radar"},
    created_at="2024-07-01T00:00:00Z",
)


class ScriptedSink:
    """A sink that raises the given errors in turn, then succeeds with ``ref``."""

    def __init__(self, name: str, script: Sequence[Exception] = (), ref: str | None = None):
        self.name = name
        self.script = list(script)
        self.ref = ref
        self.sent: list[tuple[str, str | None]] = []

    async def start(self) -> None:
        return None

    async def send(self, alert: Alert, *, thread: str | None = None) -> str | None:
        self.sent.append((alert.id, thread))
        if self.script:
            raise self.script.pop(0)
        return self.ref

    async def stop(self) -> None:
        return None


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def count(metrics: Metrics, sink: str, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "flashpoint_deliveries_total", {"sink": sink, "outcome": outcome}
    )
    return 0.0 if value is None else value


def test_scripted_sink_satisfies_the_protocol() -> None:
    assert isinstance(ScriptedSink("x"), Sink)


async def test_retriable_errors_are_retried_with_growing_jittered_backoff() -> None:
    metrics, sleeps = Metrics(), Sleeps()
    sink = ScriptedSink("slack", [RetriableSinkError("HTTP 503")] * 3, ref="C1:1.0")
    dispatcher = Dispatcher({"slack": sink}, metrics, backoff=0.5, sleep=sleeps)

    report = await dispatcher.deliver(ALERT, ["slack"])

    assert report.delivered == {"slack": "C1:1.0"}
    assert report.failed == {}
    assert len(sink.sent) == 4
    for wait, ceiling in zip(sleeps.waits, [0.5, 1.0, 2.0], strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert count(metrics, "slack", "retried") == 3
    assert count(metrics, "slack", "delivered") == 1
    assert count(metrics, "slack", "failed") == 0


async def test_backoff_is_capped() -> None:
    sleeps = Sleeps()
    sink = ScriptedSink("hook", [RetriableSinkError("timeout")] * 9)
    dispatcher = Dispatcher(
        {"hook": sink}, Metrics(), attempts=10, backoff=1.0, max_backoff=4.0, sleep=sleeps
    )
    await dispatcher.deliver(ALERT, ["hook"])
    assert len(sleeps.waits) == 9
    assert all(2.0 <= wait <= 4.0 for wait in sleeps.waits[2:])


async def test_gives_up_after_the_last_attempt() -> None:
    metrics, sleeps = Metrics(), Sleeps()
    sink = ScriptedSink("slack", [RetriableSinkError("HTTP 429")] * 5)
    report = await Dispatcher({"slack": sink}, metrics, attempts=3, sleep=sleeps).deliver(
        ALERT, ["slack"]
    )
    assert report.failed == {"slack": "HTTP 429 (gave up after 3 attempts)"}
    assert not report.ok
    assert len(sink.sent) == 3
    assert len(sleeps.waits) == 2
    assert count(metrics, "slack", "retried") == 2
    assert count(metrics, "slack", "failed") == 1
    assert count(metrics, "slack", "delivered") == 0


async def test_a_sink_error_fails_at_once() -> None:
    metrics, sleeps = Metrics(), Sleeps()
    sink = ScriptedSink("slack", [SinkError("Slack chat.postMessage failed: invalid_auth")])
    report = await Dispatcher({"slack": sink}, metrics, sleep=sleeps).deliver(ALERT, ["slack"])
    assert report.failed == {"slack": "Slack chat.postMessage failed: invalid_auth"}
    assert len(sink.sent) == 1
    assert sleeps.waits == []
    assert count(metrics, "slack", "failed") == 1
    assert count(metrics, "slack", "retried") == 0


async def test_an_unexpected_exception_fails_that_sink_only() -> None:
    metrics = Metrics()
    broken = ScriptedSink("broken", [KeyError("x")])
    audit = ScriptedSink("audit")
    report = await Dispatcher({"broken": broken, "audit": audit}, metrics).deliver(
        ALERT, ["broken", "audit"]
    )
    assert report.failed == {"broken": "unexpected KeyError"}
    assert report.delivered == {"audit": None}


async def test_each_sink_gets_its_own_thread_and_missing_sinks_are_skipped() -> None:
    slack, audit = ScriptedSink("slack", ref="C1:2.0"), ScriptedSink("audit")
    report = await Dispatcher({"slack": slack, "audit": audit}, Metrics()).deliver(
        ALERT, ["slack", "audit", "slack-oncall", "slack"], threads={"slack": "C1:1.0"}
    )
    assert slack.sent == [(ALERT.id, "C1:1.0")]
    assert audit.sent == [(ALERT.id, None)]
    assert report.delivered == {"slack": "C1:2.0", "audit": None}
    assert report.skipped == ("slack-oncall",)
    assert report.ok


async def test_a_slow_sink_does_not_hold_up_the_others() -> None:
    release = asyncio.Event()
    order: list[str] = []

    class Slow(ScriptedSink):
        async def send(self, alert: Alert, *, thread: str | None = None) -> str | None:
            await release.wait()
            order.append(self.name)
            return None

    class Fast(ScriptedSink):
        async def send(self, alert: Alert, *, thread: str | None = None) -> str | None:
            order.append(self.name)
            release.set()
            return None

    sinks: dict[str, Any] = {"slow": Slow("slow"), "fast": Fast("fast")}
    report = await asyncio.wait_for(
        Dispatcher(sinks, Metrics()).deliver(ALERT, ["slow", "fast"]), timeout=5
    )
    assert order == ["fast", "slow"]
    assert set(report.delivered) == {"slow", "fast"}


async def test_pipeline_latency_is_observed_on_success_only() -> None:
    metrics = Metrics()
    sinks = {"ok": ScriptedSink("ok"), "bad": ScriptedSink("bad", [SinkError("no")])}
    await Dispatcher(sinks, metrics).deliver(ALERT, ["ok", "bad"], ingested_at=time.time() - 2)
    registry = metrics.registry
    name = "flashpoint_pipeline_latency_seconds"
    assert registry.get_sample_value(f"{name}_count", {"sink": "ok"}) == 1
    observed = registry.get_sample_value(f"{name}_sum", {"sink": "ok"})
    assert observed is not None
    assert 2.0 <= observed < 10.0
    assert registry.get_sample_value(f"{name}_bucket", {"sink": "ok", "le": "1.5"}) == 0
    assert registry.get_sample_value(f"{name}_count", {"sink": "bad"}) is None


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        Dispatcher({}, Metrics(), attempts=0)


def test_an_unknown_sink_type_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown sink type 'pager'.*console, jsonl, slack"):
        sink_factory("pager")
