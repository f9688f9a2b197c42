"""Generated keyword rule sets for the bench: 1-4-word phrases from real vocabulary.

The words come from gensim's Lee corpus (read at run time, never committed). A rule set of
any size holds the same few *matching* rules — real two-word sequences from the bench
articles, each found in at most 1% of them — and fills the rest with phrases that are
real words but (almost) never occur in the articles: single words from the corpus's other
file (``lee.cor``) that the bench articles lack, and 2-4-word combinations of corpus words.
So the share of articles that match stays the same from 10 rules to 10,000, and what the
bench compares is the cost of the rule count alone.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

MATCHING_RULES = 5
MAX_DOC_SHARE = 0.01
_WORD = re.compile(r"[a-z]{3,}")
_BIGRAM = re.compile(r"\b([a-z]{4,}) ([a-z]{4,})\b")


def _lee(name: str) -> list[str]:
    from gensim.test.utils import datapath

    return [
        line
        for line in Path(datapath(name)).read_text(encoding="latin-1").splitlines()
        if line.strip()
    ]


def vocabulary(texts: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(words absent from ``texts`` but in the corpus, all corpus words, rare bigrams)."""
    present: set[str] = set()
    bigram_docs: Counter[str] = Counter()
    for text in texts:
        lowered = text.lower()
        present.update(_WORD.findall(lowered))
        bigram_docs.update({" ".join(m) for m in _BIGRAM.findall(lowered)})
    everything = sorted(
        {
            w
            for line in _lee("lee.cor") + _lee("lee_background.cor")
            for w in _WORD.findall(line.lower())
        }
    )
    absent = [w for w in everything if w not in present]
    limit = max(1, int(MAX_DOC_SHARE * len(texts)))
    rare = sorted(b for b, n in bigram_docs.items() if 2 <= n <= limit)
    return absent, everything, rare


def keyword_rules(count: int, texts: Sequence[str], *, seed: int = 9) -> list[dict[str, object]]:
    """``count`` keyword rules (1-3 phrases each) as config mappings."""
    rng = random.Random(seed)
    absent, everything, rare = vocabulary(texts)
    matching = rng.sample(rare, min(MATCHING_RULES, len(rare), count))
    singles = rng.sample(absent, len(absent))
    long_words = [w for w in everything if len(w) >= 6]
    rules: list[dict[str, object]] = []
    for n in range(count):
        if n < len(matching):
            phrases = [matching[n]]
        else:
            phrases = []
            for _ in range(rng.randint(1, 3)):
                size = rng.randint(1, 4)
                if size == 1 and singles:
                    phrases.append(singles.pop())
                else:  # long words only: "and the" would match everywhere
                    phrases.append(" ".join(rng.choices(long_words, k=max(2, size))))
        rules.append(
            {"name": f"gen-{n:05d}", "type": "keyword", "phrases": phrases, "severity": "info"}
        )
    return rules


def write_rules(path: Path, rules: Sequence[dict[str, object]]) -> Path:
    """One YAML rule file, flow style, one rule a line (as people write large sets)."""
    import json

    lines = ["rules:"] + [f"  - {json.dumps(rule)}" for rule in rules]
    path.write_text("\n".join(lines) + "\n")
    return path
