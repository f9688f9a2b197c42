"""When alerts of a grouping or digest route are sent, as Alertmanager groups them.

A route with ``group_by`` batches its alerts by those fields: a new group waits
``group_wait`` for more alerts, then goes out as one message; alerts joining it later wait
until ``group_interval`` after the last send. A route with ``digest`` sends what it
collected once every interval, on the interval's boundary (1h: on the hour, UTC). This is
the pure timing; the streams layer holds the waiting alerts and wakes at
:meth:`Groups.next_due`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from alerts.config.models import Route
from alerts.model import Alert

T = TypeVar("T")
MAX_PER_MESSAGE = 20
"""A batch larger than this goes out as several messages."""

GroupKey = tuple[int, tuple[str, ...], tuple[str, ...]]
"""Route position, the alert's ``group_by`` values, and the sinks."""


@dataclass
class Group(Generic[T]):
    route: Route
    sinks: tuple[str, ...]
    created: float
    flushed: float | None = None
    items: list[T] = field(default_factory=list)

    def due_at(self) -> float:
        """When the group's waiting alerts go out."""
        route = self.route
        if route.digest is not None:
            since = self.created if self.flushed is None else self.flushed
            return (math.floor(since / route.digest) + 1) * route.digest
        if self.flushed is None:
            return self.created + route.group_wait
        return self.flushed + route.group_interval

    def spent(self, now: float) -> bool:
        """Empty, and long enough after its last send that a new alert starts afresh."""
        if self.items or self.flushed is None:
            return False
        quiet = self.route.digest if self.route.digest is not None else self.route.group_interval
        return now - self.flushed >= quiet


@dataclass(frozen=True, slots=True)
class Batch(Generic[T]):
    """Alerts to send now as one message to ``sinks``."""

    sinks: tuple[str, ...]
    items: list[T]


def group_key(position: int, route: Route, alert: Alert, sinks: Sequence[str]) -> GroupKey:
    values = tuple(str(getattr(alert, name)) for name in route.group_by or ())
    return position, values, tuple(sinks)


class Groups(Generic[T]):
    """Waiting alerts (any value per alert: the streams layer keeps its handle) by group."""

    def __init__(self) -> None:
        self._groups: dict[GroupKey, Group[T]] = {}

    def add(self, key: GroupKey, route: Route, item: T, now: float) -> None:
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = Group(route, key[2], now)
        group.items.append(item)

    def waiting(self) -> int:
        return sum(len(g.items) for g in self._groups.values())

    def next_due(self) -> float | None:
        """The earliest time a group has alerts to send, or None."""
        return min((g.due_at() for g in self._groups.values() if g.items), default=None)

    def due(self, now: float) -> list[Batch[T]]:
        """The batches to send at ``now``; their groups start their interval again."""
        batches: list[Batch[T]] = []
        for key, group in list(self._groups.items()):
            if group.items and now >= group.due_at():
                batches += _split(group.sinks, group.items)
                group.items = []
                group.flushed = now
            elif group.spent(now):
                del self._groups[key]
        return batches

    def everything(self) -> list[Batch[T]]:
        """Every waiting alert, now (a drain, a stop): nothing is left behind."""
        batches: list[Batch[T]] = []
        for group in self._groups.values():
            batches += _split(group.sinks, group.items)
        self._groups.clear()
        return batches


def _split(sinks: tuple[str, ...], items: list[T]) -> list[Batch[T]]:
    return [
        Batch(sinks, items[start : start + MAX_PER_MESSAGE])
        for start in range(0, len(items), MAX_PER_MESSAGE)
    ]
