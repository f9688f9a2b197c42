"""The values that flow through detection and decisions: matches, commitments, alerts.

Plain frozen dataclasses with ``to_dict`` so they cross process boundaries as JSON and
stay free of any framework.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Level = Literal["none", "watch", "warning", "critical"]
LEVELS: tuple[Level, ...] = ("none", "watch", "warning", "critical")
Severity = Literal["info", "warning", "critical"]
ALERT_CONTRACT_FIELDS = frozenset(
    {
        "id",
        "rule",
        "kind",
        "severity",
        "topic",
        "title",
        "summary",
        "evidence",
        "article",
        "created_at",
    }
)
"""The fields of the alert JSON that DESIGN.md promises to other parts."""


@dataclass(frozen=True, slots=True)
class Match:
    """One phrase found in an article's text (title + blank line + body)."""

    rule: str
    phrase: str
    kind: str
    weight: float
    start: int
    end: int
    sentence: str
    actor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "phrase": self.phrase,
            "kind": self.kind,
            "weight": self.weight,
            "start": self.start,
            "end": self.end,
            "sentence": self.sentence,
            "actor": self.actor,
        }


@dataclass(frozen=True, slots=True)
class Veto:
    """A phrase that matched but did not count, and the context that decided it."""

    phrase: str
    kind: str
    start: int
    end: int
    sentence: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Escalation:
    """How escalatory one article reads: the weighted sum of distinct acts, and its level."""

    score: float
    level: Level
    matches: tuple[Match, ...] = ()
    vetoed: tuple[Veto, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "level": self.level,
            "matches": [m.to_dict() for m in self.matches],
        }


@dataclass(frozen=True, slots=True)
class Commitment:
    """An actor committing to a future action, with amount and deadline when stated."""

    actor: str
    action: str
    amount: str | None
    deadline: str | None
    sentence: str
    start: int = 0
    end: int = 0
    verb: str = ""
    key: str = ""
    """Actor and action folded, for novelty: the same pledge re-reported has the same key."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "action": self.action,
            "amount": self.amount,
            "deadline": self.deadline,
            "sentence": self.sentence,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why an alert fired: the matched text, the sentence around it and what it means."""

    phrase: str
    sentence: str
    start: int
    end: int
    label: str
    attributes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "phrase": self.phrase,
            "sentence": self.sentence,
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "attributes": dict(self.attributes),
        }


@dataclass(frozen=True, slots=True)
class Alert:
    """A decision to tell people something. ``to_dict`` is the alert JSON contract."""

    id: str
    rule: str
    kind: str
    severity: Severity
    topic: str
    title: str
    summary: str
    evidence: tuple[Evidence, ...]
    article: dict[str, Any]
    created_at: str
    sources: int = 1
    thread_key: str | None = None
    level: Level | None = None
    """The watch topic's escalation level after this alert, on escalation alerts only."""

    def to_dict(self) -> dict[str, Any]:
        data = {
            "id": self.id,
            "rule": self.rule,
            "kind": self.kind,
            "severity": self.severity,
            "topic": self.topic,
            "title": self.title,
            "summary": self.summary,
            "evidence": [e.to_dict() for e in self.evidence],
            "article": self.article,
            "created_at": self.created_at,
            "sources": self.sources,
            "thread_key": self.thread_key,
            "level": self.level,
        }
        if self.level is not None:
            data["level"] = self.level
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(
            id=data["id"],
            rule=data["rule"],
            kind=data["kind"],
            severity=data["severity"],
            topic=data["topic"],
            title=data["title"],
            summary=data["summary"],
            evidence=tuple(Evidence(**e) for e in data["evidence"]),
            article=data["article"],
            created_at=data["created_at"],
            sources=data.get("sources", 1),
            thread_key=data.get("thread_key"),
            level=data.get("level"),
        )


def topic_label(topic: str) -> str:
    """A watch topic's name as people read it: ``korean-peninsula`` → ``Korean Peninsula``."""
    words = topic.replace("_", "-").split("-")
    return " ".join(w[:1].upper() + w[1:] for w in words if w) or topic
