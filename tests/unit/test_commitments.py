"""Commitments: who pledged to do what, by when and how much, and what is only talk."""

from __future__ import annotations

import pytest

from alerts.detect.commitments import CommitmentDetector, action_key
from alerts.model import Commitment

# Our own wire-style story in the shape of the China-Japan security talks.
SECURITY_TALKS = """\
Tokyo and Beijing hold first security dialogue in years

TOKYO (Harbour Wire) - Chinese diplomats voiced unease about Japan's growing defence \
capabilities on Thursday, while Tokyo raised Beijing's drills with Moscow.

Officials in Tokyo worry that Beijing would use force against Taiwan, and a war there would \
trigger a wider conflict that could drag in Japan.

Japan announced last year that it would double defence spending to 2% of GDP — about \
$300 billion in all — over the next five years to deter an attack. China, which raised its \
own military budget by 7% last year, spends far more than Japan on its forces.

Tokyo also plans to acquire longer-range missiles that could hit targets on the Chinese \
mainland and would stock up on shells it might need in a long conflict.

A Chinese vice foreign minister said ties between the neighbours "have not changed and will \
not change", and that the two sides should manage their differences calmly. He said he hopes \
Japan can keep to a peaceful path.

After the United States downed a Chinese surveillance balloon this month, Japan said it plans \
to clarify military rules of engagement so that its fighters can shoot down drones.

In a statement, Japan's foreign ministry said it had stressed the value of stability in the \
region.

The two countries have agreed to set up a direct communication hotline "around spring" and \
strengthen dialogue between their senior security officials, an official said.
"""


@pytest.fixture(scope="module")
def detector() -> CommitmentDetector:
    return CommitmentDetector()


def found(detector: CommitmentDetector, text: str) -> list[tuple[str, str]]:
    return [(c.actor, c.action) for c in detector.find(text)]


def only(detector: CommitmentDetector, text: str) -> Commitment:
    commitments = detector.find(text)
    assert len(commitments) == 1, commitments
    return commitments[0]


def test_the_security_talks_story_holds_exactly_five_commitments(
    detector: CommitmentDetector,
) -> None:
    commitments = detector.find(SECURITY_TALKS)
    assert [(c.actor, c.action, c.amount, c.deadline) for c in commitments] == [
        ("Japan", "double defence spending", "2% of GDP", "over the next five years"),
        ("Japan", "acquire longer-range missiles", None, None),
        ("Japan", "clarify military rules of engagement", None, None),
        ("China and Japan", "set up a direct communication hotline", None, "around spring"),
        (
            "China and Japan",
            "strengthen dialogue between their senior security officials",
            None,
            None,
        ),
    ]


def test_a_commitment_carries_its_sentence_span_verb_and_key(
    detector: CommitmentDetector,
) -> None:
    first = detector.find(SECURITY_TALKS)[0]
    assert SECURITY_TALKS[first.start : first.end] == first.sentence
    assert first.sentence.startswith("Japan announced last year")
    assert first.verb == "would"
    assert first.key == f"japan|{action_key('double defence spending')}"


@pytest.mark.parametrize(
    ("text", "actor", "action"),
    [
        ("Germany will send two more air defence systems to Ukraine.", "Germany", "send"),
        (
            "Seoul said on Monday it would resume joint drills with Washington.",
            "South Korea",
            "resume",
        ),
        ("Canberra plans to buy nuclear-powered submarines.", "Australia", "buy"),
        (
            "India and Pakistan have agreed to reopen a border crossing.",
            "India and Pakistan",
            "reopen",
        ),
        ("The EU pledged to phase out Russian gas imports.", "European Union", "phase"),
        ("Hezbollah vowed to retaliate for the strike.", "Hezbollah", "retaliate"),
        ("Britain is committed to training Ukrainian pilots.", "United Kingdom", "training"),
        ("Poland decided to build a fence along its eastern border.", "Poland", "build"),
        ("Vietnam is set to approve a new maritime law.", "Vietnam", "approve"),
        ("Manila intends to expand its coast guard fleet.", "Philippines", "expand"),
        ("Brazil aims to halve deforestation.", "Brazil", "halve"),
        ("Egypt signed a deal to buy fighter jets from France.", "Egypt", "buy"),
        ("Kenya announced it will deploy police officers to Haiti.", "Kenya", "deploy"),
        ("Indonesia is to move its capital to Borneo.", "Indonesia", "move"),
        ("Japan unveiled plans to build a new destroyer fleet.", "Japan", "build"),
        ("Tokyo promised more aid for the flood victims.", "Japan", "promise"),
        ("NATO leaders agreed on Wednesday to raise their spending target.", "NATO", "raise"),
        ("Argentina agreed with the IMF to rebuild its reserves.", "Argentina", "rebuild"),
        ("The U.N. Security Council voted to extend the mission.", "United Nations", "extend"),
    ],
)
def test_verbs_of_commitment(
    detector: CommitmentDetector, text: str, actor: str, action: str
) -> None:
    commitment = only(detector, text)
    assert (commitment.actor, commitment.action.split()[0]) == (actor, action)


@pytest.mark.parametrize(
    "text",
    [
        # hopes and wishes
        "Beijing hopes Japan can uphold the path of peaceful development.",
        "Washington wants to see talks resume.",
        "Russia would like to hold a summit.",
        "Officials said they hope China will show restraint.",
        # demands on others
        "The United States urged China to stop the drills.",
        "The EU called on Russia to withdraw its troops.",
        "Japan and China should handle their differences calmly.",
        # completed past actions
        "China increased its defence spending by 7.2% last year.",
        "The United States shot down a balloon off its coast.",
        # negated intents
        "Germany has no plans to send long-range missiles.",
        "India will not join the pact.",
        "Turkey ruled out a military operation.",
        "Iran did not agree to the inspections.",
        # consequences, not decisions
        "A blockade would trigger a regional war.",
        "The missiles could hit targets deep inside Russia.",
        "Tokyo fears Beijing would use force against Taiwan.",
        # states of affairs and predictions
        "Relations between the two countries will not change.",
        "Analysts say China will likely overtake the US economy.",
        "He is confident Australia will ride out the slump.",
        "The talks between China and Japan will be held in spring.",
        # not state actors
        "Japanese companies will build three factories in Ohio.",
        "Toyota plans to open a plant in Texas.",
        "Australia will bat first in the second Test match.",
        "The company said it would cut 500 jobs.",
    ],
)
def test_what_is_not_a_commitment(detector: CommitmentDetector, text: str) -> None:
    assert detector.find(text) == []


@pytest.mark.parametrize(
    ("text", "amount", "deadline"),
    [
        (
            "Germany will raise defence spending to 2% of GDP by 2027.",
            "2% of GDP",
            "by 2027",
        ),
        ("Japan pledged $5 billion in aid for the region.", "$5 billion", None),
        (
            "Britain will send 500 troops to Estonia within six months.",
            "500 troops",
            "within six months",
        ),
        (
            "France plans to buy two new destroyers by the end of March.",
            "two new destroyers",
            "by the end of March",
        ),
        ("Canada will double its Arctic patrols next year.", None, "next year"),
        (
            "Sweden agreed to build a munitions plant over the next three years.",
            None,
            "over the next three years",
        ),
        ("Poland will open the crossing from next month.", None, "from next month"),
        ("The EU will impose a 20% tariff on steel from March 1.", "20%", "from March 1"),
    ],
)
def test_amount_and_deadline(
    detector: CommitmentDetector, text: str, amount: str | None, deadline: str | None
) -> None:
    commitment = only(detector, text)
    assert (commitment.amount, commitment.deadline) == (amount, deadline)


def test_amount_in_an_aside_is_found_and_kept_out_of_the_action(
    detector: CommitmentDetector,
) -> None:
    commitment = only(
        detector, "Spain said it would lift aid — a total of $2 billion — over the next two years."
    )
    assert (commitment.action, commitment.amount, commitment.deadline) == (
        "lift aid",
        "$2 billion",
        "over the next two years",
    )


@pytest.mark.parametrize(
    ("text", "actor"),
    [
        ("Kenya said it will send police to Haiti.", "Kenya"),
        ("Israel had said it would expand the operation.", "Israel"),
        (
            "Jakarta and Canberra met in Bali. They will sign a defence pact.",
            "Australia and Indonesia",
        ),
        ("Turkey hosted the talks. It will also hold a second round in May.", "Turkey"),
        ("Putin met Xi in Moscow. The two countries agreed to expand trade.", "China and Russia"),
        ("Lima and Quito traded barbs. Both sides agreed to restore ties.", "Ecuador and Peru"),
        ("Macron arrived in Berlin. He said he would propose a joint fund.", "France"),
        (
            "Pakistan announced retaliatory sanctions, saying it would expel diplomats.",
            "Pakistan",
        ),
        ("India suspended the treaty and will close the border crossing.", "India"),
    ],
)
def test_pronouns_and_pairs_resolve_to_actors(
    detector: CommitmentDetector, text: str, actor: str
) -> None:
    assert only(detector, text).actor == actor


def test_a_pronoun_with_no_actor_behind_it_is_no_commitment(
    detector: CommitmentDetector,
) -> None:
    assert detector.find("The storm hit the coast. It will reach the capital tonight.") == []
    assert detector.find("The firm said it would cut jobs, Japan's minister noted.") == []


def test_coordinated_actions_are_separate_commitments(detector: CommitmentDetector) -> None:
    text = "Norway will build a new naval base and train Ukrainian marines by 2026."
    assert found(detector, text) == [
        ("Norway", "build a new naval base"),
        ("Norway", "train Ukrainian marines"),
    ]


def test_purpose_and_relative_clauses_are_trimmed(detector: CommitmentDetector) -> None:
    text = "Taiwan plans to buy drones that can reach the mainland to deter an invasion."
    assert only(detector, text).action == "buy drones"


def test_the_same_pledge_reported_twice_is_one_commitment(detector: CommitmentDetector) -> None:
    text = "Japan will double defence spending. Japan will double defense spending."
    assert len(detector.find(text)) == 1


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("double defence spending", "doubling defense spending"),
        ("acquire longer-range missiles", "acquiring longer range missiles"),
        ("set up a direct communication hotline", "setting up a direct communications hotline"),
        (
            "strengthen dialogue between senior officials",
            "strengthening dialog between senior officials",
        ),
        ("modernise its armoured vehicles", "modernize armored vehicles"),
        ("raise spending to 2% of GDP by 2027", "raise spending"),
    ],
)
def test_action_key_folds_paraphrases(one: str, other: str) -> None:
    assert action_key(one) == action_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("double defence spending", "cut defence spending"),
        ("send troops to Poland", "send troops to Estonia"),
        ("acquire missiles", "acquire drones"),
    ],
)
def test_action_key_keeps_different_actions_apart(one: str, other: str) -> None:
    assert action_key(one) != action_key(other)


def test_text_without_any_verb_of_commitment_costs_nothing(detector: CommitmentDetector) -> None:
    assert detector.find("") == []
    assert detector.find("China and Japan held talks in Tokyo on Wednesday.") == []


def test_commitments_deep_in_a_long_article_keep_exact_sentence_spans(
    detector: CommitmentDetector,
) -> None:
    filler = "Markets were calm and traders waited for data. " * 40
    long_clause = ", ".join(["with ports, rail links and power lines"] * 30)
    text = (
        f"{filler}Chile hosted the summit. It will build a lithium refinery, {long_clause}. "
        f"{filler}Peru said it would open two new border posts by 2026."
    )
    commitments = detector.find(text)
    assert [(c.actor, c.action, c.deadline) for c in commitments] == [
        ("Chile", "build a lithium refinery", None),
        ("Peru", "open two new border posts", "by 2026"),
    ]
    for commitment in commitments:
        assert text[commitment.start : commitment.end] == commitment.sentence


# --------------------------------------------------------------------------- held-out lessons


def read_2026(text: str) -> list[tuple[str, str]]:
    """Commitments as (actor, action), read in 2026."""
    return [(c.actor, c.action) for c in CommitmentDetector(reference_year=2026).find(text)]


def test_a_speaker_described_in_commas_still_speaks() -> None:
    text = (
        "Brazil, which borders both countries, said it would send about 600 soldiers to "
        "Roraima by the end of the month."
    )
    assert read_2026(text) == [("Brazil", "send about 600 soldiers to Roraima")]


def test_an_organisation_named_by_its_agency_is_a_subject() -> None:
    text = "Chad's government and the U.N. refugee agency plan to open four new camps in the east."
    assert read_2026(text) == [("Chad and United Nations", "open four new camps in the east")]


def test_a_plan_approved_for_a_purpose_is_a_commitment() -> None:
    text = (
        "Moldova's government approved a 1.3 billion lei ($73 million) support programme on "
        "Monday to help households pay heating bills."
    )
    [commitment] = CommitmentDetector().find(text)
    assert (commitment.actor, commitment.action) == ("Moldova", "help households pay heating bills")
    assert commitment.verb == "approved a plan to"


def test_a_deal_signed_in_a_past_year_is_history() -> None:
    assert read_2026("Ethiopia and Eritrea signed a peace deal in Algiers in 2000.") == []
    assert read_2026("Ethiopia and Eritrea signed a peace deal in Algiers on Monday.") == [
        ("Eritrea and Ethiopia", "sign a peace deal in Algiers")
    ]


def test_an_agreement_in_a_when_clause_is_background() -> None:
    assert read_2026("The crisis ended when Moscow agreed to remove the missiles from Cuba.") == []


def test_an_effort_to_win_something_back_is_not_sport() -> None:
    text = (
        "Egypt will cut canal fees by 15% for container ships, the canal authority said, in an "
        "effort to win back traffic."
    )
    assert read_2026(text) == [("Egypt", "cut canal fees")]


def test_a_decision_that_forces_will_act_is_a_commitment() -> None:
    text = (
        "The Palestinian Authority has taken a decision that Palestinian security forces will "
        "close down the group's offices."
    )
    assert read_2026(text) == [("Palestine", "close down the group's offices")]


def test_how_long_something_takes_is_no_action() -> None:
    text = (
        "The head of the US Central Command, General Tommy Franks, says it will take some time "
        "to confirm the reports."
    )
    assert read_2026(text) == []


def test_unnamed_rebels_do_not_commit_for_the_state_they_fight_in() -> None:
    assert read_2026("The rebels will withdraw from Goma, Congo's information minister said.") == []
