"""Articles: turn raw bytes from any source into a validated, normalised Article.

This is the single place where incoming news is validated. Every failure raises
:class:`~alerts.errors.InvalidArticle` with a reason from :data:`REJECT_REASONS`, so the
caller can dead-letter the record and count it.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from alerts.errors import InvalidArticle

REJECT_REASONS = (
    "too_large",
    "invalid_utf8",
    "invalid_json",
    "too_deep",
    "not_an_object",
    "missing_field",
    "wrong_type",
    "invalid_value",
)

MAX_RECORD_BYTES = 1_000_000
MAX_TITLE_CHARS = 1_000
MAX_BODY_CHARS = 200_000
MAX_FIELD_CHARS = 2_000
MAX_NESTING = 20
EARLIEST_YEAR = 1000
"""``published`` dates before this year are placeholders (Hugo writes 0001-01-01) or typos."""

_TRACKING_PARAMS = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|cmpid|ocid)$", re.I)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u200b": None, "\r": "\n"}
)


@dataclass(frozen=True, slots=True)
class Article:
    """One news article, validated and normalised."""

    id: str
    title: str
    body: str
    url: str | None = None
    source: str | None = None
    published: str | None = None
    language: str | None = None

    @property
    def text(self) -> str:
        """Title and body as one text, title first, for detection."""
        return f"{self.title}\n\n{self.body}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "source": self.source,
            "published": self.published,
            "language": self.language,
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()

    def summary(self) -> dict[str, Any]:
        """The article fields carried by an alert (no body)."""
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "source": self.source,
            "published": self.published,
        }


def parse_article(raw: bytes | str, *, default_source: str | None = None) -> Article:
    """Decode, validate and normalise one JSON article record.

    Whatever ``raw`` holds, the only exception out of here is :class:`InvalidArticle`.
    """
    if isinstance(raw, bytes):
        if len(raw) > MAX_RECORD_BYTES:
            raise InvalidArticle(
                "too_large", f"record is {len(raw)} bytes, limit {MAX_RECORD_BYTES}"
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidArticle("invalid_utf8", f"not UTF-8 at byte {exc.start}") from None
    else:
        text = raw
        if len(text) > MAX_RECORD_BYTES:
            raise InvalidArticle(
                "too_large", f"record is {len(text)} chars, limit {MAX_RECORD_BYTES}"
            )
    _check_nesting(text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArticle(
            "invalid_json", f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise InvalidArticle("too_deep", f"nesting deeper than {MAX_NESTING}") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise InvalidArticle("invalid_value", str(exc).split(";")[0]) from None
    if not isinstance(data, dict):
        raise InvalidArticle("not_an_object", f"expected a JSON object, got {type(data).__name__}")
    # Text decoded from UTF-8 holds no surrogates; only a \\uD800-style escape can make one.
    if not isinstance(raw, bytes) or _SURROGATE_ESCAPE.search(text):
        _reject_surrogates(data, ())
    try:
        return article_from_mapping(data, default_source=default_source)
    except InvalidArticle as exc:
        exc.record_id = _record_name(data)
        raise


def article_from_mapping(data: dict[str, Any], *, default_source: str | None = None) -> Article:
    """Validate and normalise an already-decoded article object."""
    title = _text_field(data, "title", MAX_TITLE_CHARS)
    body = _text_field(data, "body", MAX_BODY_CHARS)
    if title is None and body is None:
        raise InvalidArticle("missing_field", "an article needs a title and a body")
    if title is None:
        raise InvalidArticle("missing_field", "title is missing")
    if body is None:
        raise InvalidArticle("missing_field", "body is missing")
    title = _normalise_line(title)
    body = normalise_body(body)
    if not title and not body:
        raise InvalidArticle("missing_field", "title and body are both empty")
    url = _text_field(data, "url", MAX_FIELD_CHARS)
    if url is not None:
        url = url.strip() or None
    if url is not None:
        check_web_url(url, "url")
    published = _text_field(data, "published", 64)
    if published is not None:
        published = _rfc3339(published.strip())
    source = _text_field(data, "source", 200)
    language = _text_field(data, "language", 16)
    given_id = _text_field(data, "id", 200)
    article_id = given_id.strip() if given_id and given_id.strip() else derive_id(url, title, body)
    return Article(
        id=article_id,
        title=title,
        body=body,
        url=url,
        source=(source.strip() or None) if source else default_source,
        published=published,
        language=language.strip().lower() if language else None,
    )


def check_web_url(url: str, name: str) -> None:
    """Raise ``invalid_value`` unless ``url`` is an http(s) URL with a host and a valid port."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidArticle("invalid_value", f"{name}: not a URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidArticle("invalid_value", f"{name}: must be an http(s) URL")
    if not parts.hostname:
        raise InvalidArticle("invalid_value", f"{name}: has no host")
    if port == 0:
        raise InvalidArticle("invalid_value", f"{name}: port 0 is not a port")


def derive_id(url: str | None, title: str, body: str) -> str:
    """A stable id from the canonical URL, or from the content when there is no URL."""
    if url:
        return "u-" + _digest(canonical_url(url))
    return "c-" + content_hash(title, body)


def content_hash(title: str, body: str) -> str:
    """Hash of the text with case and spacing folded: the same story re-sent is equal."""
    folded = " ".join(f"{title} {body}".lower().split())
    return _digest(folded)


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no fragment, default port, trailing slash or tracking tags."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        )
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, query, ""))


def normalise_body(body: str) -> str:
    """NFKC, straight quotes, no control characters, single spaces, paragraphs kept."""
    if not unicodedata.is_normalized("NFKC", body):
        body = unicodedata.normalize("NFKC", body)
    text = _CONTROL.sub("", body.replace("\r\n", "\n").translate(_QUOTES))
    paragraphs = (" ".join(p.split()) for p in _BLANK_LINES.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def _normalise_line(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return " ".join(_CONTROL.sub("", text).split())


def _text_field(data: dict[str, Any], name: str, limit: int) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArticle("wrong_type", f"{name}: expected a string, got {_json_type(value)}")
    if len(value) > limit:
        raise InvalidArticle("too_large", f"{name}: {len(value)} characters, limit {limit}")
    return value


def _rfc3339(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidArticle("invalid_value", f"published: {value!r} is not RFC 3339") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:30:00+01:00 is in year 0
        raise InvalidArticle("invalid_value", f"published: {value!r} is out of range") from None
    if moment.year < EARLIEST_YEAR:
        raise InvalidArticle(
            "invalid_value", f"published: {value!r} is before the year {EARLIEST_YEAR}"
        )
    return moment.isoformat().replace("+00:00", "Z")


def _reject_surrogates(value: Any, path: tuple[str | int, ...]) -> None:
    """``invalid_value`` for a lone surrogate anywhere: it is not a character, and no UTF-8
    encoder (Kafka's, Slack's, a log file's) can write it."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise InvalidArticle("invalid_value", f"{_path(path)}: holds a lone surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                raise InvalidArticle(
                    "invalid_value", f"{_path(path)}: a key holds a lone surrogate"
                )
            _reject_surrogates(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_surrogates(item, (*path, index))


def _path(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "record"


def _record_name(data: dict[str, Any]) -> str | None:
    """The record's own id or url, to name it in logs (never its text)."""
    for name in ("id", "url"):
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


def _check_nesting(text: str) -> None:
    """Reject deep nesting before json.loads spends stack on it."""
    if text.count("[") + text.count("{") <= MAX_NESTING:
        return
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise InvalidArticle("too_deep", f"nesting deeper than {MAX_NESTING}")
        elif char in "]}":
            depth -= 1


def _json_type(value: object) -> str:
    return {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def dedupe_keys(article: Article) -> list[str]:
    """Keys under which an article counts as already seen: id, canonical URL, content."""
    keys = [f"id:{article.id}"]
    if article.url:
        keys.append(f"url:{canonical_url(article.url)}")
    keys.append(f"content:{content_hash(article.title, article.body)}")
    return keys
