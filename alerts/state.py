"""Per-watch-topic state: everything the stateful rules remember about one topic.

It is a plain JSON-able value so the detect agent can keep it in a faust table (one key
per watch topic, changelogged) and ``flashpoint detect`` in a dict. Every collection is
bounded by time and by size so the value stays small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_STORIES = 200
STORY_MEMORY_SECONDS = 48 * 3600.0
MAX_COMMITMENTS = 500
MAX_THROTTLE_KEYS = 1000


@dataclass
class Story:
    """One event as first reported; later near-duplicates only add sources."""

    id: str
    signature: str
    first_seen: float
    sources: list[str] = field(default_factory=list)
    alerted: bool = False
    """A story alert (keyword, commitment) was sent: later outlets get a threaded note."""


@dataclass
class SeenCommitment:
    amount: str | None
    deadline: str | None
    first_seen: float
    last_seen: float


@dataclass
class EscalationEvent:
    at: float
    story: str
    score: float
    acts: list[str]


@dataclass
class TopicState:
    stories: list[Story] = field(default_factory=list)
    commitments: dict[str, SeenCommitment] = field(default_factory=dict)
    escalation: dict[str, list[EscalationEvent]] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    rule_hits: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    throttle: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # Written out by hand: dataclasses.asdict deep-copies and costs ~20x more here,
        # on every article the detect agent handles.
        return {
            "stories": [
                {
                    "id": s.id,
                    "signature": s.signature,
                    "first_seen": s.first_seen,
                    "sources": list(s.sources),
                    "alerted": s.alerted,
                }
                for s in self.stories
            ],
            "commitments": {
                key: {
                    "amount": c.amount,
                    "deadline": c.deadline,
                    "first_seen": c.first_seen,
                    "last_seen": c.last_seen,
                }
                for key, c in self.commitments.items()
            },
            "escalation": {
                rule: [
                    {"at": e.at, "story": e.story, "score": e.score, "acts": list(e.acts)}
                    for e in events
                ]
                for rule, events in self.escalation.items()
            },
            "levels": dict(self.levels),
            "rule_hits": {
                rule: [list(hit) for hit in hits] for rule, hits in self.rule_hits.items()
            },
            "throttle": dict(self.throttle),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TopicState:
        if not data:
            return cls()
        return cls(
            stories=[
                Story(**{**s, "sources": list(s["sources"])}) for s in data.get("stories", [])
            ],
            commitments={k: SeenCommitment(**v) for k, v in data.get("commitments", {}).items()},
            escalation={
                rule: [EscalationEvent(**e) for e in events]
                for rule, events in data.get("escalation", {}).items()
            },
            levels=dict(data.get("levels", {})),
            rule_hits={
                rule: [(float(at), str(story)) for at, story in hits]
                for rule, hits in data.get("rule_hits", {}).items()
            },
            throttle=dict(data.get("throttle", {})),
        )

    def prune(self, now: float) -> None:
        """Drop what no rule can need any more, and cap every collection."""
        self.stories = [s for s in self.stories if now - s.first_seen < STORY_MEMORY_SECONDS]
        del self.stories[:-MAX_STORIES]
        if len(self.commitments) > MAX_COMMITMENTS:
            keep = sorted(self.commitments.items(), key=lambda kv: kv[1].last_seen)
            self.commitments = dict(keep[-MAX_COMMITMENTS:])
        if len(self.throttle) > MAX_THROTTLE_KEYS:
            keep_t = sorted(self.throttle.items(), key=lambda kv: kv[1])
            self.throttle = dict(keep_t[-MAX_THROTTLE_KEYS:])
