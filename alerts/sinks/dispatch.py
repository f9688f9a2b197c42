"""Deliver alerts through per-lane queues: paced, retried, and each alert given a truthful
outcome.

A lane is what shares one rate limit (a Slack channel, a webhook URL) and has one worker,
so a failing channel or a hanging request holds up only its own lane. In a lane, messages
go out in arrival order and at most one every ``pace`` seconds; thread replies about further
outlets that wait together go out in publication order. ``Retry-After`` holds the lane for
exactly as long as asked. Other retriable failures (5xx, timeouts, dropped connections) are
retried with exponential backoff and equal jitter until the destination has failed for
``RetryPolicy.budget`` seconds; only then is the alert failed (and dead-lettered by the
caller). A ``SinkError`` (invalid_auth, channel_not_found, ...) fails it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts.errors import RetriableSinkError, SinkError
from alerts.metrics import Metrics
from alerts.model import Alert
from alerts.secrets import scrub
from alerts.sinks.types import Attempt, FollowUp, Post, Sent, Sink

log = logging.getLogger(__name__)

MAX_COMBINED = 5
"""At most this many alerts about one article share a message."""
_NOT_POSTED = object()
MAX_LOST = 10_000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long and how often to retry a destination that keeps failing."""

    budget: float = 900.0
    """Seconds a destination may keep failing before an alert is given up on."""
    backoff: float = 1.0
    """Ceiling of the first wait when the destination gave no ``Retry-After``."""
    max_backoff: float = 60.0

    def delay(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1 for the first): between half and all of
        ``min(max_backoff, backoff * 2**(retry-1))``."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (retry - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """Per sink: what it asked to store about the alert's thread, or why it failed.

    ``skipped`` names sinks a route asked for that are not running (a Slack sink left out
    for lack of credentials) or had nothing to send (a note on a story that never went to
    them); they are neither delivered nor failed.
    """

    delivered: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    silenced: bool = False
    """A silence set while the alert waited in a group muted it: not sent anywhere."""

    @property
    def ok(self) -> bool:
        """True when no sink failed."""
        return not self.failed


@dataclass(slots=True)
class _Waiting:
    """One alert waiting in a message for its outcome at one sink."""

    alert: Alert
    stored: dict[str, Any] | None
    outcome: asyncio.Future[tuple[bool, Any]]
    ingested_at: float | None


@dataclass(slots=True)
class _Message:
    sink: Sink
    waiting: list[_Waiting]
    queued: float

    def thread_keys(self) -> set[str]:
        return {_thread_key(w.alert) for w in self.waiting}

    def articles(self) -> set[str]:
        return {str(w.alert.article.get("id")) for w in self.waiting if w.alert.article.get("id")}


@dataclass(slots=True)
class _Refresh:
    sink: Sink
    follow_up: FollowUp


@dataclass(slots=True)
class _Lane:
    name: str
    items: list[_Message | _Refresh] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    not_before: float = 0.0
    last_message: float = -math.inf
    current: _Message | _Refresh | None = None
    worker: asyncio.Task[None] | None = None


class Dispatcher:
    """Sends alerts through running sinks, one queue per lane, and counts every outcome."""

    def __init__(
        self,
        sinks: Mapping[str, Sink],
        metrics: Metrics,
        *,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.sinks = sinks
        self.metrics = metrics
        self.policy = policy or RetryPolicy()
        self._clock = clock
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}
        self._closing = False
        self._lost: OrderedDict[tuple[str, str], None] = OrderedDict()
        """(sink, thread key) whose last message failed: later alerts of the thread know."""

    def submit(
        self,
        alert: Alert,
        sink_names: Sequence[str],
        *,
        threads: Mapping[str, dict[str, Any] | None] | None = None,
        ingested_at: float | None = None,
    ) -> Awaitable[DeliveryReport]:
        """Queue ``alert`` for each named sink now, in call order; await the result for the
        report. ``threads`` maps a sink to what it stored about the alert's thread."""
        stored = {name: {_thread_key(alert): value} for name, value in (threads or {}).items()}
        [report] = self._submit([alert], sink_names, stored, ingested_at)
        return report

    def submit_group(
        self,
        alerts: Sequence[Alert],
        sink_names: Sequence[str],
        *,
        threads: Mapping[str, Mapping[str, dict[str, Any] | None]] | None = None,
        ingested_at: float | None = None,
    ) -> list[Awaitable[DeliveryReport]]:
        """Queue ``alerts`` as one message per sink (a group or a digest listing them all);
        one report per alert. ``threads`` maps a sink to what it stored per thread key."""
        return self._submit(list(alerts), sink_names, threads or {}, ingested_at)

    def _submit(
        self,
        alerts: list[Alert],
        sink_names: Sequence[str],
        threads: Mapping[str, Mapping[str, dict[str, Any] | None]],
        ingested_at: float | None,
    ) -> list[Awaitable[DeliveryReport]]:
        names = list(dict.fromkeys(sink_names))
        skipped = tuple(name for name in names if name not in self.sinks)
        for name in skipped:
            log.debug("alerts %s: sink %r is not running, skipped", alerts[0].id, name)
        loop = asyncio.get_running_loop()
        outcomes: list[dict[str, asyncio.Future[tuple[bool, Any]]]] = [{} for _ in alerts]
        for name in names:
            if name in skipped:
                continue
            if self._closing:  # stopping: left undelivered, for Kafka to deliver again
                for per_alert in outcomes:
                    per_alert[name] = loop.create_future()
                    per_alert[name].cancel()
                continue
            stored = threads.get(name) or {}
            waiting = []
            for alert, per_alert in zip(alerts, outcomes, strict=True):
                outcome: asyncio.Future[tuple[bool, Any]] = loop.create_future()
                per_alert[name] = outcome
                waiting.append(
                    _Waiting(alert, stored.get(_thread_key(alert)), outcome, ingested_at)
                )
            self._enqueue(self.sinks[name], waiting)
        return [self._report(per_alert, skipped) for per_alert in outcomes]

    async def deliver(
        self,
        alert: Alert,
        sink_names: Sequence[str],
        *,
        threads: Mapping[str, dict[str, Any] | None] | None = None,
        ingested_at: float | None = None,
    ) -> DeliveryReport:
        """``submit`` and wait for the report."""
        return await self.submit(alert, sink_names, threads=threads, ingested_at=ingested_at)

    def queued(self) -> int:
        """Alerts waiting in or being sent by any lane."""
        count = 0
        for lane in self._lanes.values():
            items = [*lane.items, *([lane.current] if lane.current else [])]
            count += sum(len(i.waiting) for i in items if isinstance(i, _Message))
        return count

    async def stop(self, grace: float = 0.0) -> int:
        """Stop every lane: attempts in flight get ``grace`` seconds to finish; what is left,
        and what is submitted from now on, is not delivered (awaiting its report raises
        ``CancelledError``; Kafka delivers it again). Returns how many alerts were left."""
        self._closing = True
        workers = [lane.worker for lane in self._lanes.values() if lane.worker is not None]
        for lane in self._lanes.values():
            lane.ready.set()
        if workers and grace > 0:
            await asyncio.wait(workers, timeout=grace)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        left = self.queued()
        for lane in self._lanes.values():
            for item in [*lane.items, *([lane.current] if lane.current else [])]:
                if isinstance(item, _Message):
                    for waiting in item.waiting:
                        waiting.outcome.cancel()
            lane.items.clear()
            lane.current = None
        return left

    # ------------------------------------------------------------------ queueing

    def _enqueue(self, sink: Sink, waiting: list[_Waiting]) -> None:
        lane = self._lanes.get(sink.lane)
        if lane is None:
            lane = self._lanes[sink.lane] = _Lane(sink.lane)
            lane.worker = asyncio.create_task(self._work(lane), name=f"lane:{sink.lane}")
        self.metrics.delivery_queue.labels(sink=sink.name).inc(len(waiting))
        joined = self._joinable(lane, sink, waiting[0].alert) if len(waiting) == 1 else None
        if joined is not None:
            joined.waiting.extend(waiting)
            return
        lane.items.append(_Message(sink, waiting, self._clock()))
        lane.ready.set()

    @staticmethod
    def _joinable(lane: _Lane, sink: Sink, alert: Alert) -> _Message | None:
        """A queued message about the same article this alert can join, if any.

        Never one that would put the alert ahead of an earlier alert of its own thread.
        """
        article = alert.article.get("id")
        if not sink.combines or not article:
            return None
        key = _thread_key(alert)
        messages = [i for i in lane.items if isinstance(i, _Message)]
        for message in messages:
            if (
                message.sink is sink
                and len(message.waiting) < MAX_COMBINED
                and str(article) in message.articles()
                and not any(
                    key in other.thread_keys() for other in messages if other is not message
                )
            ):
                return message
        return None

    async def _report(
        self, outcomes: dict[str, asyncio.Future[tuple[bool, Any]]], skipped: tuple[str, ...]
    ) -> DeliveryReport:
        delivered: dict[str, dict[str, Any] | None] = {}
        failed: dict[str, str] = {}
        for name, outcome in outcomes.items():
            ok, value = await outcome
            if value is _NOT_POSTED:
                skipped += (name,)
            elif ok:
                delivered[name] = value
            else:
                failed[name] = value
        return DeliveryReport(delivered, failed, skipped)

    # ------------------------------------------------------------------ lane worker

    async def _work(self, lane: _Lane) -> None:
        while not self._closing:
            if not lane.items:
                lane.ready.clear()
                await lane.ready.wait()
                continue
            head = lane.items[0]
            if isinstance(head, _Message):
                wait = head.queued + head.sink.hold - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                    continue
                head = _in_publication_order(lane, head)
            lane.items.remove(head)
            lane.current = head  # left set when cancelled, so stop() can cancel its alerts
            await self._send(lane, head)
            lane.current = None

    async def _turn(self, lane: _Lane, item: _Message | _Refresh) -> None:
        """Wait for the lane's Retry-After or backoff, and for its pace before a message."""
        while True:
            at = lane.not_before
            if isinstance(item, _Message):
                at = max(at, lane.last_message + item.sink.pace)
            wait = at - self._clock()
            if wait <= 0:
                return
            await self._sleep(wait)

    async def _send(self, lane: _Lane, item: _Message | _Refresh) -> None:
        sink = item.sink
        first: float | None = None
        first_at = 0.0
        uncertain = False
        retries = 0
        while True:
            await self._turn(lane, item)
            if first is None:
                first, first_at = self._clock(), time.time()
            attempt = Attempt(retries + 1, first_at, uncertain)
            try:
                if isinstance(item, _Message):
                    post = Post(
                        [w.alert for w in item.waiting],
                        {_thread_key(w.alert): self._stored(sink, w) for w in item.waiting},
                    )
                    try:
                        sent = await sink.send(post, attempt)
                    finally:
                        # From the end of the attempt: it may look for an earlier copy
                        # before it posts, so its post can come late in it.
                        lane.last_message = self._clock()
                else:
                    await item.follow_up.run(attempt)
                    return
            except RetriableSinkError as exc:
                self._count_error(sink, exc.code)
                if self._closing:
                    return  # left undelivered: stop() cancels its outcome
                uncertain = uncertain or exc.uncertain
                wait = exc.retry_after
                if wait is None:
                    wait = self.policy.delay(retries + 1)
                elapsed = self._clock() - first
                if elapsed + wait > self.policy.budget:
                    why = f"{exc}; gave up after {_human(elapsed)} and {retries + 1} attempts"
                    self._fail(item, why)
                    return
                retries += 1
                lane.not_before = max(lane.not_before, self._clock() + wait)
                log.warning("sink %r: %s; trying again in %.1fs", sink.name, exc, wait)
                if isinstance(item, _Message):
                    self.metrics.deliveries.labels(sink=sink.name, outcome="retried").inc(
                        len(item.waiting)
                    )
            except SinkError as exc:
                self._count_error(sink, exc.code)
                self._fail(item, str(exc))
                return
            except Exception as exc:  # a sink's bug must not stop its lane
                log.exception("sink %r raised unexpectedly", sink.name)
                self._count_error(sink, "unexpected")
                self._fail(item, f"unexpected {type(exc).__name__}")
                return
            else:
                self._delivered(lane, item, sent)
                return

    def _stored(self, sink: Sink, waiting: _Waiting) -> dict[str, Any] | None:
        if waiting.stored is None and (sink.name, _thread_key(waiting.alert)) in self._lost:
            return {"lost": True}
        return waiting.stored

    def _delivered(self, lane: _Lane, message: _Message, sent: Sent) -> None:
        name = message.sink.name
        if sent.posted:
            for key in message.thread_keys():
                self._lost.pop((name, key), None)
        for waiting in message.waiting:
            self.metrics.delivery_queue.labels(sink=name).dec()
            if not sent.posted:
                self.metrics.deliveries.labels(sink=name, outcome="skipped").inc()
                if not waiting.outcome.done():
                    waiting.outcome.set_result((True, _NOT_POSTED))
                continue
            self.metrics.deliveries.labels(sink=name, outcome="delivered").inc()
            if waiting.ingested_at is not None:
                latency = max(0.0, time.time() - waiting.ingested_at)
                self.metrics.pipeline_latency.labels(sink=name).observe(latency)
            if not waiting.outcome.done():
                waiting.outcome.set_result((True, sent.threads.get(_thread_key(waiting.alert))))
        follow_up = sent.follow_up
        if follow_up is not None and not any(
            isinstance(i, _Refresh) and i.follow_up.key == follow_up.key for i in lane.items
        ):
            lane.items.append(_Refresh(message.sink, follow_up))
            lane.ready.set()

    def _fail(self, item: _Message | _Refresh, reason: str) -> None:
        reason = scrub(reason)  # it quotes the sink's service, and is logged and dead-lettered
        name = item.sink.name
        if isinstance(item, _Refresh):
            log.warning("sink %r: could not refresh %s: %s", name, item.follow_up.key, reason)
            return
        for key in item.thread_keys():
            self._lost[(name, key)] = None
            self._lost.move_to_end((name, key))
        while len(self._lost) > MAX_LOST:
            self._lost.popitem(last=False)
        for waiting in item.waiting:
            self.metrics.delivery_queue.labels(sink=name).dec()
            self.metrics.deliveries.labels(sink=name, outcome="failed").inc()
            log.error("alert %s NOT delivered to sink %r: %s", waiting.alert.id, name, reason)
            if not waiting.outcome.done():
                waiting.outcome.set_result((False, reason))

    def _count_error(self, sink: Sink, code: str) -> None:
        self.metrics.delivery_errors.labels(sink=sink.name, error=code).inc()


def _thread_key(alert: Alert) -> str:
    return alert.thread_key or alert.id


def _in_publication_order(lane: _Lane, head: _Message) -> _Message:
    """Notes of further outlets that wait together in one thread go out oldest article first."""
    if len(head.waiting) != 1 or head.waiting[0].alert.kind != "coverage":
        return head
    key = _thread_key(head.waiting[0].alert)
    notes = [
        item
        for item in lane.items
        if isinstance(item, _Message)
        and item.sink is head.sink
        and len(item.waiting) == 1
        and item.waiting[0].alert.kind == "coverage"
        and _thread_key(item.waiting[0].alert) == key
    ]
    return min(notes, key=lambda item: _published(item.waiting[0].alert))


def _published(alert: Alert) -> float:
    """When the alert's article was published (Unix time); unknown sorts last."""
    value = alert.article.get("published")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return math.inf


def _human(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{seconds:.1f}s"
