"""The JSONL, console and webhook sinks: what lands in the file, on the screen, at the URL."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from alerts.config.models import ConsoleSinkConfig, JsonlSinkConfig, WebhookSinkConfig
from alerts.errors import RetriableSinkError, SinkError
from alerts.metrics import Metrics
from alerts.model import Alert, Evidence
from alerts.sinks import ConsoleSink, Dispatcher, JsonlSink, RetryPolicy, WebhookSink, build_sinks
from alerts.sinks.http import retry_after_seconds
from alerts.sinks.types import Attempt, Post, Sent, Sink


def make_alert(**changes: Any) -> Alert:
    alert = Alert(
        id="f00dfeed0001",
        rule="escalation",
        kind="escalation",
        severity="critical",
        topic="taiwan-strait",
        title="Live-fire drills announced around the strait",
        summary="Escalation level rose to critical.",
        evidence=(
            Evidence(
                phrase="live-fire drills",
                sentence="The command announced live-fire drills for the weekend.",
                start=0,
                end=16,
                label="show of force",
            ),
        ),
        article={"id": "art-9", "url": "https://wire.example/strait-drills", "title": "Drills"},
        created_at="2024-06-02T10:00:00Z",
    )
    return replace(alert, **changes)


async def send(sink: Sink, alert: Alert) -> Sent:
    """One attempt, as the dispatcher makes it."""
    return await sink.send(Post([alert]), Attempt())


async def test_jsonl_appends_the_alert_contract_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "nested" / "alerts.jsonl"
    sinks = build_sinks({"audit": JsonlSinkConfig(type="jsonl", path=str(path))}, {}, Metrics())
    sink = sinks["audit"]
    alerts = [make_alert(id=f"id{i:03d}", title=f"Alert {i} — ünïcode") for i in range(40)]
    await sink.start()
    try:
        refs = await asyncio.gather(*(send(sink, a) for a in alerts))
    finally:
        await sink.stop()
        await sink.stop()

    assert refs == [Sent()] * 40
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 40
    decoded = [json.loads(line) for line in lines]
    assert sorted(d["id"] for d in decoded) == [a.id for a in alerts]
    assert decoded[0] == next(a.to_dict() for a in alerts if a.id == decoded[0]["id"])
    assert Alert.from_dict(decoded[0]).id == decoded[0]["id"]


async def test_jsonl_keeps_what_was_there(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"id": "earlier"}\n', encoding="utf-8")
    sink = JsonlSink("audit", path)
    await send(sink, make_alert())
    await sink.stop()
    first, second = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(first) == {"id": "earlier"}
    assert json.loads(second)["id"] == "f00dfeed0001"


async def test_jsonl_unwritable_path_is_a_sink_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    sink = JsonlSink("audit", blocker / "alerts.jsonl")
    with pytest.raises(SinkError, match="cannot open"):
        await send(sink, make_alert())


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_console_prints_one_readable_line() -> None:
    out = io.StringIO()
    sink = ConsoleSink("console", stream=out)
    await send(sink, make_alert())
    assert out.getvalue() == (
        "[CRITICAL] taiwan-strait escalation: Live-fire drills announced around the strait"
        " — live-fire drills (https://wire.example/strait-drills)\n"
    )


async def test_console_colours_only_a_tty_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty, never = FakeTTY(), FakeTTY()
    await send(ConsoleSink("c", stream=tty), make_alert())
    await send(ConsoleSink("c", color=False, stream=never), make_alert())
    assert tty.getvalue().startswith("\x1b[1;31m[CRITICAL]\x1b[0m taiwan-strait")
    assert "\x1b" not in never.getvalue()


async def test_console_writes_to_stdout_and_strips_terminal_escapes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sinks = build_sinks({"console": ConsoleSinkConfig(type="console")}, {}, Metrics())
    await send(sinks["console"], make_alert(title="Drills\x1b[2J\x07 announced\nnow", evidence=()))
    assert capsys.readouterr().out == (
        "[CRITICAL] taiwan-strait escalation: Drills [2J announced now"
        " (https://wire.example/strait-drills)\n"
    )


@dataclass
class Receiver:
    """A loopback HTTP endpoint that records POSTs and answers with queued statuses."""

    statuses: list[int] = field(default_factory=list)
    retry_after: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    delay: float = 0.0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.times.append(time.monotonic())
        self.bodies.append(await request.json())
        self.auth.append(request.headers.get("Authorization"))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        after = self.retry_after.pop(0) if self.retry_after else ""
        headers = {"Retry-After": after} if after else {}
        return web.Response(status=status, text="{}", headers=headers)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/alerts", recv.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    recv.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hooks/alerts"
    try:
        yield recv
    finally:
        await runner.cleanup()


async def test_webhook_posts_the_alert_json_with_bearer_token(receiver: Receiver) -> None:
    config = WebhookSinkConfig(type="webhook", url=receiver.url, token_env="HOOK_TOKEN")
    sinks = build_sinks({"hook": config}, {"HOOK_TOKEN": "s3cret"}, Metrics())
    try:
        assert await send(sinks["hook"], make_alert()) == Sent()
    finally:
        await sinks["hook"].stop()
        await sinks["hook"].stop()
    assert receiver.bodies == [make_alert().to_dict()]
    assert receiver.auth == ["Bearer s3cret"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (408, RetriableSinkError),
        (429, RetriableSinkError),
        (500, RetriableSinkError),
        (503, RetriableSinkError),
        (400, SinkError),
        (404, SinkError),
    ],
)
async def test_webhook_status_decides_whether_to_retry(
    receiver: Receiver, status: int, error: type[SinkError]
) -> None:
    receiver.statuses = [status]
    sink = WebhookSink("hook", receiver.url)
    try:
        with pytest.raises(error, match=f"HTTP {status}") as caught:
            await send(sink, make_alert())
    finally:
        await sink.stop()
    assert caught.value.retriable is (error is RetriableSinkError)
    assert receiver.auth == [None]


async def test_webhook_timeout_is_retriable(receiver: Receiver) -> None:
    receiver.delay = 0.5
    sink = WebhookSink("hook", receiver.url, timeout=0.05)
    try:
        with pytest.raises(RetriableSinkError, match="timed out"):
            await send(sink, make_alert())
    finally:
        await sink.stop()


async def test_webhook_refused_connection_is_retriable_and_hides_the_url() -> None:
    sink = WebhookSink("hook", "http://127.0.0.1:9/secret-path-token")
    try:
        with pytest.raises(RetriableSinkError) as caught:
            await send(sink, make_alert())
    finally:
        await sink.stop()
    assert "secret-path-token" not in str(caught.value)


async def test_webhook_passes_on_retry_after_and_whether_a_failure_may_have_arrived(
    receiver: Receiver,
) -> None:
    sink = WebhookSink("hook", receiver.url)
    receiver.statuses = [429, 503]
    receiver.retry_after = ["1.5", ""]
    try:
        with pytest.raises(RetriableSinkError) as limited:
            await send(sink, make_alert())
        with pytest.raises(RetriableSinkError) as unavailable:
            await send(sink, make_alert())
    finally:
        await sink.stop()
    assert (limited.value.code, limited.value.retry_after, limited.value.uncertain) == (
        "ratelimited",
        1.5,
        False,
    )
    assert (unavailable.value.code, unavailable.value.uncertain) == ("http_503", True)


async def test_webhook_alerts_are_queued_and_retried_like_slack(receiver: Receiver) -> None:
    metrics = Metrics()
    receiver.statuses = [503, 429, 200]
    receiver.retry_after = ["", "0.3", ""]
    sink = WebhookSink("hook", receiver.url)
    dispatcher = Dispatcher({"hook": sink}, metrics, policy=RetryPolicy(backoff=0.1))
    try:
        report = await dispatcher.deliver(make_alert(), ["hook"])
    finally:
        await dispatcher.stop()
        await sink.stop()
    assert report.ok
    assert len(receiver.bodies) == 3
    assert receiver.times[2] - receiver.times[1] >= 0.3
    assert (
        metrics.registry.get_sample_value(
            "flashpoint_deliveries_total", {"sink": "hook", "outcome": "retried"}
        )
        == 2
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1.5", 1.5),
        ("60", 60.0),
        (" 2 ", 2.0),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:05 GMT", 5.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        ("nan", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_with_fractions_and_http_dates(
    value: str | None, seconds: float | None
) -> None:
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC).timestamp()
    assert retry_after_seconds(value, now=now) == seconds
