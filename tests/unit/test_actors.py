"""The actor gazetteer: every way wire copy names a state folds onto one canonical actor."""

from __future__ import annotations

import itertools

import pytest

from alerts.detect.actors import ActorMention, find_actors, gazetteer


def mentions(text: str) -> list[tuple[str, str, str]]:
    found = find_actors(text)
    for mention in found:
        assert text[mention.start : mention.end] == mention.surface
    return [(m.name, m.surface, m.kind) for m in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A delegation landed in Tokyo.", ("Japan", "Tokyo", "capital")),
        ("Beijing's response came quickly.", ("China", "Beijing's", "capital")),
        ("The Kremlin denied the report.", ("Russia", "The Kremlin", "government")),
        ("A statement from the Pentagon followed.", ("United States", "the Pentagon", "military")),
        ("Pyongyang fired again.", ("North Korea", "Pyongyang", "capital")),
        ("Talks opened in Kyiv.", ("Ukraine", "Kyiv", "capital")),
        ("Japanese voters went to the polls.", ("Japan", "Japanese", "state")),
        ("the Philippines' claim was rejected", ("Philippines", "the Philippines'", "state")),
        ("The PLA held drills.", ("China", "The PLA", "military")),
        ("Putin spoke by phone.", ("Russia", "Putin", "leader")),
        ("NATO allies met.", ("NATO", "NATO", "organisation")),
        ("The Houthis claimed the strike.", ("Houthis", "The Houthis", "armed_group")),
        ("Shares rose in SEOUL on Monday.", ("South Korea", "SEOUL", "capital")),
    ],
)
def test_surfaces_fold_onto_the_canonical_actor(text: str, expected: tuple[str, str, str]) -> None:
    assert mentions(text)[0] == expected


def test_a_state_and_its_office_are_one_mention() -> None:
    text = "Japan's foreign ministry and Chinese troops were named, as was the US Navy."
    assert mentions(text) == [
        ("Japan", "Japan's foreign ministry", "government"),
        ("China", "Chinese troops", "military"),
        ("United States", "the US Navy", "military"),
    ]


def test_a_title_and_a_leader_name_are_one_mention() -> None:
    text = "Chinese President Xi Jinping met Russian President Vladimir Putin."
    assert mentions(text) == [
        ("China", "Chinese President Xi Jinping", "leader"),
        ("Russia", "Russian President Vladimir Putin", "leader"),
    ]


def test_an_unnamed_office_takes_the_nearest_state_in_its_sentence() -> None:
    text = "Seoul protested, and the defence ministry summoned an envoy from India."
    assert mentions(text)[1] == ("South Korea", "the defence ministry", "government")


def test_an_unnamed_office_before_of_takes_the_state_after_it() -> None:
    text = "The foreign ministry of Vietnam issued a statement."
    assert mentions(text)[0] == ("Vietnam", "The foreign ministry", "government")


def test_an_unnamed_office_falls_back_to_the_subject_of_the_previous_sentence() -> None:
    text = "Israel demanded arrests by Palestinian police. The army will resume raids."
    assert mentions(text)[-1] == ("Israel", "The army", "military")


def test_an_unnamed_office_with_no_state_near_is_dropped() -> None:
    assert find_actors("Troops were seen near the border. The ministry said nothing.") == []


@pytest.mark.parametrize(
    "text",
    [
        "Ships crossed the South China Sea.",
        "He read it in the Washington Post.",
        "The Taiwan Strait was calm.",
        "Let us know what happens.",
    ],
)
def test_places_and_words_that_only_contain_a_name_are_not_actors(text: str) -> None:
    assert find_actors(text) == []


def test_longest_surface_wins() -> None:
    assert mentions("Papua New Guinea and North Korea") == [
        ("Papua New Guinea", "Papua New Guinea", "state"),
        ("North Korea", "North Korea", "state"),
    ]


def test_offsets_are_characters_after_non_ascii_text() -> None:
    text = "Côte d\u2019Ivoire\u2019s army — and Türkiye\u2019s navy — moved."
    found = find_actors(text)
    assert [(m.name, m.kind) for m in found] == [
        ("Côte d'Ivoire", "military"),
        ("Turkey", "military"),
    ]
    assert all(text[m.start : m.end] == m.surface for m in found)


def test_mentions_are_leftmost_first_and_do_not_overlap() -> None:
    found = find_actors("Washington and Beijing agreed; Moscow and Tehran objected.")
    assert [m.name for m in found] == ["United States", "China", "Russia", "Iran"]
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))


def test_gazetteer_covers_every_un_member_and_taiwan() -> None:
    states = gazetteer().states
    assert len(states) >= 195
    assert {"Taiwan", "Palestine", "Tuvalu", "Eswatini", "Japan"} <= states


def test_mention_is_a_frozen_value() -> None:
    mention = ActorMention("Japan", "Tokyo", "capital", 0, 5)
    with pytest.raises(AttributeError):
        mention.name = "China"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pristina rejected the offer.", ("Kosovo", "Pristina", "capital")),
        ("Albin Kurti spoke first.", ("Kosovo", "Albin Kurti", "leader")),
        ("Hargeisa hosted the delegation.", ("Somaliland", "Hargeisa", "capital")),
        ("Nuuk welcomed the visitors.", ("Greenland", "Nuuk", "capital")),
        ("Irfaan Ali addressed the nation.", ("Guyana", "Irfaan Ali", "leader")),
        ("JNIM claimed the ambush.", ("JNIM", "JNIM", "armed_group")),
        ("The TPLF signed the truce.", ("TPLF", "The TPLF", "armed_group")),
    ],
)
def test_sahel_horn_balkan_and_arctic_actors_are_known(
    text: str, expected: tuple[str, str, str]
) -> None:
    assert mentions(text)[0] == expected


def test_a_junta_is_its_state_s_government() -> None:
    assert mentions("Mali's ruling junta expelled the envoy.")[0] == (
        "Mali",
        "Mali's ruling junta",
        "government",
    )


def test_unnamed_armed_groups_take_the_state_of_their_sentence() -> None:
    assert mentions("Islamist militants attacked an army post in Burkina Faso.")[0] == (
        "Burkina Faso",
        "militants",
        "armed_group",
    )


@pytest.mark.parametrize(
    "text",
    [
        "SEOUL (Harbour Wire) - Shares rose on Monday.",
        "ABU DHABI, March 3 (Meridian News) \u2013 Shares rose on Monday.",
        "TOKYO, Feb 22 - Shares rose on Monday.",
    ],
)
def test_a_dateline_is_where_a_story_was_filed_not_an_actor(text: str) -> None:
    assert find_actors(text) == []
