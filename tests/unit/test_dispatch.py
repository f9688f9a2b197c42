"""The Dispatcher: lanes, pacing, Retry-After, backoff within the outage budget, outcomes."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pytest

from alerts.errors import ConfigError, RetriableSinkError, SinkError
from alerts.metrics import Metrics
from alerts.model import Alert
from alerts.sinks import Dispatcher, Sink
from alerts.sinks.base import sink_factory
from alerts.sinks.dispatch import RetryPolicy
from alerts.sinks.types import Attempt, FollowUp, Post, Sent

ALERT = Alert(
    id="d15pa7c40001",
    rule="new-commitment",
    kind="commitment",
    severity="info",
    topic="global",
    title="Ministry pledges new coastal radar sites",
    summary="New commitment by the ministry.",
    evidence=(),
    article={"id": "art-3", "url": "https://wire.example/radar"},
    created_at="2024-07-01T00:00:00Z",
    thread_key="story:global:art-3",
)


def alert(n: int, **changes: object) -> Alert:
    fields: dict[str, object] = {
        "id": f"alert-{n}",
        "article": {"id": f"art-{n}"},
        "thread_key": f"story:global:art-{n}",
        **changes,
    }
    return replace(ALERT, **fields)  # type: ignore[arg-type]


@dataclass
class ScriptedSink:
    """A sink that raises the given errors in turn, then accepts; it records every try."""

    name: str
    script: list[Exception] = field(default_factory=list)
    lane: str = ""
    pace: float = 0.0
    hold: float = 0.0
    combines: bool = False
    follow_up: bool = False
    tries: list[tuple[list[str], Attempt, float]] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lane = self.lane or self.name

    async def start(self) -> None:
        return None

    async def send(self, post: Post, attempt: Attempt) -> Sent:
        self.tries.append(([a.id for a in post.alerts], attempt, time.monotonic()))
        if self.script:
            raise self.script.pop(0)
        threads = {a.thread_key or a.id: {"ts": a.id, "version": 1} for a in post.alerts}
        follow_up = None
        if self.follow_up:
            key = "refresh:" + (post.alerts[0].thread_key or "")

            async def refresh(attempt: Attempt) -> None:
                self.refreshed.append(key)

            follow_up = FollowUp(key, refresh)
        return Sent(threads=threads, follow_up=follow_up)

    async def stop(self) -> None:
        return None


class FakeTime:
    """A clock that moves only when the dispatcher sleeps (one lane at a time)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def count(metrics: Metrics, sink: str, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "flashpoint_deliveries_total", {"sink": sink, "outcome": outcome}
    )
    return 0.0 if value is None else value


def errors(metrics: Metrics, sink: str, error: str) -> float:
    value = metrics.registry.get_sample_value(
        "flashpoint_delivery_errors_total", {"sink": sink, "error": error}
    )
    return 0.0 if value is None else value


def fake_dispatcher(
    sinks: Sequence[ScriptedSink], metrics: Metrics, fake: FakeTime, **policy: float
) -> Dispatcher:
    return Dispatcher(
        {s.name: s for s in sinks},
        metrics,
        policy=RetryPolicy(**policy),
        clock=fake.clock,
        sleep=fake.sleep,
    )


def test_scripted_sink_satisfies_the_protocol() -> None:
    assert isinstance(ScriptedSink("x"), Sink)


async def test_retriable_errors_are_retried_with_growing_jittered_backoff() -> None:
    metrics, fake = Metrics(), FakeTime()
    sink = ScriptedSink("slack", [RetriableSinkError("HTTP 503", code="http_503")] * 3)
    dispatcher = fake_dispatcher([sink], metrics, fake, backoff=0.5)

    report = await dispatcher.deliver(ALERT, ["slack"])
    await dispatcher.stop()

    assert report.delivered == {"slack": {"ts": ALERT.id, "version": 1}}
    assert report.failed == {}
    assert [attempt.number for _, attempt, _ in sink.tries] == [1, 2, 3, 4]
    for wait, ceiling in zip(fake.waits, [0.5, 1.0, 2.0], strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert count(metrics, "slack", "retried") == 3
    assert count(metrics, "slack", "delivered") == 1
    assert errors(metrics, "slack", "http_503") == 3


async def test_retry_after_is_waited_exactly_even_in_fractions() -> None:
    fake = FakeTime()
    sink = ScriptedSink(
        "slack",
        [
            RetriableSinkError("429", code="ratelimited", retry_after=1.5),
            RetriableSinkError("429", code="ratelimited", retry_after=60.0),
        ],
    )
    dispatcher = fake_dispatcher([sink], Metrics(), fake)
    await dispatcher.deliver(ALERT, ["slack"])
    await dispatcher.stop()
    assert fake.waits == [1.5, 60.0]


async def test_an_outage_is_retried_until_the_budget_runs_out_then_fails() -> None:
    metrics, fake = Metrics(), FakeTime()
    outage = [RetriableSinkError("Slack answered HTTP 503", code="http_503")] * 100
    sink = ScriptedSink("slack", outage)
    dispatcher = fake_dispatcher([sink], metrics, fake, budget=600.0, max_backoff=60.0)

    report = await dispatcher.deliver(ALERT, ["slack"])
    await dispatcher.stop()

    assert not report.ok
    assert report.failed["slack"].startswith("Slack answered HTTP 503; gave up after ")
    assert 540.0 <= fake.now - 1000.0 <= 600.0, "tried for about the whole budget"
    assert all(wait <= 60.0 for wait in fake.waits)
    assert count(metrics, "slack", "failed") == 1
    assert count(metrics, "slack", "delivered") == 0


async def test_an_earlier_try_that_may_have_arrived_is_passed_on_as_uncertain() -> None:
    fake = FakeTime()
    sink = ScriptedSink(
        "slack",
        [
            RetriableSinkError("429", code="ratelimited", retry_after=0.1),
            RetriableSinkError("timed out", code="timeout", uncertain=True),
            RetriableSinkError("429", code="ratelimited", retry_after=0.1),
        ],
    )
    dispatcher = fake_dispatcher([sink], Metrics(), fake)
    await dispatcher.deliver(ALERT, ["slack"])
    await dispatcher.stop()
    flags = [attempt.uncertain for _, attempt, _ in sink.tries]
    assert flags == [False, False, True, True]
    assert len({attempt.first_at for _, attempt, _ in sink.tries}) == 1


async def test_a_sink_error_fails_at_once_and_is_counted_by_its_code() -> None:
    metrics, fake = Metrics(), FakeTime()
    sink = ScriptedSink("slack", [SinkError("Slack failed: invalid_auth", code="invalid_auth")])
    dispatcher = fake_dispatcher([sink], metrics, fake)
    report = await dispatcher.deliver(ALERT, ["slack"])
    await dispatcher.stop()
    assert report.failed == {"slack": "Slack failed: invalid_auth"}
    assert len(sink.tries) == 1
    assert fake.waits == []
    assert count(metrics, "slack", "failed") == 1
    assert errors(metrics, "slack", "invalid_auth") == 1


async def test_an_unexpected_exception_fails_that_sink_only() -> None:
    metrics = Metrics()
    broken = ScriptedSink("broken", [KeyError("x")])
    audit = ScriptedSink("audit")
    dispatcher = Dispatcher({"broken": broken, "audit": audit}, metrics)
    report = await dispatcher.deliver(ALERT, ["broken", "audit"])
    await dispatcher.stop()
    assert report.failed == {"broken": "unexpected KeyError"}
    assert list(report.delivered) == ["audit"]


async def test_missing_sinks_are_skipped_and_each_sink_gets_its_stored_thread() -> None:
    slack, audit = ScriptedSink("slack"), ScriptedSink("audit")
    seen: list[dict[str, object] | None] = []
    original = slack.send

    async def send(post: Post, attempt: Attempt) -> Sent:
        seen.append(post.stored[ALERT.thread_key or ""])
        return await original(post, attempt)

    slack.send = send  # type: ignore[method-assign]
    dispatcher = Dispatcher({"slack": slack, "audit": audit}, Metrics())
    report = await dispatcher.deliver(
        ALERT, ["slack", "audit", "slack-oncall", "slack"], threads={"slack": {"ts": "1.0"}}
    )
    await dispatcher.stop()
    assert seen == [{"ts": "1.0"}]
    assert report.skipped == ("slack-oncall",)
    assert set(report.delivered) == {"slack", "audit"}
    assert report.ok


async def test_a_hanging_lane_does_not_hold_up_another() -> None:
    release = asyncio.Event()

    class Hanging(ScriptedSink):
        async def send(self, post: Post, attempt: Attempt) -> Sent:
            await release.wait()
            return Sent()

    stuck, other = Hanging("stuck"), ScriptedSink("other")
    dispatcher = Dispatcher({"stuck": stuck, "other": other}, Metrics())
    waiting = dispatcher.submit(alert(1), ["stuck"])
    fine = await asyncio.wait_for(
        asyncio.gather(*(dispatcher.deliver(alert(n), ["other"]) for n in range(2, 6))),
        timeout=10,
    )
    assert all(r.ok for r in fine)
    assert dispatcher.queued() == 1
    release.set()
    assert (await asyncio.wait_for(waiting, timeout=10)).ok
    await dispatcher.stop()


async def test_a_lane_sends_at_most_one_message_per_pace() -> None:
    sink = ScriptedSink("slack", pace=0.2)
    dispatcher = Dispatcher({"slack": sink}, Metrics())
    await asyncio.gather(*(dispatcher.deliver(alert(n), ["slack"]) for n in range(4)))
    await dispatcher.stop()
    times = [at for _, _, at in sink.tries]
    assert [ids for ids, _, _ in sink.tries] == [[f"alert-{n}"] for n in range(4)]
    assert all(later - earlier >= 0.19 for earlier, later in itertools.pairwise(times))


async def test_two_sinks_on_one_channel_share_its_pace() -> None:
    news = ScriptedSink("news", lane="slack:C1", pace=0.2)
    oncall = ScriptedSink("oncall", lane="slack:C1", pace=0.2)
    dispatcher = Dispatcher({"news": news, "oncall": oncall}, Metrics())
    await asyncio.gather(*(dispatcher.deliver(alert(n), ["news", "oncall"]) for n in range(2)))
    await dispatcher.stop()
    times = sorted(at for sink in (news, oncall) for _, _, at in sink.tries)
    assert len(times) == 4
    assert all(later - earlier >= 0.19 for earlier, later in itertools.pairwise(times))


async def test_retry_after_holds_every_message_of_the_lane() -> None:
    fake = FakeTime()
    sink = ScriptedSink("slack", [RetriableSinkError("429", code="ratelimited", retry_after=2.0)])
    dispatcher = fake_dispatcher([sink], Metrics(), fake)
    await asyncio.gather(*(dispatcher.deliver(alert(n), ["slack"]) for n in range(2)))
    await dispatcher.stop()
    assert [ids for ids, _, _ in sink.tries] == [["alert-0"], ["alert-0"], ["alert-1"]]
    assert fake.waits == [2.0]


async def test_alerts_about_one_article_share_a_message_when_the_sink_combines() -> None:
    sink = ScriptedSink("slack", hold=0.2, combines=True)
    dispatcher = Dispatcher({"slack": sink}, Metrics())
    rise = replace(ALERT, id="rise", kind="escalation", thread_key="escalation:global")
    other = alert(9)
    reports = await asyncio.gather(
        dispatcher.deliver(ALERT, ["slack"]),
        dispatcher.deliver(rise, ["slack"]),
        dispatcher.deliver(other, ["slack"]),
    )
    await dispatcher.stop()
    assert [ids for ids, _, _ in sink.tries] == [[ALERT.id, "rise"], ["alert-9"]]
    assert all(r.ok for r in reports)


async def test_an_alert_never_joins_a_message_ahead_of_its_own_thread() -> None:
    sink = ScriptedSink("slack", hold=0.2, combines=True)
    dispatcher = Dispatcher({"slack": sink}, Metrics())
    earlier = replace(alert(1), thread_key="escalation:global")
    rise = replace(ALERT, id="rise", kind="escalation", thread_key="escalation:global")
    await asyncio.gather(
        dispatcher.deliver(ALERT, ["slack"]),
        dispatcher.deliver(earlier, ["slack"]),
        dispatcher.deliver(rise, ["slack"]),
    )
    await dispatcher.stop()
    assert [ids for ids, _, _ in sink.tries] == [[ALERT.id], ["alert-1"], ["rise"]]


async def test_notes_of_further_outlets_waiting_together_go_in_publication_order() -> None:
    sink = ScriptedSink("slack", hold=0.2)
    dispatcher = Dispatcher({"slack": sink}, Metrics())

    def note(n: int, published: str) -> Alert:
        return replace(
            ALERT, id=f"note-{n}", kind="coverage", article={"id": f"a{n}", "published": published}
        )

    await asyncio.gather(
        dispatcher.deliver(ALERT, ["slack"]),
        dispatcher.deliver(note(1, "2024-07-01T10:09:00Z"), ["slack"]),
        dispatcher.deliver(note(2, "2024-07-01T10:02:00+00:00"), ["slack"]),
        dispatcher.deliver(note(3, "2024-07-01T10:05:00Z"), ["slack"]),
    )
    await dispatcher.stop()
    order = [ids[0] for ids, _, _ in sink.tries]
    assert order == [ALERT.id, "note-2", "note-3", "note-1"]


async def test_a_follow_up_runs_once_for_replies_sent_together() -> None:
    sink = ScriptedSink("slack", follow_up=True)
    dispatcher = Dispatcher({"slack": sink}, Metrics())
    await asyncio.gather(*(dispatcher.deliver(ALERT, ["slack"]) for _ in range(3)))
    for _ in range(100):
        if sink.refreshed:
            break
        await asyncio.sleep(0.01)
    await dispatcher.stop()
    assert sink.refreshed == [f"refresh:{ALERT.thread_key}"]


async def test_stop_leaves_queued_alerts_undelivered_and_says_how_many() -> None:
    release = asyncio.Event()

    class Hanging(ScriptedSink):
        async def send(self, post: Post, attempt: Attempt) -> Sent:
            await release.wait()
            return Sent()

    metrics = Metrics()
    dispatcher = Dispatcher({"slack": Hanging("slack")}, metrics)
    pending = [dispatcher.submit(alert(n), ["slack"]) for n in range(3)]
    await asyncio.sleep(0.05)
    assert await dispatcher.stop(grace=0.05) == 3
    late = dispatcher.submit(alert(9), ["slack"])
    for waiting in [*pending, late]:
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert count(metrics, "slack", "failed") == 0


async def test_pipeline_latency_is_observed_on_success_only() -> None:
    metrics = Metrics()
    sinks = {"ok": ScriptedSink("ok"), "bad": ScriptedSink("bad", [SinkError("no")])}
    dispatcher = Dispatcher(sinks, metrics)
    await dispatcher.deliver(ALERT, ["ok", "bad"], ingested_at=time.time() - 2)
    await dispatcher.stop()
    registry = metrics.registry
    name = "flashpoint_pipeline_latency_seconds"
    assert registry.get_sample_value(f"{name}_count", {"sink": "ok"}) == 1
    observed = registry.get_sample_value(f"{name}_sum", {"sink": "ok"})
    assert observed is not None
    assert 2.0 <= observed < 10.0
    assert registry.get_sample_value(f"{name}_bucket", {"sink": "ok", "le": "1.5"}) == 0
    assert registry.get_sample_value(f"{name}_count", {"sink": "bad"}) is None


def test_an_unknown_sink_type_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown sink type 'pager'.*console, jsonl, slack"):
        sink_factory("pager")
