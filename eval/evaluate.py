"""Measure detection: what `make eval` runs.

First, on real news: when ``../shared/eval/real-dev.jsonl`` is there (it is kept beside the
project, never in it), 5-fold cross-validation of the learned decision with folds grouped by
outlet and a fixed seed, and in the same folds the anchor to beat (TF-IDF + logistic
regression) and the grammar alone; per label F1, precision and recall, the share of tricky
negatives flagged, and the misses by category. This is the measure of quality.

Then the project's own passages, as regression checks of the shipped system (grammar and
model as `flashpoint detect` runs them): ``eval/passages.jsonl``, ``eval/holdout.jsonl`` and
``eval/blind.jsonl``, all written by the team. Last, every flag in gensim's Lee corpus of 300
real ABC articles, for a reader to judge. It reports and always exits 0.
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

import training  # noqa: E402  (eval/training.py, beside this script)

from alerts.articles import Article  # noqa: E402
from alerts.config.loader import load_config  # noqa: E402
from alerts.engine import Engine  # noqa: E402
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
TARGET_TRICKY_FLAGGED = 0.08
TARGET_MARGIN_OVER_BASELINE = 0.03
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


def shipped_engine(grammar_only: bool = False) -> Engine:
    """The engine `flashpoint detect` runs with no config file (optionally without the model)."""
    config = load_config([])
    if grammar_only:
        config = config.model_copy(
            update={"classifier": config.classifier.model_copy(update={"enabled": False})}
        )
    return Engine(config)


def run_detectors(passages: Sequence[Passage], engine: Engine) -> list[Outcome]:
    outcomes = []
    for p in passages:
        analysis = engine.analyze(Article(id=p.id, title="", body=p.text))
        outcomes.append(Outcome(p, analysis.escalation, analysis.commitments))
    return outcomes


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


def lee_flags(articles: Sequence[str], engine: Engine) -> list[LeeFlag]:
    """Every escalation and commitment flag in the corpus, with line numbers from 1."""
    flags = []
    for number, text in enumerate(articles, start=1):
        analysis = engine.analyze(Article(id=f"lee-{number}", title="", body=text))
        result = analysis.escalation
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
        found = analysis.commitments
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


def evaluate_set(path: Path, engine: Engine) -> SetResult:
    """Score the engine's decisions on the labelled passages in ``path``."""
    outcomes = run_detectors(load_passages(path), engine)
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
    parser.add_argument(
        "--real",
        type=Path,
        default=training.DEV_SET,
        metavar="FILE",
        help="real labelled news for cross-validation (default: ../shared/eval/real-dev.jsonl)",
    )
    parser.add_argument(
        "--grammar-only", action="store_true", help="score the grammar without the model"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    real = real_news(args.real, errors=args.errors)
    engine = shipped_engine(grammar_only=args.grammar_only)
    results = [evaluate_set(path, engine) for path in args.sets or default_sets()]
    articles = [] if args.no_lee else lee_articles()
    flags = lee_flags(articles, engine)

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
        data = {**figures(results, flags, len(articles)), "real_news": real}
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


def real_news(path: Path, *, errors: bool = False) -> dict[str, Any] | None:
    """Cross-validated figures on real labelled news, printed; None when the set is absent."""
    if not path.exists():
        print(f"== real news: {path} not found; skipped (it is kept beside the project)\n")
        return None
    records = training.read_records(path)
    rows = training.passages(records)
    print(
        f"== real news: {len(rows)} passages of {path.name}, {training.FOLDS}-fold "
        f"cross-validation, folds grouped by outlet, seed {training.SEED}\n"
    )
    systems = {
        "flashpoint (grammar + model)": training.cross_validate(rows),
        "baseline: TF-IDF + logistic regression": training.baseline_cross_validate(rows),
        "grammar alone (not trained on it)": training.grammar_decisions(rows),
    }
    table = {name: training.figures_of(rows, decided) for name, decided in systems.items()}
    print(f"{'system':<40} {'escalation F1 (P, R)':<22} {'commitment F1 (P, R)':<22} tricky")
    for name, fig in table.items():
        cells = [
            f"{fig[lb]['f1']:.3f} ({fig[lb]['precision']:.2f}, {fig[lb]['recall']:.2f})"
            for lb in LABELS
        ]
        print(f"{name:<40} {cells[0]:<22} {cells[1]:<22} {fig['tricky_flagged']:.1%}")
    ours, anchor = (
        table["flashpoint (grammar + model)"],
        table["baseline: TF-IDF + logistic regression"],
    )
    print("\nTargets against the baseline of this run")
    for label in LABELS:
        margin = ours[label]["f1"] - anchor[label]["f1"]
        met = margin >= TARGET_MARGIN_OVER_BASELINE
        target = f"target +{TARGET_MARGIN_OVER_BASELINE:.2f}"
        print(f"  {'met    ' if met else 'NOT met'}  {label} F1 {margin:+.3f} ({target})")
    met = ours["tricky_flagged"] <= anchor["tricky_flagged"]
    print(
        f"  {'met    ' if met else 'NOT met'}  tricky flagged {ours['tricky_flagged']:.1%}"
        f" <= baseline {anchor['tricky_flagged']:.1%}"
    )
    decided = systems["flashpoint (grammar + model)"]
    misses = _misses_by_category(rows, records, decided)
    print("\nWhere flashpoint is wrong, by category (cross-validated)")
    for category, ids in misses.items():
        total = sum(row.category == category for row in rows)
        print(
            f"  {category:<12} {len(ids):>3} / {total:<4}" + (f" {' '.join(ids)}" if errors else "")
        )
    print()
    return {
        "passages": len(rows),
        "folds": training.FOLDS,
        "grouped_by": "outlet",
        "seed": training.SEED,
        "systems": table,
        "misses": {category: ids for category, ids in misses.items()},
    }


def _misses_by_category(
    rows: Sequence[training.Passage],
    records: Sequence[dict[str, Any]],
    decided: dict[str, Any],
) -> dict[str, list[str]]:
    misses: dict[str, list[str]] = {}
    for index, row in enumerate(rows):
        wrong = any(bool(decided[lb][index]) != row.labels[lb] for lb in LABELS)
        misses.setdefault(row.category, [])
        if wrong:
            misses[row.category].append(row.id)
    del records
    return misses


if __name__ == "__main__":
    sys.exit(main())
