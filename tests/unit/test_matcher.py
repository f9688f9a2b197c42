"""The phrase matcher: whole words, separators, case, offsets — and the two backends
(Hyperscan, pyahocorasick) finding exactly the same hits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alerts.config.loader import load_config
from alerts.config.models import KeywordRule
from alerts.detect.actors import gazetteer
from alerts.detect.commitments import _VERBS
from alerts.detect.escalation import default_lexicon
from alerts.detect.matcher import AHO_CORASICK, BACKENDS, HYPERSCAN, Hit, PhraseMatcher

ROOT = Path(__file__).resolve().parents[2]
EDGE_CASES = [
    "Spy  balloon over the SPY-balloon; a spy\n\nballoon; spyballoon; spy balloons.",
    "Naïve ÉTATS officials in İstanbul met U.S. envoys; the U.S.-led talks ended.",
    "drone swarm, drone-swarm, DRONE\tSWARM, drones warm, undrone swarm",
    "Taiwan Strait. TAIWAN STRAIT! taiwan-strait? Taiwanese strait",
    "",
    "—",
]


def texts() -> list[str]:
    """Our own passages (samples, eval set, test data) and edge cases."""
    found = list(EDGE_CASES)
    for name in ("streams/samples/wire.jsonl", "eval/passages.jsonl", "eval/blind.jsonl"):
        for line in (ROOT / name).read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                found.append(record.get("text") or f"{record['title']}\n\n{record['body']}")
    return found


def pattern_sets() -> dict[str, tuple[list[str], list[str], bool]]:
    """Every shipped phrase list: (phrases, regexes, case_sensitive)."""
    config = load_config([ROOT / "deploy/config/flashpoint.yaml"])
    keywords = [p for r in config.rules if isinstance(r, KeywordRule) for p in r.phrases]
    regexes = [x for r in config.rules if isinstance(r, KeywordRule) for x in r.regex]
    watch = [
        p
        for topic in config.watch.values()
        for p in [*topic.any_of, *(p for g in topic.all_of for p in g), *topic.none_of]
    ]
    lexicon = default_lexicon()
    named = [surface for surface, _ in gazetteer()._named]
    generic = [surface for surface, _ in gazetteer()._generic]
    return {
        "keyword rules": (keywords, regexes, False),
        "watch topics": (watch, [], False),
        "escalation lexicon": (list(lexicon.phrases), list(lexicon.patterns), False),
        "actors, as written": (named, [], True),
        "actors, unnamed offices": (generic, [], False),
        "commitment verbs": ([phrase for phrase, _ in _VERBS], [], False),
    }


@pytest.mark.parametrize("concern", list(pattern_sets()))
def test_both_backends_find_the_same_hits(concern: str) -> None:
    phrases, regexes, case_sensitive = pattern_sets()[concern]
    matchers = [
        PhraseMatcher(phrases, regexes=regexes, case_sensitive=case_sensitive, backend=backend)
        for backend in BACKENDS
    ]
    total = 0
    for text in texts():
        hyperscan_hits, aho_hits = (m.find(text) for m in matchers)
        assert hyperscan_hits == aho_hits, text[:80]
        total += len(hyperscan_hits)
    assert total >= 5  # the comparison saw real hits, not two empty lists


def spans(matcher: PhraseMatcher, text: str) -> list[tuple[str, str]]:
    return [(matcher.patterns[h.index], text[h.start : h.end]) for h in matcher.find(text)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_whole_words_any_separator_any_case(backend: str) -> None:
    matcher = PhraseMatcher(["spy balloon", "U.S.", "naïve"], backend=backend)
    text = EDGE_CASES[0] + " " + EDGE_CASES[1]
    assert spans(matcher, text) == [
        ("spy balloon", "Spy  balloon"),
        ("spy balloon", "SPY-balloon"),
        ("spy balloon", "spy\n\nballoon"),
        ("naïve", "Naïve"),
        ("U.S.", "U.S."),
        ("U.S.", "U.S."),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_case_sensitive_phrases_and_offsets_after_wide_characters(backend: str) -> None:
    matcher = PhraseMatcher(["Taiwan Strait", "Strait"], case_sensitive=True, backend=backend)
    text = "İİ — Taiwan  Strait. TAIWAN STRAIT"
    assert matcher.find(text) == [Hit(0, 5, 19), Hit(1, 13, 19)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_regexes_give_leftmost_longest_matches(backend: str) -> None:
    matcher = PhraseMatcher(
        ["troops"], regexes=[r"\b\d+\s+(?:[a-z]+\s+){0,2}?troops\b"], backend=backend
    )
    text = "It sent 300 more armed troops and 40 troops."
    assert spans(matcher, text) == [
        (matcher.patterns[1], "300 more armed troops"),
        ("troops", "troops"),
        (matcher.patterns[1], "40 troops"),
        ("troops", "troops"),
    ]


def test_duplicate_phrases_each_report_their_own_index() -> None:
    for backend in BACKENDS:
        matcher = PhraseMatcher(["Drone swarm", "drone swarm", "swarm"], backend=backend)
        assert [h.index for h in matcher.find("a drone swarm")] == [0, 1, 2]


def test_without_hyperscan_the_fallback_is_chosen() -> None:
    code = (
        "import sys; sys.modules['hyperscan'] = None\n"
        "from alerts.detect.matcher import PhraseMatcher\n"
        "m = PhraseMatcher(['spy balloon'], regexes=[r'\\bdrones?\\b'])\n"
        "print(m.backend, [(h.start, h.end) for h in m.find('Spy-balloon and drones')])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FLASHPOINT_MATCHER"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True
    )
    assert done.stdout.strip() == f"{AHO_CORASICK} [(0, 11), (16, 22)]"


REGEX_CASES = [
    "drone strikes?",
    r"(?i)\bF-?16s?\b",
    r"\p{Han}+",
    "(?P<unit>brigade)s?",
    "(drone)?",
    r"\b",
    "^",
    r"\C",
    "(?U)a+",
    r"[^\x00-\x{10FFFF}]",
    ".{0,300}troops.{0,300}",
]
VERDICTS = """
import json, sys
from alerts.config.models import check_regex
from alerts.detect.matcher import PhraseMatcher
from alerts.errors import ConfigError
verdicts = []
for pattern in json.loads(sys.argv[1]):
    try:
        check_regex(pattern)
        accepted = True
    except ValueError:
        accepted = False
    try:
        PhraseMatcher((), regexes=(pattern,))
        compiles = True
    except ConfigError:
        compiles = False
    verdicts.append((pattern, accepted, compiles))
print(json.dumps(verdicts))
"""


@pytest.mark.parametrize("hyperscan_imports", [True, False])
def test_config_accepts_exactly_the_regexes_the_matcher_compiles(hyperscan_imports: bool) -> None:
    """The config layer checks regexes without the matcher (which sits above it): the two
    must agree, or a rule file that passes `rules check` would fail to load."""
    block = "" if hyperscan_imports else "import sys; sys.modules['hyperscan'] = None\n"
    env = {k: v for k, v in os.environ.items() if k != "FLASHPOINT_MATCHER"}
    done = subprocess.run(
        [sys.executable, "-c", block + VERDICTS, json.dumps(REGEX_CASES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    )
    verdicts = json.loads(done.stdout)
    assert [(p, a) for p, a, c in verdicts if a != c] == []
    assert {accepted for _, accepted, _ in verdicts} == {True, False}


def test_flashpoint_detect_prints_the_same_with_either_backend(tmp_path: Path) -> None:
    articles = ROOT / "streams/samples/wire.jsonl"
    outputs = {}
    for backend in (HYPERSCAN, AHO_CORASICK):
        done = subprocess.run(
            [sys.executable, "-m", "streams.cli", "detect", str(articles)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "FLASHPOINT_MATCHER": backend},
            check=True,
        )
        outputs[backend] = [json.loads(line) for line in done.stdout.splitlines()]
    for result in outputs.values():  # created_at is the clock, not the matcher
        for alert in (a for r in result for a in r["alerts"]):
            alert.pop("created_at")
    assert outputs[HYPERSCAN] == outputs[AHO_CORASICK]
    assert sum(len(r["alerts"]) for r in outputs[HYPERSCAN]) >= 5
