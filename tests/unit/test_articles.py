"""Article validation: every way a record can be wrong has its own reason."""

from __future__ import annotations

import json

import pytest

from alerts.articles import (
    MAX_NESTING,
    canonical_url,
    content_hash,
    dedupe_keys,
    parse_article,
)
from alerts.errors import InvalidArticle


def test_a_valid_article_is_normalised() -> None:
    article = parse_article(
        json.dumps(
            {
                "title": "  Talks \u201cresume\u201d\n in Tokyo ",
                "body": "First  para.\r\n\r\n\r\nSecond\u00a0para.",
                "url": "https://WWW.Example.com/a/?utm_source=x&b=2#top",
                "published": "2026-02-22T17:30:00+09:00",
                "language": "EN",
            }
        ).encode()
    )
    assert article.title == 'Talks "resume" in Tokyo'
    assert article.body == "First para.\n\nSecond para."
    assert article.published == "2026-02-22T08:30:00Z"
    assert article.language == "en"
    assert article.id.startswith("u-")


def test_the_id_is_stable_across_tracking_tags_and_given_ids_win() -> None:
    a = parse_article(b'{"title": "t", "body": "b", "url": "https://example.com/x?utm_medium=1"}')
    b = parse_article(b'{"title": "t", "body": "b", "url": "http://example.com/x/"}')
    assert canonical_url("https://example.com/x?utm_medium=1") == "https://example.com/x"
    assert a.id != b.id  # scheme differs: different documents
    assert parse_article(b'{"id": "wire-1", "title": "t", "body": "b"}').id == "wire-1"
    no_url = parse_article(b'{"title": "T", "body": "Same  text"}')
    assert no_url.id == "c-" + content_hash("T", "same text")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "invalid_utf8"),
        (b"{", "invalid_json"),
        (b"[]", "not_an_object"),
        (b'"text"', "not_an_object"),
        (b"{}", "missing_field"),
        (b'{"title": "only a title"}', "missing_field"),
        (b'{"body": "only a body"}', "missing_field"),
        (b'{"title": 1, "body": "b"}', "wrong_type"),
        (b'{"title": "t", "body": {"text": "b"}}', "wrong_type"),
        (b'{"title": "t", "body": "b", "url": "ftp://x"}', "invalid_value"),
        (b'{"title": "t", "body": "b", "published": "yesterday"}', "invalid_value"),
        (b"[" * (MAX_NESTING + 1) + b"]" * (MAX_NESTING + 1), "too_deep"),
        (b'{"title": "t", "body": "' + b"x" * 1_000_001 + b'"}', "too_large"),
        (json.dumps({"title": "t" * 1001, "body": "b"}).encode(), "too_large"),
        # Lone surrogates: valid JSON escapes, but no UTF-8 encoder can write them.
        (b'{"title": "x\\ud800", "body": "y"}', "invalid_value"),
        (b'{"title": "t", "body": "b", "extra": {"k\\udfff": 1}}', "invalid_value"),
        (b'{"title": "t", "body": "b", "tags": ["ok", "\\udbff"]}', "invalid_value"),
        (b'{"title": "t", "body": "b", "n": ' + b"7" * 5000 + b"}", "invalid_value"),
        (b'{"title": "t", "body": "b", "url": "http://[::1"}', "invalid_value"),
        (b'{"title": "t", "body": "b", "url": "http://e.com:99999/"}', "invalid_value"),
        (b'{"title": "t", "body": "b", "url": "http:///no-host"}', "invalid_value"),
        (b'{"title": "t", "body": "b", "published": "0001-01-01T00:30:00+01:00"}', "invalid_value"),
        (b'{"title": "t", "body": "b", "published": "9999-12-31T23:30:00-01:00"}', "invalid_value"),
        (b'{"title": "t", "body": "b", "published": "0999-05-01T00:00:00Z"}', "invalid_value"),
    ],
)
def test_bad_records_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidArticle) as caught:
        parse_article(raw)
    assert caught.value.reason == reason
    assert caught.value.detail


def test_a_surrogate_pair_escape_is_a_character_not_a_defect() -> None:
    article = parse_article(b'{"title": "Flag \\ud83c\\uddef\\ud83c\\uddf5", "body": "b"}')
    assert article.title == "Flag \U0001f1ef\U0001f1f5"


def test_a_bad_record_names_itself_by_id_for_the_logs() -> None:
    with pytest.raises(InvalidArticle) as caught:
        parse_article(b'{"id": "wire-9", "title": "t", "body": "b", "url": "http://[::1"}')
    assert caught.value.record_id == "wire-9"


def test_nesting_inside_strings_does_not_count() -> None:
    body = "[" * 100
    assert parse_article(json.dumps({"title": "t", "body": body}).encode()).body == body


def test_dedupe_keys_cover_id_url_and_content() -> None:
    article = parse_article(b'{"id": "a", "title": "T", "body": "B", "url": "https://e.com/x"}')
    kinds = [key.split(":", 1)[0] for key in dedupe_keys(article)]
    assert kinds == ["id", "url", "content"]
