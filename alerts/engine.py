"""The engine: compiled rules that turn articles into alerts.

``Engine.analyze`` is stateless (topics, escalation, commitments, keyword matches) and
``Engine.decide`` applies one watch topic's rules to that analysis with the topic's state.
The detect agent calls both with state from a faust table; ``OfflineRun`` calls them with
state in a dict, for ``flashpoint detect`` and ``flashpoint rules test``.
"""

from __future__ import annotations

import functools
import os
import time
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from alerts.articles import Article
from alerts.config.models import (
    CommitmentRule,
    Config,
    EscalationLevels,
    EscalationRule,
    NewTermRule,
)
from alerts.config.models import KeywordRule as KeywordRuleConfig
from alerts.decisions import Decisions
from alerts.detect import classifier
from alerts.detect.actors import find_actors
from alerts.detect.commitments import CommitmentDetector, CommitmentReading
from alerts.detect.decision import Judge
from alerts.detect.escalation import EscalationDetector
from alerts.detect.matcher import PhraseMatcher
from alerts.detect.nearduplicates import is_near_duplicate, signature
from alerts.detect.sentences import Sentence, split_sentences
from alerts.metrics import Metrics
from alerts.model import Alert, Escalation, Match
from alerts.rules.base import (
    Analysis,
    Rule,
    RuleContext,
    TickContext,
    alert_id,
    build_alert,
    describe_source,
    iso_time,
    story_thread_key,
)
from alerts.rules.registry import build_rules
from alerts.silences import SilenceBook
from alerts.state import Story, TopicState
from alerts.topics import GLOBAL_TOPIC, PairTopics, TopicClassifier, dyads, pair_parties

MAX_SOURCES_LISTED = 20
MAX_CACHED_TOPICS = 4096
MIN_TICK_SECONDS = 1.0
MAX_TICK_SECONDS = 60.0


class _KeywordIndex:
    """All keyword rules' phrases and regexes in one compiled pass (two: by case rule)."""

    def __init__(self, rules: Iterable[KeywordRuleConfig]) -> None:
        self._groups: list[tuple[PhraseMatcher, list[str]]] = []
        for case_sensitive in (False, True):
            selected = [r for r in rules if r.enabled and r.case_sensitive == case_sensitive]
            phrases = [(r.name, p) for r in selected for p in r.phrases]
            regexes = [(r.name, x) for r in selected for x in r.regex]
            if not phrases and not regexes:
                continue
            matcher = PhraseMatcher(
                [p for _, p in phrases],
                regexes=[x for _, x in regexes],
                case_sensitive=case_sensitive,
            )
            self._groups.append((matcher, [name for name, _ in phrases + regexes]))

    def find(self, text: str) -> dict[str, tuple[Match, ...]]:
        found: dict[str, list[Match]] = {}
        sentences: list[Sentence] | None = None
        starts: list[int] = []
        for matcher, owners in self._groups:
            for hit in matcher.find(text):
                if sentences is None:
                    sentences = split_sentences(text)
                    starts = [s.start for s in sentences]
                at = bisect_right(starts, hit.start) - 1
                inside = at >= 0 and hit.start < sentences[at].end
                sentence = sentences[at].text if inside else text[hit.start : hit.end]
                rule = owners[hit.index]
                found.setdefault(rule, []).append(
                    Match(
                        rule=rule,
                        phrase=text[hit.start : hit.end],
                        kind="keyword",
                        weight=0.0,
                        start=hit.start,
                        end=hit.end,
                        sentence=sentence,
                    )
                )
        return {rule: tuple(matches) for rule, matches in found.items()}


@functools.lru_cache(maxsize=4)
def _escalation_detector(levels: EscalationLevels) -> EscalationDetector:
    """Detectors are read-only once built, and compiling the lexicon is most of an engine's
    build time: a hot reload that keeps the levels reuses the compiled one."""
    return EscalationDetector(levels)


@functools.lru_cache(maxsize=64)
def _signature(text: str) -> str:
    """An article fanned out to several topics is signed once, not once per topic."""
    return signature(text)


@functools.lru_cache(maxsize=1)
def _commitment_detector() -> CommitmentDetector:
    return CommitmentDetector()


@functools.lru_cache(maxsize=4)
def _classifier(path: str | None, stamp: float) -> classifier.PassageClassifier:
    """The shipped model, or a file's, loaded once per process (again only if the file
    changed: ``stamp`` is its modification time)."""
    del stamp
    return classifier.shipped() if path is None else classifier.load_file(path)


def _model_stamp(path: str | None) -> float:
    if path is None:
        return 0.0
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0  # missing: load_file names the problem


_WARM_UP = Article(
    id="warm-up",
    title="Warm-up",
    body="Japan's defence ministry said China would hold drills. Tokyo agreed to set up a "
    "hotline by spring.",
)
"""Run once at build time, so lazily built tables and regexes are not built on the first
real article, on the hot path."""


class Engine:
    """A compiled rule set. Build it off the hot path; then analyze/decide are cheap."""

    def __init__(
        self,
        config: Config,
        metrics: Metrics | None = None,
        *,
        silences: SilenceBook | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.rules: list[Rule[Any]] = build_rules(config)
        self.decisions = Decisions(config, silences)
        self._by_name = {rule.name: rule for rule in self.rules}
        self._timed = [rule for rule in self.rules if rule.timed]
        self._topics = TopicClassifier(config.watch)
        enabled = [r for r in config.rules if r.enabled]
        escalation_rules = [r for r in enabled if isinstance(r, EscalationRule)]
        levels = escalation_rules[0].levels if escalation_rules else EscalationLevels()
        # new_term reads the actors of acts and commitments: it needs both detectors.
        terms = any(isinstance(r, NewTermRule) for r in enabled)
        self._escalation = _escalation_detector(levels) if escalation_rules or terms else None
        self._commitments = (
            _commitment_detector()
            if terms or any(isinstance(r, CommitmentRule) for r in enabled)
            else None
        )
        self._keywords = _KeywordIndex(r for r in enabled if isinstance(r, KeywordRuleConfig))
        self.judge: Judge | None = None
        """The learned decision over the grammar's findings (None when config turns it off)."""
        if config.classifier.enabled and (self._escalation or self._commitments):
            path = config.classifier.path
            self.judge = Judge(_classifier(path, _model_stamp(path)), levels)
        self._pairs = PairTopics(config.pair_topics, self._topics)
        self._position = {rule.name: n for n, rule in enumerate(self.rules)}
        self._on_match = {rule.name: rule for rule in self.rules if rule.only_on_match}
        self._always = [rule for rule in self.rules if not rule.only_on_match]
        self._rules_for: dict[tuple[str, bool], list[Rule[Any]]] = {}
        self._hit_horizon = max(
            3600.0,
            max(
                (getattr(r.config, "window", 0.0) for r in self.rules if r.after_others), default=0
            ),
        )
        spans = [r.config.after for r in self._timed]
        spans += [r.repeat_interval for r in config.routes if r.repeat_interval]
        self.tick_interval = (
            min(MAX_TICK_SECONDS, max(MIN_TICK_SECONDS, min(spans) / 10)) if spans else None
        )
        """How often each topic with timed rules or standing conditions is to be ticked
        (None: no rule needs time to pass)."""
        self.analyze(_WARM_UP)

    def timed_topics(self) -> list[str]:
        """The watch topics some timed rule (flatline) watches: they are ticked even before
        their first article, since silence from the start is silence too."""
        return [t for t in self.config.watch if any(r.applies_to(t) for r in self._timed)]

    def tick(self, topic: str, state: TopicState, now: float) -> list[Alert]:
        """Time passed for ``topic`` without an article: timed rules and reminders of
        standing conditions (a route's ``repeat_interval``); alerts to send."""
        state.prune(now)
        label = self._label(topic)
        ctx = TickContext(topic, state, now, self.metrics, label)
        candidates: list[Alert] = []
        for rule in self._timed:
            if rule.applies_to(topic):
                candidates.extend(rule.check(ctx))
        candidates.extend(self._reminders(state, now))
        return self._admit(candidates, state, now, label)

    def _reminders(self, state: TopicState, now: float) -> list[Alert]:
        """A standing condition is reminded of every ``repeat_interval`` while it holds; one
        that ended is forgotten."""
        reminders: list[Alert] = []
        for name, entry in list(state.standing.items()):
            rule = self._by_name.get(name)
            original = Alert.from_dict(entry["alert"])
            interval = self.decisions.repeat_interval(original)
            if rule is None or interval is None or not rule.stands(state, original):
                del state.standing[name]
                continue
            if now - float(entry["notified"]) < interval:
                continue
            count = int(entry["count"]) + 1
            state.standing[name] = {**entry, "notified": now, "count": count}
            since = float(entry["since"])
            reminders.append(
                replace(
                    original,
                    id=alert_id(original.rule, original.topic, f"repeat:{original.id}:{count}"),
                    title=f"Still: {original.title}",
                    summary=f"Standing since {iso_time(since)} ({_span(now - since)}). "
                    + original.summary,
                    created_at=iso_time(now),
                    # A reminder is a new message in the channel, as Alertmanager's repeat
                    # is a new notification: one buried in a day-old thread reminds no one.
                    thread_key=f"repeat:{original.thread_key or original.id}:{count}",
                )
            )
        return reminders

    def topics_of(self, article: Article) -> list[str]:
        """The watch topics an article is keyed to, its primary topic first."""
        return self._topics.classify(article.text, title_length=len(article.title))

    def analyze(self, article: Article, now: float | None = None) -> Analysis:
        """Detection for one article: the grammar's evidence, the model's decision on it,
        and the topics it is about (watch topics, then pair topics for dyads none covers)."""
        text = article.text
        escalation = self._escalation.analyze(text) if self._escalation else Escalation(0.0, "none")
        reading = self._commitments.read(text) if self._commitments else CommitmentReading((), ())
        judgement = None
        commitments = reading.commitments
        if self.judge is not None:
            judgement = self.judge.judge(text, escalation, reading)
            escalation = judgement.escalation if self._escalation else escalation
            commitments = judgement.commitments if self._commitments else ()
        watch = self.topics_of(article)
        moment = time.time() if now is None else now
        pairs = self._pairs.topics(dyads(escalation, commitments), watch, moment)
        topics = [t for t in watch if t != GLOBAL_TOPIC] + pairs or [GLOBAL_TOPIC]
        return Analysis(
            article=article,
            topics=tuple(topics),
            escalation=escalation,
            commitments=commitments,
            keyword_matches=self._keywords.find(text),
            judgement=judgement,
        )

    def mentions(self, topic: str, text: str) -> bool:
        """True when ``text`` (an actor's name or a sentence) names something of ``topic``."""
        parties = self._pair(topic)
        if parties is None:
            return self._topics.mentions(topic, text)
        return text in parties or any(m.name in parties for m in find_actors(text))

    def is_pairing(self, topic: str) -> bool:
        return self._pair(topic) is not None or self._topics.is_pairing(topic)

    def _pair(self, topic: str) -> tuple[str, str] | None:
        """The two states of a pair topic; None for a watch topic (even one named a-b)."""
        return None if topic in self.config.watch else pair_parties(topic)

    def decide(self, topic: str, analysis: Analysis, state: TopicState, now: float) -> list[Alert]:
        """Apply ``topic``'s rules to ``analysis``, updating ``state``; alerts to send.

        An article about several watch topics raises its story alerts (keyword,
        commitment) once, on its primary topic; every topic's level still counts it.
        """
        state.prune(now)
        primary = not analysis.topics or analysis.topics[0] == topic
        rules = self._rules(topic, primary, analysis)
        if not rules:
            return []
        story, repeat, new_source = self._story(analysis, state, now)
        if repeat and self.metrics is not None:
            self.metrics.duplicates.labels("near_duplicate").inc()
        ctx = RuleContext(
            topic,
            analysis,
            story,
            repeat,
            state,
            now,
            self.metrics,
            mentions_topic=lambda text: self.mentions(topic, text),
            pairing_topic=self.is_pairing(topic),
            label=self._label(topic),
        )
        candidates: list[Alert] = []
        for rule in rules:
            raised = rule.evaluate(ctx)
            if raised and not rule.after_others:
                hits = state.rule_hits.setdefault(rule.name, [])
                if all(story_id != story.id for _, story_id in hits):
                    hits.append((now, story.id))
            candidates.extend(raised)
        if repeat and new_source and primary and story.alerted:
            candidates.append(_coverage(ctx))
        self._prune_hits(state, now)
        if self.metrics is not None:
            for rule in rules:
                if found := analysis.matches_for(rule.name, rule.type):
                    self.metrics.matches.labels(rule.name, ctx.label).inc(found)
        admitted = self._admit(candidates, state, now, ctx.label)
        story.alerted |= any(a.thread_key == story_thread_key(topic, story.id) for a in admitted)
        return admitted

    def _admit(
        self, candidates: list[Alert], state: TopicState, now: float, label: str
    ) -> list[Alert]:
        """The candidates no silence, inhibition or throttle holds back, counted; standing
        conditions among them are remembered for their routes' reminders."""
        admitted: list[Alert] = []
        for alert in candidates:
            reason = self.decisions.suppression(alert, state, now)
            if reason is not None:
                if self.metrics is not None:
                    self.metrics.suppressed.labels(alert.rule, reason).inc()
                continue
            admitted.append(alert)
            if self.metrics is not None:
                self.metrics.alerts.labels(alert.rule, alert.kind, alert.severity, label).inc()
            rule = self._by_name.get(alert.rule)
            # Each alert of a condition that stands starts its reminders afresh (a new
            # level, a spike that fell back and rose again); the tick drops ended ones.
            if (
                rule is not None
                and rule.stands(state, alert)
                and self.decisions.repeat_interval(alert) is not None
            ):
                state.standing[alert.rule] = {
                    "alert": alert.to_dict(),
                    "since": now,
                    "notified": now,
                    "count": 0,
                }
        return admitted

    def _label(self, topic: str) -> str:
        """The topic as a metric label: pair topics are bounded (then ``other``)."""
        if self.metrics is None or self._pair(topic) is None:
            return topic
        return self.metrics.pair_topic_label(topic)

    def raises_nothing(self, topic: str, analysis: Analysis) -> bool:
        """True when :meth:`decide` on ``topic`` would raise no alert and change no state:
        no rule that applies there matched, and none acts on quiet articles. Such an
        article (most off-topic news) can skip the topic's state altogether."""
        primary = not analysis.topics or analysis.topics[0] == topic
        for rule in self._rules(topic, primary, analysis):
            if not rule.needs_signal or rule.reads_signal_in(analysis):
                return False
        return True

    def _rules(self, topic: str, primary: bool, analysis: Analysis) -> list[Rule[Any]]:
        """The rules to evaluate, in config order: those that run on every article of the
        topic, plus the rules (keyword) whose patterns this article matched. Nothing here
        costs per configured rule."""
        key = (topic, primary)
        always = self._rules_for.get(key)
        if always is None:
            if len(self._rules_for) > MAX_CACHED_TOPICS:
                self._rules_for.clear()  # pair topics come and go
            always = [
                r for r in self._always if r.applies_to(topic) and (primary or r.scope == "topic")
            ]
            self._rules_for[key] = always
        matched = [
            rule
            for name in analysis.keyword_matches
            if (rule := self._on_match.get(name)) is not None
            and rule.applies_to(topic)
            and (primary or rule.scope == "topic")
        ]
        if not matched:
            return always
        return sorted(always + matched, key=lambda r: self._position[r.name])

    def _story(self, analysis: Analysis, state: TopicState, now: float) -> tuple[Story, bool, bool]:
        """The story this article belongs to, whether an earlier outlet carried it, and
        whether this article's outlet is new to it."""
        article = analysis.article
        source = article.source or "unknown"
        if not analysis.has_signal:
            return Story(article.id, "", now, [source]), False, False
        sig = _signature(article.text)
        for story in state.stories:
            if story.id == article.id or is_near_duplicate(sig, story.signature):
                new_source = source not in story.sources
                if new_source and len(story.sources) < MAX_SOURCES_LISTED:
                    story.sources.append(source)
                return story, True, new_source
        story = Story(article.id, sig, now, [source])
        state.stories.append(story)
        return story, False, False

    def _prune_hits(self, state: TopicState, now: float) -> None:
        horizon = self._hit_horizon
        for rule, hits in list(state.rule_hits.items()):
            if hits and now - hits[0][0] < horizon and len(hits) <= 1000:
                continue  # the oldest hit is still needed: so are the rest
            kept = [(at, s) for at, s in hits if now - at < horizon]
            if kept:
                state.rule_hits[rule] = kept[-1000:]
            else:
                del state.rule_hits[rule]


def _coverage(ctx: RuleContext) -> Alert:
    """A note, threaded under the story's alerts, that another outlet carries the story."""
    sources = ctx.story.sources
    outlet = ctx.article.source or "another outlet"
    return build_alert(
        ctx,
        rule="coverage",
        kind="coverage",
        severity="info",
        title=f"Also reported by {outlet}: {len(sources)} sources",
        summary=f"{describe_source(ctx.article)} carries the story first reported by "
        f"{sources[0]}. Sources so far: {', '.join(sources)}.",
        evidence=[],
        event_key=f"coverage:{ctx.story.id}:{len(sources)}",
        thread_key=story_thread_key(ctx.topic, ctx.story.id),
    )


@dataclass
class DetectResult:
    """What ``flashpoint detect`` prints for one article."""

    analysis: Analysis
    alerts: list[Alert] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        a = self.analysis
        return {
            "id": a.article.id,
            "topics": list(a.topics),
            "escalation": a.escalation.to_dict(),
            "commitments": [c.to_dict() for c in a.commitments],
            "alerts": [alert.to_dict() for alert in self.alerts],
        }


class OfflineRun:
    """Articles through the engine in order, with per-topic state kept in memory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.states: dict[str, TopicState] = {}

    def advance(self, now: float) -> list[Alert]:
        """Tick every topic that needs time to pass, as the streams timer does."""
        if self.engine.tick_interval is None:
            return []
        alerts: list[Alert] = []
        topics = dict.fromkeys([*self.engine.timed_topics(), *self.states])
        for topic in topics:
            state = self.states.setdefault(topic, TopicState())
            alerts.extend(self.engine.tick(topic, state, now))
        return alerts

    def process(self, article: Article, now: float | None = None) -> DetectResult:
        moment = time.time() if now is None else now
        analysis = self.engine.analyze(article, moment)
        result = DetectResult(analysis)
        for topic in analysis.topics:
            state = self.states.setdefault(topic, TopicState())
            result.alerts.extend(self.engine.decide(topic, analysis, state, moment))
        return result


def _span(seconds: float) -> str:
    """``5400`` → ``1 h 30 min``: how long a condition has stood."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
