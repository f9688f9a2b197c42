"""What a sink is, and the values that pass between the dispatcher and sinks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from alerts.model import Alert


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at sending a message, and what earlier tries left unknown."""

    number: int = 1
    first_at: float = 0.0
    """Unix time of the first try: a sink looking for an earlier copy searches from here."""
    uncertain: bool = False
    """An earlier try may have arrived (it timed out, say): look before sending again."""


@dataclass(slots=True)
class Post:
    """One message: the alerts it carries (several only when they are about one article,
    for sinks that combine) and, per alert thread key, what the sink stored about that
    thread last time (from the ``deliveries`` table)."""

    alerts: list[Alert]
    stored: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """A stored value ``{"lost": true}`` says an earlier alert of the thread failed here."""


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Work a sink asks for once a message was accepted, such as refreshing a thread's
    first message. Retried like a message, but its failure fails no alert; a newer follow-up
    with the same ``key`` replaces one that has not run yet."""

    key: str
    run: Callable[[Attempt], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Sent:
    """What a sink reports once a message was accepted."""

    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per thread key, what to store so the next alert of that thread finds its place."""
    follow_up: FollowUp | None = None
    posted: bool = True
    """False when there was nothing to send here (a note on a story never routed here)."""


@runtime_checkable
class Sink(Protocol):
    """Somewhere alerts go, one message at a time.

    ``send`` makes one attempt and raises ``SinkError`` when trying again will not help, or
    ``RetriableSinkError`` when it may; the dispatcher does the waiting and retrying. Messages
    with the same ``lane`` (a Slack channel, a webhook URL) share one queue: at most one
    message every ``pace`` seconds, and a ``Retry-After`` holds the whole lane. A message
    waits ``hold`` seconds in its lane so that alerts about the same article can join it
    (when ``combines``) and thread replies queued meanwhile go out in publication order.
    ``stop`` is safe to call twice.
    """

    name: str
    lane: str
    pace: float
    hold: float
    combines: bool

    async def start(self) -> None: ...

    async def send(self, post: Post, attempt: Attempt) -> Sent: ...

    async def stop(self) -> None: ...
