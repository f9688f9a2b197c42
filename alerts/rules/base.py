"""What every rule type shares: the analysis it reads, its context, and how alerts are built."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from alerts.articles import Article
from alerts.config import models
from alerts.detect.decision import Judgement
from alerts.metrics import Metrics
from alerts.model import Alert, Commitment, Escalation, Evidence, Level, Match, Severity, Veto
from alerts.state import Story, TopicState

RuleConfigT = TypeVar("RuleConfigT", bound=models.RuleBase)


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything detection found in one article; stateless and shared by all topics."""

    article: Article
    topics: tuple[str, ...]
    escalation: Escalation
    commitments: tuple[Commitment, ...]
    keyword_matches: dict[str, tuple[Match, ...]] = field(default_factory=dict)
    keyword_vetoes: tuple[Veto, ...] = ()
    judgement: Judgement | None = None
    """The learned decision over the grammar's findings, when a model is in use."""

    def matches_for(self, rule: str, rule_type: str) -> int:
        """How many of this article's matches belong to a rule of that name and type."""
        if rule_type == "keyword":
            return len(self.keyword_matches.get(rule, ()))
        if rule_type == "escalation":
            return len(self.escalation.matches)
        if rule_type == "commitment":
            return len(self.commitments)
        return 0

    @property
    def match_count(self) -> int:
        """Every match in the article: escalation acts, commitments, keyword hits."""
        return (
            len(self.escalation.matches)
            + len(self.commitments)
            + sum(len(m) for m in self.keyword_matches.values())
        )

    @property
    def has_signal(self) -> bool:
        return bool(self.escalation.matches or self.commitments or self.keyword_matches)


@dataclass(slots=True)
class RuleContext:
    """One article as seen by the rules of one watch topic."""

    topic: str
    analysis: Analysis
    story: Story
    repeat: bool
    state: TopicState
    now: float
    metrics: Metrics | None = None
    mentions_topic: Callable[[str], bool] = lambda text: True
    """Whether a piece of the article's text is about ``topic`` (names any of its phrases)."""
    pairing_topic: bool = False
    """The topic is a pairing of parties (``all_of``, or a pair topic), not a place."""
    label: str = ""
    """The topic as a metric label value (pair topics are bounded)."""

    @property
    def article(self) -> Article:
        return self.analysis.article


class Rule(ABC, Generic[RuleConfigT]):
    """A configured rule. Subclasses set ``type`` to their config ``type`` value."""

    type: ClassVar[str]
    after_others: ClassVar[bool] = False
    """True for rules that read what other rules did to this article (frequency)."""
    only_on_match: ClassVar[bool] = False
    """True for rules that can raise nothing unless the analysis holds matches of their own
    (keyword): the engine evaluates them only then, so idle rules cost nothing."""
    needs_signal: bool = False
    """True for rules that neither raise nor change state for an article in which no rule
    matched (keyword, commitment, frequency); False for rules that act on quiet articles
    too (an escalation level easing as its window moves on; rates, flatlines)."""
    scope: ClassVar[str] = "story"
    """``story``: alert about the article, on its primary watch topic only. ``topic``: keep
    state for every topic the article is about (escalation levels, frequencies)."""
    timed: ClassVar[bool] = False
    """True for rules that also act when time passes without articles (flatline): the
    engine calls :meth:`check` on every tick of a topic they apply to."""

    def __init__(self, config: RuleConfigT) -> None:
        self.config = config
        self.name = config.name

    def applies_to(self, topic: str) -> bool:
        return self.config.topics is None or topic in self.config.topics

    def reads_signal_in(self, analysis: Analysis) -> bool:
        """Whether ``analysis`` holds what this rule reads (``needs_signal`` rules): by
        default, matches of its own."""
        return analysis.matches_for(self.name, self.type) > 0

    @abstractmethod
    def evaluate(self, ctx: RuleContext) -> list[Alert]:
        """Alerts this rule raises for the article in ``ctx`` (before throttling)."""

    def check(self, ctx: TickContext) -> list[Alert]:
        """Alerts this rule raises because time passed (timed rules only)."""
        return []

    def stands(self, state: TopicState, alert: Alert) -> bool:
        """Whether the condition ``alert`` reported still holds in ``state``, so that a
        route's ``repeat_interval`` reminds of it; False for one-off events."""
        return False


@dataclass(slots=True)
class TickContext:
    """A topic as seen by the timed rules when time passes, with no article."""

    topic: str
    state: TopicState
    now: float
    metrics: Metrics | None = None
    label: str = ""


def topic_alert(
    topic: str,
    now: float,
    *,
    rule: str,
    kind: str,
    severity: Severity,
    title: str,
    summary: str,
    event_key: str,
    thread_key: str,
) -> Alert:
    """An alert about a topic as a whole, with no article behind it (a flatline)."""
    return Alert(
        id=alert_id(rule, topic, event_key),
        rule=rule,
        kind=kind,
        severity=severity,
        topic=topic,
        title=title,
        summary=summary,
        evidence=(),
        article={},
        created_at=iso_time(now),
        thread_key=thread_key,
    )


def iso_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def story_thread_key(topic: str, story_id: str) -> str:
    """Alerts about one story, and notes of later coverage, share one Slack thread."""
    return f"story:{topic}:{story_id}"


def alert_id(rule: str, topic: str, event_key: str) -> str:
    """A stable fingerprint: the same event seen again (re-delivery, another outlet) is equal."""
    return hashlib.sha256(f"{rule}\x1f{topic}\x1f{event_key}".encode()).hexdigest()[:20]


def build_alert(
    ctx: RuleContext,
    *,
    rule: str,
    kind: str,
    severity: Severity,
    title: str,
    summary: str,
    evidence: Sequence[Evidence],
    event_key: str,
    thread_key: str,
    level: Level | None = None,
) -> Alert:
    return Alert(
        id=alert_id(rule, ctx.topic, event_key),
        rule=rule,
        kind=kind,
        severity=severity,
        topic=ctx.topic,
        title=title,
        summary=summary,
        evidence=tuple(evidence),
        article=ctx.article.summary(),
        created_at=iso_time(ctx.now),
        sources=max(1, len(ctx.story.sources)),
        thread_key=thread_key,
        level=level,
    )


def match_evidence(match: Match, **attributes: Any) -> Evidence:
    attrs = {"weight": f"{match.weight:g}"} if match.weight else {}
    if match.actor:
        attrs["actor"] = match.actor
    attrs.update({k: str(v) for k, v in attributes.items() if v is not None})
    return Evidence(
        phrase=match.phrase,
        sentence=match.sentence,
        start=match.start,
        end=match.end,
        label=match.kind,
        attributes=attrs,
    )


def duration_words(seconds: float) -> str:
    """``21600`` → ``6 hours``, ``1800`` → ``30 minutes``: a window as people say it."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


def describe_source(article: Article) -> str:
    return f"“{article.title}”" + (f" ({article.source})" if article.source else "")
