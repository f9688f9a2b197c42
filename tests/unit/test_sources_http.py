"""POST /articles with a real aiohttp client against a running HttpIngest: it fails closed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from alerts.errors import BrokerError, ConfigError
from alerts.metrics import Metrics
from streams.settings import load_settings
from streams.sources import HttpIngest, IngestLimits
from streams.sources.http import exposure_warning
from tests.support.sources import RecordingPublisher

TOKEN = "s3cret-token"
ARTICLE = {"title": "Border crossing shut", "body": "Officials closed it at dawn."}


@dataclass
class Ingest:
    url: str
    port: int
    publisher: Any
    metrics: Metrics
    client: aiohttp.ClientSession

    async def post(
        self,
        body: bytes,
        *,
        content_type: str = "application/json",
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        sent = {"Content-Type": content_type, **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        async with self.client.post(f"{self.url}/articles", data=body, headers=sent) as reply:
            return reply.status, await reply.json()

    def errors(self, reason: str) -> float | None:
        return self.metrics.registry.get_sample_value(
            "flashpoint_source_errors_total", {"source": "http", "reason": reason}
        )

    def accepted(self) -> float | None:
        return self.metrics.registry.get_sample_value(
            "flashpoint_articles_total", {"source": "http"}
        )


async def started(publisher: Any, **kwargs: Any) -> AsyncIterator[Ingest]:
    metrics = Metrics()
    ingest = HttpIngest(publisher, metrics, port=0, **kwargs)
    await ingest.start()
    try:
        async with aiohttp.ClientSession() as client:
            yield Ingest(f"http://127.0.0.1:{ingest.port}", ingest.port, publisher, metrics, client)
    finally:
        await ingest.stop()
        await ingest.stop()


@pytest.fixture
async def ingest() -> AsyncIterator[Ingest]:
    limits = IngestLimits(max_body_bytes=2_000, max_articles=5)
    async for running in started(RecordingPublisher(), token=TOKEN, limits=limits):
        yield running


async def test_one_object_is_accepted_and_published(ingest: Ingest) -> None:
    status, reply = await ingest.post(json.dumps(ARTICLE, indent=2).encode())

    assert (status, reply) == (202, {"accepted": 1})
    assert ingest.publisher.records == [
        ("http", b'{"title":"Border crossing shut","body":"Officials closed it at dawn."}')
    ]
    assert ingest.accepted() == 1


async def test_array_publishes_each_object(ingest: Ingest) -> None:
    second = {"title": "Reopened", "body": "Traffic resumed by noon.", "extra": [1, 2]}

    status, reply = await ingest.post(json.dumps([ARTICLE, second]).encode())

    assert (status, reply) == (202, {"accepted": 2})
    assert ingest.publisher.objects() == [ARTICLE, second]


async def test_json_lines_body_publishes_each_line(ingest: Ingest) -> None:
    # U+2028 is legal inside a JSON string and must not split a line.
    odd = {"title": "Line\u2028separator", "body": "kept whole"}
    body = "\n".join([json.dumps(ARTICLE), "", json.dumps(odd, ensure_ascii=False), ""])

    status, reply = await ingest.post(body.encode(), content_type="application/x-ndjson")

    assert (status, reply) == (202, {"accepted": 2})
    assert ingest.publisher.objects() == [ARTICLE, odd]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b'{"title": "cut', "application/json", "body is not JSON: Unterminated string"),
        (b'{"a": 1}\n{"b": 2}', "application/json", "send Content-Type: application/x-ndjson"),
        (b'[{"title": "ok", "body": "ok"}, 7]', "application/json", "element 1 is a JSON number"),
        (b'"just a string"', "application/json", "body is a JSON string, expected an object"),
        (b'{"title": "a", "body": "b"}\nnope', "application/x-ndjson", "line 2 is not JSON"),
        (b"\xff\xfe{}", "application/json", "not UTF-8"),
        (b"  ", "application/json", "body is empty"),
    ],
)
async def test_body_that_is_not_objects_is_a_400_and_nothing_is_published(
    ingest: Ingest, body: bytes, content_type: str, message: str
) -> None:
    status, reply = await ingest.post(body, content_type=content_type)

    assert status == 400
    assert message in reply["error"]
    assert ingest.publisher.records == []
    assert ingest.errors("invalid_body") == 1


@pytest.mark.parametrize("token", [None, "wrong", ""])
async def test_missing_or_wrong_token_is_a_401(ingest: Ingest, token: str | None) -> None:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with ingest.client.post(f"{ingest.url}/articles", json=ARTICLE, headers=headers) as r:
        status, reply, challenge = r.status, await r.json(), r.headers.get("WWW-Authenticate")

    assert (status, reply) == (401, {"error": "missing or wrong bearer token"})
    assert challenge == "Bearer"
    assert ingest.publisher.records == []
    assert ingest.errors("unauthorized") == 1


async def test_body_over_the_limit_is_a_413_with_or_without_content_length(
    ingest: Ingest,
) -> None:
    big = json.dumps({"title": "t", "body": "x" * 3_000}).encode()

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 500):
            yield big[start : start + 500]

    status, reply = await ingest.post(big)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with ingest.client.post(
        f"{ingest.url}/articles", data=chunked(), headers=headers
    ) as streamed:
        streamed_status = streamed.status

    assert (status, reply) == (413, {"error": "body is over 2000 bytes"})
    assert streamed_status == 413
    assert ingest.publisher.records == []
    assert ingest.errors("too_large") == 2


async def test_healthz_needs_no_token(ingest: Ingest) -> None:
    async with ingest.client.get(f"{ingest.url}/healthz") as reply:
        assert reply.status == 200
        assert await reply.json() == {"status": "ok"}


async def test_without_a_configured_token_posts_are_open() -> None:
    async for running in started(RecordingPublisher()):
        status, reply = await running.post(json.dumps(ARTICLE).encode(), token=None)
        assert (status, reply) == (202, {"accepted": 1})


async def test_publisher_failure_is_a_503_saying_how_many_were_stored() -> None:
    async for running in started(RecordingPublisher(fail_after=1)):
        async with running.client.post(
            f"{running.url}/articles", json=[ARTICLE, ARTICLE, ARTICLE]
        ) as reply:
            status, body, retry = reply.status, await reply.json(), reply.headers["Retry-After"]

        assert status == 503
        assert (body["stored"], body["not_stored"]) == (1, 2)
        assert int(retry) > 0
        assert running.errors("publish_failed") == 1
        assert running.accepted() == 1


class SelectivePublisher:
    """Stores every record except those titled "refuse", which a broker refuses later."""

    def __init__(self, delay: float = 0.05) -> None:
        self.stored: list[bytes] = []
        self._delay = delay

    async def publish(self, raw: bytes, *, source: str) -> asyncio.Future[None]:
        receipt: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        refuse = json.loads(raw)["title"] == "refuse"

        def settle() -> None:
            if refuse:
                receipt.set_exception(BrokerError("refused"))
            else:
                self.stored.append(raw)
                receipt.set_result(None)

        asyncio.get_running_loop().call_later(self._delay, settle)
        return receipt

    def unreadable(self, source: str, detail: str) -> None:
        raise AssertionError("not a reading source")

    async def flush(self) -> None:
        """Receipts settle by themselves."""


async def test_each_request_is_answered_for_its_own_articles() -> None:
    good = [dict(ARTICLE, title=f"good {i}") for i in range(3)]
    bad = [dict(ARTICLE, title="refuse")]
    async for running in started(SelectivePublisher()):
        answers = await asyncio.gather(
            running.post(json.dumps(bad).encode(), token=None),
            running.post(json.dumps(good).encode(), token=None),
        )

    assert answers[0][0] == 503 and answers[0][1]["not_stored"] == 1
    assert answers[1] == (202, {"accepted": 3})


async def test_a_broker_that_never_answers_is_a_503_after_the_ack_timeout() -> None:
    class Silent(SelectivePublisher):
        async def publish(self, raw: bytes, *, source: str) -> asyncio.Future[None]:
            return asyncio.get_running_loop().create_future()

    async for running in started(Silent(), limits=IngestLimits(ack_timeout=0.2)):
        status, reply = await running.post(json.dumps(ARTICLE).encode(), token=None)

    assert status == 503
    assert reply["stored"] == 0


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"title": "no body"}, "missing_field"),
        ({"title": "x\ud800", "body": "lone surrogate"}, "invalid_value"),
        ({"title": "t", "body": "b", "url": "http://[::1"}, "invalid_value"),
        ({"title": "t", "body": "b", "published": "0001-01-01T00:30:00+01:00"}, "invalid_value"),
        ({"title": 5, "body": "b"}, "wrong_type"),
    ],
)
async def test_an_article_that_can_never_be_stored_is_a_422_and_nothing_is_stored(
    ingest: Ingest, record: dict[str, Any], reason: str
) -> None:
    body = json.dumps([ARTICLE, record, ARTICLE]).encode()

    status, reply = await ingest.post(body)

    assert status == 422
    assert reply["rejected"] == [
        {"index": 1, "reason": reason, "detail": reply["rejected"][0]["detail"]}
    ]
    assert ingest.publisher.records == []
    assert ingest.errors("invalid_article") == 1


async def test_too_many_articles_in_one_request_is_a_413(ingest: Ingest) -> None:
    status, reply = await ingest.post(json.dumps([{}] * 6).encode())

    assert status == 413
    assert "at most 5" in reply["error"]
    assert ingest.publisher.records == []


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_only_json_is_accepted(ingest: Ingest, content_type: str) -> None:
    status, reply = await ingest.post(json.dumps(ARTICLE).encode(), content_type=content_type)

    assert status == 415
    assert "application/json" in reply["error"]
    assert ingest.publisher.records == []


async def test_a_request_from_a_web_page_is_refused(ingest: Ingest) -> None:
    status, _ = await ingest.post(
        json.dumps(ARTICLE).encode(), headers={"Origin": "https://evil.example"}
    )
    rebound, _ = await ingest.post(json.dumps(ARTICLE).encode(), headers={"Host": "evil.example"})

    assert (status, rebound) == (403, 403)
    assert ingest.publisher.records == []
    assert await ingest.post(json.dumps(ARTICLE).encode(), headers={"Host": "localhost:1"}) == (
        202,
        {"accepted": 1},
    )


async def test_a_client_over_its_rate_gets_429_with_retry_after() -> None:
    now = [1000.0]
    limits = IngestLimits(rate=1.0, burst=2)
    async for running in started(RecordingPublisher(), limits=limits, clock=lambda: now[0]):
        statuses = [(await running.post(json.dumps(ARTICLE).encode()))[0] for _ in range(3)]
        async with running.client.post(f"{running.url}/articles", json=ARTICLE) as reply:
            retry_after = reply.headers.get("Retry-After")
        now[0] += 1.0
        later, _ = await running.post(json.dumps(ARTICLE).encode())

    assert statuses == [202, 202, 429]
    assert retry_after == "1"
    assert later == 202
    assert running.errors("rate_limited") == 2


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What the server sent before closing; fails if it keeps the connection open."""
    try:
        return await asyncio.wait_for(reader.read(), seconds)
    except TimeoutError:
        pytest.fail(f"the server kept an unfinished request open for {seconds}s")


async def test_slow_headers_and_slow_bodies_are_cut_off() -> None:
    limits = IngestLimits(header_timeout=0.3, body_timeout=0.3)
    async for running in started(RecordingPublisher(), limits=limits):
        reader, writer = await _connect(running.port)
        writer.write(b"POST /articles HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        header_answer = await _closed_within(reader, 30)
        writer.close()

        reader, writer = await _connect(running.port)
        writer.write(
            b"POST /articles HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
            b'\r\nContent-Length: 1000\r\n\r\n{"title": '
        )
        body_answer = await _closed_within(reader, 30)
        writer.close()

    assert header_answer == b""
    assert body_answer.startswith(b"HTTP/1.1 408")
    assert running.publisher.records == []


async def test_connections_past_the_cap_get_a_503_and_the_rest_still_work() -> None:
    async for running in started(RecordingPublisher(), limits=IngestLimits(max_connections=3)):
        idle = [await _connect(running.port) for _ in range(3)]
        await asyncio.sleep(0.1)
        extra_reader, extra_writer = await _connect(running.port)
        refused = await _closed_within(extra_reader, 30)
        extra_writer.close()
        for _, writer in idle:
            writer.close()
        deadline = time.monotonic() + 30
        status = 0
        while status != 202:  # until the server has noticed the idle ones close
            try:
                status, _ = await running.post(json.dumps(ARTICLE).encode())
            except aiohttp.ClientError:
                status = 0
            if status != 202:
                assert time.monotonic() < deadline, "the cap never freed up"
                await asyncio.sleep(0.05)

    assert refused.startswith(b"HTTP/1.1 503")
    assert (running.errors("too_many_connections") or 0) >= 1


async def test_readyz_reports_the_broker_and_consumers_healthz_only_liveness() -> None:
    state = {"broker": False, "consumers_assigned": True}

    async def readiness() -> dict[str, bool]:
        return dict(state)

    async for running in started(RecordingPublisher(), readiness=readiness):
        async with running.client.get(f"{running.url}/healthz") as health:
            alive = health.status
        async with running.client.get(f"{running.url}/readyz") as ready:
            not_ready, detail = ready.status, await ready.json()
        state["broker"] = True
        async with running.client.get(f"{running.url}/readyz") as ready:
            now_ready = ready.status

    assert alive == 200
    assert (not_ready, detail["broker"]) == (503, False)
    assert now_ready == 200


def test_listening_beyond_loopback_without_a_token_is_warned_about() -> None:
    assert exposure_warning("0.0.0.0", token=False)
    assert exposure_warning("192.0.2.10", token=False)
    assert exposure_warning("0.0.0.0", token=True) is None
    assert exposure_warning("127.0.0.1", token=False) is None
    assert exposure_warning("::1", token=False) is None


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FLASHPOINT_INGEST_TOKEN", ""),
        ("FLASHPOINT_INGEST_TOKEN", "   "),
        ("FLASHPOINT_POLL_INTERVAL", "abc"),
        ("FLASHPOINT_POLL_INTERVAL", "0"),
        ("FLASHPOINT_POLL_INTERVAL", "-1"),
        ("FLASHPOINT_POLL_INTERVAL", "0.01"),
    ],
)
def test_a_bad_setting_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert caught.value.problems[0].startswith(variable + ": ")
    if "TOKEN" in variable:
        assert repr(value) not in caught.value.problems[0]


def test_the_poll_interval_has_a_floor_but_ten_seconds_is_fine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLASHPOINT_POLL_INTERVAL", "10")

    assert load_settings().poll_interval == 10.0
