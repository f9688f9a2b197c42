"""The labelled evaluation sets and the sample feed are well-formed and our own writing."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from alerts.articles import parse_article
from alerts.detect.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[2]
PASSAGES = ROOT / "eval" / "passages.jsonl"
HOLDOUT = ROOT / "eval" / "holdout.jsonl"
BLIND = ROOT / "eval" / "blind.jsonl"
FEED = ROOT / "streams" / "samples" / "wire.jsonl"
# The reference article sits in shared/: beside the checkout in CI, at /work/shared locally.
SEED_CANDIDATES = (
    ROOT.parent / "shared" / "examples" / "seed-article.txt",
    Path("/work/shared/examples/seed-article.txt"),
)
SHINGLE_WORDS = 12

FIELDS = {"id", "category", "text", "escalation", "commitment", "note"}
MINIMUMS = {
    "escalation": 40,
    "commitment": 35,
    "both": 15,
    "ordinary": 30,
    "negation_denial": 6,
    "historical": 6,
    "hypothetical": 6,
    "non_military": 6,
    "not_commitment": 6,
}
# The held-out set: fewer, longer stories, every category present.
HOLDOUT_MINIMUMS = {
    "escalation": 15,
    "commitment": 15,
    "both": 8,
    "ordinary": 10,
    "negation_denial": 6,
    "historical": 6,
    "hypothetical": 6,
    "non_military": 6,
    "not_commitment": 6,
}
TRICKY = ("negation_denial", "historical", "hypothetical", "non_military", "not_commitment")
# (escalation, commitment) every passage of a category must carry.
CATEGORY_LABELS = {
    "escalation": (True, False),
    "commitment": (False, True),
    "both": (True, True),
    **{category: (False, False) for category in ("ordinary", *TRICKY)},
}


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "").replace("'", "")
    return re.findall(r"\w+", folded)


def _shingles(text: str) -> set[int]:
    words = _words(text)
    return {
        hash(" ".join(words[i : i + SHINGLE_WORDS])) for i in range(len(words) - SHINGLE_WORDS + 1)
    }


def _copied_runs(text: str, reference: set[int]) -> list[str]:
    """Every 12-word run of ``text`` that also appears in the reference shingles."""
    words = _words(text)
    return [
        " ".join(words[i : i + SHINGLE_WORDS])
        for i in range(len(words) - SHINGLE_WORDS + 1)
        if hash(" ".join(words[i : i + SHINGLE_WORDS])) in reference
    ]


def _seed_shingles() -> set[int]:
    for path in SEED_CANDIDATES:
        if path.exists():
            return _shingles(path.read_text(encoding="utf-8"))
    return set()


SETS = pytest.mark.parametrize(
    "path", [PASSAGES, HOLDOUT, BLIND], ids=["passages", "holdout", "blind"]
)


@SETS
def test_every_passage_line_is_a_labelled_object(path: Path) -> None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        record = json.loads(line)
        assert set(record) == FIELDS, f"line {number}"
        assert record["category"] in MINIMUMS, f"line {number}: {record['category']}"
        assert isinstance(record["escalation"], bool), f"line {number}"
        assert isinstance(record["commitment"], bool), f"line {number}"
        assert record["text"].strip(), f"line {number}"
        assert record["note"].strip(), f"line {number}"


@SETS
def test_passage_labels_agree_with_their_category(path: Path) -> None:
    for record in _records(path):
        labels = (record["escalation"], record["commitment"])
        assert labels == CATEGORY_LABELS[record["category"]], record["id"]


def test_passage_ids_are_unique_across_all_sets() -> None:
    ids = Counter(record["id"] for path in (PASSAGES, HOLDOUT, BLIND) for record in _records(path))
    assert [i for i, n in ids.items() if n > 1] == []


def test_every_category_has_its_minimum() -> None:
    records = _records(PASSAGES)
    counts = Counter(record["category"] for record in records)
    short = {c: counts[c] for c, minimum in MINIMUMS.items() if counts[c] < minimum}
    assert short == {}
    assert sum(counts[c] for c in TRICKY) >= 50
    assert len(records) >= 170


def test_passages_are_short_wire_copy() -> None:
    for record in _records(PASSAGES):
        text = record["text"]
        assert re.match(r"^[A-Z][A-Z .,'/-]+, \w+ \d+ \([^)]+\) - ", text), record["id"]
        assert 25 <= len(text.split()) <= 120, record["id"]


def test_copy_check_finds_a_planted_twelve_word_run() -> None:
    reference = _shingles("One two three four five six seven eight nine ten eleven twelve.")
    planted = "Intro words, then one two three four five six seven eight nine ten eleven twelve."
    eleven = "one two three four five six seven eight nine ten eleven and then something else"
    assert len(_copied_runs(planted, reference)) == 1
    assert _copied_runs(eleven, reference) == []


def test_holdout_has_every_category_and_enough_passages() -> None:
    records = _records(HOLDOUT)
    counts = Counter(record["category"] for record in records)
    short = {c: counts[c] for c, minimum in HOLDOUT_MINIMUMS.items() if counts[c] < minimum}
    assert short == {}
    assert len(records) >= 90


def test_holdout_passages_are_multi_paragraph_stories() -> None:
    for record in _records(HOLDOUT):
        text = record["text"]
        assert "\n\n" in text, record["id"]
        assert 6 <= len(split_sentences(text)) <= 12, record["id"]


def test_holdout_shares_no_twelve_word_run_with_the_tuning_set() -> None:
    tuning: set[int] = set()
    for record in _records(PASSAGES):
        tuning |= _shingles(record["text"])
    for record in _records(HOLDOUT):
        assert _copied_runs(record["text"], tuning) == [], record["id"]


@pytest.mark.parametrize(
    "path",
    [PASSAGES, HOLDOUT, BLIND, FEED],
    ids=["passages", "holdout", "blind", "sample-feed"],
)
def test_no_twelve_word_run_copied_from_the_reference_article(path: Path) -> None:
    reference = _seed_shingles()
    for record in _records(path):
        text = record.get("text") or f"{record['title']} {record['body']}"
        assert _copied_runs(text, reference) == [], record["id"]


def test_blind_set_has_every_category_and_short_passages() -> None:
    records = _records(BLIND)
    counts = Counter(record["category"] for record in records)
    assert set(counts) == set(MINIMUMS)
    assert len(records) >= 60
    for record in records:
        assert record["id"].startswith("blind-"), record["id"]
        assert 2 <= len(split_sentences(record["text"])) <= 10, record["id"]


def test_blind_set_shares_no_twelve_word_run_with_the_tuned_sets() -> None:
    tuned: set[int] = set()
    for path in (PASSAGES, HOLDOUT):
        for record in _records(path):
            tuned |= _shingles(record["text"])
    for record in _records(BLIND):
        assert _copied_runs(record["text"], tuned) == [], record["id"]


def test_sample_feed_parses_as_articles() -> None:
    lines = FEED.read_text(encoding="utf-8").splitlines()
    articles = [parse_article(line) for line in lines]
    assert 12 <= len(articles) <= 15
    assert len({a.id for a in articles}) == len(articles)
    assert len({a.url for a in articles}) == len(articles)
    for article in articles:
        assert article.published is not None
        assert article.published.startswith("2026-")
        assert article.language == "en"
        assert article.url is not None
        assert re.match(r"^https://(example\.com|news\.example\.org)/", article.url)
        assert 150 <= len(article.body.split()) <= 400, article.id
