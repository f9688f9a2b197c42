"""Watch topics: which flashpoints an article is about, from the phrases in config."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from alerts.config.models import PairTopics as PairTopicsConfig
from alerts.config.models import WatchTopic
from alerts.detect.actors import find_actors, gazetteer
from alerts.detect.matcher import PhraseMatcher
from alerts.model import Commitment, Escalation

GLOBAL_TOPIC = "global"


class TopicClassifier:
    """Keys articles to watch topics with one compiled pass over all topics' phrases."""

    def __init__(self, watch: Mapping[str, WatchTopic]) -> None:
        phrases: list[str] = []
        # For each phrase: (topic, group) where group is "any", "none" or an all_of index.
        self._owners: list[tuple[str, str | int]] = []
        self._all_of_groups: dict[str, int] = {}
        for name, topic in watch.items():
            for phrase in topic.any_of:
                phrases.append(phrase)
                self._owners.append((name, "any"))
            for index, group in enumerate(topic.all_of):
                for phrase in group:
                    phrases.append(phrase)
                    self._owners.append((name, index))
            for phrase in topic.none_of:
                phrases.append(phrase)
                self._owners.append((name, "none"))
            self._all_of_groups[name] = len(topic.all_of)
        self._has_any = {name: bool(topic.any_of) for name, topic in watch.items()}
        self._order = list(watch)
        self._matcher = PhraseMatcher(phrases)

    def is_pairing(self, topic: str) -> bool:
        """True for topics defined by co-occurrence (``all_of``), such as two rival states."""
        return self._all_of_groups.get(topic, 0) > 0 and not self._has_any.get(topic, False)

    def mentions(self, topic: str, text: str) -> bool:
        """True when ``text`` names anything of ``topic`` (any of its phrases)."""
        return any(
            owner == topic and group != "none"
            for owner, group in (self._owners[hit.index] for hit in self._matcher.find(text))
        )

    def classify(self, text: str, *, title_length: int = 0) -> list[str]:
        """The watch topics ``text`` belongs to, most salient first; ``["global"]`` if none.

        Salience counts the topic's phrase mentions, those in the title (the first
        ``title_length`` characters) twice; an ``all_of`` topic's mentions count one and a
        half times, since co-occurrence is the more specific signal. Ties keep config order.
        """
        any_hit: set[str] = set()
        excluded: set[str] = set()
        groups_hit: dict[str, set[int]] = {}
        mentions: dict[str, float] = {}
        for hit in self._matcher.find(text):
            topic, group = self._owners[hit.index]
            if group == "none":
                excluded.add(topic)
                continue
            if group == "any":
                any_hit.add(topic)
            else:
                groups_hit.setdefault(topic, set()).add(int(group))
            weight = 2.0 if hit.start < title_length else 1.0
            if group != "any":
                weight *= 1.5
            mentions[topic] = mentions.get(topic, 0.0) + weight
        topics = [
            name
            for name in self._order
            if name not in excluded
            and (
                name in any_hit
                or (
                    self._all_of_groups[name] > 0
                    and len(groups_hit.get(name, ())) == self._all_of_groups[name]
                )
            )
        ]
        topics.sort(key=lambda name: -mentions[name])
        return topics or [GLOBAL_TOPIC]


def pair_topic_name(first: str, second: str) -> str:
    """``china-india``: the two states' names, slugged and sorted."""
    return "-".join(sorted((_slug(first), _slug(second))))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", name).lower()).strip("-")


@dataclass(frozen=True, slots=True)
class Dyad:
    """Two states an act or commitment is between, and the sentence that says so."""

    parties: tuple[str, str]
    sentence: str

    @property
    def topic(self) -> str:
        return pair_topic_name(*self.parties)


class PairTopics:
    """Gives acts and commitments between two states that no watch topic covers a topic of
    their own, keyed by the pair, as GDELT codes every dyad.

    A pairing watch topic (``all_of``) covers a dyad when it names both states; a place
    topic (``any_of``) when it names something in the act's sentence, or when it is the
    article's primary topic (a South China Sea story's China-Philippines acts are its own).
    At most ``max_live`` pair topics are live at once (each lapses after ``idle`` seconds
    without an article); past the cap a new pair's acts stay on ``global``.
    """

    def __init__(self, config: PairTopicsConfig, watch: TopicClassifier) -> None:
        self.config = config
        self._watch = watch
        self._only = frozenset(config.only) if config.only is not None else None
        self._exclude = frozenset(config.exclude)
        self._live: OrderedDict[str, float] = OrderedDict()

    def topics(self, dyads: Iterable[Dyad], watch_topics: Sequence[str], now: float) -> list[str]:
        """Pair topics for the dyads no topic in ``watch_topics`` covers, first seen first."""
        if not self.config.enabled:
            return []
        found: list[str] = []
        for dyad in dyads:
            if not self._allowed(dyad) or self._covered(dyad, watch_topics):
                continue
            if dyad.topic not in found and self._admit(dyad.topic, now):
                found.append(dyad.topic)
        return found

    def is_pair_topic(self, topic: str) -> bool:
        return topic in self._live

    def _allowed(self, dyad: Dyad) -> bool:
        parties = set(dyad.parties)
        if parties & self._exclude:
            return False
        return self._only is None or parties <= self._only

    def _covered(self, dyad: Dyad, watch_topics: Sequence[str]) -> bool:
        for index, topic in enumerate(watch_topics):
            if topic == GLOBAL_TOPIC:
                continue
            if self._watch.is_pairing(topic):
                if all(self._watch.mentions(topic, party) for party in dyad.parties):
                    return True
            elif index == 0 or self._watch.mentions(topic, dyad.sentence):
                return True  # a place the article is chiefly about covers its acts
        return False

    def _admit(self, topic: str, now: float) -> bool:
        horizon = now - self.config.idle
        while self._live and next(iter(self._live.values())) < horizon:
            self._live.popitem(last=False)
        if topic in self._live:
            self._live.move_to_end(topic)
            self._live[topic] = now
            return True
        if len(self._live) >= self.config.max_live:
            return False
        self._live[topic] = now
        return True


def dyads(escalation: Escalation, commitments: Sequence[Commitment]) -> list[Dyad]:
    """The pairs of states the article's counted acts and commitments are between: the act's
    actor and the other state its sentence names nearest to the act (or, for a commitment
    made by two states together, those two)."""
    states = gazetteer().states
    found: list[Dyad] = []
    for match in escalation.matches:
        if match.actor is not None and match.actor in states:
            at = match.sentence.find(match.phrase)
            other = _nearest_other_state(match.sentence, match.actor, max(at, 0), states)
            if other is not None:
                found.append(Dyad(_ordered(match.actor, other), match.sentence))
    for commitment in commitments:
        parties = [p for p in re.split(r",\s*|\s+and\s+", commitment.actor) if p in states]
        if len(set(parties)) == 2:
            found.append(Dyad(_ordered(parties[0], parties[1]), commitment.sentence))
        elif len(parties) == 1:
            other = _nearest_other_state(commitment.sentence, parties[0], 0, states)
            if other is not None:
                found.append(Dyad(_ordered(parties[0], other), commitment.sentence))
    return found


def _ordered(first: str, second: str) -> tuple[str, str]:
    a, b = sorted((first, second))
    return a, b


def _nearest_other_state(sentence: str, actor: str, at: int, states: frozenset[str]) -> str | None:
    others = [m for m in find_actors(sentence) if m.name in states and m.name != actor]
    if not others:
        return None
    return min(others, key=lambda m: abs(m.start - at)).name


def pair_parties(topic: str) -> tuple[str, str] | None:
    """The two states of a pair topic's name, or None when it is no pair topic."""
    slugs = _state_slugs()
    for cut in range(1, len(topic)):
        if topic[cut] != "-":
            continue
        first, second = slugs.get(topic[:cut]), slugs.get(topic[cut + 1 :])
        if first and second and first != second:
            return first, second
    return None


@functools.cache
def _state_slugs() -> dict[str, str]:
    return {_slug(state): state for state in gazetteer().states}
