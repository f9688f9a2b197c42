"""The Slack sink against a loopback Slack stub, with the real slack-sdk client."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from alerts.config.models import SlackSinkConfig
from alerts.errors import ConfigError, RetriableSinkError
from alerts.metrics import Metrics
from alerts.model import Alert, Evidence
from alerts.sinks import Dispatcher, SlackSink, build_sinks
from alerts.sinks.blocks import (
    HEADER_LIMIT,
    alert_blocks,
    escape,
    evidence_text,
    safe_url,
    truncate,
)
from tests.support.slack_stub import SlackStub

TOKEN = "xoxb-test-0000-secret"
URL = "https://news.example.org/asia/coast-guard-standoff?id=7&lang=en"


def make_alert(**changes: Any) -> Alert:
    alert = Alert(
        id="a1b2c3d4e5f6",
        rule="escalation",
        kind="escalation",
        severity="warning",
        topic="china-japan",
        title="Coast guard cutters shadow survey ship near disputed islets",
        summary="Escalation level rose to warning after two reports of naval manoeuvres.",
        evidence=(
            Evidence(
                phrase="warned of countermeasures",
                sentence="Officials in Tokyo warned of countermeasures if the ship stayed.",
                start=80,
                end=105,
                label="threaten",
            ),
        ),
        article={
            "id": "art-1",
            "url": URL,
            "title": "Coast guard cutters shadow survey ship",
            "source": "Example Wire",
            "published": "2024-05-01T08:00:00Z",
        },
        created_at="2024-05-01T08:00:02Z",
    )
    return replace(alert, **changes)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text string in a Block Kit payload, wherever it sits."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return found


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


@pytest.fixture
async def stub() -> AsyncIterator[SlackStub]:
    async with SlackStub(token=TOKEN) as server:
        yield server


def web_sink(stub: SlackStub, metrics: Metrics, **kwargs: Any) -> SlackSink:
    """A bot-token sink whose in-client retries wait 10 ms instead of seconds."""
    return SlackSink(
        "slack-news",
        metrics,
        token=TOKEN,
        channel="#geo-alerts",
        base_url=stub.url,
        retry_interval=FixedValueRetryIntervalCalculator(0.01),
        **kwargs,
    )


async def test_message_arrives_with_blocks_text_and_metadata(stub: SlackStub) -> None:
    metrics = Metrics()
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": stub.url}
    sinks = build_sinks(
        {"slack-news": SlackSinkConfig(type="slack", channel="#geo-alerts")}, env, metrics
    )
    dispatcher = Dispatcher(sinks, metrics)
    alert = make_alert()
    try:
        report = await dispatcher.deliver(alert, ["slack-news"])
    finally:
        await sinks["slack-news"].stop()

    [message] = stub.messages
    assert message["metadata"] == {
        "event_type": "flashpoint_alert",
        "event_payload": {
            "alert_id": alert.id,
            "rule": "escalation",
            "topic": "china-japan",
            "severity": "warning",
        },
    }
    assert message["unfurl_links"] is False
    assert message["unfurl_media"] is False
    assert "thread_ts" not in message
    assert message["text"] == (
        "[WARNING] china-japan: Coast guard cutters shadow survey ship near disputed islets"
    )
    header = message["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["text"] == f":warning: {alert.title}"
    shown = "\n".join(texts(message["blocks"]))
    assert "*Warning* · watch topic china-japan · rule escalation · escalation" in shown
    assert "Officials in Tokyo *warned of countermeasures* if the ship stayed." in shown
    assert "_threaten_" in shown
    link = URL.replace("&", "&amp;")
    assert f"<{link}|Coast guard cutters shadow survey ship> — Example Wire" in shown
    assert f"alert {alert.id}" in shown
    channel, _, ts = report.delivered["slack-news"].partition(":")  # type: ignore[union-attr]
    assert channel.startswith("C")
    assert ts == stub.calls[0].response["ts"]  # type: ignore[index]
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


async def test_article_text_cannot_mention_or_disguise_links(stub: SlackStub) -> None:
    hostile = "Breaking <!channel> <@U1> <#C123> <!subteam^S1> <!here> <!everyone>"
    alert = make_alert(
        title=f"{hostile} @here",
        summary="Read more at <http://x|y> & @channel *now* _please_ ~gone~ `code`",
        evidence=(
            Evidence(
                phrase="mobilised",
                sentence="The army mobilised <@U1> reserves, said @everyone.",
                start=0,
                end=9,
                label="<!channel>",
                attributes={"amount": "<http://evil.example|2% of GDP>"},
            ),
        ),
        article={"url": URL, "title": "<http://evil.example|innocent>", "source": "<#C9>"},
    )
    sink = web_sink(stub, Metrics())
    try:
        await sink.send(alert)
    finally:
        await sink.stop()

    [message] = stub.messages
    every_text = [message["text"], *texts(message["blocks"])]
    markup = [m for text in every_text for m in re.findall(r"<[^>]*>", text)]
    assert markup == [f"<{URL.replace('&', '&amp;')}|&lt;http://evil.example|innocent&gt;>"]
    joined = "\n".join(every_text)
    assert "&lt;!channel&gt;" in joined
    assert "&lt;http://x|y&gt; &amp; @\u200dchannel" in joined
    assert "@\u200dhere" in joined
    assert "@\u200deveryone" in joined
    assert "@channel" not in joined
    assert "\u2217now\u2217 \u02cdplease\u02cd \u223cgone\u223c \u02cbcode\u02cb" in joined


async def test_mention_is_added_on_critical_alerts_only(stub: SlackStub) -> None:
    sink = web_sink(stub, Metrics(), mention="S0ONCALL")
    try:
        await sink.send(make_alert(severity="critical"))
        await sink.send(make_alert(severity="warning"))
    finally:
        await sink.stop()

    critical, warning = stub.messages
    assert critical["text"].startswith("<!subteam^S0ONCALL> [CRITICAL]")
    assert "<!subteam^S0ONCALL>" in "\n".join(texts(critical["blocks"]))
    assert "S0ONCALL" not in json.dumps(warning)


def test_a_mention_that_is_not_a_slack_id_is_a_config_error() -> None:
    config = SlackSinkConfig(type="slack", channel="#x", mention="<!channel>")
    with pytest.raises(ConfigError, match=r"sinks\.slack-news\.mention"):
        build_sinks({"slack-news": config}, {"SLACK_BOT_TOKEN": TOKEN}, Metrics())


async def test_rate_limit_then_success_delivers_once_and_counts_a_retry(stub: SlackStub) -> None:
    metrics = Metrics()
    stub.fail_next(1, status=429)
    sink = web_sink(stub, metrics)
    try:
        report = await Dispatcher({"slack-news": sink}, metrics).deliver(
            make_alert(), ["slack-news"]
        )
    finally:
        await sink.stop()

    assert list(report.delivered) == ["slack-news"]
    assert [c.status for c in stub.calls] == [429, 200]
    assert stub.calls[1].at - stub.calls[0].at >= 1.0, "Retry-After: 1 was not honoured"
    assert len(stub.messages) == 1
    request_count = "flashpoint_slack_request_seconds_count"
    assert sample(metrics, request_count, method="chat.postMessage", outcome="ok") == 1
    assert sample(metrics, request_count, method="chat.postMessage", outcome="rate_limited") == 0
    assert sample(metrics, "flashpoint_deliveries_total", sink="slack-news", outcome="retried") == 1
    assert (
        sample(metrics, "flashpoint_deliveries_total", sink="slack-news", outcome="delivered") == 1
    )


async def test_server_errors_twice_then_success(stub: SlackStub) -> None:
    metrics = Metrics()
    stub.fail_next(2, status=500)
    sink = web_sink(stub, metrics)
    try:
        report = await Dispatcher({"slack-news": sink}, metrics).deliver(
            make_alert(), ["slack-news"]
        )
    finally:
        await sink.stop()

    assert report.ok
    assert [c.status for c in stub.calls] == [500, 500, 200]
    assert len(stub.messages) == 1
    assert sample(metrics, "flashpoint_deliveries_total", sink="slack-news", outcome="retried") == 2


async def test_server_errors_past_the_client_retries_are_retried_by_the_dispatcher(
    stub: SlackStub,
) -> None:
    metrics = Metrics()
    stub.fail_next(3, status=503)
    sink = web_sink(stub, metrics, max_retries=2)
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    with pytest.raises(RetriableSinkError, match="HTTP 503"):
        await sink.send(make_alert())
    stub.fail_next(3, status=503)
    dispatcher = Dispatcher({"slack-news": sink}, metrics, sleep=no_wait)
    try:
        report = await dispatcher.deliver(make_alert(), ["slack-news"])
    finally:
        await sink.stop()

    assert report.ok
    assert len(waits) == 1
    assert len(stub.messages) == 1
    assert (
        sample(
            metrics,
            "flashpoint_slack_request_seconds_count",
            method="chat.postMessage",
            outcome="server_error",
        )
        == 2
    )


async def test_channel_not_found_fails_at_once_with_slacks_error(
    stub: SlackStub, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    stub.error_next(error="channel_not_found")
    sink = web_sink(stub, metrics)
    caplog.set_level(logging.DEBUG)
    try:
        report = await Dispatcher({"slack-news": sink}, metrics).deliver(
            make_alert(), ["slack-news"]
        )
    finally:
        await sink.stop()

    assert report.failed == {"slack-news": "Slack chat.postMessage failed: channel_not_found"}
    assert len(stub.calls) == 1
    assert sample(metrics, "flashpoint_deliveries_total", sink="slack-news", outcome="failed") == 1
    assert TOKEN not in caplog.text


async def test_a_wrong_token_fails_with_invalid_auth_and_never_shows_the_token(
    stub: SlackStub,
) -> None:
    metrics = Metrics()
    sink = SlackSink("slack-news", metrics, token="xoxb-wrong", channel="#x", base_url=stub.url)
    try:
        report = await Dispatcher({"slack-news": sink}, metrics).deliver(
            make_alert(), ["slack-news"]
        )
    finally:
        await sink.stop()
    assert report.failed["slack-news"] == "Slack chat.postMessage failed: invalid_auth"


async def test_webhook_mode_posts_blocks_to_the_incoming_webhook(stub: SlackStub) -> None:
    metrics = Metrics()
    env = {"SLACK_WEBHOOK_URL": stub.webhook_url}
    sinks = build_sinks({"slack-news": SlackSinkConfig(type="slack")}, env, metrics)
    sink = sinks["slack-news"]
    try:
        ref = await sink.send(make_alert())
        stub.error_next(error="channel_not_found")
        report = await Dispatcher(sinks, metrics).deliver(make_alert(), ["slack-news"])
    finally:
        await sink.stop()

    assert ref is None
    [message] = stub.messages
    assert stub.calls[0].method == "webhook"
    assert message["blocks"][0]["type"] == "header"
    assert message["metadata"]["event_payload"]["alert_id"] == "a1b2c3d4e5f6"
    assert report.failed == {
        "slack-news": "Slack webhook rejected the message: HTTP 404 channel_not_found"
    }
    assert sample(metrics, "flashpoint_slack_request_seconds_count", method="webhook", outcome="ok")


async def test_thread_reference_round_trip(stub: SlackStub) -> None:
    sink = web_sink(stub, Metrics())
    try:
        ref = await sink.send(make_alert())
        assert ref is not None
        again = await sink.send(make_alert(summary="Level rose to critical."), thread=ref)
    finally:
        await sink.stop()
        await sink.stop()

    first, reply = stub.messages
    channel, _, ts = ref.partition(":")
    assert "thread_ts" not in first
    assert reply["thread_ts"] == ts
    assert reply["channel"] == channel
    assert again is not None
    assert again != ref


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


def test_channel_comes_from_slack_channel_when_config_has_none() -> None:
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_CHANNEL": "#from-env"}
    sinks = build_sinks({"s": SlackSinkConfig(type="slack")}, env, Metrics())
    sink = sinks["s"]
    assert isinstance(sink, SlackSink)
    assert sink.channel == "#from-env"


def test_header_is_cut_to_the_limit_without_splitting_an_entity() -> None:
    title = "a" * 140 + " & more text to overflow the header limit"
    [header, *_] = alert_blocks(make_alert(title=title))
    text = header["text"]["text"]
    assert len(text) <= HEADER_LIMIT
    assert text.endswith("…")
    assert re.search(r"&(?!amp;|lt;|gt;)", text) is None


def test_truncate_backs_off_a_partial_entity() -> None:
    assert truncate("ab &lt;c", 6) == "ab …"
    assert truncate("ab &lt;c", 8) == "ab &lt;c"


def test_only_http_urls_become_links() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://x.example/a b") is None
    assert safe_url("ftp://x.example/") is None
    assert safe_url("https://x.example/p?a=1|2>") == "https://x.example/p?a=1%7C2%3E"
    blocks = alert_blocks(make_alert(article={"url": "javascript:x", "title": "Plain"}))
    assert all("<" not in t for t in texts(blocks))


def test_evidence_bolds_the_phrase_and_lists_commitment_attributes() -> None:
    evidence = Evidence(
        phrase="double defence spending",
        sentence="The cabinet pledged to double defence spending over five years.",
        start=0,
        end=0,
        label="commitment",
        attributes={"amount": "2% of GDP", "deadline": "over five years"},
    )
    assert evidence_text(evidence) == (
        "The cabinet pledged to *double defence spending* over five years.\n"
        "_commitment_ · amount: 2% of GDP · deadline: over five years"
    )


def test_at_most_five_evidence_sections() -> None:
    evidence = tuple(
        Evidence(phrase=f"p{i}", sentence=f"Sentence p{i}.", start=0, end=2, label="x")
        for i in range(7)
    )
    shown = "\n".join(texts(alert_blocks(make_alert(evidence=evidence))))
    assert "*p4*" in shown
    assert "*p5*" not in shown
    assert "…and 2 more pieces of evidence" in shown


def test_escape_keeps_entities_whole() -> None:
    assert escape("a < b && c > d") == "a &lt; b &amp;&amp; c &gt; d"


def test_the_bold_phrase_is_a_whole_word_match() -> None:
    evidence = Evidence(
        phrase="war", sentence="A software vendor denied any war plans.", start=0, end=0, label=""
    )
    assert evidence_text(evidence) == "A software vendor denied any *war* plans."


async def test_unreachable_slack_is_retriable_after_the_client_retries() -> None:
    metrics = Metrics()
    sink = SlackSink(
        "slack-news",
        metrics,
        token=TOKEN,
        channel="#geo-alerts",
        base_url="http://127.0.0.1:9/api/",
        retry_interval=FixedValueRetryIntervalCalculator(0.01),
    )
    try:
        with pytest.raises(RetriableSinkError, match="connection failed") as caught:
            await sink.send(make_alert())
    finally:
        await sink.stop()
    assert TOKEN not in str(caught.value)
    assert sample(metrics, "flashpoint_deliveries_total", sink="slack-news", outcome="retried") == 2
    assert sample(
        metrics,
        "flashpoint_slack_request_seconds_count",
        method="chat.postMessage",
        outcome="connection_error",
    )
