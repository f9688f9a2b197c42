"""The engine as ``flashpoint detect`` and the detect agent use it: articles in, alerts out."""

from __future__ import annotations

import json
from typing import Any

import yaml

from alerts.articles import article_from_mapping
from alerts.config.models import Config
from alerts.decisions import Decisions
from alerts.engine import Engine, OfflineRun
from alerts.metrics import Metrics
from alerts.model import ALERT_CONTRACT_FIELDS, Alert

HOUR = 3600.0
T0 = 1_780_000_000.0

WATCH = """
watch:
  china-japan: {all_of: [[China, Chinese, Beijing], [Japan, Japanese, Tokyo]]}
  taiwan-strait: {any_of: [Taiwan, Taipei]}
  korea: {any_of: [North Korea, North Korean, Pyongyang], none_of: [K-pop]}
"""


def engine(rules: str, extra: str = "", metrics: Metrics | None = None) -> Engine:
    data = yaml.safe_load(WATCH + rules + extra)
    return Engine(Config.model_validate(data), metrics)


def article(title: str, body: str, **fields: Any) -> Any:
    return article_from_mapping({"title": title, "body": body, **fields})


def alerts_of(run: OfflineRun, title: str, body: str, at: float, **fields: Any) -> list[Alert]:
    return run.process(article(title, body, **fields), now=at).alerts


KEYWORD = """
rules:
  - {name: spy-balloon, type: keyword, phrases: [spy balloon], severity: warning}
"""


def test_topics_rank_the_most_salient_first_and_respect_none_of() -> None:
    e = engine(KEYWORD)
    both = article(
        "China and Japan talk security",
        "Beijing and Tokyo met; Japanese and Chinese officials spoke. Taiwan came up once.",
    )
    assert e.topics_of(both) == ["china-japan", "taiwan-strait"]
    assert e.topics_of(article("K-pop in Pyongyang?", "North Korea bans K-pop.")) == ["global"]
    assert e.topics_of(article("Weather", "Sunny in Lisbon.")) == ["global"]


def test_keyword_alert_carries_the_alert_contract() -> None:
    run = OfflineRun(engine(KEYWORD))
    [alert] = alerts_of(
        run,
        "Balloon over Tokyo",
        "Japan said a Chinese spy balloon crossed Kyushu.",
        T0,
        url="https://example.com/b",
        source="Wire",
    )
    data = alert.to_dict()
    assert data.keys() >= ALERT_CONTRACT_FIELDS
    assert (data["rule"], data["kind"], data["severity"], data["topic"]) == (
        "spy-balloon",
        "keyword",
        "warning",
        "china-japan",
    )
    assert data["evidence"][0]["phrase"] == "spy balloon"
    assert "spy balloon crossed Kyushu" in data["evidence"][0]["sentence"]
    assert data["article"]["url"] == "https://example.com/b"
    assert data["created_at"].endswith("Z")


def test_story_alerts_go_to_the_primary_topic_only() -> None:
    run = OfflineRun(engine(KEYWORD))
    raised = alerts_of(
        run,
        "Japan protests Chinese spy balloon",
        "Tokyo said the Chinese spy balloon flew over Japan after passing near Taiwan.",
        T0,
    )
    assert [(a.rule, a.topic) for a in raised] == [("spy-balloon", "china-japan")]


def test_the_same_story_from_another_outlet_alerts_once_and_counts_sources() -> None:
    run = OfflineRun(engine(KEYWORD))
    body = (
        "Japan said on Tuesday a Chinese spy balloon crossed its southern islands, and its "
        "defence ministry lodged a protest with Beijing over the flight of the craft."
    )
    first = alerts_of(
        run, "Balloon over Japan", body, T0, source="Wire A", url="https://a.example/1"
    )
    again = alerts_of(
        run,
        "Japan protests balloon",
        body.replace("on Tuesday", "this week"),
        T0 + 60,
        source="Wire B",
        url="https://b.example/2",
    )
    assert len(first) == 1
    [note] = again
    assert (note.kind, note.severity, note.sources) == ("coverage", "info", 2)
    assert note.thread_key == first[0].thread_key, "the note threads under the first alert"
    assert note.title == "Also reported by Wire B: 2 sources"
    [story] = run.states["china-japan"].stories
    assert story.sources == ["Wire A", "Wire B"]
    same_outlet_again = alerts_of(
        run,
        "Japan protests balloon",
        body.replace("on Tuesday", "today"),
        T0 + 120,
        source="Wire B",
        url="https://b.example/3",
    )
    assert same_outlet_again == []


ESCALATION = """
rules:
  - name: escalation
    type: escalation
    window: 6h
    levels: {watch: 3, warning: 8, critical: 16}
    story_cap: 12
"""


def test_escalation_rises_with_corroboration_and_falls_after_the_window() -> None:
    metrics = Metrics()
    run = OfflineRun(engine(ESCALATION, metrics=metrics))
    first = alerts_of(
        run,
        "Shelling near the border",
        "North Korean artillery shelled a South Korean island on Monday, Seoul's military said.",
        T0,
    )
    assert [(a.kind, a.severity, a.level) for a in first] == [("escalation", "info", "watch")]
    assert first[0].title == "Korea escalation: WATCH"
    assert first[0].summary.endswith(". Now WATCH (1 story in 6 hours).")
    second = alerts_of(
        run,
        "Pyongyang fires missiles",
        "North Korea fired two ballistic missiles into the sea and its army shelled the border "
        "area again, the South Korean military said.",
        T0 + HOUR,
    )
    assert [(a.kind, a.severity) for a in second] == [("escalation", "critical")]
    assert (
        metrics.registry.get_sample_value("flashpoint_escalation_level", {"topic": "korea"}) == 3.0
    )
    calm = alerts_of(
        run, "Pyongyang marathon", "North Korea held a marathon in Pyongyang.", T0 + 8 * HOUR
    )
    assert [(a.severity, a.title, a.level) for a in calm] == [
        ("info", "Korea escalation eased to NONE", "none")
    ]


def test_a_single_story_reaches_warning_at_most() -> None:
    run = OfflineRun(engine(ESCALATION))
    raised = alerts_of(
        run,
        "War games",
        "North Korea fired ballistic missiles, shelled the border, seized a fishing boat and "
        "threatened a nuclear strike, while its troops massed near the DMZ.",
        T0,
    )
    assert [a.severity for a in raised] == ["warning"]


COMMITMENT = """
rules:
  - {name: new-commitment, type: commitment, severity: info}
classifier: {enabled: false}
"""
"""Novelty and revisions are rule mechanics: tested on what the grammar finds, without the
learned decision (whose quality is measured on real news by `make eval`)."""


def test_commitments_alert_when_new_and_when_revised() -> None:
    run = OfflineRun(engine(COMMITMENT))
    body = "Tokyo and Beijing met. Japan said it will double defence spending to 2% of GDP by 2027."
    [new] = alerts_of(run, "Japan and China meet", body, T0)
    evidence = new.evidence[0].attributes
    assert (evidence["actor"], evidence["amount"], evidence["novelty"]) == (
        "Japan",
        "2% of GDP",
        "new",
    )
    assert alerts_of(run, "Japan and China meet again", body + " More talks.", T0 + HOUR) == []
    revised = alerts_of(
        run,
        "Japan raises target",
        "Tokyo and Beijing met. Japan said it will double defence spending to 3% of GDP by 2027.",
        T0 + 2 * HOUR,
    )
    [alert] = revised
    assert alert.title.startswith("Revised:")
    assert alert.evidence[0].attributes["previous"] == "2% of GDP / by 2027"


FREQUENCY = """
rules:
  - {name: spy-balloon, type: keyword, phrases: [spy balloon], severity: warning}
  - {name: balloon-surge, type: frequency, of: spy-balloon, count: 3, window: 1h}
"""


def test_frequency_fires_on_the_third_distinct_story_within_the_window() -> None:
    run = OfflineRun(engine(FREQUENCY))
    reports = [
        "A Chinese spy balloon was seen over Okinawa, Japan's defence ministry said.",
        "Fishermen off Kyushu photographed what Tokyo called a Chinese spy balloon at dawn.",
        "Japanese radar tracked a third spy balloon from China drifting over Hokkaido farms.",
    ]
    raised = [
        alerts_of(run, f"Balloon report {i}", body, T0 + i * 600) for i, body in enumerate(reports)
    ]
    assert [[a.rule for a in batch] for batch in raised] == [
        ["spy-balloon"],
        ["spy-balloon"],
        ["spy-balloon", "balloon-surge"],
    ]
    late = alerts_of(
        run,
        "Balloon over Sendai",
        "A Chinese spy balloon drifted over Sendai, Japan's coast guard reported today.",
        T0 + 5 * HOUR,
    )
    assert [a.rule for a in late] == ["spy-balloon"]


def test_throttle_and_silences_suppress_and_are_counted() -> None:
    metrics = Metrics()
    throttled = engine(KEYWORD, "throttle: {realert: 30m, group_by: [rule, topic]}\n", metrics)
    run = OfflineRun(throttled)
    bodies = [
        "Japan said a Chinese spy balloon crossed Okinawa on Monday.",
        "A second Chinese spy balloon was tracked near Tokyo Bay by Japanese radar on Friday.",
    ]
    assert len(alerts_of(run, "Balloon one", bodies[0], T0)) == 1
    assert alerts_of(run, "Balloon two", bodies[1], T0 + 600) == []
    assert (
        metrics.registry.get_sample_value(
            "flashpoint_alerts_suppressed_total", {"rule": "spy-balloon", "reason": "throttled"}
        )
        == 1.0
    )

    silenced = engine(
        KEYWORD,
        "silences: [{match: {rule: spy-balloon}, until: '2099-01-01T00:00:00Z', comment: x}]\n",
        metrics,
    )
    assert alerts_of(OfflineRun(silenced), "Balloon", bodies[0], T0) == []


def test_routes_first_match_wins_unless_continue() -> None:
    config = Config.model_validate(
        yaml.safe_load(
            """
sinks: {oncall: {type: console}, news: {type: console}, audit: {type: jsonl, path: a.jsonl}}
routes:
  - {match: {severity: critical}, sinks: [oncall], continue: true}
  - {match: {topic: [china-japan, korea]}, sinks: [news]}
  - {sinks: [audit]}
"""
        )
    )
    decisions = Decisions(config)
    run = OfflineRun(engine(KEYWORD))
    [alert] = alerts_of(run, "Balloon", "Japan said a Chinese spy balloon crossed Okinawa.", T0)
    assert decisions.route(alert) == ["news"]
    critical = Alert.from_dict({**alert.to_dict(), "severity": "critical", "topic": "global"})
    assert decisions.route(critical) == ["oncall", "audit"]


def test_only_acts_about_a_topic_raise_its_level() -> None:
    run = OfflineRun(engine(ESCALATION))
    raised = alerts_of(
        run,
        "North Korea fires missile",
        "North Korea fired a ballistic missile and shelled a border island on Monday. "
        "Leaders of Japan and China are due to meet in Beijing next week to discuss trade.",
        T0,
    )
    assert [a.topic for a in raised] == ["korea"]
    assert run.states["china-japan"].levels["escalation"] == "none"


def test_a_place_topic_counts_acts_aimed_at_it() -> None:
    run = OfflineRun(engine(ESCALATION))
    raised = alerts_of(
        run,
        "Beijing warns Taipei",
        "China's army staged live-fire drills and threatened to use force to take control of "
        "Taiwan, the defence ministry in Taipei said on Monday.",
        T0,
    )
    assert "taiwan-strait" in {a.topic for a in raised}


def test_deciding_never_mutates_the_stored_state_it_was_given() -> None:
    """The detect agent compares the stored state with the new one to skip no-op writes."""
    from alerts.state import TopicState

    e = engine(KEYWORD)
    body = "Japan said on Tuesday a Chinese spy balloon crossed its southern islands."
    first = article("Balloon over Japan", body, source="Wire A")
    stored = TopicState().to_dict()
    state = TopicState.from_dict(stored)
    e.decide("china-japan", e.analyze(first), state, T0)
    stored = state.to_dict()
    snapshot = json.loads(json.dumps(stored))
    again = article("Balloon over Japan", body + " More.", source="Wire B")
    state = TopicState.from_dict(stored)
    e.decide("china-japan", e.analyze(again), state, T0 + 60)
    assert stored == snapshot
    assert state.to_dict() != stored
