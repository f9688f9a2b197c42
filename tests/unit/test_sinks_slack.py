"""The Slack sink and the dispatcher against a loopback Slack stub, with the real slack-sdk
client: threads, chat.update, broadcasts, failure modes and idempotent retries."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from alerts.config.models import SlackSinkConfig
from alerts.errors import ConfigError
from alerts.metrics import Metrics
from alerts.model import Alert, Evidence
from alerts.sinks import Dispatcher, SlackSink, build_sinks
from alerts.sinks.dispatch import RetryPolicy
from tests.support.slack_stub import SlackStub

TOKEN = "xoxb-test-0000-secret"
CHANNEL = "C0GEOALERTS"
URL = "https://news.example.org/asia/coast-guard-standoff?id=7&lang=en"


def make_alert(**changes: Any) -> Alert:
    alert = Alert(
        id="a1b2c3d4e5f6",
        rule="airspace-violation",
        kind="keyword",
        severity="warning",
        topic="china-japan",
        title="Coast guard cutters shadow survey ship near disputed islets",
        summary="Incursions into another state's airspace or waters",
        evidence=(
            Evidence(
                phrase="entered territorial waters",
                sentence="Two cutters entered territorial waters near the islets on Sunday.",
                start=0,
                end=0,
                label="keyword",
            ),
        ),
        article={
            "id": "art-1",
            "url": URL,
            "title": "Coast guard cutters shadow survey ship near disputed islets",
            "source": "Example Wire",
            "published": "2024-05-01T08:00:00Z",
        },
        created_at="2024-05-01T08:00:02Z",
        thread_key="story:china-japan:art-1",
    )
    return replace(alert, **changes)


def escalation(level: str, n: int, **changes: Any) -> Alert:
    severity = {"watch": "info", "warning": "warning", "critical": "critical", "none": "info"}
    fields: dict[str, Any] = {
        "id": f"esc-{level}-{n}",
        "rule": "escalation",
        "kind": "escalation",
        "severity": severity[level],
        "level": level,
        "title": f"China Japan escalation: {level.upper()}",
        "summary": f"Level {level.upper()}.",
        "article": {"id": f"esc-art-{n}", "title": f"Report {n}", "url": f"https://x.example/{n}"},
        "thread_key": "escalation:china-japan",
    }
    return make_alert(**{**fields, **changes})


def coverage(n: int, published: str, sources: int) -> Alert:
    return make_alert(
        id=f"cov-{n}",
        rule="coverage",
        kind="coverage",
        severity="info",
        title=f"Also reported by Outlet {n}",
        summary="",
        evidence=(),
        sources=sources,
        article={
            "id": f"cov-art-{n}",
            "url": f"https://outlet{n}.example/story",
            "title": "Cutters shadow survey ship",
            "source": f"Outlet {n}",
            "published": published,
        },
    )


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


@pytest.fixture
async def stub() -> AsyncIterator[SlackStub]:
    async with SlackStub(token=TOKEN) as server:
        yield server


class Delivery:
    """A Slack sink and a dispatcher with test-sized timings, and what the table keeps."""

    def __init__(self, stub: SlackStub, metrics: Metrics | None = None, **kwargs: Any) -> None:
        self.metrics = metrics or Metrics()
        options: dict[str, Any] = {"pace": 0.05, "hold": 0.0, "timeout": 1.0, **kwargs}
        self.sink = SlackSink(
            "slack-news",
            self.metrics,
            token=TOKEN,
            channel=options.pop("channel", CHANNEL),
            base_url=stub.url,
            **options,
        )
        policy = RetryPolicy(budget=20.0, backoff=0.2, max_backoff=1.0)
        self.dispatcher = Dispatcher({"slack-news": self.sink}, self.metrics, policy=policy)
        self.threads: dict[str, dict[str, Any]] = {}

    async def __aenter__(self) -> Delivery:
        await self.sink.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.dispatcher.stop()
        await self.sink.stop()

    async def send(self, *alerts: Alert) -> list[Any]:
        pending = [
            self.dispatcher.submit(
                alert,
                ["slack-news"],
                threads={"slack-news": self.threads.get(alert.thread_key or alert.id)},
            )
            for alert in alerts
        ]
        reports = [await p for p in pending]
        for alert, report in zip(alerts, reports, strict=True):
            state = report.delivered.get("slack-news")
            if state:
                self.threads[alert.thread_key or alert.id] = state
        return reports

    def failures(self, error: str) -> float:
        return sample(
            self.metrics, "flashpoint_delivery_errors_total", sink="slack-news", error=error
        )


async def wait_for(condition: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout}s")
        await asyncio.sleep(0.02)


async def test_message_arrives_with_blocks_text_and_metadata(stub: SlackStub) -> None:
    metrics = Metrics()
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": stub.url}
    sinks = build_sinks(
        {"slack-news": SlackSinkConfig(type="slack", channel=CHANNEL)}, env, metrics
    )
    dispatcher = Dispatcher(sinks, metrics)
    alert = make_alert()
    try:
        report = await dispatcher.deliver(alert, ["slack-news"])
    finally:
        await dispatcher.stop()
        await sinks["slack-news"].stop()

    [message] = stub.messages
    assert message["metadata"] == {
        "event_type": "flashpoint_alert",
        "event_payload": {
            "alert_id": alert.id,
            "alert_ids": alert.id,
            "rule": "airspace-violation",
            "topic": "china-japan",
            "severity": "warning",
        },
    }
    assert message["unfurl_links"] is False
    assert message["unfurl_media"] is False
    assert "thread_ts" not in message
    assert message["text"] == f"Warning: {alert.title}"
    assert message["blocks"][0]["text"]["text"] == f"⚠️ {alert.title}"
    [posted] = stub.channel(CHANNEL)
    thread = report.delivered["slack-news"]
    assert thread is not None
    assert (thread["channel"], thread["ts"]) == (CHANNEL, posted.ts)
    assert [c.method for c in stub.calls] == ["auth.test", "chat.postMessage"]
    assert sample(metrics, "flashpoint_deliveries_total", sink="slack-news", outcome="delivered")
    assert (
        sample(
            metrics,
            "flashpoint_slack_request_seconds_count",
            method="chat.postMessage",
            outcome="ok",
        )
        == 1
    )


async def test_a_bad_token_is_reported_at_start_up_and_fails_alerts_at_once(
    stub: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    metrics = Metrics()
    sink = SlackSink("slack-news", metrics, token="xoxb-wrong", channel="#x", base_url=stub.url)
    dispatcher = Dispatcher({"slack-news": sink}, metrics)
    try:
        await sink.start()
        [startup] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert "rejected the bot token in SLACK_BOT_TOKEN (invalid_auth)" in startup.getMessage()
        assert sink.auth_error == "invalid_auth"
        report = await dispatcher.deliver(make_alert(), ["slack-news"])
    finally:
        await dispatcher.stop()
        await sink.stop()
    assert report.failed == {"slack-news": "Slack chat.postMessage failed: invalid_auth"}
    assert [c.method for c in stub.calls] == ["auth.test", "chat.postMessage"]
    assert sample(
        metrics, "flashpoint_delivery_errors_total", sink="slack-news", error="invalid_auth"
    )
    assert "xoxb-wrong" not in caplog.text


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "msg_too_long"])
async def test_permanent_errors_fail_at_once_loudly_with_a_metric(
    stub: SlackStub, caplog: pytest.LogCaptureFixture, error: str
) -> None:
    caplog.set_level(logging.INFO)
    stub.error_next(error=error)
    async with Delivery(stub) as delivery:
        [report] = await delivery.send(make_alert())
        assert report.failed == {"slack-news": f"Slack chat.postMessage failed: {error}"}
        assert delivery.failures(error) == 1
    assert len([c for c in stub.calls if c.method == "chat.postMessage"]) == 1
    [loud] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "NOT delivered" in loud.getMessage() and error in loud.getMessage()
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("retry_after", ["1.5", "http-date"])
async def test_rate_limits_wait_exactly_as_long_as_slack_asks(
    stub: SlackStub, retry_after: str
) -> None:
    value = retry_after
    if retry_after == "http-date":
        value = email.utils.formatdate(time.time() + 2, usegmt=True)
    stub.fail_next(1, status=429, retry_after=value)
    async with Delivery(stub) as delivery:
        [report] = await delivery.send(make_alert())
        assert report.ok
        assert delivery.failures("ratelimited") == 1
    limited, accepted = [c for c in stub.calls if c.method == "chat.postMessage"]
    assert limited.status == 429 and accepted.status == 200
    if retry_after == "1.5":
        assert accepted.at - limited.at >= 1.5
    else:
        assert accepted.at >= email.utils.parsedate_to_datetime(value).timestamp() - 0.01
    assert len(stub.messages) == 1


async def test_an_outage_longer_than_a_minute_of_retries_loses_nothing(stub: SlackStub) -> None:
    stub.unavailable_for(2.0)
    async with Delivery(stub) as delivery:
        stories = [
            make_alert(id=f"a{n}", thread_key=f"t{n}", article={"id": f"art-{n}"}) for n in range(3)
        ]
        reports = await delivery.send(*stories)
    assert all(r.ok for r in reports)
    assert sorted(m["metadata"]["event_payload"]["alert_id"] for m in stub.messages) == [
        "a0",
        "a1",
        "a2",
    ]
    assert any(c.status == 503 for c in stub.calls)


async def test_a_timed_out_post_that_arrived_is_found_not_posted_again(stub: SlackStub) -> None:
    stub.hang_for(2.0, methods=["chat.postMessage"])
    async with Delivery(stub, timeout=0.5) as delivery:
        [report] = await delivery.send(make_alert())
        assert report.ok
        assert delivery.failures("timeout") >= 1
    assert [m.alert_id for m in stub.channel(CHANNEL)] == [make_alert().id]
    posts = [c for c in stub.calls if c.method == "chat.postMessage"]
    assert len(posts) == 1, "the retry looked first and found the message"
    assert any(c.method == "conversations.history" for c in stub.calls)


async def test_a_timed_out_reply_is_looked_for_in_its_thread(stub: SlackStub) -> None:
    async with Delivery(stub, timeout=0.5) as delivery:
        await delivery.send(make_alert())
        stub.hang_for(2.0, methods=["chat.postMessage"])
        [report] = await delivery.send(coverage(1, "2024-05-01T08:03:00Z", 2))
        assert report.ok
    [parent] = stub.channel(CHANNEL)
    assert [m.alert_id for m in stub.replies(CHANNEL, parent.ts)] == ["cov-1"]
    assert any(c.method == "conversations.replies" for c in stub.calls)


async def test_further_outlets_reply_in_the_thread_and_the_first_message_is_updated(
    stub: SlackStub,
) -> None:
    async with Delivery(stub, hold=0.3) as delivery:
        await delivery.send(
            make_alert(),
            coverage(3, "2024-05-01T08:20:00Z", 2),
            coverage(2, "2024-05-01T08:10:00Z", 3),
        )
        [parent] = stub.channel(CHANNEL)
        await wait_for(lambda: parent.edits >= 1, "chat.update of the first message")
    replies = stub.replies(CHANNEL, parent.ts)
    assert [m.alert_id for m in replies] == ["cov-2", "cov-3"], "publication order"
    assert all(not m.broadcast for m in replies)
    shown = parent.blocks[1]["text"]["text"]
    assert " · 3 outlets · latest <!date^" in shown
    assert [m.alert_id for m in stub.channel(CHANNEL)] == [make_alert().id]


async def test_each_rise_to_warning_or_critical_is_seen_in_the_channel(stub: SlackStub) -> None:
    async with Delivery(stub, mention="S0ONCALL") as delivery:
        await delivery.send(escalation("watch", 1))
        await delivery.send(escalation("warning", 2))
        await delivery.send(escalation("critical", 3))
        await delivery.send(escalation("warning", 4))
        await delivery.send(escalation("none", 5))
        await delivery.send(escalation("watch", 6))
        await wait_for(lambda: stub.stored[1].edits >= 1, "the WARNING message refreshed")
    visible = [m.alert_id for m in stub.channel(CHANNEL)]
    assert visible == ["esc-watch-1", "esc-warning-2", "esc-critical-3", "esc-watch-6"]
    critical = stub.channel(CHANNEL)[2]
    assert critical.text.startswith("<!subteam^S0ONCALL> Critical:")
    falls = stub.replies(CHANNEL, critical.ts)
    assert [m.alert_id for m in falls] == ["esc-warning-4", "esc-none-5"], "minor changes thread"
    superseded = stub.channel(CHANNEL)[1]
    assert "level now CRITICAL" in superseded.blocks[1]["text"]["text"]


async def test_a_reply_more_severe_than_its_thread_is_also_sent_to_the_channel(
    stub: SlackStub,
) -> None:
    first = make_alert(severity="info", kind="commitment", id="pledge")
    worse = make_alert(severity="critical", id="test-site", summary="Nuclear tests")
    async with Delivery(stub) as delivery:
        await delivery.send(first)
        await delivery.send(worse)
    [parent, broadcast] = stub.channel(CHANNEL)
    assert broadcast.broadcast and broadcast.thread_ts == parent.ts
    assert broadcast.alert_id == "test-site"


async def test_a_thread_older_than_its_age_limit_is_not_replied_to(stub: SlackStub) -> None:
    now = [1_000_000.0]
    async with Delivery(stub, thread_max_age=3600.0, clock=lambda: now[0]) as delivery:
        await delivery.send(escalation("watch", 1))
        now[0] += 7200.0
        await delivery.send(escalation("none", 2))
    assert [m.alert_id for m in stub.channel(CHANNEL)] == ["esc-watch-1", "esc-none-2"]


async def test_a_note_of_another_outlet_never_stands_alone(stub: SlackStub) -> None:
    stub.error_next(error="msg_too_long")
    async with Delivery(stub) as delivery:
        story, note = await delivery.send(make_alert(), coverage(2, "2024-05-01T09:00:00Z", 2))
        assert not story.ok
        assert "no story message to go under" in note.failed["slack-news"]
        assert delivery.failures("no_parent") == 1
    assert stub.messages == []


async def test_a_note_on_a_story_that_failed_before_a_restart_fails_too(stub: SlackStub) -> None:
    async with Delivery(stub) as delivery:
        delivery.threads = {"story:china-japan:art-1": {"lost": True}}
        [note] = await delivery.send(coverage(2, "2024-05-01T09:00:00Z", 2))
        assert "no story message" in note.failed["slack-news"]
    assert stub.messages == []


async def test_a_note_on_a_story_never_sent_to_this_channel_is_not_posted_nor_failed(
    stub: SlackStub,
) -> None:
    async with Delivery(stub) as delivery:
        [note] = await delivery.send(coverage(2, "2024-05-01T09:00:00Z", 2))
        assert note.ok and note.skipped == ("slack-news",)
    assert stub.messages == []
    assert sample(
        delivery.metrics, "flashpoint_deliveries_total", sink="slack-news", outcome="skipped"
    )


async def test_a_thread_stored_by_another_worker_is_continued(stub: SlackStub) -> None:
    async with Delivery(stub) as first:
        await first.send(make_alert())
    async with Delivery(stub) as second:
        second.threads = dict(first.threads)
        await second.send(coverage(2, "2024-05-01T09:00:00Z", 2))
    [parent] = stub.channel(CHANNEL)
    assert [m.alert_id for m in stub.replies(CHANNEL, parent.ts)] == ["cov-2"]


async def test_a_later_alert_about_the_same_article_goes_in_its_thread(stub: SlackStub) -> None:
    async with Delivery(stub) as delivery:
        await delivery.send(make_alert())
        await delivery.send(escalation("watch", 1, article=make_alert().article))
    [parent] = stub.channel(CHANNEL)
    assert [m.alert_id for m in stub.replies(CHANNEL, parent.ts)] == ["esc-watch-1"]


async def test_a_group_of_alerts_is_one_message_with_an_outcome_for_each(
    stub: SlackStub,
) -> None:
    group = [
        make_alert(id=f"g{n}", thread_key=f"story:china-japan:g{n}", article={"id": f"g{n}"})
        for n in range(3)
    ]
    async with Delivery(stub) as delivery:
        reports = await asyncio.gather(*delivery.dispatcher.submit_group(group, ["slack-news"]))
    assert all(report.ok for report in reports)
    [message] = stub.channel(CHANNEL)
    assert message.metadata is not None
    assert message.metadata["event_payload"]["alert_ids"] == "g0 g1 g2"
    threads = {report.delivered["slack-news"]["ts"] for report in reports}  # type: ignore[index]
    assert threads == {message.ts}


async def test_webhook_mode_gets_the_same_queue_retries_and_outcomes(stub: SlackStub) -> None:
    metrics = Metrics()
    env = {"SLACK_WEBHOOK_URL": stub.webhook_url}
    sinks = build_sinks({"slack-news": SlackSinkConfig(type="slack", pace="0.05s")}, env, metrics)
    dispatcher = Dispatcher(sinks, metrics, policy=RetryPolicy(backoff=0.1))
    stub.fail_next(1, status=429, retry_after="0.5")
    try:
        ok = await dispatcher.deliver(make_alert(), ["slack-news"])
        stub.error_next(error="channel_not_found")
        refused = await dispatcher.deliver(make_alert(id="second"), ["slack-news"])
        note = await dispatcher.deliver(coverage(2, "2024-05-01T09:00:00Z", 2), ["slack-news"])
    finally:
        await dispatcher.stop()
        await sinks["slack-news"].stop()
    assert ok.ok
    limited, accepted, _ = stub.calls
    assert accepted.at - limited.at >= 0.5
    [message] = stub.messages
    assert message["blocks"][0]["type"] == "header"
    assert message["metadata"]["event_payload"]["alert_id"] == "a1b2c3d4e5f6"
    assert refused.failed == {
        "slack-news": "Slack webhook rejected the message: HTTP 404 channel_not_found"
    }
    assert note.skipped == ("slack-news",), "a webhook cannot thread a note of another outlet"
    assert sample(
        metrics, "flashpoint_delivery_errors_total", sink="slack-news", error="channel_not_found"
    )
    assert sample(metrics, "flashpoint_slack_request_seconds_count", method="webhook", outcome="ok")


def test_a_mention_that_is_not_a_slack_id_is_a_config_error() -> None:
    config = SlackSinkConfig(type="slack", channel="#x", mention="<!channel>")
    with pytest.raises(ConfigError, match=r"sinks\.slack-news\.mention"):
        build_sinks({"slack-news": config}, {"SLACK_BOT_TOKEN": TOKEN}, Metrics())


def test_slack_without_credentials_is_left_out_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    configs = {"slack-news": SlackSinkConfig(type="slack", channel="#geo-alerts")}
    sinks = build_sinks(configs, {"SLACK_CHANNEL": "#ignored"}, Metrics())
    assert sinks == {}
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "SLACK_BOT_TOKEN" in record.getMessage()
    assert "SLACK_WEBHOOK_URL" in record.getMessage()
    assert "slack-news" in record.getMessage()


def test_channel_and_timings_come_from_config_and_the_environment() -> None:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL": "#from-env"}
    config = SlackSinkConfig(type="slack", pace="2s", hold="0s", thread_max_age="6h")
    sink = build_sinks({"s": config}, env, Metrics())["s"]
    assert isinstance(sink, SlackSink)
    assert (sink.channel, sink.pace, sink.hold, sink.thread_max_age) == (
        "#from-env",
        2.0,
        0.0,
        21600.0,
    )


async def test_unreachable_slack_is_retried_then_fails_with_the_budget() -> None:
    metrics = Metrics()
    sink = SlackSink(
        "slack-news", metrics, token=TOKEN, channel=CHANNEL, base_url="http://127.0.0.1:9/api/"
    )
    policy = RetryPolicy(budget=1.0, backoff=0.2, max_backoff=0.4)
    dispatcher = Dispatcher({"slack-news": sink}, metrics, policy=policy)
    try:
        report = await dispatcher.deliver(make_alert(), ["slack-news"])
    finally:
        await dispatcher.stop()
        await sink.stop()
    reason = report.failed["slack-news"]
    assert reason.startswith("Slack chat.postMessage connection failed")
    assert "gave up after" in reason
    assert TOKEN not in reason
    assert sample(metrics, "flashpoint_deliveries_total", sink="slack-news", outcome="retried") >= 1
    assert sample(
        metrics,
        "flashpoint_slack_request_seconds_count",
        method="chat.postMessage",
        outcome="connection_error",
    )
