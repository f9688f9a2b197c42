"""RSS and Atom polling against a real feed server on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from alerts.articles import parse_article
from alerts.metrics import Metrics
from streams.sources.feeds import FeedLimits, FeedSource, entry_record, html_to_text
from tests.support.sources import RecordingPublisher

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>Harbour Wire</title><link>http://127.0.0.1/</link><description>d</description>
  {items}
</channel></rss>"""

ITEM = """<item>
  <title>{title}</title>
  <link>http://127.0.0.1/news/{guid}</link>
  <guid isPermaLink="false">{guid}</guid>
  <pubDate>Tue, 03 Jun 2025 09:30:00 +0200</pubDate>
  <description>&lt;p&gt;Coast guard vessels &lt;b&gt;shadowed&lt;/b&gt; the convoy.&lt;/p&gt;
  &lt;script&gt;track()&lt;/script&gt;&lt;p&gt;Officials gave no details.&lt;/p&gt;</description>
</item>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Ministry &amp;lt;Press&amp;gt; Office</title>
  <id>urn:uuid:feed</id><updated>2025-06-04T10:00:00Z</updated>
  <entry>
    <title>Budget plan published</title>
    <id>urn:uuid:entry-1</id>
    <link href="http://127.0.0.1/press/1"/>
    <updated>2025-06-04T08:15:00+01:00</updated>
    <content type="html">&lt;h2&gt;Spending&lt;/h2&gt;
      &lt;p&gt;Outlays rise over five years.&lt;/p&gt;</content>
    <summary>short summary</summary>
  </entry>
  <entry>
    <title>Plain statement</title>
    <id>urn:uuid:entry-2</id>
    <updated>2025-06-04T09:00:00Z</updated>
    <content type="text">Less than &lt;5% change, officials said.</content>
  </entry>
</feed>"""


def rss(*guids: str) -> str:
    items = "".join(ITEM.format(title=f"Story {g}", guid=g) for g in guids)
    return RSS.format(items=items)


@dataclass
class FeedServer:
    """A feed server whose answers each test can change; it records request headers."""

    base: str = ""
    rss_body: str = field(default_factory=lambda: rss("g2", "g1"))
    etag: str = '"v1"'
    flaky_failures: int = 1
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def seen(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path]


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    state = FeedServer()
    last_modified = "Wed, 04 Jun 2025 10:00:00 GMT"
    release = asyncio.Event()

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        state.requests.append((request.path, dict(request.headers)))
        return await handler(request)

    async def rss_feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == state.etag:
            return web.Response(status=304)
        headers = {"ETag": state.etag, "Last-Modified": last_modified}
        return web.Response(
            body=state.rss_body, content_type="application/rss+xml", headers=headers
        )

    async def atom_feed(request: web.Request) -> web.Response:
        return web.Response(text=ATOM, content_type="application/atom+xml")

    async def flaky(request: web.Request) -> web.Response:
        if state.flaky_failures > 0:
            state.flaky_failures -= 1
            return web.Response(status=500, text="upstream exploded")
        return web.Response(text=rss("f1"), content_type="application/rss+xml")

    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": "120"})

    async def not_a_feed(request: web.Request) -> web.Response:
        return web.Response(text="this is not xml at all", content_type="text/plain")

    async def entities(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"e1"':
            return web.Response(status=304)
        body = rss("n1").replace("Story n1", "Caf&eacute;&nbsp;talks")
        return web.Response(text=body, content_type="text/xml", headers={"ETag": '"e1"'})

    async def truncated(request: web.Request) -> web.Response:
        body = rss("t1")
        return web.Response(text=body[: body.index("</item>")], content_type="text/xml")

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text=rss("s1"), content_type="text/xml")

    async def huge(request: web.Request) -> web.Response:
        return web.Response(text=rss(*(f"h{i}" for i in range(200))), content_type="text/xml")

    app = web.Application(middlewares=[record])
    for path, handler in [
        ("/rss", rss_feed),
        ("/atom", atom_feed),
        ("/flaky", flaky),
        ("/busy", busy),
        ("/not-a-feed", not_a_feed),
        ("/truncated", truncated),
        ("/entities", entities),
        ("/slow", slow),
        ("/huge", huge),
    ]:
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    release.set()
    await runner.cleanup()


def errors(metrics: Metrics, reason: str, feed: FeedSource) -> float | None:
    return metrics.registry.get_sample_value(
        "flashpoint_source_errors_total", {"source": feed.name, "reason": reason}
    )


def last_success(metrics: Metrics, feed: FeedSource) -> float | None:
    return metrics.registry.get_sample_value(
        "flashpoint_source_last_success_timestamp_seconds", {"source": feed.name}
    )


def guids(publisher: RecordingPublisher) -> list[str]:
    """The items' own guids: a guid that is not a URL is published scoped by its feed."""
    return [obj["id"].split(":", 1)[1] for obj in publisher.objects()]


async def test_rss_entries_become_article_records_oldest_first(server: FeedServer) -> None:
    metrics = Metrics()
    feed = FeedSource(server.url("/rss"), metrics, user_agent="flashpoint-test/1")
    publisher = RecordingPublisher()

    assert await feed.poll(publisher) == 2

    assert feed.name == f"rss:{server.base.split('://')[1]}/rss"
    ids = [obj["id"] for obj in publisher.objects()]
    assert guids(publisher) == ["g1", "g2"]
    assert publisher.objects() == [
        {
            "id": ident,
            "title": f"Story {guid}",
            "body": "Coast guard vessels shadowed the convoy.\n\nOfficials gave no details.",
            "url": f"http://127.0.0.1/news/{guid}",
            "source": "Harbour Wire",
            "published": "2025-06-03T07:30:00Z",
        }
        for ident, guid in zip(ids, ("g1", "g2"), strict=True)
    ]
    assert {source for source, _ in publisher.records} == {feed.name}
    assert parse_article(publisher.raw[0]).id == ids[0]
    assert (
        metrics.registry.get_sample_value("flashpoint_articles_total", {"source": feed.name}) == 2
    )
    assert last_success(metrics, feed) is not None
    assert server.seen("/rss")[0]["User-Agent"] == "flashpoint-test/1"


async def test_second_poll_is_conditional_and_304_publishes_nothing(server: FeedServer) -> None:
    metrics = Metrics()
    feed = FeedSource(server.url("/rss"), metrics)
    publisher = RecordingPublisher()
    await feed.poll(publisher)
    first_success = last_success(metrics, feed)

    assert await feed.poll(publisher) == 0

    second = server.seen("/rss")[1]
    assert second["If-None-Match"] == '"v1"'
    assert second["If-Modified-Since"] == "Wed, 04 Jun 2025 10:00:00 GMT"
    assert "If-None-Match" not in server.seen("/rss")[0]
    assert len(publisher.records) == 2
    assert last_success(metrics, feed) is not None
    assert first_success is not None
    assert last_success(metrics, feed) >= first_success  # type: ignore[operator]


async def test_changed_feed_publishes_only_entries_not_seen_before(server: FeedServer) -> None:
    feed = FeedSource(server.url("/rss"), Metrics())
    publisher = RecordingPublisher()
    await feed.poll(publisher)
    server.rss_body, server.etag = rss("g3", "g2", "g1"), '"v2"'

    assert await feed.poll(publisher) == 1

    assert guids(publisher) == ["g1", "g2", "g3"]


async def test_memory_is_bounded_but_keeps_every_item_the_feed_still_lists(
    server: FeedServer,
) -> None:
    feed = FeedSource(server.url("/rss"), Metrics(), remember=2)
    publisher = RecordingPublisher()
    server.rss_body = rss("g4", "g3", "g2", "g1")  # more items than ``remember``
    await feed.poll(publisher)
    server.etag = '"v2"'  # the same feed again, in full

    assert await feed.poll(publisher) == 0

    server.rss_body, server.etag = rss("g6", "g5"), '"v3"'
    await feed.poll(publisher)
    server.rss_body, server.etag = rss("g2", "g1"), '"v4"'  # old items, long forgotten

    assert await feed.poll(publisher) == 2
    assert guids(publisher) == ["g1", "g2", "g3", "g4", "g5", "g6", "g1", "g2"]


async def test_atom_entries_use_content_and_strip_html_only_when_html(server: FeedServer) -> None:
    publisher = RecordingPublisher()

    assert await FeedSource(server.url("/atom"), Metrics()).poll(publisher) == 2

    by_id = {obj["id"].split(":", 1)[1]: obj for obj in publisher.objects()}
    assert by_id["urn:uuid:entry-1"] == {
        "id": by_id["urn:uuid:entry-1"]["id"],
        "title": "Budget plan published",
        "body": "Spending\n\nOutlays rise over five years.",
        "url": "http://127.0.0.1/press/1",
        "source": "Ministry <Press> Office",
        "published": "2025-06-04T07:15:00Z",
    }
    assert by_id["urn:uuid:entry-2"]["body"] == "Less than <5% change, officials said."
    assert "url" not in by_id["urn:uuid:entry-2"]


async def test_server_error_is_counted_backed_off_and_recovered(server: FeedServer) -> None:
    metrics = Metrics()
    feed = FeedSource(server.url("/flaky"), metrics, poll_interval=10.0)
    publisher = RecordingPublisher()

    assert await feed.poll(publisher) == 0
    assert errors(metrics, "http_5xx", feed) == 1
    assert last_success(metrics, feed) is None
    assert feed.next_delay == 20.0

    assert await feed.poll(publisher) == 1
    assert guids(publisher) == ["f1"]
    assert last_success(metrics, feed) is not None
    assert feed.next_delay == 10.0


async def test_backoff_doubles_per_failure_up_to_the_cap(server: FeedServer) -> None:
    server.flaky_failures = 10
    feed = FeedSource(server.url("/flaky"), Metrics(), poll_interval=10.0, max_backoff=60.0)
    delays = []
    for _ in range(4):
        await feed.poll(RecordingPublisher())
        delays.append(feed.next_delay)

    assert delays == [20.0, 40.0, 60.0, 60.0]


async def test_retry_after_is_honoured(server: FeedServer) -> None:
    metrics = Metrics()
    feed = FeedSource(server.url("/busy"), metrics, poll_interval=10.0)

    await feed.poll(RecordingPublisher())

    assert errors(metrics, "http_5xx", feed) == 1
    assert feed.next_delay == 120.0


async def test_document_that_is_not_a_feed_is_counted_unparsable(server: FeedServer) -> None:
    metrics = Metrics()
    publisher = RecordingPublisher()
    feed = FeedSource(server.url("/not-a-feed"), metrics)

    assert await feed.poll(publisher) == 0

    assert errors(metrics, "unparsable", feed) == 1
    assert publisher.records == []
    assert last_success(metrics, feed) is None


async def test_malformed_xml_is_counted_once_per_version_and_its_items_published(
    server: FeedServer,
) -> None:
    metrics = Metrics()
    feed = FeedSource(server.url("/truncated"), metrics)
    publisher = RecordingPublisher()

    await feed.poll(publisher)
    await feed.poll(publisher)

    assert errors(metrics, "malformed", feed) == 1
    assert guids(publisher) == ["t1"]


async def test_html_entities_are_not_malformed_and_keep_the_conditional_get(
    server: FeedServer,
) -> None:
    metrics = Metrics()
    feed = FeedSource(server.url("/entities"), metrics)
    publisher = RecordingPublisher()

    assert await feed.poll(publisher) == 1
    assert await feed.poll(publisher) == 0

    assert publisher.objects()[0]["title"] == "Caf\u00e9\u00a0talks"
    assert server.seen("/entities")[1].get("If-None-Match") == '"e1"'
    assert errors(metrics, "malformed", feed) is None


async def test_timeout_and_refused_connection_are_counted(server: FeedServer) -> None:
    metrics = Metrics()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]

    slow = FeedSource(server.url("/slow"), metrics, limits=FeedLimits(timeout=0.2))
    refused = FeedSource(f"http://127.0.0.1:{closed_port}/rss", metrics)
    await slow.poll(RecordingPublisher())
    await refused.poll(RecordingPublisher())

    assert errors(metrics, "timeout", slow) == 1
    assert errors(metrics, "connection", refused) == 1


async def test_feed_over_the_size_limit_is_refused(server: FeedServer) -> None:
    metrics = Metrics()
    publisher = RecordingPublisher()

    feed = FeedSource(server.url("/huge"), metrics, limits=FeedLimits(max_bytes=4096))
    await feed.poll(publisher)

    assert errors(metrics, "too_large", feed) == 1
    assert publisher.records == []


async def test_publish_failure_keeps_the_feed_unconfirmed_for_the_next_poll(
    server: FeedServer,
) -> None:
    feed = FeedSource(server.url("/rss"), Metrics())
    assert await feed.poll(RecordingPublisher(fail_after=1)) == 1  # g1 stored, g2 refused
    publisher = RecordingPublisher()

    assert await feed.poll(publisher) == 1

    assert "If-None-Match" not in server.seen("/rss")[1]
    assert guids(publisher) == ["g2"]


async def test_run_polls_until_cancelled(server: FeedServer) -> None:
    metrics = Metrics()
    feed = FeedSource(server.url("/rss"), metrics, poll_interval=0.02)
    publisher = RecordingPublisher()
    task = asyncio.create_task(feed.run(publisher))
    for _ in range(300):
        if len(server.seen("/rss")) >= 3:
            break
        await asyncio.sleep(0.01)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert len(server.seen("/rss")) >= 3
    assert len(publisher.records) == 2


async def test_run_survives_a_failing_publisher_and_retries_the_items(
    server: FeedServer,
) -> None:
    feed = FeedSource(server.url("/rss"), Metrics(), poll_interval=0.01, max_backoff=0.01)
    publisher = RecordingPublisher(fail_after=0)
    task = asyncio.create_task(feed.run(publisher))
    for _ in range(300):
        if len(publisher.refused) >= 4:
            break
        await asyncio.sleep(0.01)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert len(publisher.refused) >= 4, "each poll offers the refused items again"
    assert all(not headers.get("If-None-Match") for headers in server.seen("/rss"))


def test_long_entry_ids_are_replaced_by_a_stable_digest_triage_accepts() -> None:
    entry = {"id": "https://example.org/" + "x" * 300, "title": "t", "summary": "b"}

    first, again = entry_record(entry, None), entry_record(entry, None)

    assert first is not None
    assert first == again
    assert parse_article(json.dumps(first)).id == first["id"]


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    html = (
        "<div><p>First&nbsp;line<br>continues</p><script>x()</script>"
        "<ul><li>a</li><li>b</li></ul></div>"
    )

    assert html_to_text(html) == "First line continues\n\na\n\nb"
