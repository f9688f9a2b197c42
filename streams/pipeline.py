"""What each agent does with one message, free of faust so it can be read and tested alone.

The three stages of ../DESIGN.md: ``triage`` (validate, de-duplicate, key by watch topic),
``detect`` (rules and per-topic state) and ``notify`` (route, deliver once). Each returns
what to send on; the agents in :mod:`streams.agents` do the sending. Anything that cannot
be processed becomes a :class:`DeadLetter`, never an exception out of an agent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from alerts.articles import Article, article_from_mapping, dedupe_keys, parse_article
from alerts.engine import Engine
from alerts.errors import InvalidArticle
from alerts.metrics import Metrics
from alerts.model import Alert
from alerts.rules import Analysis
from alerts.sinks.dispatch import DeliveryReport, Dispatcher
from alerts.state import TopicState

log = logging.getLogger(__name__)

SEEN_MEMORY_SECONDS = 7 * 86400.0
RECENT_ANALYSES = 256
DEADLETTER_VALUE_BYTES = 256 * 1024
"""Dead letters carry at most this much of the value; ``origin`` points at the full record."""
MAX_DELIVERED_IDS = 500
MAX_PARTIAL = 100


class EngineSource(Protocol):
    """Where the current compiled rule set comes from (swapped on hot reload)."""

    @property
    def current(self) -> Engine: ...


@dataclass
class RunStats:
    """The run's counters (``--stats-out``) and the flow counts ``--drain`` waits on."""

    articles: int = 0
    duplicates: int = 0
    deadlettered: int = 0
    matches: int = 0
    alerts: int = 0
    delivered: int = 0
    failed: int = 0
    published: int = 0
    triaged: int = 0
    routed: int = 0
    detected: int = 0
    alerts_sent: int = 0
    notified: int = 0

    def contract(self) -> dict[str, int]:
        """The counters ``--stats-out`` writes."""
        keys = (
            "articles",
            "duplicates",
            "deadlettered",
            "matches",
            "alerts",
            "delivered",
            "failed",
        )
        return {key: getattr(self, key) for key in keys}

    def settled(self) -> bool:
        """Every message produced by this process has been through every stage."""
        return (
            self.published == self.triaged
            and self.routed == self.detected
            and self.alerts_sent == self.notified
        )


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be processed, with why; sent to flashpoint.deadletter."""

    stage: str
    reason: str
    detail: str
    value: bytes
    key: bytes | None = None
    origin: str = ""

    def to_json(self) -> bytes:
        record: dict[str, Any] = {
            "stage": self.stage,
            "reason": self.reason,
            "detail": self.detail,
            "origin": self.origin,
            "key": self.key.decode("utf-8", "replace") if self.key else None,
            "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        value = self.value[:DEADLETTER_VALUE_BYTES]
        if len(self.value) > len(value):
            record["value_bytes"] = len(self.value)
            record["value_sha256"] = hashlib.sha256(self.value).hexdigest()
            record["value_truncated"] = True
        try:
            record["value"] = value.decode("utf-8")
        except UnicodeDecodeError:
            record["value_base64"] = base64.b64encode(value).decode()
        return json.dumps(record, ensure_ascii=False).encode()


@dataclass(frozen=True)
class Outgoing:
    key: bytes
    value: bytes


@dataclass
class Outcome:
    """What one message turned into."""

    forward: list[Outgoing] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)


@dataclass
class DeliveryRecord:
    """What the ``deliveries`` table keeps per thread key.

    ``ids``: alerts every routed sink accepted (a replay of one is skipped). ``partial``:
    for an alert that failed somewhere, the sinks that did accept it (a replay of its dead
    letter goes only to the others). ``threads``: per sink, where the thread is in it.
    ``lost``: sinks where an alert of the thread failed before the thread had a message
    there (a note on that story then fails instead of standing alone).
    """

    ids: list[str] = field(default_factory=list)
    partial: dict[str, list[str]] = field(default_factory=dict)
    threads: dict[str, Any] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, stored: Mapping[str, Any] | None) -> DeliveryRecord:
        if not stored:
            return cls()
        # "refs" is the shape before threads were kept per sink: {sink: "channel:ts"}.
        threads = stored.get("threads") or stored.get("refs") or {}
        return cls(
            ids=list(stored.get("ids") or []),
            partial={k: list(v) for k, v in (stored.get("partial") or {}).items()},
            threads=dict(threads),
            lost=list(stored.get("lost") or []),
        )

    def stored_threads(self) -> dict[str, Any]:
        """What each sink is given about the thread."""
        stored = dict(self.threads)
        for sink in self.lost:
            stored.setdefault(sink, {"lost": True})
        return stored

    def keep_thread(self, sink: str, state: dict[str, Any]) -> None:
        """Store ``state`` unless what is stored is newer (alerts finish out of order)."""
        stored = self.threads.get(sink)
        if isinstance(stored, dict) and int(stored.get("version") or 0) > int(
            state.get("version") or 0
        ):
            return
        self.threads[sink] = state
        if sink in self.lost:
            self.lost.remove(sink)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ids": self.ids,
            "partial": self.partial,
            "threads": self.threads,
            "lost": self.lost,
        }


class Handlers:
    """The per-message logic of the three agents."""

    def __init__(
        self,
        engine: EngineSource,
        dispatcher: Dispatcher,
        metrics: Metrics,
        stats: RunStats,
        *,
        after_sinks: Sequence[str] = (),
    ) -> None:
        self.engine = engine
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.stats = stats
        self.after_sinks = list(after_sinks)
        """Sinks an alert goes to once its routes delivered it (``--alerts-out``)."""
        self._recent: dict[str, tuple[Engine, Analysis]] = {}

    def _analysis(self, engine: Engine, article: Article) -> Analysis:
        """An article fanned out to several watch topics is analysed once, not per topic."""
        cached = self._recent.get(article.id)
        if cached is not None and cached[0] is engine and cached[1].article == article:
            return cached[1]
        analysis = engine.analyze(article)
        self._recent[article.id] = (engine, analysis)
        if len(self._recent) > RECENT_ANALYSES:
            del self._recent[next(iter(self._recent))]
        return analysis

    def dead(self, letter: DeadLetter) -> DeadLetter:
        self.metrics.deadlettered.labels(letter.stage, letter.reason).inc()
        self.stats.deadlettered += 1
        log.warning("dead-lettered at %s: %s: %s", letter.stage, letter.reason, letter.detail)
        return letter

    def triage(
        self,
        raw: bytes,
        *,
        source: str,
        ingested_at: float,
        seen: MutableMapping[str, float],
        now: float | None = None,
    ) -> Outcome:
        """Validate, de-duplicate and fan out to each watch topic the article is about."""
        moment = time.time() if now is None else now
        try:
            article = parse_article(raw, default_source=None)
        except InvalidArticle as exc:
            return Outcome(dead=[self.dead(DeadLetter("triage", exc.reason, exc.detail, raw))])
        keys = dedupe_keys(article)
        for key in keys:
            first = seen.get(key)
            if first is not None and moment - first < SEEN_MEMORY_SECONDS:
                kind = key.split(":", 1)[0]
                self.metrics.duplicates.labels(kind).inc()
                self.stats.duplicates += 1
                return Outcome()
        for key in keys:
            seen[key] = moment
        topics = self.engine.current.topics_of(article)
        envelope = {"article": article.to_dict(), "ingested_at": ingested_at, "source": source}
        forward = []
        for topic in topics:
            value = json.dumps({"topic": topic, **envelope}, ensure_ascii=False).encode()
            forward.append(Outgoing(topic.encode(), value))
        return Outcome(forward=forward)

    def detect(
        self,
        raw: bytes,
        *,
        states: MutableMapping[str, Any],
        now: float | None = None,
    ) -> Outcome:
        """Run the topic's rules on the article and keep the topic's state."""
        moment = time.time() if now is None else now
        try:
            envelope = json.loads(raw)
            topic = str(envelope["topic"])
            article = article_from_mapping(envelope["article"])
            ingested_at = float(envelope.get("ingested_at") or moment)
        except InvalidArticle as exc:
            return Outcome(dead=[self.dead(DeadLetter("detect", exc.reason, exc.detail, raw))])
        except (ValueError, KeyError, TypeError) as exc:
            return Outcome(
                dead=[self.dead(DeadLetter("detect", "invalid_envelope", repr(exc), raw))]
            )
        engine = self.engine.current
        analysis = self._analysis(engine, article)
        self.stats.matches += analysis.match_count
        stored = states.get(topic)
        state = TopicState.from_dict(stored)
        alerts = engine.decide(topic, analysis, state, moment)
        updated = state.to_dict()
        if updated != stored:  # most news changes nothing: skip the changelog write
            states[topic] = updated
        self.stats.alerts += len(alerts)
        forward = []
        for alert in alerts:
            value = json.dumps(
                {"alert": alert.to_dict(), "ingested_at": ingested_at}, ensure_ascii=False
            ).encode()
            forward.append(Outgoing((alert.thread_key or alert.id).encode(), value))
        return Outcome(forward=forward)

    def notify(self, raw: bytes, *, deliveries: MutableMapping[str, Any]) -> Awaitable[Outcome]:
        """Queue one alert for its routes' sinks now, in arrival order, so a thread's first
        message goes before its replies. The result finishes once every sink has an
        outcome and it is recorded: only an alert every sink accepted is marked delivered
        (and written to ``after_sinks``); one that failed anywhere is dead-lettered."""
        try:
            envelope = json.loads(raw)
            alert = Alert.from_dict(envelope["alert"])
            ingested_at = envelope.get("ingested_at")
            ingested = float(ingested_at) if ingested_at is not None else None
        except (ValueError, KeyError, TypeError) as exc:
            letter = self.dead(DeadLetter("notify", "invalid_envelope", repr(exc), raw))
            return _ready(Outcome(dead=[letter]))
        key = alert.thread_key or alert.id
        record = DeliveryRecord.load(deliveries.get(key))
        if alert.id in record.ids:
            self.metrics.suppressed.labels(alert.rule, "already_delivered").inc()
            return _ready(Outcome())
        accepted = set(record.partial.get(alert.id, ()))
        names = [n for n in self.engine.current.decisions.route(alert) if n not in accepted]
        threads = record.stored_threads()
        pending = self.dispatcher.submit(alert, names, threads=threads, ingested_at=ingested)
        return self._settle(alert, raw, key, pending, deliveries, ingested)

    async def _settle(
        self,
        alert: Alert,
        raw: bytes,
        key: str,
        pending: Awaitable[DeliveryReport],
        deliveries: MutableMapping[str, Any],
        ingested_at: float | None,
    ) -> Outcome:
        report = await pending
        if report.ok and self.after_sinks:
            after = await self.dispatcher.submit(alert, self.after_sinks, ingested_at=ingested_at)
            report = DeliveryReport(
                {**report.delivered, **after.delivered},
                dict(after.failed),
                report.skipped + after.skipped,
            )
        # Read again: other alerts of this thread may have finished while this one waited.
        record = DeliveryRecord.load(deliveries.get(key))
        for sink, state in report.delivered.items():
            if state:
                record.keep_thread(sink, state)
        if report.failed:
            record.lost += [s for s in report.failed if s not in (*record.threads, *record.lost)]
            done = set(record.partial.get(alert.id, ())) | set(report.delivered)
            if done:
                record.partial[alert.id] = sorted(done)
                for stale in list(record.partial)[:-MAX_PARTIAL]:
                    del record.partial[stale]
            deliveries[key] = record.to_dict()
            self.stats.failed += 1
            detail = "; ".join(f"{sink}: {why}" for sink, why in report.failed.items())
            letter = DeadLetter("notify", "sink_failed", detail, raw, key.encode())
            return Outcome(dead=[self.dead(letter)])
        record.partial.pop(alert.id, None)
        record.ids = [*record.ids, alert.id][-MAX_DELIVERED_IDS:]
        deliveries[key] = record.to_dict()
        self.stats.delivered += 1
        return Outcome()


async def _ready(outcome: Outcome) -> Outcome:
    return outcome


def stats_json(stats: RunStats) -> str:
    return json.dumps(stats.contract(), indent=2, sort_keys=True)
