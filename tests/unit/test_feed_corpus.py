"""A corpus of real-world-shaped and ill-formed feeds served on loopback: every item that can
be parsed arrives as an article, once, and every problem is counted against its own feed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from alerts.articles import dedupe_keys, parse_article
from alerts.metrics import Metrics
from streams.sources.feeds import FeedLimits, FeedSource
from tests.support.feed_corpus import CorpusFeed, corpus, item, rss
from tests.support.sources import RecordingPublisher

UTF8 = '<?xml version="1.0" encoding="utf-8"?>'
REASONS = (
    "malformed",
    "unparsable",
    "http_4xx",
    "http_5xx",
    "bad_item",
    "too_large",
    "timeout",
    "connection",
    "too_many_redirects",
    "internal",
)
CORPUS = {feed.name: feed for feed in corpus()}


@pytest.fixture(scope="module")
def served() -> dict[str, CorpusFeed]:
    return dict(CORPUS)


@pytest.fixture
async def base() -> AsyncIterator[str]:
    async def corpus_feed(request: web.Request) -> web.Response:
        feed = CORPUS[request.match_info["name"]]
        return web.Response(
            body=feed.body,
            status=feed.status,
            headers={"Content-Type": feed.content_type, **feed.headers},
        )

    async def redirect(request: web.Request) -> web.Response:
        left = int(request.match_info["left"])
        if left == 0:
            return web.Response(
                body=(UTF8 + rss(item("After redirects", "rd"))).encode(),
                content_type="application/rss+xml",
            )
        raise web.HTTPFound(f"/redirect/{left - 1}")

    async def guid_feed(request: web.Request) -> web.Response:
        desk = request.match_info["desk"]
        story = (
            f"<item><title>{desk} story one</title><link>http://{desk}.example/1</link>"
            f'<guid isPermaLink="false">1</guid><description>Report.</description></item>'
        )
        body = UTF8 + rss(story, title=f"{desk} desk")
        return web.Response(body=body.encode(), content_type="application/rss+xml")

    async def long_feed(request: web.Request) -> web.Response:
        items = "".join(item(f"Item {n}", f"n{n}") for n in range(120))
        return web.Response(body=(UTF8 + rss(items)).encode(), content_type="text/xml")

    app = web.Application()
    app.router.add_get("/corpus/{name}", corpus_feed)
    app.router.add_get("/redirect/{left}", redirect)
    app.router.add_get("/guid/{desk}", guid_feed)
    app.router.add_get("/long", long_feed)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def normalised(title: str) -> str:
    """A title as triage normalises it (NFKC, straight quotes, single spaces)."""
    return parse_article(json.dumps({"title": title, "body": "b"}).encode()).title


def errors(metrics: Metrics, feed: FeedSource) -> dict[str, float]:
    counted = {}
    for reason in REASONS:
        value = metrics.registry.get_sample_value(
            "flashpoint_source_errors_total", {"source": feed.name, "reason": reason}
        )
        if value:
            counted[reason] = value
    return counted


@pytest.mark.parametrize("name", sorted(CORPUS))
async def test_every_parseable_item_arrives_once(base: str, name: str) -> None:
    expected = CORPUS[name]
    metrics = Metrics()
    feed = FeedSource(f"{base}/corpus/{name}", metrics)
    publisher = RecordingPublisher()

    await feed.poll(publisher)
    first_errors = errors(metrics, feed)
    again = await feed.poll(publisher)  # the whole feed again: nothing is new

    articles = [parse_article(raw) for raw in publisher.raw]  # every record is an article
    assert sorted(a.title for a in articles) == sorted(map(normalised, expected.titles))
    assert first_errors == {reason: float(n) for reason, n in expected.errors.items()}
    assert again == 0
    assert errors(metrics, feed).get("malformed") == first_errors.get("malformed")  # once
    assert all("root:" not in a.body and len(a.body) < 10_000 for a in articles)


async def test_field_limits_cut_fields_instead_of_dropping_items(base: str) -> None:
    publisher = RecordingPublisher()
    await FeedSource(f"{base}/corpus/long-fields", Metrics()).poll(publisher)

    [record] = publisher.objects()
    assert len(record["title"]) <= 1000 and record["title"].endswith("\u2026")
    assert len(record["source"]) <= 200
    assert "url" not in record  # a cut URL would point somewhere else


async def test_a_placeholder_date_is_left_out_not_a_dead_letter(base: str) -> None:
    publisher = RecordingPublisher()
    await FeedSource(f"{base}/corpus/hugo-undated", Metrics()).poll(publisher)

    [record] = publisher.objects()
    assert "published" not in record
    assert record["url"] == "http://127.0.0.1/about/"


async def test_relative_links_are_resolved_against_the_feed(base: str) -> None:
    publisher = RecordingPublisher()
    await FeedSource(f"{base}/corpus/relative-links", Metrics()).poll(publisher)

    assert publisher.objects()[0]["url"] == f"{base}/news/rel-1"


async def test_the_same_guid_in_two_feeds_is_two_stories(base: str) -> None:
    publisher = RecordingPublisher()
    await FeedSource(f"{base}/guid/east", Metrics()).poll(publisher)
    await FeedSource(f"{base}/guid/west", Metrics()).poll(publisher)

    east, west = (parse_article(raw) for raw in publisher.raw)
    assert east.id != west.id
    assert not set(dedupe_keys(east)) & set(dedupe_keys(west))


async def test_a_feed_longer_than_its_memory_is_not_republished(base: str) -> None:
    publisher = RecordingPublisher()
    feed = FeedSource(f"{base}/long", Metrics(), remember=50)

    first = await feed.poll(publisher)
    again = await feed.poll(publisher)

    assert (first, again) == (120, 0)


async def test_redirects_are_followed_up_to_the_limit(base: str) -> None:
    metrics = Metrics()
    limits = FeedLimits(max_redirects=3)
    near = FeedSource(f"{base}/redirect/2", metrics, limits=limits)
    far = FeedSource(f"{base}/redirect/9", metrics, limits=limits)

    assert await near.poll(RecordingPublisher()) == 1
    assert await far.poll(RecordingPublisher()) == 0
    assert errors(metrics, far) == {"too_many_redirects": 1.0}


async def test_a_feed_over_the_size_limit_is_refused(base: str) -> None:
    metrics = Metrics()
    feed = FeedSource(f"{base}/long", metrics, limits=FeedLimits(max_bytes=4096))

    assert await feed.poll(RecordingPublisher()) == 0
    assert errors(metrics, feed) == {"too_large": 1.0}


async def test_errors_and_freshness_are_per_feed_not_per_host(base: str) -> None:
    metrics = Metrics()
    broken = FeedSource(f"{base}/corpus/not-found", metrics)
    healthy = FeedSource(f"{base}/corpus/rss20", metrics)
    await broken.poll(RecordingPublisher())
    await healthy.poll(RecordingPublisher())

    def fresh(feed: FeedSource) -> float | None:
        return metrics.registry.get_sample_value(
            "flashpoint_source_last_success_timestamp_seconds", {"source": feed.name}
        )

    assert broken.name != healthy.name
    assert fresh(broken) is None and fresh(healthy) is not None
    assert errors(metrics, broken) == {"http_4xx": 1.0} and errors(metrics, healthy) == {}
