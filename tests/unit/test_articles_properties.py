"""Property-based: whatever bytes or JSON come in, the parser returns an Article or raises
InvalidArticle with a known reason, and an Article can always be stored and keyed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.articles import REJECT_REASONS, Article, canonical_url, dedupe_keys, parse_article
from alerts.errors import InvalidArticle

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every code point, lone surrogates included: json.dumps writes them as \\uD800 escapes.
any_text = st.text(
    st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=40
)
edgy_text = st.one_of(
    any_text,
    st.sampled_from(
        [
            "http://[::1",
            "http://e.com:99999/",
            "https://e.com:0/",
            "http://user:pw@host:65535/p?q#f",
            "HTTPS://WWW.E.COM/",
            "0001-01-01T00:30:00+01:00",
            "9999-12-31T23:59:59-23:59",
            "2026-02-30T00:00:00Z",
            "2026-02-22T17:30:00.123456+09:00",
            " ",
            "\u2028",
            "\ud800",
        ]
    ),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False),
        edgy_text,
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(edgy_text, children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(["id", "title", "body", "url", "source", "published", "language"])
article_like = st.dictionaries(st.one_of(field_names, any_text), json_values, max_size=9)


def _check(raw: bytes | str) -> None:
    rejected: InvalidArticle | None = None
    try:
        article = parse_article(raw)
    except InvalidArticle as exc:
        rejected = exc
    if rejected is not None:
        assert rejected.reason in REJECT_REASONS
        assert rejected.detail
        return
    _usable(article)


def _usable(article: Article) -> None:
    """What the pipeline does next with an article must not fail either."""
    assert isinstance(article, Article)
    stored = article.to_json()
    assert json.loads(stored)["id"] == article.id
    assert dedupe_keys(article)
    if article.url:
        canonical_url(article.url)
    assert parse_article(stored).id == article.id


@PROPERTY
@given(st.binary(max_size=300))
def test_any_bytes_become_an_article_or_a_reason(raw: bytes) -> None:
    _check(raw)


@PROPERTY
@given(article_like)
def test_any_json_object_becomes_an_article_or_a_reason(record: dict[str, Any]) -> None:
    _check(json.dumps(record).encode())
    _check(json.dumps(record))


@PROPERTY
@given(
    title=edgy_text,
    body=edgy_text,
    url=edgy_text,
    published=edgy_text,
    extra=json_values,
)
def test_article_fields_with_hostile_values(
    title: str, body: str, url: str, published: str, extra: Any
) -> None:
    record = {"title": title, "body": body, "url": url, "published": published, "x": extra}
    _check(json.dumps(record).encode())


@PROPERTY
@given(st.lists(st.sampled_from(['{"', '"', "[", "]", "{", "}", ",", ":", "\\u", "d8", "0"])))
def test_json_shaped_fragments(parts: list[str]) -> None:
    _check("".join(parts).encode())
