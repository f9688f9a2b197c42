"""Rule types over time (spike, flatline, new_term) and decisions that need state (inhibit,
repeat), offline: the engine with a clock the test sets, as ``flashpoint rules test`` runs."""

from __future__ import annotations

from typing import Any

import yaml

from alerts.articles import article_from_mapping
from alerts.config.models import Config
from alerts.engine import Engine, OfflineRun
from alerts.metrics import Metrics
from alerts.model import Alert
from alerts.state import StoredState, TopicState

MINUTE, HOUR = 60.0, 3600.0
T0 = 1_780_000_000.0
WATCH = """
watch:
  taiwan-strait: {any_of: [Taiwan, Taipei]}
  korea: {any_of: [North Korea, Pyongyang]}
classifier: {enabled: false}
"""


def engine(rules: str, metrics: Metrics | None = None) -> Engine:
    return Engine(Config.model_validate(yaml.safe_load(WATCH + rules)), metrics)


def quiet_article(n: int) -> Any:
    return article_from_mapping(
        {"title": f"Taipei market note {n}", "body": f"Shares in Taiwan moved on day {n}."}
    )


def kinds(alerts: list[Alert]) -> list[tuple[str, str, str]]:
    return [(a.rule, a.kind, a.severity) for a in alerts]


SPIKE = """
rules:
  - {name: strait-surge, type: spike, topics: [taiwan-strait], window: 1h, baseline: 6h,
     factor: 3, min_count: 3, warm_up: 2h}
"""


def test_spike_fires_once_when_the_recent_rate_outruns_the_baseline() -> None:
    run = OfflineRun(engine(SPIKE))
    got: list[Alert] = []
    # A steady trickle: one article every two hours is the baseline.
    for n, at in enumerate((0, 2 * HOUR, 4 * HOUR, 6 * HOUR)):
        got += run.process(quiet_article(n), T0 + at).alerts
    assert got == []
    # Then four in twenty minutes: the recent rate is far above one per two hours.
    for n in range(4):
        got += run.process(quiet_article(10 + n), T0 + 7 * HOUR + n * 5 * MINUTE).alerts
    assert kinds(got) == [("strait-surge", "spike", "warning")]
    assert got[0].title == "Taiwan Strait: 3 articles in 1 hour"
    assert "times the usual rate" in got[0].summary
    # Once it has fallen back (hours later), a new burst fires again.
    for n in range(3):
        got += run.process(quiet_article(20 + n), T0 + 12 * HOUR + n * MINUTE).alerts
    assert len(got) == 2


def test_spike_stays_quiet_during_its_warm_up() -> None:
    run = OfflineRun(engine(SPIKE))
    alerts = [run.process(quiet_article(n), T0 + n * MINUTE).alerts for n in range(5)]
    assert [a for batch in alerts for a in batch] == []


def test_spike_state_is_an_entry_of_its_own() -> None:
    e = engine(SPIKE)
    table: dict[str, Any] = {}
    analysis = e.analyze(quiet_article(1), T0)
    stored = StoredState(table, "taiwan-strait")
    state = stored.load(stories=False)
    e.decide("taiwan-strait", analysis, state, T0)
    assert stored.save(state) >= 1
    assert table["taiwan-strait/rates"]["strait-surge"]["buckets"] == [
        [table["taiwan-strait/rates"]["strait-surge"]["buckets"][0][0], 1]
    ]
    assert "taiwan-strait/escalation" not in table


FLATLINE = """
rules:
  - {name: strait-quiet, type: flatline, topics: [taiwan-strait], after: 2h}
routes:
  - {match: {rule: strait-quiet}, sinks: [audit], repeat_interval: 1h}
  - {sinks: [audit]}
sinks:
  audit: {type: jsonl, path: alerts.jsonl}
"""


def test_flatline_fires_on_a_tick_after_the_quiet_and_notes_the_return() -> None:
    e = engine(FLATLINE)
    assert e.tick_interval == 60.0  # a tenth of the shortest span, at most a minute
    run = OfflineRun(e)
    assert run.advance(T0) == []  # the first tick starts the watch
    assert run.advance(T0 + HOUR) == []
    [quiet] = run.advance(T0 + 2 * HOUR)
    assert (quiet.rule, quiet.kind, quiet.severity) == ("strait-quiet", "flatline", "warning")
    assert quiet.title == "Taiwan Strait: no articles for 2 hours"
    assert quiet.article == {}
    assert run.advance(T0 + 2.5 * HOUR) == []  # once, not per tick
    [reminder] = run.advance(T0 + 3 * HOUR)  # standing: reminded every repeat_interval
    assert reminder.title.startswith("Still: ") and reminder.id != quiet.id
    assert reminder.thread_key != quiet.thread_key  # a new message in the channel
    [back] = run.process(quiet_article(1), T0 + 3.5 * HOUR).alerts
    assert (back.kind, back.severity, back.thread_key) == ("flatline", "info", quiet.thread_key)
    assert run.advance(T0 + 4 * HOUR) == []  # no longer standing: no reminder


def test_flatline_without_topics_watches_every_watch_topic_but_not_global() -> None:
    e = engine("rules:\n  - {name: quiet, type: flatline, after: 30m}\n")
    assert e.timed_topics() == ["taiwan-strait", "korea"]


NEW_TERM = """
rules:
  - {name: new-actor, type: new_term, warm_up: 1h}
  - {name: new-pair, type: new_term, term: pair, warm_up: 0s}
  - {name: escalation, type: escalation}
"""


def act(body: str) -> Any:
    return article_from_mapping({"title": "Pyongyang statement", "body": body})


def test_new_term_learns_during_warm_up_then_alerts_on_a_first_appearance() -> None:
    run = OfflineRun(engine(NEW_TERM))
    early = run.process(
        act("North Korean troops fired artillery shells at South Korean border posts."), T0
    ).alerts
    # The pair rule has no warm-up; the actor rule learns North Korea silently in its own.
    [pair] = [a for a in early if a.kind == "new_term"]
    assert (pair.rule, pair.severity) == ("new-pair", "info")
    assert pair.title == "Korea: first report between North Korea and South Korea"
    later = run.process(
        act("North Korea fired a missile toward Japan on Friday, Tokyo said."), T0 + 2 * HOUR
    ).alerts
    [pair] = [a for a in later if a.kind == "new_term"]  # North Korea is known by now
    assert pair.rule == "new-pair" and "Japan and North Korea" in pair.title
    assert pair.evidence[0].sentence.startswith("North Korea fired a missile")
    again = run.process(
        act("North Korea fired another missile toward Japan, Japanese officials said."),
        T0 + 3 * HOUR,
    ).alerts
    assert [a for a in again if a.kind == "new_term"] == []


INHIBIT = """
rules:
  - {name: nuclear, type: keyword, phrases: [nuclear test], severity: critical}
  - {name: drills, type: keyword, phrases: [artillery drill], severity: warning}
inhibit_rules:
  - {source: {severity: critical}, target: {severity: warning}, lasts: 2h}
"""


def test_a_standing_critical_inhibits_warnings_of_its_topic_only_and_is_counted() -> None:
    metrics = Metrics()
    run = OfflineRun(engine(INHIBIT, metrics))
    [critical] = run.process(
        act("Pyongyang carried out a nuclear test at its northern site."), T0
    ).alerts
    assert critical.severity == "critical"
    muted = run.process(act("North Korea staged an artillery drill near the border."), T0 + 60)
    assert muted.alerts == []
    assert (
        metrics.registry.get_sample_value(
            "flashpoint_alerts_suppressed_total", {"rule": "drills", "reason": "inhibited"}
        )
        == 1.0
    )
    other_topic = article_from_mapping(
        {"title": "Taipei exercise", "body": "Taiwan held an artillery drill on its coast."}
    )
    assert kinds(run.process(other_topic, T0 + 120).alerts) == [("drills", "keyword", "warning")]
    later = run.process(act("North Korea held another artillery drill at sea."), T0 + 3 * HOUR)
    assert kinds(later.alerts) == [("drills", "keyword", "warning")]  # the critical lapsed


def test_topic_state_sections_round_trip() -> None:
    state = TopicState(
        rates={"r": {"since": 1.0, "buckets": [[0.0, 2]], "fired": None}},
        quiet={"q": {"last": 2.0, "alerted": None}},
        terms={"t": {"since": 1.0, "seen": {"Japan": 3.0}}},
        active=[{"at": 1.0, "id": "x", "rule": "r", "kind": "k", "severity": "critical"}],
    )
    again = TopicState.from_dict(state.to_dict())
    assert again.sections() == state.sections()
