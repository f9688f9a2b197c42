"""The escalation detector as an analyst sees it: which acts count, which do not, and why."""

from __future__ import annotations

import pytest

from alerts.config.models import EscalationLevels
from alerts.detect.escalation import EscalationDetector, level_for
from alerts.detect.lexicon import build_lexicon, expand, load_lexicon, template_regex
from alerts.detect.matcher import PhraseMatcher
from alerts.errors import ConfigError
from alerts.model import Escalation


@pytest.fixture(scope="module")
def detector() -> EscalationDetector:
    return EscalationDetector(reference_year=2024)


def kinds(result: Escalation) -> set[str]:
    return {m.kind for m in result.matches}


def reasons(result: Escalation) -> dict[str, str]:
    return {v.phrase.lower(): v.reason for v in result.vetoed}


# --------------------------------------------------------------------------- each kind


@pytest.mark.parametrize(
    ("text", "kind", "phrase"),
    [
        (
            "Manila said Chinese spy balloons drifted over Luzon twice this month.",
            "accuse",
            "spy balloons",
        ),
        (
            "North Korea threatened to turn Seoul into a sea of fire over the new drills.",
            "threaten",
            "threatened",
        ),
        (
            "Beijing warned Taipei that crossing its red line would bring a military answer.",
            "threaten",
            "red line",
        ),
        (
            "Russia began large-scale naval drills in the Baltic Sea on Monday.",
            "mobilise",
            "naval drills",
        ),
        (
            "Two Chinese warships sailed through the Tsushima Strait, Tokyo said.",
            "mobilise",
            "warships sailed through",
        ),
        (
            "Taiwan scrambled fighter jets after 20 Chinese aircraft approached the island.",
            "mobilise",
            "scrambled fighter jets",
        ),
        (
            "The European Union imposed sanctions on three Iranian drone makers.",
            "coerce",
            "imposed sanctions",
        ),
        (
            "Lithuania expelled three Russian diplomats after the incident.",
            "coerce",
            "expelled three Russian diplomats",
        ),
        (
            "Russian air strikes hit the port of Odesa overnight, Ukraine said.",
            "use_force",
            "air strikes",
        ),
        (
            "Iran's Revolutionary Guards seized a Greek oil tanker in the Gulf of Oman.",
            "use_force",
            "seized a Greek oil tanker",
        ),
    ],
)
def test_each_kind_of_act_counts_and_reaches_watch(
    detector: EscalationDetector, text: str, kind: str, phrase: str
) -> None:
    result = detector.analyze(text)

    assert [(m.kind, m.phrase) for m in result.matches if m.phrase == phrase] == [(kind, phrase)]
    assert result.level in {"watch", "warning", "critical"}


def test_a_bare_accusation_is_verbal_conflict_below_watch(detector: EscalationDetector) -> None:
    result = detector.analyze("Japan accused China of distorting the history of the dispute.")

    assert [(m.kind, m.weight) for m in result.matches] == [("accuse", 2.0)]
    assert result.level == "none"


def test_match_carries_rule_sentence_and_nearest_actor() -> None:
    detector = EscalationDetector(rule="asia-escalation", reference_year=2024)
    text = "Markets were calm. Chinese coast guard ships fired water cannon at a Philippine boat."

    (match,) = detector.analyze(text).matches

    assert match.rule == "asia-escalation"
    assert match.sentence == text[19:]
    assert match.actor in {"China", "Philippines"}


def test_a_pronoun_subject_takes_the_actor_of_the_sentence_before(
    detector: EscalationDetector,
) -> None:
    text = "Iran's navy held a news conference on Sunday. It said it had seized a tanker."

    (match,) = detector.analyze(text).matches

    assert (match.phrase, match.actor) == ("seized a tanker", "Iran")


def test_an_announced_use_of_force_counts_as_a_threat(detector: EscalationDetector) -> None:
    result = detector.analyze(
        "Japan said its jets will shoot down any drone entering its airspace."
    )

    assert [(m.phrase, m.kind, m.weight) for m in result.matches] == [
        ("shoot down", "threaten", 4.0)
    ]


def test_never_ruling_out_force_is_a_threat_not_a_denial(detector: EscalationDetector) -> None:
    result = detector.analyze("Beijing has never ruled out the use of force to seize Taiwan.")

    assert [m.phrase for m in result.matches] == ["use of force"]
    assert result.vetoed == ()


# --------------------------------------------------------------------------- vetoes


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("China denied plans to hold military drills near the islands.", "military drills"),
        ("The Pentagon ruled out air strikes on Iranian soil for now.", "air strikes"),
        (
            "Moscow said it had no plans to expel the Polish ambassador.",
            "expel the polish ambassador",
        ),
        ("Israel did not carry out air strikes on Beirut overnight, the army said.", "air strikes"),
        ("Seoul has never fired on a North Korean vessel, the navy said.", "fired on"),
        ("Tokyo rejected reports that Japanese jets had shot down a Chinese drone.", "shot down"),
        ("Reports that Russian troops invaded the village were false, Kyiv said.", "invaded"),
    ],
)
def test_negated_and_denied_acts_do_not_count(
    detector: EscalationDetector, text: str, phrase: str
) -> None:
    result = detector.analyze(text)

    assert reasons(result).get(phrase) == "negated"
    assert result.level == "none"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Veterans marked the anniversary of the day Soviet troops invaded Prague.", "invaded"),
        ("In 1962, the US imposed a naval blockade on Cuba.", "blockade"),
        ("During the Cold War, Soviet bombers staged drills off Alaska.", "drills"),
        ("Decades ago, Chinese jets shot down a Taiwanese plane over the strait.", "shot down"),
        ("Moscow commemorated the Soviet soldiers who bombed Berlin.", "bombed"),
        ("Trade has grown since the Russian invasion of Crimea, Beijing said.", "invasion"),
    ],
)
def test_historical_mentions_do_not_count(
    detector: EscalationDetector, text: str, phrase: str
) -> None:
    result = detector.analyze(text)

    assert reasons(result).get(phrase) == "historical"
    assert result.level == "none"


def test_a_recent_year_is_news_not_history(detector: EscalationDetector) -> None:
    result = detector.analyze("In 2023, Chinese warships sailed through the strait twice.")

    assert [m.phrase for m in result.matches] == ["warships sailed through"]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("If China were to invade Taiwan, Japan would face a hard choice.", "invade"),
        ("In a think-tank war-game, Chinese missiles struck Guam.", "missiles struck"),
        ("Analysts say Russia could in theory blockade the Baltic ports.", "blockade"),
        ("The simulation showed Chinese bombers attacking US bases in Okinawa.", "attacking"),
        (
            "NATO officials fear Russian drones may launch strikes on Polish airfields.",
            "launch strikes",
        ),
        ("Tokyo said any incursion into Japanese airspace would be met firmly.", "incursion"),
    ],
)
def test_hypotheticals_do_not_count(detector: EscalationDetector, text: str, phrase: str) -> None:
    result = detector.analyze(text)

    assert reasons(result).get(phrase) == "hypothetical"
    assert result.level == "none"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Japan's striker led the attack on Australia's goal in the second half.", "attack on"),
        ("French rail workers launched strikes against the pension reform.", "launched strikes"),
        ("The Russian ambassador suffered a heart attack on the flight.", "attack on"),
        ("The Chinese government shot down the proposal at the WTO meeting.", "shot down"),
        ("Mexico declared war on drugs two decades after the US did.", "declared war"),
        (
            "The Indian grandmaster launched an attack on the Chinese king in the chess final.",
            "launched an attack",
        ),
        ("The US film bombed at the box office in China.", "bombed"),
        (
            "Australia's opposition leader attacked the Government's budget in Parliament.",
            "attacked",
        ),
    ],
)
def test_non_military_senses_do_not_count(
    detector: EscalationDetector, text: str, phrase: str
) -> None:
    result = detector.analyze(text)

    assert reasons(result).get(phrase.lower()) == "non_military"
    assert result.level == "none"


def test_a_trade_war_is_coercion_not_force(detector: EscalationDetector) -> None:
    result = detector.analyze("Washington and Beijing escalated their trade war on Friday.")

    assert [(m.phrase, m.kind) for m in result.matches] == [("trade war", "coerce")]


def test_an_act_with_no_state_or_armed_actor_near_does_not_count(
    detector: EscalationDetector,
) -> None:
    result = detector.analyze("Unknown assailants opened fire on a bus outside a market.")

    assert reasons(result) == {"opened fire": "no_actor"}
    assert result.matches == ()


def test_vetoes_keep_the_span_and_sentence_for_explaining(detector: EscalationDetector) -> None:
    text = "Calm returned. Pyongyang denied that its troops fired on the border post."

    (veto,) = detector.analyze(text).vetoed

    assert text[veto.start : veto.end] == veto.phrase == "fired on"
    assert (veto.kind, veto.sentence) == ("use_force", text[15:])


# --------------------------------------------------------------------------- scoring


def test_the_same_act_repeated_counts_once(detector: EscalationDetector) -> None:
    once = detector.analyze("Israeli air strikes hit southern Lebanon.")
    thrice = detector.analyze(
        "Israeli air strikes hit southern Lebanon. More Israeli air strikes followed at dawn. "
        "Hezbollah said the Israeli airstrikes killed two fighters."
    )

    assert once.score == thrice.score == 6.0
    assert [m.phrase for m in thrice.matches] == ["air strikes"]


def test_distinct_acts_add_up(detector: EscalationDetector) -> None:
    result = detector.analyze(
        "Russian troops shelled Kharkiv overnight. Moscow also expelled two Finnish diplomats "
        "and the Russian navy began naval drills in the Baltic."
    )

    assert sorted(m.kind for m in result.matches) == ["coerce", "mobilise", "use_force"]
    assert result.score == sum(m.weight for m in result.matches) == 13.0
    assert result.level == "warning"


def test_each_kind_counts_at_most_its_cap_of_acts(detector: EscalationDetector) -> None:
    result = detector.analyze(
        "Russian forces shelled the town, Russian jets bombed the bridge, Russian drones "
        "struck the depot, and Russian troops opened fire on the checkpoint."
    )

    assert [m.kind for m in result.matches] == ["use_force"] * 3
    assert result.score == 18.0


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0.0, "none"),
        (2.99, "none"),
        (3.0, "watch"),
        (7.99, "watch"),
        (8.0, "warning"),
        (15.99, "warning"),
        (16.0, "critical"),
        (40.0, "critical"),
    ],
)
def test_levels_follow_the_default_thresholds(score: float, level: str) -> None:
    assert level_for(score, EscalationLevels()) == level


def test_configured_levels_change_the_verdict() -> None:
    strict = EscalationDetector(
        EscalationLevels(watch=7, warning=12, critical=20), reference_year=2024
    )

    result = strict.analyze("Israeli air strikes hit southern Lebanon.")

    assert (result.score, result.level) == (6.0, "none")


# --------------------------------------------------------------------------- spans


def test_spans_point_at_the_phrase_as_written(detector: EscalationDetector) -> None:
    text = (
        "Seoul\u2019s \u201cfirm\u201d stance \u2014 explained.\n\n"
        "North Korea test-fired a ballistic missile and Pyongyang later Shot  Down a drone."
    )

    result = detector.analyze(text)

    assert [(text[m.start : m.end], m.phrase) for m in result.matches] == [
        ("test-fired", "test-fired"),
        ("Shot  Down", "Shot  Down"),
    ]


# --------------------------------------------------------------------------- reference


def test_china_japan_security_talks_reach_warning(detector: EscalationDetector) -> None:
    # Our own paraphrase of a wire story on the first China-Japan security talks in years.
    text = (
        "Japan and China hold first security dialogue in years\n\n"
        "TOKYO - Beijing voiced concern over Japan's military buildup on Wednesday, while Tokyo "
        "raised China's defence ties with Moscow and the alleged use of spy balloons over "
        "Japanese territory. Japanese officials worry that Beijing would use force to take "
        "control of Taiwan, after Russia's attack on Ukraine showed such a war can happen. "
        "Japan also pointed to China's recent joint military exercises with Russia. "
        "Last week the United States shot down a suspected Chinese spy balloon, and Japan now "
        "plans rules that let its fighter jets shoot down unmanned aircraft in its airspace. "
        "The two sides agreed to open a defence hotline by spring."
    )

    result = detector.analyze(text)

    assert result.level in {"warning", "critical"}
    assert {"accuse", "threaten", "mobilise", "use_force"} <= kinds(result)
    assert {"military buildup", "use force", "shot down"} <= {m.phrase for m in result.matches}
    # "after Russia's attack on Ukraine" anchors the worry in time: background, not news.
    assert ("attack on", "historical") in {(v.phrase, v.reason) for v in result.vetoed}


def test_a_named_campaign_dated_in_the_news_own_time_still_counts(
    detector: EscalationDetector,
) -> None:
    result = detector.analyze(
        "Ukraine's air force said it shot down 40 drones overnight, after Russia's attack on "
        "Kharkiv on Tuesday killed six people."
    )
    assert "attack on" in {m.phrase for m in result.matches}


def test_an_act_belongs_to_its_subject_not_to_a_prepositional_object(
    detector: EscalationDetector,
) -> None:
    result = detector.analyze(
        "Tokyo criticised Beijing's military ties with Russia and its alleged use of spy "
        "balloons over Japanese territory."
    )
    [balloons] = [m for m in result.matches if m.phrase == "spy balloons"]
    assert balloons.actor == "China"


def test_an_ordinary_story_scores_nothing(detector: EscalationDetector) -> None:
    result = detector.analyze(
        "Japan's central bank held rates steady on Thursday. The yen rose against the dollar "
        "and exporters' shares fell in Tokyo trading."
    )

    assert result == Escalation(0.0, "none")


# --------------------------------------------------------------------------- lexicon


def test_expand_lists_every_alternative_and_drops_empty_parts() -> None:
    assert expand("{shot|shoot} down") == ["shot down", "shoot down"]
    assert expand("{joint |}military drills") == ["joint military drills", "military drills"]
    assert expand("red line") == ["red line"]


def test_expand_rejects_unbalanced_braces() -> None:
    with pytest.raises(ValueError, match="braces"):
        expand("{shot|shoot down")


def test_the_packaged_lexicon_has_every_kind_the_product_scores() -> None:
    lexicon = load_lexicon()

    assert set(lexicon.kinds) == {"accuse", "threaten", "mobilise", "coerce", "use_force"}
    assert len(lexicon.owners) == len(lexicon.patterns)


def test_every_listed_phrase_is_found_whole_by_the_compiled_patterns() -> None:
    lexicon = load_lexicon()
    matcher = PhraseMatcher((), regexes=lexicon.patterns)
    text = " | ".join(lexicon.phrases)
    spans = {(hit.start, hit.end) for hit in matcher.find(text)}

    missing, start = [], 0
    for phrase in lexicon.phrases:
        if (start, start + len(phrase)) not in spans:
            missing.append(phrase)
        start += len(phrase) + 3
    assert missing == []


def test_template_patterns_keep_whole_words_and_single_separators() -> None:
    matcher = PhraseMatcher((), regexes=[template_regex("{lodged|filed} a {formal|} protest")])

    found = [text for text in ("lodged a protest", "filed a formal protest", "lodged a  protest")]
    missed = ["lodged a formalprotest", "relodged a protest", "filed a formal protests"]
    assert all(matcher.find(t) for t in found)
    assert not any(matcher.find(t) for t in missed)


def test_lexicon_mistakes_are_all_reported() -> None:
    data = {
        "kinds": {"use_force": {"weight": 6}},
        "acts": [
            {"id": "strike", "kind": "use_force", "phrases": ["air strike"]},
            {"id": "raid", "kind": "use_force", "phrases": ["air strike"], "senses": ["poetry"]},
            {"id": "spying", "kind": "accuse", "phrases": ["espionage"]},
        ],
    }

    with pytest.raises(ConfigError) as caught:
        build_lexicon(data, name="test.yaml")

    problems = "\n".join(caught.value.problems)
    assert "already belongs to strike" in problems
    assert "unknown senses ['poetry']" in problems
    assert "unknown kind 'accuse'" in problems


# --------------------------------------------------------------------------- held-out lessons


@pytest.mark.parametrize(
    ("text", "kind", "phrase"),
    [
        (
            "Venezuela is building up troops along the border, Guyana's president said.",
            "mobilise",
            "building up troops",
        ),
        (
            "U.S. fighter jets were scrambled on Thursday to meet two Russian planes, NORAD said.",
            "mobilise",
            "fighter jets were scrambled",
        ),
        (
            "Canadian jets intercepted two Russian strategic bombers near Alaska on Monday.",
            "mobilise",
            "intercepted two Russian strategic bombers",
        ),
        (
            "Azerbaijani troops were pounding Armenian positions with artillery and drones.",
            "use_force",
            "pounding Armenian positions with artillery and drones",
        ),
        (
            "Guyana's president said the Venezuelan move was a direct threat to its sovereignty.",
            "accuse",
            "direct threat to its sovereignty",
        ),
        (
            "The Israeli convoy came under attack near Jenin, the army said.",
            "use_force",
            "came under attack",
        ),
    ],
)
def test_wire_phrasings_of_known_acts_are_found(
    detector: EscalationDetector, text: str, kind: str, phrase: str
) -> None:
    result = detector.analyze(text)
    assert [(m.kind, m.phrase) for m in result.matches] == [(kind, phrase)]


def test_attack_on_a_day_names_no_target(detector: EscalationDetector) -> None:
    markets = detector.analyze(
        "The pound came under attack on Tuesday as traders bet the Bank of England had lost "
        "control of inflation."
    )
    assert markets.level == "none"
    assert set(reasons(markets).values()) == {"non_military"}
    war = detector.analyze("Russian forces launched an attack on Kharkiv on Tuesday.")
    assert war.level == "watch"


def test_refraining_from_force_is_a_negation(detector: EscalationDetector) -> None:
    result = detector.analyze(
        "Armenia and Azerbaijan committed to refrain from the use of force against each other."
    )
    assert result.level == "none"
    assert reasons(result) == {"use of force": "negated"}


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        (
            "Argentina invaded the islands on April 2, 1982, and Britain sent a task force.",
            "invaded",
        ),
        ("Bosnian Serb forces shelled the enclave in July 1995, the court found.", "shelled"),
        (
            "Ten years ago this week, French jets bombed militant hideouts in northern Mali.",
            "bombed",
        ),
        ("Sweden revived civil defence after Russia's full-scale invasion of Ukraine.", "invasion"),
    ],
)
def test_dated_and_anchoring_mentions_are_history(
    detector: EscalationDetector, text: str, phrase: str
) -> None:
    result = detector.analyze(text)
    assert result.level == "none"
    assert reasons(result) == {phrase: "historical"}


ANNIVERSARY = (
    "GORI, Aug 8 (Wire) - Georgians laid flowers on Thursday on the anniversary of the 2008 war."
    "\n\nRussian aircraft bombed the town's central square during the war, rights groups say."
)


def test_a_look_back_article_makes_its_undated_acts_history(
    detector: EscalationDetector,
) -> None:
    result = detector.analyze(ANNIVERSARY)
    assert result.level == "none"
    assert reasons(result) == {"bombed": "historical"}


def test_an_act_dated_today_keeps_an_anniversary_article_news(
    detector: EscalationDetector,
) -> None:
    text = ANNIVERSARY + " Russian troops shelled a village near Gori on Thursday, police said."
    result = detector.analyze(text)
    assert [m.phrase for m in result.matches] == ["bombed", "shelled"]


def test_an_act_as_the_subject_of_a_modal_is_imagined(detector: EscalationDetector) -> None:
    result = detector.analyze(
        "A Chinese amphibious invasion of Taiwan would probably fail, a US think tank found."
    )
    assert result.level == "none"
    assert reasons(result) == {"invasion": "hypothetical"}


def test_a_blockade_by_strikers_or_protesters_is_not_coercion(
    detector: EscalationDetector,
) -> None:
    result = detector.analyze(
        "BOR, Serbia (Wire) - Copper miners went on strike and blockaded the smelter in Bor."
    )
    assert result.level == "none"
    assert reasons(result) == {"blockaded": "non_military"}


def test_a_pronoun_takes_the_sense_of_the_sentence_it_points_back_to(
    detector: EscalationDetector,
) -> None:
    result = detector.analyze(
        '"Our scrum destroyed them," Georgia\'s rugby coach said. "We attacked with ambition."'
    )
    assert result.level == "none"
    assert reasons(result) == {"attacked": "non_military"}
