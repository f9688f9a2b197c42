"""Watch topics: which flashpoints an article is about, from the phrases in config."""

from __future__ import annotations

from collections.abc import Mapping

from alerts.config.models import WatchTopic
from alerts.detect.matcher import PhraseMatcher

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
