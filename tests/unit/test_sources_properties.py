"""Property-based: whatever bytes a file, stdin or a feed holds, the source reads to the end
without raising, and every record it publishes is an article or has a reason."""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.articles import REJECT_REASONS, parse_article
from alerts.errors import InvalidArticle
from alerts.metrics import Metrics
from streams.sources import FeedSource, FileSource, StdinSource
from streams.sources.base import encode_record
from streams.sources.feeds import entry_record
from tests.support.sources import RecordingPublisher

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JSONISH = st.sampled_from(
    [b"{", b"}", b"[", b"]", b'"', b"\\u", b"d800", b":", b",", b"\n", b"\r", b"title", b"0"]
)
chunks = st.lists(st.one_of(st.binary(max_size=40), JSONISH), max_size=30).map(b"".join)


def _judged(raw: bytes) -> str:
    """``ok`` for an article, else the reason triage gives."""
    try:
        parse_article(raw)
    except InvalidArticle as exc:
        return exc.reason
    return "ok"


def _accounted(publisher: RecordingPublisher) -> None:
    for raw in publisher.raw:
        assert _judged(raw) in ("ok", *REJECT_REASONS)


def _read_file(name: str, data: bytes) -> RecordingPublisher:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, name)
        path.write_bytes(data)
        publisher = RecordingPublisher()
        asyncio.run(FileSource(path, Metrics()).run(publisher))
    assert publisher.unreadable_input == []
    return publisher


@PROPERTY
@given(st.lists(chunks, max_size=8), st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_any_jsonl_file_yields_one_record_per_non_blank_line(
    lines: list[bytes], ending: bytes
) -> None:
    clean = [line.replace(b"\r", b"").replace(b"\n", b"") for line in lines]
    publisher = _read_file("any.jsonl", ending.join(clean))

    _accounted(publisher)
    kept = [
        line.removeprefix(b"\xef\xbb\xbf") if index == 0 else line
        for index, line in enumerate(clean)
    ]
    assert len(publisher.raw) == sum(1 for line in kept if line.strip())


@PROPERTY
@given(chunks)
def test_any_json_file_is_read_to_the_end(data: bytes) -> None:
    _accounted(_read_file("any.json", data))


@PROPERTY
@given(chunks)
def test_any_txt_file_is_one_record(data: bytes) -> None:
    assert len(_read_file("any.txt", data).raw) == 1


@PROPERTY
@given(chunks)
def test_any_bytes_on_stdin_are_read_to_the_end(data: bytes) -> None:
    read_fd, write_fd = os.pipe()

    def write() -> None:
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(data)

    writer = threading.Thread(target=write)
    writer.start()
    publisher = RecordingPublisher()
    try:
        asyncio.run(StdinSource(Metrics(), fd=read_fd).run(publisher))
    finally:
        writer.join()
        os.close(read_fd)
    _accounted(publisher)


any_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=30)
entries = st.dictionaries(
    st.sampled_from(["id", "link", "title", "summary", "published_parsed", "content", "x"]),
    st.one_of(any_text, st.none(), st.just([{"value": "<p>x</p>", "type": "text/html"}])),
)


@PROPERTY
@given(entries, st.one_of(st.none(), any_text))
def test_any_feed_entry_becomes_a_record_triage_can_judge(
    entry: dict[str, Any], feed_title: str | None
) -> None:
    entry.pop("published_parsed", None)  # feedparser's own type, never text
    try:
        record = entry_record(entry, feed_title, scope="feed")
    except (TypeError, AttributeError):
        return  # not a shape feedparser produces
    if record is not None:
        assert _judged(encode_record(record)) in ("ok", *REJECT_REASONS)


FEED_PARTS = st.sampled_from(
    [
        b'<?xml version="1.0"?>',
        b'<rss version="2.0"><channel><title>T</title>',
        b"<item><title>",
        b"</title><guid>",
        b"</guid><description>",
        b"</description><pubDate>Mon, 01 Jan 0001 00:00:00 +0000</pubDate></item>",
        b"&#xD800;",
        b"&#xD83D;&#xDE00;",
        b"&#1114112;",
        b"&eacute;&nbsp;",
        b"<![CDATA[",
        b"]]>",
        b"</channel></rss>",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id>',
        b"</entry></feed>",
    ]
)
feeds = st.lists(st.one_of(FEED_PARTS, st.binary(max_size=12)), max_size=25).map(b"".join)


@PROPERTY
@given(feeds)
def test_any_feed_document_is_polled_without_raising(body: bytes) -> None:
    async def poll() -> RecordingPublisher:
        async def serve(request: web.Request) -> web.Response:
            return web.Response(body=body, content_type="application/rss+xml")

        app = web.Application()
        app.router.add_get("/feed", serve)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        publisher = RecordingPublisher()
        try:
            port = runner.addresses[0][1]
            await FeedSource(f"http://127.0.0.1:{port}/feed", Metrics()).poll(publisher)
        finally:
            await runner.cleanup()
        return publisher

    _accounted(asyncio.run(poll()))
