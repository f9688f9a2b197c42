"""Near-duplicate stories: a rewrite by another outlet is the same story, other news is not."""

from __future__ import annotations

from alerts.detect.nearduplicates import THRESHOLD, is_near_duplicate, signature, similarity

ORIGINAL = (
    "Japan and China held their first security talks in four years on Wednesday in Tokyo. "
    "Japanese officials raised concerns about Chinese surveillance balloons and Beijing's "
    "military exercises with Moscow, while China criticised Japan's plans to double its "
    "defence budget. The two sides agreed to set up a hotline between defence officials."
)
REWRITE = (
    "The first security talks in four years between China and Japan were held in Tokyo on "
    "Wednesday. Japanese officials raised concerns about Chinese surveillance balloons and "
    "Beijing's military exercises with Moscow, while China criticised Japan's plans to double "
    "its defence budget. Both sides agreed to set up a hotline between defence officials."
)
OTHER = (
    "Australia's cricket selectors named an unchanged squad for the third Test in Adelaide, "
    "keeping faith with the opening pair despite two low scores in Brisbane last week."
)


def test_a_rewrite_is_the_same_story() -> None:
    assert is_near_duplicate(signature(ORIGINAL), signature(REWRITE))
    assert similarity(signature(ORIGINAL), signature(ORIGINAL)) == 1.0


def test_unrelated_news_is_not() -> None:
    assert similarity(signature(ORIGINAL), signature(OTHER)) < THRESHOLD / 3


def test_signatures_are_compact_and_stable() -> None:
    first = signature(ORIGINAL)
    assert first == signature(ORIGINAL)
    assert len(first) <= 172  # 128 bytes, base64
