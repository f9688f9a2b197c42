"""Alertmanager-style timing of groups and digests, and the silence records, offline."""

from __future__ import annotations

import json

import pytest

from alerts.config.models import Route
from alerts.grouping import MAX_PER_MESSAGE, Groups, group_key
from alerts.model import Alert
from alerts.silences import Silence, SilenceBook, SilenceError, new_silence, parse_matchers, table

T0 = 1_780_000_000.0


def alert(n: int, *, topic: str = "korea", severity: str = "warning") -> Alert:
    return Alert(
        id=f"a{n}",
        rule="drills",
        kind="keyword",
        severity=severity,  # type: ignore[arg-type]
        topic=topic,
        title=f"Alert {n}",
        summary="",
        evidence=(),
        article={"id": f"art{n}"},
        created_at="2026-06-01T00:00:00Z",
    )


def grouped(**fields: object) -> Route:
    return Route.model_validate({"sinks": ["slack"], "group_by": ["topic"], **fields})


def test_a_group_waits_group_wait_then_later_alerts_wait_group_interval() -> None:
    route = grouped(group_wait="30s", group_interval="5m")
    groups: Groups[str] = Groups()
    for n, at in enumerate((0, 10, 20)):
        groups.add(group_key(0, route, alert(n), ["slack"]), route, f"a{n}", T0 + at)
    assert groups.next_due() == T0 + 30
    assert groups.due(T0 + 29) == []
    [batch] = groups.due(T0 + 30)
    assert batch.items == ["a0", "a1", "a2"] and batch.sinks == ("slack",)
    groups.add(group_key(0, route, alert(3), ["slack"]), route, "a3", T0 + 40)
    assert groups.due(T0 + 100) == []  # within group_interval of the last send
    [batch] = groups.due(T0 + 330)
    assert batch.items == ["a3"]


def test_groups_are_per_group_by_value_and_a_spent_group_starts_afresh() -> None:
    route = grouped(group_wait="30s", group_interval="5m")
    groups: Groups[str] = Groups()
    groups.add(group_key(0, route, alert(1, topic="korea"), ["slack"]), route, "k", T0)
    groups.add(group_key(0, route, alert(2, topic="taiwan"), ["slack"]), route, "t", T0 + 5)
    assert [b.items for b in groups.due(T0 + 35)] == [["k"], ["t"]]
    assert groups.due(T0 + 700) == []  # both empty and spent: forgotten
    groups.add(group_key(0, route, alert(3), ["slack"]), route, "again", T0 + 701)
    assert groups.next_due() == T0 + 731  # a new group waits group_wait again


def test_a_digest_goes_out_on_the_interval_boundary() -> None:
    route = Route.model_validate({"sinks": ["slack"], "digest": "1h"})
    groups: Groups[str] = Groups()
    start = 3600.0 * 500_000 + 1800  # half past an hour
    groups.add(group_key(0, route, alert(1), ["slack"]), route, "x", start)
    groups.add(group_key(0, route, alert(2, topic="taiwan"), ["slack"]), route, "y", start + 60)
    assert groups.next_due() == 3600.0 * 500_001
    [batch] = groups.due(3600.0 * 500_001)  # no group_by: one digest of everything
    assert batch.items == ["x", "y"]


def test_a_large_group_is_split_and_everything_flushes_at_once() -> None:
    route = grouped()
    groups: Groups[int] = Groups()
    for n in range(MAX_PER_MESSAGE + 3):
        groups.add(group_key(0, route, alert(n), ["slack"]), route, n, T0)
    assert groups.waiting() == MAX_PER_MESSAGE + 3
    assert [len(b.items) for b in groups.everything()] == [MAX_PER_MESSAGE, 3]
    assert groups.waiting() == 0 and groups.next_due() is None


def test_matchers_parse_and_bad_ones_say_why() -> None:
    assert parse_matchers(["rule=drills", "topic=korea"]) == {"rule": "drills", "topic": "korea"}
    for bad, says in [
        (["rule"], "expected FIELD=VALUE"),
        (["colour=red"], "FIELD is one of rule, topic, severity, kind"),
        ([], "at least one --match"),
    ]:
        with pytest.raises(SilenceError, match=says):
            parse_matchers(bad)
    with pytest.raises(SilenceError, match="positive duration"):
        new_silence({"rule": "x"}, 0, "c", "me", T0)


def test_a_silence_mutes_what_it_matches_until_it_ends_and_expiring_wins() -> None:
    silence = new_silence({"rule": "drills", "topic": "korea"}, 7200, "exercise", "ana", T0)
    again = Silence.from_json(silence.to_json())
    assert again.matchers == silence.matchers and again.ends_at == pytest.approx(T0 + 7200, abs=1)
    book = SilenceBook()
    book.apply(again, again.id)
    assert book.matching(alert(1), T0 + 60) is not None
    assert book.matching(alert(1, topic="taiwan"), T0 + 60) is None
    assert book.matching(alert(1), T0 + 7201) is None
    book.apply(again.expired(T0 + 120), again.id)
    assert book.matching(alert(1), T0 + 121) is None
    assert book.listed(T0 + 121) == []
    assert [s.id for s in book.listed(T0 + 121, everything=True)] == [again.id]
    assert book.find(again.id[:8]).id == again.id
    listing = table(book.listed(T0 + 121, everything=True), T0 + 121)
    assert listing.splitlines()[0].split() == [
        "ID",
        "STATE",
        "MATCHERS",
        "ENDS",
        "CREATED",
        "BY",
        "COMMENT",
    ]
    assert f"{again.id}  expired  rule=drills,topic=korea" in listing and "ana" in listing


def test_a_record_that_is_not_a_silence_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="not a silence"):
        Silence.from_json(json.dumps({"id": "x"}).encode())
    with pytest.raises(ValueError, match="bad matchers"):
        Silence.from_json(
            json.dumps(
                {"id": "x", "matchers": {"colour": "red"}, "starts_at": 1, "ends_at": 2}
            ).encode()
        )
