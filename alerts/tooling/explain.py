"""``flashpoint rules explain``: for each article, which rules fired, which nearly did, and why.

Articles run in order through one offline engine, as ``flashpoint detect`` runs them, so
rolling windows, throttling and near-duplicate folding behave as they would live. Near
misses are the ones a rule author can act on: a watch topic missing one group of its
``all_of``, a phrase vetoed by its context (negation, history, hypotheticals), a rule that
matched but was throttled, silenced or folded into an earlier story.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TextIO

from prometheus_client import CollectorRegistry

from alerts.articles import Article, parse_article
from alerts.config.models import Config, WatchTopic
from alerts.detect.decision import denied
from alerts.detect.matcher import PhraseMatcher
from alerts.engine import Engine, OfflineRun
from alerts.errors import InvalidArticle
from alerts.metrics import Metrics
from alerts.model import Veto
from alerts.rules.base import Analysis

MAX_SHOWN = 80


def run(records: Sequence[bytes], name: str, config: Config, *, out: TextIO, err: TextIO) -> int:
    """Explain every article record read from ``name`` (framed as ``flashpoint run`` does)."""
    metrics = Metrics(CollectorRegistry())
    engine = Engine(config, metrics)
    offline = OfflineRun(engine)
    topics = {name: _TopicProbe(topic) for name, topic in config.watch.items()}
    status = 0
    for where, record in _parse(records, name):
        if isinstance(record, InvalidArticle):
            print(f"{where}: {record.detail}", file=err)
            status = 1
            continue
        before = _suppressed(metrics)
        folded = _near_duplicates(metrics)
        result = offline.process(record)
        analysis = result.analysis
        print(f"== {record.id}  {_quote(record.title)}", file=out)
        print(f"   topics: {', '.join(analysis.topics)}", file=out)
        for name, probe in topics.items():
            if name not in analysis.topics and (why := probe.near_miss(record.text)):
                print(f"   not {name}: {why}", file=out)
        for alert in result.alerts:
            print(
                f"   FIRED {alert.rule} [{alert.severity}] {alert.kind} on {alert.topic}", file=out
            )
            for evidence in alert.evidence[:5]:
                print(
                    f"         {_quote(evidence.phrase)} ({evidence.label}) at "
                    f"{evidence.start}-{evidence.end} in {_quote(evidence.sentence)}",
                    file=out,
                )
        nearly = _nearly(analysis.escalation.vetoed + analysis.keyword_vetoes)
        fired = {alert.rule for alert in result.alerts}
        for rule, matches in analysis.keyword_matches.items():
            if rule not in fired:
                phrases = ", ".join(sorted({_quote(m.phrase) for m in matches}))
                nearly.append(f"{rule}: matched {phrases} but raised no alert here")
        escalation = analysis.escalation
        if escalation.matches and not any(a.kind == "escalation" for a in result.alerts):
            nearly.append(
                f"escalation: this article scores {escalation.score:g} ({escalation.level}); "
                "the topic's rolling level did not rise"
            )
        for (rule, reason), count in _suppressed(metrics).items():
            if count > before.get((rule, reason), 0.0):
                nearly.append(f"{rule}: alert suppressed ({reason})")
        if _near_duplicates(metrics) > folded:
            nearly.append("story: a near-duplicate of an earlier article; only new facts alert")
        for line in _model_lines(engine, record.text, analysis):
            print(f"   {line}", file=out)
        if analysis.judgement is not None:
            for dropped in analysis.judgement.dropped:
                nearly.append(
                    f"commitment: the grammar read {_quote(dropped.actor + ': ' + dropped.action)}"
                    " but the model did not take the passage for a commitment"
                )
        for line in nearly:
            print(f"   nearly {line}", file=out)
        if not result.alerts and not nearly:
            print("   nothing matched", file=out)
    return status


def _model_lines(engine: Engine, text: str, analysis: Analysis) -> Iterator[str]:
    """What the learned decision made of each passage, and the inputs that decided it."""
    judge = engine.judge
    if judge is None or analysis.judgement is None:
        return
    for verdict in analysis.judgement.verdicts:
        passage = text[verdict.start : verdict.end]
        scores = verdict.scores
        yield f"model on {_quote(passage)} (characters {verdict.start}-{verdict.end}):"
        for label in ("escalation", "commitment"):
            decided = "yes" if scores.decided[label] else "no"
            if label == "escalation" and scores.decided[label] and denied(verdict.signals):
                decided = "no (every act it reports is denied)"
            features = judge.classifier.explain(passage, verdict.signals, label, top=5)
            because = "; ".join(f"{f.name} {f.weight:+.2f}" for f in features)
            yield (
                f"  {label}: {decided}, p={scores.probability[label]:.2f} "
                f"(threshold {judge.classifier.labels[label].threshold:.2f}) from {because}"
            )


class _TopicProbe:
    """Finds which parts of a watch topic an article matched, to explain a topic it missed."""

    def __init__(self, topic: WatchTopic) -> None:
        self._topic = topic
        self._groups = [PhraseMatcher(group) for group in topic.all_of]
        self._none = PhraseMatcher(topic.none_of)

    def near_miss(self, text: str) -> str:
        excluded = self._none.find(text)
        hit = [bool(matcher.find(text)) for matcher in self._groups]
        if excluded and (any(hit) or not self._groups):
            phrase = text[excluded[0].start : excluded[0].end]
            return f"excluded by none_of {_quote(phrase)}"
        if any(hit) and not all(hit):
            missing = self._topic.all_of[hit.index(False)]
            return (
                f"all_of needs one of {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}"
            )
        return ""


def _nearly(vetoes: tuple[Veto, ...]) -> list[str]:
    return [
        f"vetoed {_quote(veto.phrase)} ({veto.kind}): {veto.reason} in {_quote(veto.sentence)}"
        for veto in vetoes
    ]


def _suppressed(metrics: Metrics) -> dict[tuple[str, str], float]:
    values: dict[tuple[str, str], float] = {}
    for family in metrics.registry.collect():
        if family.name == "flashpoint_alerts_suppressed":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    values[(sample.labels["rule"], sample.labels["reason"])] = sample.value
    return values


def _near_duplicates(metrics: Metrics) -> float:
    value = metrics.registry.get_sample_value(
        "flashpoint_duplicates_total", {"reason": "near_duplicate"}
    )
    return value or 0.0


def _parse(records: Sequence[bytes], name: str) -> Iterator[tuple[str, Article | InvalidArticle]]:
    """Each record as an article, or why it is not one, with where it came from."""
    for number, raw in enumerate(records, start=1):
        try:
            yield f"{name} record {number}", parse_article(raw)
        except InvalidArticle as exc:
            yield f"{name} record {number}", exc


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return f"“{flat if len(flat) <= MAX_SHOWN else flat[: MAX_SHOWN - 1] + '…'}”"
