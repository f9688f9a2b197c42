"""RSS 2.0 and Atom feeds, polled politely: conditional GET, backoff on failure, no repeats.

The feed is fetched with aiohttp and the bytes handed to feedparser, which therefore never
opens a URL or file itself. A failing feed is logged, counted in
``flashpoint_source_errors_total{source="rss:<host>", reason}`` and tried again later with
exponential backoff; it never stops the process. Feed URLs can carry credentials, so logs
name the source (``rss:<host>``), never the URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import random
import re
import time
import xml.sax
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import feedparser

from alerts.metrics import Metrics
from streams.sources.base import Publisher, SourceError, encode_record

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)
MAX_ID_CHARS = 200
"""Triage's limit on ``id``; a longer feed id is replaced by a stable digest of it."""


class _FeedFailure(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class FeedSource:
    """Polls one feed every ``poll_interval`` seconds and publishes entries not seen before."""

    finite = False

    def __init__(
        self,
        url: str,
        metrics: Metrics,
        *,
        poll_interval: float = 300.0,
        user_agent: str = "flashpoint/0.1",
        timeout: float = 30.0,
        max_backoff: float = 3600.0,
        remember: int = 10_000,
        max_feed_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(f"source {url!r}: a feed must be an http(s):// URL with a host")
        self.url = url
        self.name = f"rss:{parts.hostname}"
        self.poll_interval = poll_interval
        self._metrics = metrics
        self._user_agent = user_agent
        self._timeout = timeout
        self._max_backoff = max(max_backoff, poll_interval)
        self._remember = remember
        self._max_bytes = max_feed_bytes
        self._etag: str | None = None
        self._last_modified: str | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._failures = 0
        self._retry_after = 0.0

    @property
    def next_delay(self) -> float:
        """Seconds before the next poll: the interval, doubled per failure in a row (capped)."""
        if not self._failures:
            return self.poll_interval
        backoff = min(self.poll_interval * 2.0 ** min(self._failures, 30), self._max_backoff)
        return max(backoff, min(self._retry_after, self._max_backoff))

    async def run(self, publisher: Publisher) -> None:
        """Poll until cancelled. Failures are counted and retried; they never end the loop."""
        async with self._session() as session:
            while True:
                try:
                    await self._poll(session, publisher)
                except Exception as exc:
                    log.exception("source %s: poll failed", self.name)
                    self._fail("internal", type(exc).__name__)
                # Jitter spreads many feeds started together over the interval.
                await asyncio.sleep(self.next_delay * random.uniform(0.9, 1.1))

    async def poll(self, publisher: Publisher) -> int:
        """Fetch the feed once and publish its new entries; return how many were published."""
        async with self._session() as session:
            return await self._poll(session, publisher)

    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            headers={"User-Agent": self._user_agent, "Accept": ACCEPT},
            timeout=aiohttp.ClientTimeout(total=self._timeout),
        )

    async def _poll(self, session: aiohttp.ClientSession, publisher: Publisher) -> int:
        try:
            fetched = await self._fetch(session)
            if fetched is None:
                self._succeed()
                return 0
            body, headers = fetched
            parsed = await asyncio.to_thread(_parse, body, headers, str(self.url))
            if not parsed.get("version"):
                raise _FeedFailure("unparsable", _bozo_detail(parsed, "not an RSS or Atom feed"))
        except _FeedFailure as failure:
            self._fail(failure.reason, failure.detail)
            return 0
        malformed = bool(parsed.get("bozo")) and isinstance(
            parsed.get("bozo_exception"), xml.sax.SAXException
        )
        if malformed:
            # feedparser's lenient parser usually recovers the entries of a slightly broken
            # feed; publish those, but count the problem so it shows up.
            log.warning("source %s: malformed feed: %s", self.name, _bozo_detail(parsed, ""))
            self._metrics.source_errors.labels(source=self.name, reason="malformed").inc()
        published = await self._publish_new(parsed, publisher)
        if not malformed:
            # Validators are kept only once every entry is published, so a failure part-way
            # through means the next poll fetches the whole feed again (repeats are skipped).
            self._etag = headers.get("etag")
            self._last_modified = headers.get("last-modified")
        self._succeed()
        return published

    async def _fetch(self, session: aiohttp.ClientSession) -> tuple[bytes, dict[str, str]] | None:
        """The feed's bytes and lower-cased headers, or None when unchanged (304)."""
        conditions: dict[str, str] = {}
        if self._etag:
            conditions["If-None-Match"] = self._etag
        if self._last_modified:
            conditions["If-Modified-Since"] = self._last_modified
        try:
            async with session.get(self.url, headers=conditions) as response:
                if response.status == 304:
                    return None
                if response.status != 200:
                    if response.status in (429, 503):
                        self._retry_after = _retry_after(response.headers.get("Retry-After"))
                    raise _FeedFailure(
                        f"http_{response.status // 100}xx", f"HTTP {response.status}"
                    )
                body = await self._read_body(response)
                headers = {k.lower(): v for k, v in response.headers.items()}
        except TimeoutError:
            raise _FeedFailure("timeout", f"no complete answer in {self._timeout:g}s") from None
        except aiohttp.ClientError as exc:
            raise _FeedFailure("connection", type(exc).__name__) from None
        return body, headers

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        too_large = _FeedFailure("too_large", f"feed is over {self._max_bytes} bytes")
        if (response.content_length or 0) > self._max_bytes:
            raise too_large
        body = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > self._max_bytes:
                raise too_large
        return bytes(body)

    async def _publish_new(self, parsed: Mapping[str, Any], publisher: Publisher) -> int:
        feed_title = _text(parsed.get("feed", {}), "title")
        published = 0
        # Feeds list newest first; publishing oldest first keeps the stream in time order.
        for entry in reversed(parsed.get("entries", [])):
            record = entry_record(entry, feed_title)
            if record is None:
                continue
            key = record.get("id") or "c-" + _digest(record["title"] + "\n" + record["body"])
            if key in self._seen:
                self._seen.move_to_end(key)
                continue
            await publisher.publish(encode_record(record), source=self.name)
            self._metrics.articles.labels(source=self.name).inc()
            published += 1
            self._seen[key] = None
            if len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        return published

    def _succeed(self) -> None:
        self._failures = 0
        self._retry_after = 0.0
        self._metrics.feed_last_success.labels(source=self.name).set(time.time())

    def _fail(self, reason: str, detail: str) -> None:
        self._failures += 1
        self._metrics.source_errors.labels(source=self.name, reason=reason).inc()
        log.warning(
            "source %s: %s (failure %d in a row; next try in %.0fs)",
            self.name,
            detail,
            self._failures,
            self.next_delay,
        )


def entry_record(entry: Mapping[str, Any], feed_title: str | None) -> dict[str, str] | None:
    """The article record for one feed entry, or None for an entry with nothing in it."""
    ident = entry.get("id") or entry.get("link")
    title = _text(entry, "title") or ""
    body = _entry_body(entry)
    if not (ident or title or body):
        return None
    # RSS allows an item with only a title or only a description; "" keeps it valid.
    record: dict[str, str] = {}
    if ident:
        record["id"] = ident if len(ident) <= MAX_ID_CHARS else "f-" + _digest(ident)
    record["title"] = title
    record["body"] = body
    link = entry.get("link")
    # feedparser copies a non-URL id (urn:uuid:...) into link; only web links are URLs.
    if link and urlsplit(link).scheme in ("http", "https"):
        record["url"] = link
    if feed_title:
        record["source"] = feed_title
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    if stamp:
        record["published"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", stamp)
    return record


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment, paragraphs kept as blank-line breaks."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH_BREAK.split("".join(extractor.parts)))
    return "\n\n".join(p for p in paragraphs if p)


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_BLOCK_TAGS = """address article aside blockquote dd div dl dt figcaption figure footer h1 h2 h3 h4
h5 h6 header hr li main nav ol p pre section table tbody td th tr ul"""


class _TextExtractor(HTMLParser):
    _BLOCKS = frozenset(_BLOCK_TAGS.split())
    _HIDDEN = frozenset(("script", "style", "template", "noscript"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _parse(body: bytes, headers: dict[str, str], url: str) -> Any:
    """feedparser on bytes already fetched; a BytesIO so it never treats them as a URL."""
    response_headers = {"content-location": url, **headers}
    return feedparser.parse(io.BytesIO(body), response_headers=response_headers)


def _entry_body(entry: Mapping[str, Any]) -> str:
    for content in entry.get("content") or ():
        if content.get("value"):
            return _as_text(content["value"], content.get("type"))
    detail = entry.get("summary_detail") or {}
    return _as_text(entry.get("summary") or "", detail.get("type"))


def _text(node: Mapping[str, Any], field: str) -> str | None:
    value = node.get(field)
    if not value:
        return None
    detail = node.get(f"{field}_detail") or {}
    return _as_text(value, detail.get("type")) or None


def _as_text(value: str, content_type: str | None) -> str:
    if content_type and "html" not in content_type:
        return value.strip()
    return html_to_text(value)


def _bozo_detail(parsed: Mapping[str, Any], default: str) -> str:
    exc = parsed.get("bozo_exception")
    return str(exc) if exc else default


def _retry_after(value: str | None) -> float:
    """Seconds asked for by a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return 0.0
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:40]
