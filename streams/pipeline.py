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
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from alerts.articles import Article, article_from_mapping, dedupe_keys, parse_article
from alerts.engine import Engine
from alerts.errors import InvalidArticle
from alerts.metrics import Metrics
from alerts.model import Alert
from alerts.rules import Analysis
from alerts.secrets import scrub
from alerts.sinks.dispatch import DeliveryReport, Dispatcher
from alerts.state import StoredState
from alerts.topics import GLOBAL_TOPIC
from streams.batching import Batcher

log = logging.getLogger(__name__)

SEEN_MEMORY_SECONDS = 7 * 86400.0
RECENT_ANALYSES = 2048
DEADLETTER_VALUE_BYTES = 256 * 1024
"""Dead letters carry at most this much of the value, measured after JSON escaping, so a
letter always fits the producer's 1 MB request; ``origin`` points at the full record."""
DEADLETTER_DETAIL_CHARS = 2_000
MAX_DELIVERED_IDS = 500
MAX_PARTIAL = 100


class EngineSource(Protocol):
    """Where the current compiled rule set comes from (swapped on hot reload)."""

    @property
    def current(self) -> Engine: ...


@dataclass
class RunStats:
    """The run's counters (``--stats-out``) and the flow counts ``--drain`` waits on.

    Intake: every record a source hands in is ``read``, then either ``published`` (the broker
    acknowledged it) or ``publish_failed``; ``read_errors`` counts input that could not be
    read at all, ``send_failed`` records an agent sent on or dead-lettered that the broker
    refused, ``in_flight`` those not yet acknowledged. ``articles`` counts
    records triage accepted as articles (duplicates among them), ``deadlettered`` everything
    dead-lettered at any stage.
    """

    read: int = 0
    published: int = 0
    publish_failed: int = 0
    read_errors: int = 0
    send_failed: int = 0
    in_flight: int = 0
    articles: int = 0
    duplicates: int = 0
    deadlettered: int = 0
    matches: int = 0
    alerts: int = 0
    delivered: int = 0
    failed: int = 0
    triaged: int = 0
    routed: int = 0
    detected: int = 0
    alerts_sent: int = 0
    notified: int = 0

    def contract(self) -> dict[str, int]:
        """The counters ``--stats-out`` writes: DESIGN's seven, then the intake's."""
        keys = (
            "articles",
            "duplicates",
            "deadlettered",
            "matches",
            "alerts",
            "delivered",
            "failed",
            "read",
            "published",
            "publish_failed",
            "read_errors",
            "send_failed",
        )
        return {key: getattr(self, key) for key in keys}

    def intake_settled(self) -> bool:
        """Every record read has been acknowledged by the broker or counted as failed."""
        return self.read == self.published + self.publish_failed

    def input_lost(self) -> bool:
        """Some input was never stored: unreadable, refused by the broker, or lost between
        stages (a record sent on or a dead letter the broker would not take)."""
        return self.read_errors > 0 or self.publish_failed > 0 or self.send_failed > 0


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be processed, with why; sent to flashpoint.deadletter.

    The stored record always fits the topic: ``value`` is cut to what fits in
    :data:`DEADLETTER_VALUE_BYTES` after JSON escaping (a control byte takes six), and a
    cut value carries its full size and SHA-256; ``origin`` points at the full record.
    """

    stage: str
    reason: str
    detail: str
    value: bytes
    key: bytes | None = None
    origin: str = ""
    source: str = ""
    record_id: str | None = None

    def to_json(self) -> bytes:
        record: dict[str, Any] = {
            "stage": self.stage,
            "reason": self.reason,
            "detail": _printable(self.detail[:DEADLETTER_DETAIL_CHARS]),
            "origin": self.origin,
            "source": _printable(self.source[:DEADLETTER_DETAIL_CHARS]),
            "record_id": _printable(self.record_id) if self.record_id else None,
            "key": _printable(self.key[:1000].decode("utf-8", "replace")) if self.key else None,
            "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        record.update(_stored_value(self.value))
        return json.dumps(record, ensure_ascii=False).encode()

    def with_origin(self, origin: str) -> DeadLetter:
        return replace(self, origin=origin)

    def minimal(self) -> DeadLetter:
        """The same letter without its value, for when even the cut record was refused."""
        return replace(self, value=b"", detail=f"{self.detail} (value not stored)")


def _stored_value(value: bytes) -> dict[str, Any]:
    """The value's fields of a dead letter: as text when it is UTF-8, else base64."""
    try:
        text: str | None = value.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if _escaped_size(text) <= DEADLETTER_VALUE_BYTES:
            return {"value": text}
        low, high = 0, min(len(text), DEADLETTER_VALUE_BYTES)
        while low < high:  # the longest prefix whose escaped form fits
            middle = (low + high + 1) // 2
            if _escaped_size(text[:middle]) <= DEADLETTER_VALUE_BYTES:
                low = middle
            else:
                high = middle - 1
        stored: dict[str, Any] = {"value": text[:low]}
    else:
        room = DEADLETTER_VALUE_BYTES // 4 * 3
        if len(value) <= room:
            return {"value_base64": base64.b64encode(value).decode()}
        stored = {"value_base64": base64.b64encode(value[:room]).decode()}
    stored.update(
        value_bytes=len(value),
        value_sha256=hashlib.sha256(value).hexdigest(),
        value_truncated=True,
    )
    return stored


def _escaped_size(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def _printable(text: str) -> str:
    """``text`` as valid UTF-8: a lone surrogate (from an exception message) becomes '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True)
class Outgoing:
    key: bytes
    value: bytes


@dataclass
class Outcome:
    """What one message turned into."""

    forward: list[Outgoing] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    remember: dict[str, float] = field(default_factory=dict)
    """De-duplication keys to store once ``forward`` is sent: a record that failed on the way
    must not block its corrected resend as a duplicate."""


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
        self._ticked: dict[str, float] = {}
        self._scanned: tuple[float, list[str]] = (-math.inf, [])
        self.notified_seen = 0
        """Alerts the notify stage has taken in (a drain compares it with those sent)."""
        self.batcher = Batcher(
            dispatcher,
            lambda alert, now: self.engine.current.decisions.silenced(alert, now),
            on_silenced=self._count_silenced,
        )

    def _analysis(self, engine: Engine, article: Article) -> Analysis:
        """An article is analysed once in triage; its detect stages on this worker (one per
        topic it fans out to) reuse that analysis while it is among the recent ones."""
        cached = self._recent.get(article.id)
        if cached is not None and cached[0] is engine and cached[1].article == article:
            return cached[1]
        analysis = engine.analyze(article)
        self._remember(engine, analysis)
        return analysis

    def _remember(self, engine: Engine, analysis: Analysis) -> None:
        self._recent[analysis.article.id] = (engine, analysis)
        if len(self._recent) > RECENT_ANALYSES:
            del self._recent[next(iter(self._recent))]

    def dead(self, letter: DeadLetter) -> DeadLetter:
        """Count and log ``letter``; its detail may quote an outside service, so is scrubbed."""
        letter = replace(letter, detail=scrub(letter.detail))
        self.metrics.deadlettered.labels(letter.stage, letter.reason).inc()
        self.stats.deadlettered += 1
        named = f" (record {letter.record_id!r})" if letter.record_id else ""
        origin = f" from {letter.source}" if letter.source else ""
        log.warning(
            "dead-lettered at %s%s: %s: %s%s",
            letter.stage,
            origin,
            letter.reason,
            letter.detail,
            scrub(named),
        )
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
            letter = DeadLetter(
                "triage", exc.reason, exc.detail, raw, source=source, record_id=exc.record_id
            )
            return Outcome(dead=[self.dead(letter)])
        self.stats.articles += 1
        keys = dedupe_keys(article)
        for key in keys:
            first = seen.get(key)
            if first is not None and moment - first < SEEN_MEMORY_SECONDS:
                kind = key.split(":", 1)[0]
                self.metrics.duplicates.labels(kind).inc()
                self.stats.duplicates += 1
                return Outcome()
        engine = self.engine.current
        analysis = engine.analyze(article)
        topics = list(analysis.topics)
        if topics == [GLOBAL_TOPIC]:
            # Most of a general feed is about no watch topic and matches no rule: analysed
            # here, where articles spread over every partition and worker, it goes no
            # further. Nor is it remembered: a copy of it raises nothing either, and a
            # flood of such news would otherwise fill the changelog producer that every
            # other table write waits behind.
            self.stats.matches += analysis.match_count
            if engine.raises_nothing(GLOBAL_TOPIC, analysis):
                return Outcome()
        self._remember(engine, analysis)  # only what goes on to detect
        envelope = {"article": article.to_dict(), "ingested_at": ingested_at, "source": source}
        forward = []
        for topic in topics:
            value = json.dumps({"topic": topic, **envelope}, ensure_ascii=False).encode()
            forward.append(Outgoing(topic.encode(), value))
        return Outcome(forward=forward, remember=dict.fromkeys(keys, moment))

    def detect(
        self,
        raw: bytes,
        *,
        states: MutableMapping[str, Any],
        now: float | None = None,
    ) -> Outcome:
        """Run the topic's rules on the article (or, for a tick, its timed rules) and keep
        the topic's state."""
        moment = time.time() if now is None else now
        try:
            envelope = json.loads(raw)
            topic = str(envelope["topic"])
            tick = float(envelope["tick"]) if "tick" in envelope else None
            ingested_at = float(envelope.get("ingested_at") or moment)
            if tick is None:
                article = article_from_mapping(envelope["article"])
        except InvalidArticle as exc:
            return Outcome(dead=[self.dead(DeadLetter("detect", exc.reason, exc.detail, raw))])
        except (ValueError, KeyError, TypeError) as exc:
            return Outcome(
                dead=[self.dead(DeadLetter("detect", "invalid_envelope", repr(exc), raw))]
            )
        engine = self.engine.current
        if tick is not None:
            stored = StoredState(states, topic)
            state = stored.load(stories=False)  # no article: no story to add
            alerts = engine.tick(topic, state, tick)
            stored.save(state)
            return self._forward(alerts, moment)
        analysis = self._analysis(engine, article)
        if topic != GLOBAL_TOPIC:  # counted in triage
            self.stats.matches += analysis.match_count
        if engine.raises_nothing(topic, analysis):
            return Outcome()
        stored = StoredState(states, topic)
        state = stored.load(stories=analysis.has_signal)  # only a signal can add a story
        alerts = engine.decide(topic, analysis, state, moment)
        stored.save(state)  # most news changes nothing, and writes nothing
        return self._forward(alerts, ingested_at)

    def _forward(self, alerts: list[Alert], ingested_at: float) -> Outcome:
        self.stats.alerts += len(alerts)
        forward = []
        for alert in alerts:
            value = json.dumps(
                {"alert": alert.to_dict(), "ingested_at": ingested_at}, ensure_ascii=False
            ).encode()
            forward.append(Outgoing((alert.thread_key or alert.id).encode(), value))
        return Outcome(forward=forward)

    def due_ticks(self, now: float, standing: Callable[[], Iterable[str]]) -> list[Outgoing]:
        """Tick messages to send now: each topic a timed rule watches, and each topic with a
        standing condition (``standing()``: this worker's), at most once a tick interval.
        Every worker sends them; a second tick right after the first changes nothing."""
        engine = self.engine.current
        interval = engine.tick_interval
        if interval is None:
            return []
        if now - self._scanned[0] >= interval:
            self._scanned = (now, list(standing()))
        due = []
        for topic in dict.fromkeys([*engine.timed_topics(), *self._scanned[1]]):
            if topic == GLOBAL_TOPIC or now - self._ticked.get(topic, -math.inf) < interval:
                continue
            self._ticked[topic] = now
            value = json.dumps({"topic": topic, "tick": now}).encode()
            due.append(Outgoing(topic.encode(), value))
        return due

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
        self.notified_seen += 1
        key = alert.thread_key or alert.id
        record = DeliveryRecord.load(deliveries.get(key))
        if alert.id in record.ids:
            self.metrics.suppressed.labels(alert.rule, "already_delivered").inc()
            return _ready(Outcome())
        decisions = self.engine.current.decisions
        if decisions.silenced(alert, time.time()):  # a silence set since it was decided
            self._count_silenced(alert)
            return _ready(Outcome())
        accepted = set(record.partial.get(alert.id, ()))
        threads = record.stored_threads()
        now_sinks: list[str] = []
        pending: list[Awaitable[DeliveryReport]] = []
        for position, route in decisions.routes(alert):
            sinks = [n for n in route.sinks if n not in accepted and n not in now_sinks]
            # A note of further coverage belongs under its story at once, not in a batch.
            if route.batches and alert.kind != "coverage":
                if sinks:
                    pending.append(
                        self.batcher.add(
                            alert, position, route, sinks, threads=threads, ingested_at=ingested
                        )
                    )
            else:
                now_sinks += sinks
        if now_sinks or not pending:
            pending.append(
                self.dispatcher.submit(alert, now_sinks, threads=threads, ingested_at=ingested)
            )
        return self._settle(alert, raw, key, _combined(pending), deliveries, ingested)

    def _count_silenced(self, alert: Alert) -> None:
        self.metrics.suppressed.labels(alert.rule, "silenced").inc()

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
        if report.silenced and not report.delivered and not report.failed:
            return Outcome()  # counted as silenced; neither delivered nor failed
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


async def _combined(pending: list[Awaitable[DeliveryReport]]) -> DeliveryReport:
    """One report for an alert sent at once to some sinks and in batches to others."""
    reports = [await each for each in pending]
    if len(reports) == 1:
        return reports[0]
    delivered: dict[str, dict[str, Any] | None] = {}
    failed: dict[str, str] = {}
    skipped: tuple[str, ...] = ()
    for report in reports:
        delivered.update(report.delivered)
        failed.update(report.failed)
        skipped += report.skipped
    return DeliveryReport(delivered, failed, skipped, all(r.silenced for r in reports))


def stats_json(stats: RunStats) -> str:
    return json.dumps(stats.contract(), indent=2, sort_keys=True)
