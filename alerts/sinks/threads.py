"""Where an alert goes in a Slack channel: a new message, or a reply in its thread.

Alerts with one thread key (a story, a topic's escalation, a frequency rule on a topic) form
a thread:

- The first alert of a thread is a new message in the channel; later ones are replies, and
  the first message is refreshed (``chat.update``) to show the thread's current level,
  outlets and latest time.
- A rise of a topic's level to WARNING or CRITICAL above what its thread shows is always a
  new message, so the worst news is never buried in an old thread; the thread moves to it.
- A reply more severe than anything its thread has shown, at warning or critical, is also
  sent to the channel (``reply_broadcast``).
- A thread ends when its escalation level falls back to none, or once it is older than the
  sink's ``thread_max_age``; the next alert starts a new one.
- A note that another outlet carries a story belongs under the story's message only. When
  that message failed here (``lost``), the note fails too rather than stand alone in the
  channel; when the story was never routed here, there is nothing to note, and the note
  is not posted (nor is that a failure).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts.errors import SinkError
from alerts.model import Alert

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
LEVEL_RANK = {"none": 0, "watch": 1, "warning": 2, "critical": 3}
MAX_ITEMS = 5


@dataclass
class Thread:
    """A message in a channel and its replies: where it is and what its first message shows."""

    channel: str
    ts: str
    started: float
    """Unix time the first message was posted."""
    items: list[dict[str, Any]] = field(default_factory=list)
    """The alerts the first message shows (alert JSON), to draw it again when refreshed."""
    severity: str = "info"
    """The most severe alert the thread has shown in the channel."""
    level: str | None = None
    """The escalation level last reported in the thread."""
    outlets: int = 1
    latest: float | None = None
    """Publication time (Unix) of the newest article in the thread."""
    ended: bool = False
    version: int = 0
    """Grows with every change, so the newer of two copies of a thread wins."""

    @property
    def ref(self) -> str:
        return f"{self.channel}:{self.ts}"

    def live(self, now: float, max_age: float) -> bool:
        """Whether later alerts still go in this thread."""
        return not self.ended and now - self.started < max_age

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "ts": self.ts,
            "started": self.started,
            "items": list(self.items),
            "severity": self.severity,
            "level": self.level,
            "outlets": self.outlets,
            "latest": self.latest,
            "ended": self.ended,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: object) -> Thread | None:
        """A stored thread, or None; ``"channel:ts"`` (the older record shape) is accepted."""
        if isinstance(data, str):
            channel, sep, ts = data.partition(":")
            return cls(channel, ts, 0.0) if sep and ts else None
        if not isinstance(data, dict) or not data.get("ts") or not data.get("channel"):
            return None
        return cls(
            channel=str(data["channel"]),
            ts=str(data["ts"]),
            started=float(data.get("started") or 0.0),
            items=[i for i in data.get("items") or [] if isinstance(i, dict)],
            severity=str(data.get("severity") or "info"),
            level=data.get("level"),
            outlets=int(data.get("outlets") or 1),
            latest=data.get("latest"),
            ended=bool(data.get("ended")),
            version=int(data.get("version") or 0),
        )


@dataclass(frozen=True, slots=True)
class Placement:
    """A new message in the channel (``parent`` None), or a reply under ``parent``."""

    parent: Thread | None = None
    broadcast: bool = False


def lead(alerts: Sequence[Alert]) -> Alert:
    """The alert a message is about: the most severe, the first among equals."""
    return max(
        alerts, key=lambda a: (SEVERITY_RANK.get(a.severity, 0), LEVEL_RANK.get(a.level or "", 0))
    )


def place(
    alert: Alert, thread: Thread | None, *, now: float, max_age: float, lost: bool = False
) -> Placement | None:
    """Where ``alert`` goes given its thread (see the module docstring for the rules); None
    when there is nothing to post. ``lost``: an earlier alert of the thread failed here."""
    if alert.kind == "coverage":
        if thread is not None:
            return Placement(thread)
        if lost:
            raise SinkError(
                "a note of further coverage has no story message to go under "
                "(the story's first message was not delivered)",
                code="no_parent",
            )
        return None
    if thread is None or not thread.live(now, max_age):
        return Placement()
    if alert.level in ("warning", "critical") and LEVEL_RANK[alert.level] > LEVEL_RANK.get(
        thread.level or "none", 0
    ):
        return Placement()
    rank = SEVERITY_RANK.get(alert.severity, 0)
    return Placement(thread, broadcast=rank >= 1 and rank > SEVERITY_RANK.get(thread.severity, 0))


def started(alerts: Sequence[Alert], channel: str, ts: str, now: float, version: int) -> Thread:
    """The thread a new message starts."""
    thread = Thread(channel, ts, now, items=[a.to_dict() for a in alerts[:MAX_ITEMS]])
    thread.severity = lead(alerts).severity
    thread.version = version
    advance(thread, alerts)
    return thread


def advance(thread: Thread, alerts: Sequence[Alert], *, broadcast: bool = False) -> None:
    """What the thread shows after ``alerts`` went into it."""
    if broadcast:
        shown = lead(alerts).severity
        if SEVERITY_RANK.get(shown, 0) > SEVERITY_RANK.get(thread.severity, 0):
            thread.severity = shown
    for alert in alerts:
        thread.outlets = max(thread.outlets, alert.sources)
        published = published_at(alert)
        if published is not None and (thread.latest is None or published > thread.latest):
            thread.latest = published
        if alert.level is not None:
            thread.level = alert.level
            thread.ended = thread.ended or alert.level == "none"
    thread.version += 1


def published_at(alert: Alert) -> float | None:
    """When the alert's article was published (Unix time), else when the alert was made."""
    for value in (alert.article.get("published"), alert.created_at):
        if isinstance(value, str) and value:
            with contextlib.suppress(ValueError):
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
                if moment.tzinfo is not None:
                    return moment.timestamp()
    return None
