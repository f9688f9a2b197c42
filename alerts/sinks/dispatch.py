"""Deliver one alert to the sinks a route names, retrying what is worth retrying.

``RetriableSinkError`` is retried with exponential backoff and equal jitter (the wait before
retry *n* is between half and all of ``min(max_backoff, backoff * 2**(n-1))``), up to
``attempts`` tries in all; ``SinkError`` fails at once. Sinks are delivered to concurrently,
so a slow webhook never holds up Slack.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from alerts.errors import RetriableSinkError, SinkError
from alerts.metrics import Metrics
from alerts.model import Alert
from alerts.secrets import scrub
from alerts.sinks.base import Sink

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Per sink: the thread reference it returned, or why it failed.

    ``skipped`` names sinks a route asked for that are not running (a Slack sink left out
    for lack of credentials); they are neither delivered nor failed.
    """

    delivered: dict[str, str | None] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no sink failed."""
        return not self.failed


class Dispatcher:
    """Sends alerts through running sinks and counts every outcome."""

    def __init__(
        self,
        sinks: Mapping[str, Sink],
        metrics: Metrics,
        *,
        attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.sinks = sinks
        self.metrics = metrics
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep

    def delay(self, retry: int) -> float:
        """How long to wait before retry number ``retry`` (1 for the first retry)."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (retry - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    async def deliver(
        self,
        alert: Alert,
        sink_names: Sequence[str],
        *,
        threads: Mapping[str, str] | None = None,
        ingested_at: float | None = None,
    ) -> DeliveryReport:
        """Deliver ``alert`` to each named sink; ``threads`` maps a sink to a thread ref."""
        threads = threads or {}
        names = list(dict.fromkeys(sink_names))
        running = [name for name in names if name in self.sinks]
        skipped = tuple(name for name in names if name not in self.sinks)
        for name in skipped:
            log.debug("alert %s: sink %r is not running, skipped", alert.id, name)
        results = await asyncio.gather(
            *(self._deliver_one(alert, name, threads.get(name), ingested_at) for name in running)
        )
        report = DeliveryReport(skipped=skipped)
        for name, (ok, value) in zip(running, results, strict=True):
            if ok:
                report.delivered[name] = value
            else:
                assert value is not None
                report.failed[name] = value
        return report

    async def _deliver_one(
        self, alert: Alert, name: str, thread: str | None, ingested_at: float | None
    ) -> tuple[bool, str | None]:
        sink = self.sinks[name]
        for attempt in range(1, self.attempts + 1):
            try:
                ref = await sink.send(alert, thread=thread)
            except RetriableSinkError as exc:
                if attempt == self.attempts:
                    return self._failed(alert, name, f"{exc} (gave up after {attempt} attempts)")
                self.metrics.deliveries.labels(sink=name, outcome="retried").inc()
                wait = self.delay(attempt)
                log.info("alert %s: sink %r: %s; retrying in %.2fs", alert.id, name, exc, wait)
                await self._sleep(wait)
            except SinkError as exc:
                return self._failed(alert, name, str(exc))
            except Exception as exc:
                log.exception("alert %s: sink %r raised unexpectedly", alert.id, name)
                return self._failed(alert, name, f"unexpected {type(exc).__name__}")
            else:
                self.metrics.deliveries.labels(sink=name, outcome="delivered").inc()
                if ingested_at is not None:
                    latency = max(0.0, time.time() - ingested_at)
                    self.metrics.pipeline_latency.labels(sink=name).observe(latency)
                return True, ref
        raise AssertionError("unreachable: the last attempt always returns")

    def _failed(self, alert: Alert, name: str, reason: str) -> tuple[bool, str]:
        reason = scrub(reason)  # it quotes the sink's service, and is logged and dead-lettered
        self.metrics.deliveries.labels(sink=name, outcome="failed").inc()
        log.warning("alert %s: sink %r failed: %s", alert.id, name, reason)
        return False, reason
