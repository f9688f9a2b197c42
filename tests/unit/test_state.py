"""Topic state in a table: one entry per concern and per story, and an article writes
only the entries it changed."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from alerts.state import StoredState
from tests.unit.test_engine import HOUR, KEYWORD, T0, article, engine

ESCALATION = """
  - {name: escalation, type: escalation, window: 6h}
"""


class RecordingTable(dict[str, Any]):
    """A dict that notes every write and delete, as a table's changelog would."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, int]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append((key, len(json.dumps(value))))
        super().__setitem__(key, json.loads(json.dumps(value)))  # stored as it would be read

    def __delitem__(self, key: str) -> None:
        self.writes.append((key, 0))
        super().__delitem__(key)

    def take(self) -> list[str]:
        keys = [key for key, _ in self.writes]
        self.writes.clear()
        return keys


POOL = [
    "harbour",
    "ferry",
    "lantern",
    "orchard",
    "quarry",
    "meadow",
    "glacier",
    "canyon",
    "estuary",
    "lagoon",
    "marsh",
    "summit",
    "valley",
    "ridge",
    "plateau",
    "delta",
    "fjord",
    "island",
    "reef",
    "atoll",
    "prairie",
    "steppe",
    "tundra",
    "savanna",
    "forest",
    "desert",
    "oasis",
    "dune",
    "cliff",
    "cove",
    "bay",
    "gulf",
    "strait",
    "channel",
    "sound",
    "inlet",
    "river",
    "creek",
    "brook",
    "pond",
]


def stories(count: int) -> Iterator[Any]:
    """Distinct stories (no two near-duplicates), each matching the keyword rule."""
    for n in range(count):
        words = random.Random(n).sample(POOL, 24)
        yield article(
            f"Balloon report {n}",
            f"Japan said a Chinese spy balloon was seen. {' '.join(words)}.",
            source="Wire A",
        )


def process(table: RecordingTable, e: Any, item: Any, now: float) -> list[Any]:
    analysis = e.analyze(item)
    alerts = []
    for topic in analysis.topics:
        stored = StoredState(table, topic)
        state = stored.load(stories=analysis.has_signal)
        alerts += e.decide(topic, analysis, state, now)
        stored.save(state)
    return alerts


def test_a_repeat_from_a_new_outlet_writes_that_story_not_the_others() -> None:
    e = engine(KEYWORD)
    table = RecordingTable()
    for n, item in enumerate(stories(30)):
        process(table, e, item, T0 + n)
    assert len(table["china-japan/stories"]) == 30
    table.take()

    first = next(stories(1))
    again = article(first.title, first.body + " More.", source="Wire B")
    process(table, e, again, T0 + 100)

    written = table.take()
    story = f"china-japan/story/{first.id}"
    assert story in written
    assert not [k for k in written if k.startswith("china-japan/story/") and k != story]
    assert "china-japan/stories" not in written  # the list of stories did not change
    assert table[story]["sources"] == ["Wire A", "Wire B"]


def test_an_article_that_raises_nothing_writes_nothing() -> None:
    e = engine(KEYWORD + ESCALATION)
    table = RecordingTable()
    process(table, e, article("Harvest", "Farmers in Iowa expect a record corn crop."), T0)
    process(table, e, article("Markets", "Shares rose in Frankfurt on Tuesday."), T0 + 1)
    assert table.writes == []


def test_state_read_back_from_entries_is_the_state_that_was_saved() -> None:
    e = engine(KEYWORD + ESCALATION)
    table = RecordingTable()
    body = (
        "Japan said on Tuesday that Chinese warships fired missiles near its islands and "
        "China threatened to use force; a Chinese spy balloon also crossed Okinawa."
    )
    analysis = e.analyze(article("China fires missiles near Japan", body, source="Wire A"))
    stored = StoredState(table, "china-japan")
    state = stored.load()
    raised = e.decide("china-japan", analysis, state, T0)
    assert {a.kind for a in raised} >= {"keyword", "escalation"}
    stored.save(state)

    again = StoredState(table, "china-japan").load()
    assert again.to_dict() == json.loads(json.dumps(state.to_dict()))
    assert {key.split("/")[1] for key in table} >= {"escalation", "levels", "story", "stories"}


def test_stories_past_their_memory_are_deleted_from_the_table() -> None:
    e = engine(KEYWORD)
    table = RecordingTable()
    old, new = list(stories(2))
    process(table, e, old, T0)
    table.take()
    process(table, e, new, T0 + 49 * HOUR)
    written = table.take()
    assert f"china-japan/story/{old.id}" in written
    assert f"china-japan/story/{old.id}" not in table
    assert table["china-japan/stories"] == [new.id]
