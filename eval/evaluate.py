"""Measure the escalation and commitment detectors: what `make eval` runs.

Scores both detectors on each labelled set (precision, recall and F1 per label, and how often
tricky negatives are flagged): ``eval/passages.jsonl``, the set the detectors were tuned on,
``eval/holdout.jsonl``, longer wire stories written to find failure modes (also used to fix
them), and ``eval/blind.jsonl``, written after tuning and never used for it: the honest
figure for copy the detectors have not seen.
Then runs them over the 300 real news articles of gensim's Lee corpus and lists every flag so
a reader can judge it. It reports and always exits 0; the targets it prints are goals, not gates.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so a plain checkout runs before `make install`

from alerts.detect.commitments import CommitmentDetector  # noqa: E402
from alerts.detect.escalation import EscalationDetector  # noqa: E402
from alerts.model import Commitment, Escalation  # noqa: E402

PASSAGES = Path(__file__).resolve().parent / "passages.jsonl"
HOLDOUT = Path(__file__).resolve().parent / "holdout.jsonl"
BLIND = Path(__file__).resolve().parent / "blind.jsonl"
LABELS = ("escalation", "commitment")
POSITIVE_CATEGORIES = ("escalation", "commitment", "both", "ordinary")
TRICKY_CATEGORIES = (
    "negation_denial",
    "historical",
    "hypothetical",
    "non_military",
    "not_commitment",
)
CATEGORIES = POSITIVE_CATEGORIES + TRICKY_CATEGORIES
TARGET_ESCALATION_F1 = 0.90
TARGET_COMMITMENT_F1 = 0.85
TARGET_TRICKY_FLAGGED = 0.10
EXCERPT_CHARS = 120


@dataclass(frozen=True, slots=True)
class Passage:
    """One labelled passage: what a careful analyst says it reports."""

    id: str
    category: str
    text: str
    escalation: bool
    commitment: bool
    note: str

    def expected(self, label: str) -> bool:
        return self.escalation if label == "escalation" else self.commitment


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the detectors made of one passage."""

    passage: Passage
    escalation: Escalation
    commitments: tuple[Commitment, ...]

    def predicted(self, label: str) -> bool:
        if label == "escalation":
            return self.escalation.level != "none"
        return bool(self.commitments)

    def wrong_labels(self) -> list[str]:
        return [lb for lb in LABELS if self.predicted(lb) != self.passage.expected(lb)]


@dataclass(frozen=True, slots=True)
class Score:
    """Confusion counts for one label, and the figures derived from them."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "support": self.support,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
        }


@dataclass(frozen=True, slots=True)
class Rate:
    """How many of a group of tricky negatives were flagged."""

    flagged: int
    total: int

    @property
    def rate(self) -> float:
        return self.flagged / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {"flagged": self.flagged, "total": self.total, "rate": round(self.rate, 4)}


@dataclass(frozen=True, slots=True)
class LeeFlag:
    """One Lee corpus article a detector flagged, with the evidence a reader needs."""

    line: int
    label: str
    summary: str
    phrases: tuple[str, ...]
    excerpt: str

    def to_dict(self) -> dict[str, Any]:
        # The excerpt stays out of the JSON: the figures file carries no corpus text.
        return {
            "line": self.line,
            "label": self.label,
            "summary": self.summary,
            "phrases": list(self.phrases),
        }


def load_passages(path: Path = PASSAGES) -> list[Passage]:
    """Read the labelled passages, one JSON object a line."""
    passages = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            data = json.loads(line)
            passages.append(
                Passage(
                    id=data["id"],
                    category=data["category"],
                    text=data["text"],
                    escalation=bool(data["escalation"]),
                    commitment=bool(data["commitment"]),
                    note=data.get("note", ""),
                )
            )
    return passages


def run_detectors(
    passages: Sequence[Passage],
    escalation: EscalationDetector,
    commitments: CommitmentDetector,
) -> list[Outcome]:
    return [
        Outcome(p, escalation.analyze(p.text), tuple(commitments.find(p.text))) for p in passages
    ]


def score(outcomes: Sequence[Outcome], label: str) -> Score:
    tp = fp = fn = tn = 0
    for outcome in outcomes:
        expected, predicted = outcome.passage.expected(label), outcome.predicted(label)
        tp += expected and predicted
        fp += predicted and not expected
        fn += expected and not predicted
        tn += not expected and not predicted
    return Score(tp, fp, fn, tn)


def tricky_rates(outcomes: Sequence[Outcome]) -> dict[str, Rate]:
    """Per tricky category and ``overall``: a passage is flagged if it is predicted positive
    for a label it is labelled negative for."""
    counts = {category: [0, 0] for category in (*TRICKY_CATEGORIES, "overall")}
    for outcome in outcomes:
        category = outcome.passage.category
        if category not in TRICKY_CATEGORIES:
            continue
        flagged = any(outcome.predicted(lb) and not outcome.passage.expected(lb) for lb in LABELS)
        for key in (category, "overall"):
            counts[key][0] += flagged
            counts[key][1] += 1
    return {key: Rate(flagged, total) for key, (flagged, total) in counts.items()}


def lee_articles() -> list[str]:
    """The Lee background corpus shipped with gensim: 300 ABC news articles, one a line."""
    from gensim.test.utils import datapath

    path = Path(datapath("lee_background.cor"))
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def lee_flags(
    articles: Sequence[str],
    escalation: EscalationDetector,
    commitments: CommitmentDetector,
) -> list[LeeFlag]:
    """Every escalation and commitment flag in the corpus, with line numbers from 1."""
    flags = []
    for number, text in enumerate(articles, start=1):
        result = escalation.analyze(text)
        if result.level != "none":
            strongest = max(result.matches, key=lambda m: m.weight, default=None)
            flags.append(
                LeeFlag(
                    line=number,
                    label="escalation",
                    summary=f"{result.level} {result.score:g}",
                    phrases=tuple(dict.fromkeys(m.phrase.lower() for m in result.matches)),
                    excerpt=excerpt(strongest.sentence if strongest else ""),
                )
            )
        found = commitments.find(text)
        if found:
            first = found[0]
            flags.append(
                LeeFlag(
                    line=number,
                    label="commitment",
                    summary=f"{len(found)} found",
                    phrases=tuple(f"{c.actor}: {c.action}" for c in found),
                    excerpt=excerpt(first.sentence),
                )
            )
    return flags


def excerpt(sentence: str, limit: int = EXCERPT_CHARS) -> str:
    text = " ".join(sentence.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def targets(scores: dict[str, Score], tricky: dict[str, Rate]) -> list[tuple[str, str, bool]]:
    """(what, measured against target, met) for each target."""
    esc, com, overall = scores["escalation"].f1, scores["commitment"].f1, tricky["overall"].rate
    return [
        ("escalation F1", f"{esc:.3f} >= {TARGET_ESCALATION_F1:.2f}", esc >= TARGET_ESCALATION_F1),
        ("commitment F1", f"{com:.3f} >= {TARGET_COMMITMENT_F1:.2f}", com >= TARGET_COMMITMENT_F1),
        (
            "tricky negatives flagged",
            f"{overall:.1%} <= {TARGET_TRICKY_FLAGGED:.0%}",
            overall <= TARGET_TRICKY_FLAGGED,
        ),
    ]


def print_scores(scores: dict[str, Score], name: str, passages: int) -> None:
    print(f"== {name}: {passages} labelled passages\n")
    print(f"{'label':<12} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}  tp  fp  fn")
    for label, s in scores.items():
        print(
            f"{label:<12} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f} {s.support:>8}"
            f" {s.tp:>3} {s.fp:>3} {s.fn:>3}"
        )


def print_tricky(tricky: dict[str, Rate]) -> None:
    print("\nTricky negatives flagged (predicted positive for a label labelled negative)")
    for category, rate in tricky.items():
        print(f"  {category:<16} {rate.flagged:>3} / {rate.total:<3} {rate.rate:>6.1%}")


def print_targets(rows: list[tuple[str, str, bool]]) -> None:
    print("\nTargets")
    for what, measured, met in rows:
        print(f"  {'met    ' if met else 'NOT met'}  {what}: {measured}")


def print_lee(flags: Sequence[LeeFlag], articles: int) -> None:
    for label in LABELS:
        chosen = [f for f in flags if f.label == label]
        print(f"\nLee corpus ({articles} ABC news articles): {len(chosen)} flagged for {label}")
        for flag in chosen:
            print(f"  line {flag.line:>3}  {flag.summary}  [{'; '.join(flag.phrases)}]")
            print(f"           {flag.excerpt}")


def print_errors(outcomes: Sequence[Outcome], name: str) -> None:
    wrong = [o for o in outcomes if o.wrong_labels()]
    print(f"\nMisclassified passages in {name}: {len(wrong)}")
    for outcome in wrong:
        p = outcome.passage
        verdicts = ", ".join(
            f"{lb} expected {p.expected(lb)} got {outcome.predicted(lb)}"
            for lb in outcome.wrong_labels()
        )
        print(f"\n{p.id} [{p.category}] {verdicts}")
        print(f"  note: {p.note}")
        print(f"  text: {p.text}")
        esc = outcome.escalation
        print(f"  escalation: level {esc.level}, score {esc.score:g}")
        for m in esc.matches:
            actor = f", actor {m.actor}" if m.actor else ""
            print(f"    match {m.phrase!r} ({m.kind}, {m.weight:g}{actor}): {excerpt(m.sentence)}")
        for v in esc.vetoed:
            print(f"    vetoed {v.phrase!r} ({v.kind}): {v.reason}")
        for c in outcome.commitments:
            print(
                f"  commitment: actor {c.actor!r}, action {c.action!r}, amount {c.amount!r},"
                f" deadline {c.deadline!r}"
            )


@dataclass(frozen=True, slots=True)
class SetResult:
    """One labelled set scored: its outcomes and every figure derived from them."""

    name: str
    outcomes: list[Outcome]
    scores: dict[str, Score]
    tricky: dict[str, Rate]
    rows: list[tuple[str, str, bool]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passages": len(self.outcomes),
            "labels": {label: s.to_dict() for label, s in self.scores.items()},
            "tricky_negatives": {c: rate.to_dict() for c, rate in self.tricky.items()},
            "targets": {what: {"measured": m, "met": met} for what, m, met in self.rows},
        }


def evaluate_set(
    path: Path, escalation: EscalationDetector, commitments: CommitmentDetector
) -> SetResult:
    """Score both detectors on the labelled passages in ``path``."""
    outcomes = run_detectors(load_passages(path), escalation, commitments)
    scores = {label: score(outcomes, label) for label in LABELS}
    tricky = tricky_rates(outcomes)
    return SetResult(path.name, outcomes, scores, tricky, targets(scores, tricky))


def figures(
    results: Sequence[SetResult], flags: Sequence[LeeFlag], articles: int
) -> dict[str, Any]:
    """Everything measured, as one JSON-ready object for ``--json``.

    The first set's figures also sit at the top level, where they were before sets existed.
    """
    first = results[0].to_dict() if results else {}
    return {
        **first,
        "sets": {result.name: result.to_dict() for result in results},
        "lee": {
            "articles": articles,
            **{f"{label}_flagged": sum(f.label == label for f in flags) for label in LABELS},
            "flags": [f.to_dict() for f in flags],
        },
    }


def default_sets() -> list[Path]:
    """The tuning set, then the held-out set when it is there."""
    return [PASSAGES, *(path for path in (HOLDOUT, BLIND) if path.exists())]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--errors", action="store_true", help="list every misclassified passage")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures to FILE")
    parser.add_argument(
        "--set",
        type=Path,
        action="append",
        dest="sets",
        metavar="FILE",
        help="score this labelled set (repeatable; default: passages, holdout, then blind)",
    )
    parser.add_argument("--no-lee", action="store_true", help="skip the Lee corpus listing")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    escalation, commitments = EscalationDetector(), CommitmentDetector()
    results = [evaluate_set(path, escalation, commitments) for path in args.sets or default_sets()]
    articles = [] if args.no_lee else lee_articles()
    flags = lee_flags(articles, escalation, commitments)

    for number, result in enumerate(results):
        if number:
            print()
        print_scores(result.scores, result.name, len(result.outcomes))
        print_tricky(result.tricky)
        print_targets(result.rows)
    if not args.no_lee:
        print_lee(flags, len(articles))
    if args.errors:
        for result in results:
            print_errors(result.outcomes, result.name)
    print(f"\n({time.perf_counter() - started:.1f} s)")
    if args.json:
        data = figures(results, flags, len(articles))
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
