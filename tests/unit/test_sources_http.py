"""POST /articles with a real aiohttp client against a running HttpIngest."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from alerts.metrics import Metrics
from streams.sources import HttpIngest
from tests.support.sources import RecordingPublisher

TOKEN = "s3cret-token"
ARTICLE = {"title": "Border crossing shut", "body": "Officials closed it at dawn."}


@dataclass
class Ingest:
    url: str
    publisher: RecordingPublisher
    metrics: Metrics
    client: aiohttp.ClientSession

    async def post(
        self, body: bytes, *, content_type: str = "application/json", token: str | None = TOKEN
    ) -> tuple[int, Any]:
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.client.post(f"{self.url}/articles", data=body, headers=headers) as reply:
            return reply.status, await reply.json()

    def errors(self, reason: str) -> float | None:
        return self.metrics.registry.get_sample_value(
            "flashpoint_source_errors_total", {"source": "http", "reason": reason}
        )

    def accepted(self) -> float | None:
        return self.metrics.registry.get_sample_value(
            "flashpoint_articles_total", {"source": "http"}
        )


async def started(publisher: RecordingPublisher, **kwargs: Any) -> AsyncIterator[Ingest]:
    metrics = Metrics()
    ingest = HttpIngest(publisher, metrics, port=0, **kwargs)
    await ingest.start()
    try:
        async with aiohttp.ClientSession() as client:
            yield Ingest(f"http://127.0.0.1:{ingest.port}", publisher, metrics, client)
    finally:
        await ingest.stop()
        await ingest.stop()


@pytest.fixture
async def ingest() -> AsyncIterator[Ingest]:
    async for running in started(RecordingPublisher(), token=TOKEN, max_body_bytes=2_000):
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


async def test_publisher_failure_is_a_503_saying_how_many_were_queued() -> None:
    async for running in started(RecordingPublisher(fail_after=1)):
        status, reply = await running.post(json.dumps([ARTICLE, ARTICLE, ARTICLE]).encode())

        assert status == 503
        assert reply["accepted"] == 1
        assert running.errors("publish_error") == 1
        assert running.accepted() == 1
