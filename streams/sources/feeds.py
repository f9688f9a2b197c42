"""RSS 2.0, RSS 1.0 and Atom feeds, polled politely: conditional GET, backoff on failure,
no repeats.

The feed is fetched with aiohttp and the bytes handed to feedparser, in a worker thread,
which therefore never opens a URL or file itself and never holds up the event loop;
``chardet`` names the encoding of a feed that does not declare one. A failing feed is
logged, counted in ``flashpoint_source_errors_total{source="rss:<feed>", reason}`` and
tried again later with exponential backoff; it never stops the process. A bad item skips
that item, never the feed. Errors, freshness and dead letters are per feed: the source
name is the feed's URL without scheme, user, password or secret-looking query values.

What an item becomes: guids are unique only within their feed, so an id that is not a web
URL is scoped by the feed; a field longer than triage's limit is cut (a link is dropped:
a cut URL points somewhere else); a date before the year 1000 (Hugo writes 0001-01-01 for
undated pages) is left out. The feed remembers every item it still lists, however many,
so nothing is published twice.
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
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import feedparser

from alerts.articles import EARLIEST_YEAR, MAX_BODY_CHARS, MAX_FIELD_CHARS, MAX_TITLE_CHARS
from alerts.metrics import Metrics
from alerts.secrets import redact_url, scrub
from streams.sources.base import Publisher, SourceError, encode_record

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)
MAX_ID_CHARS = 200
"""Triage's limit on ``id``; a longer id is replaced by a stable digest of it."""
MAX_SOURCE_CHARS = 200
"""Triage's limit on ``source`` (the channel title)."""
_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


@dataclass(frozen=True, slots=True)
class FeedLimits:
    """What one fetch may take: time, bytes, redirects."""

    timeout: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5


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
        limits: FeedLimits | None = None,
        max_backoff: float = 3600.0,
        remember: int = 10_000,
    ) -> None:
        shown = redact_url(url)
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises for a port out of range
        except ValueError as exc:
            raise SourceError(f"source {shown!r}: not a valid URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SourceError(f"source {shown!r}: a feed must be an http(s):// URL with a host")
        self.url = url
        self.name = "rss:" + shown.split("://", 1)[1]
        self.poll_interval = poll_interval
        self.limits = limits or FeedLimits()
        self._metrics = metrics
        self._user_agent = user_agent
        self._max_backoff = max(max_backoff, poll_interval)
        self._remember = remember
        # Guids are scoped by the feed's own address; credentials are not part of it.
        self._scope = _digest(urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])))
        self._etag: str | None = None
        self._last_modified: str | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._failures = 0
        self._retry_after = 0.0
        self._malformed_body = ""
        self._first_poll: asyncio.Future[bool] | None = None

    @property
    def first_poll(self) -> asyncio.Future[bool]:
        """Resolves after the first poll: True if it read the feed, False if it failed."""
        if self._first_poll is None:
            self._first_poll = asyncio.get_running_loop().create_future()
        return self._first_poll

    @property
    def failing(self) -> bool:
        """True when the last poll failed."""
        return self._failures > 0

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
                if not self.first_poll.done():
                    self.first_poll.set_result(not self.failing)
                # Jitter spreads many feeds started together over the interval.
                await asyncio.sleep(self.next_delay * random.uniform(0.9, 1.1))

    async def poll(self, publisher: Publisher) -> int:
        """Fetch the feed once and publish its new entries; return how many were published."""
        async with self._session() as session:
            return await self._poll(session, publisher)

    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            headers={"User-Agent": self._user_agent, "Accept": ACCEPT},
            timeout=aiohttp.ClientTimeout(total=self.limits.timeout),
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
        if _malformed(parsed):
            # feedparser's lenient parser usually recovers the entries of a slightly broken
            # feed; publish those, but count the problem so it shows up (once per version
            # of the feed, not on every poll).
            digest = _digest_bytes(body)
            if digest != self._malformed_body:
                self._malformed_body = digest
                log.warning("source %s: malformed feed: %s", self.name, _bozo_detail(parsed, ""))
                self._metrics.source_errors.labels(source=self.name, reason="malformed").inc()
        published, complete = await self._publish_new(parsed, publisher)
        if complete:
            # Validators are kept only once every entry is stored, so a failure part-way
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
            async with session.get(
                self.url, headers=conditions, max_redirects=self.limits.max_redirects
            ) as response:
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
            raise _FeedFailure(
                "timeout", f"no complete answer in {self.limits.timeout:g}s"
            ) from None
        except aiohttp.TooManyRedirects:
            raise _FeedFailure(
                "too_many_redirects", f"more than {self.limits.max_redirects} redirects"
            ) from None
        except aiohttp.ClientError as exc:
            raise _FeedFailure("connection", type(exc).__name__) from None
        return body, headers

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self.limits.max_bytes
        too_large = _FeedFailure("too_large", f"feed is over {limit} bytes")
        if (response.content_length or 0) > limit:
            raise too_large
        body = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > limit:
                raise too_large
        return bytes(body)

    async def _publish_new(
        self, parsed: Mapping[str, Any], publisher: Publisher
    ) -> tuple[int, bool]:
        """Publish entries not seen before; return how many, and whether all were stored."""
        feed_title = _text(parsed.get("feed", {}), "title")
        entries = list(parsed.get("entries", []))
        sent: list[tuple[str, asyncio.Future[None]]] = []
        # Feeds list newest first; publishing oldest first keeps the stream in time order.
        for entry in reversed(entries):
            try:
                record = entry_record(entry, feed_title, scope=self._scope)
                if record is None:
                    continue
                key = record.get("id") or "c-" + _digest(record["title"] + "\n" + record["body"])
                if key in self._seen:
                    self._seen.move_to_end(key)
                    continue
                receipt = await publisher.publish(encode_record(record), source=self.name)
            except Exception as exc:  # one odd item must not cost the feed its other items
                self._bad_item(entry, exc)
                continue
            self._seen[key] = None
            sent.append((key, receipt))
        stored = 0
        for key, receipt in sent:
            try:
                await receipt
            except Exception:  # counted by the publisher; try the item again next poll
                self._seen.pop(key, None)
            else:
                stored += 1
                self._metrics.articles.labels(source=self.name).inc()
        # Every item the feed still lists is kept, so a long feed is never republished.
        keep = max(self._remember, len(entries))
        while len(self._seen) > keep:
            self._seen.popitem(last=False)
        return stored, stored == len(sent)

    def _bad_item(self, entry: Mapping[str, Any], exc: Exception) -> None:
        self._metrics.source_errors.labels(source=self.name, reason="bad_item").inc()
        named = str(entry.get("id") or entry.get("link") or "(no id or link)")[:200]
        log.warning(
            "source %s: skipped item %s: %s",
            self.name,
            scrub(named.encode("utf-8", "replace").decode()),
            f"{type(exc).__name__}: {exc}",
        )

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
            scrub(detail),
            self._failures,
            self.next_delay,
        )


def entry_record(
    entry: Mapping[str, Any], feed_title: str | None, *, scope: str = ""
) -> dict[str, str] | None:
    """The article record for one feed entry, or None for an entry with nothing in it.

    ``scope`` (a digest of the feed's address) makes an id that is not a web URL unique.
    """
    ident = entry.get("id") or entry.get("link")
    title = _text(entry, "title") or ""
    body = _entry_body(entry)
    if not (ident or title or body):
        return None
    # RSS allows an item with only a title or only a description; "" keeps it valid.
    record: dict[str, str] = {}
    if ident:
        record["id"] = _item_id(str(ident), scope)
    record["title"] = _clip(title, MAX_TITLE_CHARS)
    record["body"] = _clip(body, MAX_BODY_CHARS)
    link = entry.get("link")
    # feedparser copies a non-URL id (urn:uuid:...) into link; only web links are URLs.
    if link and _is_web_url(link) and len(link) <= MAX_FIELD_CHARS:
        record["url"] = link
    if feed_title:
        record["source"] = _clip(feed_title, MAX_SOURCE_CHARS)
    published = _published(entry.get("published_parsed") or entry.get("updated_parsed"))
    if published:
        record["published"] = published
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
    try:
        return feedparser.parse(io.BytesIO(_fix_charrefs(body)), response_headers=response_headers)
    except (ValueError, LookupError, OverflowError) as exc:
        raise _FeedFailure("unparsable", f"{type(exc).__name__}: {exc}") from None


def _fix_charrefs(body: bytes) -> bytes:
    """Character references no parser can turn into a character (``&#xD800;``: feedparser
    raises on them, failing the whole feed) become U+FFFD; a surrogate pair written as two
    references becomes the character it means."""
    if b"&#" not in body:
        return body
    matches = list(_CHARREF.finditer(body))
    out = bytearray()
    last = 0
    index = 0
    while index < len(matches):
        match = matches[index]
        point = _codepoint(match)
        replacement: bytes | None = None
        if 0xD800 <= point <= 0xDBFF and index + 1 < len(matches):
            following = matches[index + 1]
            low = _codepoint(following)
            if following.start() == match.end() and 0xDC00 <= low <= 0xDFFF:
                combined = 0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00)
                out += body[last : match.start()] + b"&#x%X;" % combined
                last = following.end()
                index += 2
                continue
        if 0xD800 <= point <= 0xDFFF or point > 0x10FFFF or point == 0:
            replacement = b"&#xFFFD;"
        if replacement is not None:
            out += body[last : match.start()] + replacement
            last = match.end()
        index += 1
    if not out:
        return body
    return bytes(out) + body[last:]


def _codepoint(match: re.Match[bytes]) -> int:
    hexadecimal, decimal = match.groups()
    return int(hexadecimal, 16) if hexadecimal else int(decimal)


def _malformed(parsed: Mapping[str, Any]) -> bool:
    """Not well-formed XML, other than HTML entities (``&eacute;``), which feedparser's
    lenient parser resolves as a browser would."""
    exc = parsed.get("bozo_exception")
    return (
        bool(parsed.get("bozo"))
        and isinstance(exc, xml.sax.SAXException)
        and "undefined entity" not in str(exc)
    )


def _item_id(ident: str, scope: str) -> str:
    if _is_web_url(ident):
        return ident if len(ident) <= MAX_ID_CHARS else "f-" + _digest(ident)
    scoped = f"{scope[:12]}:{ident}"
    return scoped if len(scoped) <= MAX_ID_CHARS else "f-" + _digest(f"{scope}\n{ident}")


def _is_web_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _published(stamp: time.struct_time | None) -> str | None:
    """RFC 3339 for feedparser's UTC time, or None for a placeholder or impossible date."""
    if not stamp or not EARLIEST_YEAR <= stamp.tm_year <= 9999:
        return None
    return (
        f"{stamp.tm_year:04d}-{stamp.tm_mon:02d}-{stamp.tm_mday:02d}"
        f"T{stamp.tm_hour:02d}:{stamp.tm_min:02d}:{min(stamp.tm_sec, 59):02d}Z"
    )


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
    return _digest_bytes(text.encode("utf-8", "surrogatepass"))


def _digest_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:40]
