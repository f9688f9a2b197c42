"""Per-watch-topic state: everything the stateful rules remember about one topic.

:class:`TopicState` is what rules read and change; ``flashpoint detect`` keeps one per topic
in a dict. The detect agent keeps it in a faust table through :class:`StoredState`, one
table entry per concern (and per story), so an article writes to the changelog only the
entries it changed instead of the topic's whole state. Every collection is bounded by time
and by size so each entry stays small.
"""

from __future__ import annotations

import copy
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

MAX_STORIES = 200
STORY_MEMORY_SECONDS = 48 * 3600.0
MAX_COMMITMENTS = 500
MAX_THROTTLE_KEYS = 1000
MAX_ACTIVE = 200


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
    rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per spike rule: ``since`` (watching from), ``buckets`` ([start, count], oldest
    first) and ``fired`` (when the standing spike began, or None)."""
    quiet: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per flatline rule: ``last`` (the last article counted) and ``alerted`` (when the
    quiet was reported, or None)."""
    terms: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per new_term rule: ``since`` and ``seen`` ({term: last seen})."""
    standing: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per rule, the alert of a standing condition to remind of: ``alert`` (its JSON),
    ``since``, ``notified`` (last notice) and ``count`` (reminders sent)."""
    active: list[dict[str, Any]] = field(default_factory=list)
    """Recent alerts that can inhibit others: ``at``, ``rule``, ``kind``, ``severity``,
    ``level``."""

    def to_dict(self) -> dict[str, Any]:
        """The whole state as one JSON-able value."""
        return {"stories": [story_value(s) for s in self.stories], **self.sections()}

    def sections(self) -> dict[str, Any]:
        """Every concern but the stories, each as the JSON-able value of its own entry."""
        # Written out by hand: dataclasses.asdict deep-copies and costs ~20x more here,
        # on every article the detect agent handles.
        return {
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
            "rates": copy.deepcopy(self.rates),
            "quiet": copy.deepcopy(self.quiet),
            "terms": copy.deepcopy(self.terms),
            "standing": copy.deepcopy(self.standing),
            "active": copy.deepcopy(self.active),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TopicState:
        if not data:
            return cls()
        return cls(
            stories=[story_from_value(s) for s in data.get("stories", [])],
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
            # Copied: the stored value is compared with what the rules leave, to write
            # only what changed, so the rules must not change it in place.
            rates=copy.deepcopy(data.get("rates", {})),
            quiet=copy.deepcopy(data.get("quiet", {})),
            terms=copy.deepcopy(data.get("terms", {})),
            standing=copy.deepcopy(data.get("standing", {})),
            active=copy.deepcopy(data.get("active", [])),
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
        del self.active[:-MAX_ACTIVE]


def story_value(story: Story) -> dict[str, Any]:
    return {
        "id": story.id,
        "signature": story.signature,
        "first_seen": story.first_seen,
        "sources": list(story.sources),
        "alerted": story.alerted,
    }


def story_from_value(value: dict[str, Any]) -> Story:
    return Story(
        value["id"],
        value["signature"],
        value["first_seen"],
        list(value["sources"]),
        value.get("alerted", False),
    )


STORY_IDS = "stories"
STANDING_SECTION = "standing"
SECTIONS = (
    "commitments",
    "escalation",
    "levels",
    "rule_hits",
    "throttle",
    "rates",
    "quiet",
    "terms",
    "standing",
    "active",
)
"""The concerns kept in an entry each (with the story ids); a new one is a new field of
:class:`TopicState` written by :meth:`TopicState.sections`, and gets its own entry."""


def entry_key(topic: str, part: str) -> str:
    """``china-japan/escalation``, ``china-japan/story/<id>``: one topic's entries."""
    return f"{topic}/{part}"


class StoredState:
    """One watch topic's state kept as entries of a key-value table (a faust table).

    Entries: ``<topic>/<concern>`` for each of :data:`SECTIONS`, ``<topic>/stories`` (the
    ids, oldest first) and ``<topic>/story/<id>`` per story. :meth:`save` writes only the
    entries whose value changed, so an article that adds a source to one story writes that
    story, not the 200 others; one that changes nothing writes nothing.
    """

    def __init__(self, table: MutableMapping[str, Any], topic: str) -> None:
        self._table = table
        self._topic = topic
        self._before: dict[str, Any] = {}
        self._stories_before: dict[str, dict[str, Any]] | None = None

    def load(self, *, stories: bool = True) -> TopicState:
        """The topic's state; without ``stories`` its story list is left unread (and
        :meth:`save` leaves the stored stories alone), for articles that cannot add one."""
        table, topic = self._table, self._topic
        self._before = {part: table.get(entry_key(topic, part)) for part in SECTIONS}
        state = TopicState.from_dict({k: v for k, v in self._before.items() if v is not None})
        if stories:
            self._stories_before = {}
            for story_id in table.get(entry_key(topic, STORY_IDS)) or ():
                value = table.get(entry_key(topic, f"story/{story_id}"))
                if value is not None:
                    self._stories_before[story_id] = value
                    state.stories.append(story_from_value(value))
        return state

    def save(self, state: TopicState) -> int:
        """Write the entries ``state`` changed since :meth:`load`; how many were written."""
        table, topic = self._table, self._topic
        written = 0
        for part, value in state.sections().items():
            before = self._before.get(part)
            if value != before and (before is not None or value):
                table[entry_key(topic, part)] = value
                written += 1
        if self._stories_before is None:
            return written
        before_stories = self._stories_before
        ids = [story.id for story in state.stories]
        for story in state.stories:
            before = before_stories.get(story.id)
            # Only sources and alerted change once a story exists: compare just those.
            if (
                before is None
                or before["sources"] != story.sources
                or before.get("alerted", False) != story.alerted
            ):
                table[entry_key(topic, f"story/{story.id}")] = story_value(story)
                written += 1
        for gone in before_stories.keys() - set(ids):
            del table[entry_key(topic, f"story/{gone}")]
            written += 1
        if ids != list(before_stories):
            table[entry_key(topic, STORY_IDS)] = ids
            written += 1
        return written
