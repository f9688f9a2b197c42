"""Alerts of grouping and digest routes, held until their group is due, then sent as one
message per sink through the dispatcher (``submit_group``).

The timing is :class:`alerts.grouping.Groups`; this holds each waiting alert's outcome and
wakes when the next group is due. An alert's Kafka message is acknowledged only once its
group was sent, so a worker that dies while alerts wait loses none: Kafka delivers them
again to the next worker. The groups are per worker process (alerts are keyed by thread,
not by group), so with several workers a burst can become one message per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerts.config.models import Route
from alerts.grouping import Batch, Groups, group_key
from alerts.model import Alert
from alerts.sinks.dispatch import DeliveryReport, Dispatcher

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Held:
    alert: Alert
    threads: Mapping[str, dict[str, Any] | None]
    ingested_at: float | None
    report: asyncio.Future[DeliveryReport]


class Batcher:
    """Holds alerts of batching routes until their group is due."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        silenced: Callable[[Alert, float], bool],
        *,
        on_silenced: Callable[[Alert], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._dispatcher = dispatcher
        self._silenced = silenced
        self._on_silenced = on_silenced
        self._clock = clock
        self._groups: Groups[_Held] = Groups()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(
        self,
        alert: Alert,
        position: int,
        route: Route,
        sinks: Sequence[str],
        *,
        threads: Mapping[str, dict[str, Any] | None],
        ingested_at: float | None,
    ) -> Awaitable[DeliveryReport]:
        """Hold ``alert`` in its group; the result is its report once the group was sent."""
        report: asyncio.Future[DeliveryReport] = asyncio.get_running_loop().create_future()
        held = _Held(alert, threads, ingested_at, report)
        self._groups.add(group_key(position, route, alert, sinks), route, held, self._clock())
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="batcher")
        self._wake.set()
        return report

    def waiting(self) -> int:
        return self._groups.waiting()

    def flush_all(self) -> int:
        """Send every waiting alert now; how many there were."""
        batches = self._groups.everything()
        for batch in batches:
            self._send(batch)
        return sum(len(b.items) for b in batches)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            due = self._groups.next_due()
            self._wake.clear()
            if due is None:
                await self._wake.wait()
                continue
            wait = due - self._clock()
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                continue
            for batch in self._groups.due(self._clock()):
                self._send(batch)

    def _send(self, batch: Batch[_Held]) -> None:
        now = self._clock()
        items = []
        for held in batch.items:
            if self._silenced(held.alert, now):  # silenced while it waited
                self._on_silenced(held.alert)
                held.report.set_result(DeliveryReport(silenced=True))
            else:
                items.append(held)
        if not items:
            return
        threads: dict[str, dict[str, dict[str, Any] | None]] = {}
        for held in items:
            key = held.alert.thread_key or held.alert.id
            for sink, stored in held.threads.items():
                threads.setdefault(sink, {})[key] = stored
        ingested = [h.ingested_at for h in items if h.ingested_at is not None]
        reports = self._dispatcher.submit_group(
            [h.alert for h in items],
            batch.sinks,
            threads=threads,
            ingested_at=min(ingested) if ingested else None,
        )
        for held, report in zip(items, reports, strict=True):
            _chain(report, held.report)


def _chain(source: Awaitable[DeliveryReport], target: asyncio.Future[DeliveryReport]) -> None:
    async def relay() -> None:
        try:
            target.set_result(await source)
        except BaseException as exc:  # cancelled at a stop: Kafka delivers it again
            if not target.done():
                if isinstance(exc, asyncio.CancelledError):
                    target.cancel()
                else:
                    target.set_exception(exc)

    task = asyncio.ensure_future(relay())
    _RELAYS.add(task)
    task.add_done_callback(_RELAYS.discard)


_RELAYS: set[asyncio.Future[None]] = set()
