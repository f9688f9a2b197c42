"""Rules find and explain, the model decides: the grammar's reading of an article, judged.

An article is read as passages (a short article is one; a long one is cut at paragraphs and,
inside long paragraphs, every few sentences). Each passage holding a candidate — an act of
the lexicon, counted or vetoed, or a verb of commitment — is scored by the
:class:`~alerts.detect.classifier.PassageClassifier` with the grammar's signals for that
passage. Then:

- acts in passages the model reads as escalation count; the others become vetoes (``model``);
  a passage whose every act the context found denied is no escalation, whatever the model says;
- a passage the model reads as escalation whose counted acts do not reach ``watch`` gets a
  ``learned`` match on its most telling sentence that lifts it to ``watch``;
- commitments in passages the model reads as commitments stay, the others are dropped; an
  article read as committing where the grammar found no commitment gets one, read loosely
  from the surest passage's sentence with its verb of commitment
  (:func:`commitment_in_sentence`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.config.models import EscalationLevels
from alerts.detect.actors import find_actors
from alerts.detect.classifier import PassageClassifier, Scores
from alerts.detect.commitments import (
    HEDGED,
    NEGATED,
    PAST,
    SPORT,
    Candidate,
    CommitmentReading,
    commitment_in_sentence,
)
from alerts.detect.context import NEGATED as NEGATED_ACT
from alerts.detect.escalation import level_for
from alerts.detect.sentences import Sentence, split_sentences
from alerts.detect.signals import SIGNALS, cue_hits, grammar_signals
from alerts.model import Commitment, Escalation, Match, Veto

MODEL_VETO = "model"
LEARNED_KIND = "learned"
PASSAGE_CHARS = 1000
"""A text up to this long is one passage, as the labelled training passages are."""
_PARAGRAPH = re.compile(r"\n\s*\n")
_WEAK_REJECTIONS = frozenset({NEGATED, HEDGED, SPORT, PAST})


@dataclass(frozen=True, slots=True)
class Verdict:
    """The model's reading of one passage, ``text[start:end]``."""

    start: int
    end: int
    scores: Scores
    signals: npt.NDArray[np.float64]

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, **self.scores.to_dict()}


@dataclass(frozen=True, slots=True)
class Judgement:
    """The article's escalation and commitments after the model's decision, and why."""

    escalation: Escalation
    commitments: tuple[Commitment, ...]
    verdicts: tuple[Verdict, ...] = ()
    dropped: tuple[Commitment, ...] = ()
    """Commitments the grammar found in passages the model did not read as commitments."""


def passage_spans(text: str) -> list[tuple[int, int]]:
    """Where the passages of ``text`` lie: all of it when short; else paragraphs (the title
    with the first), long ones cut every few sentences."""
    if len(text) <= PASSAGE_CHARS:
        return [(0, len(text))]
    starts = [0] + [m.end() for m in _PARAGRAPH.finditer(text)]
    ends = [m.start() for m in _PARAGRAPH.finditer(text)] + [len(text)]
    paragraphs = [(s, e) for s, e in zip(starts, ends, strict=True) if e > s]
    if len(paragraphs) > 1 and paragraphs[0][1] - paragraphs[0][0] < 300:
        paragraphs[:2] = [(paragraphs[0][0], paragraphs[1][1])]  # the title and the lede
    spans: list[tuple[int, int]] = []
    for start, end in paragraphs:
        if end - start <= PASSAGE_CHARS:
            spans.append((start, end))
            continue
        piece_start = start
        for sentence in split_sentences(text[start:end]):
            if start + sentence.end - piece_start > PASSAGE_CHARS:
                spans.append((piece_start, start + sentence.end))
                piece_start = start + sentence.end
        if piece_start < end:
            spans.append((piece_start, end))
    return spans


class Judge:
    """Applies a trained classifier to the grammar's findings."""

    def __init__(self, classifier: PassageClassifier, levels: EscalationLevels) -> None:
        self.classifier = classifier
        self.levels = levels

    def judge(self, text: str, escalation: Escalation, reading: CommitmentReading) -> Judgement:
        candidates = sorted(
            [m.start for m in escalation.matches]
            + [v.start for v in escalation.vetoed]
            + [c.start for c in reading.commitments]
            + [c.start for c in reading.rejected]
        )
        spans = passage_spans(text)
        if len(spans) > 1:
            spans = [s for s in spans if _holds_any(candidates, *s)]
        verdicts = []
        cues = cue_hits(text) if spans else []
        for start, end in spans:
            signals = grammar_signals(
                text,
                escalation,
                reading,
                start,
                end,
                watch=self.levels.watch,
                warning=self.levels.warning,
                cues=cues,
            )
            scores = self.classifier.score(text[start:end], signals)
            verdicts.append(Verdict(start, end, scores, signals))
        escalation = self._escalation(text, escalation, verdicts)
        kept, dropped = self._commitments(text, reading, verdicts)
        return Judgement(escalation, kept, tuple(verdicts), dropped)

    def _escalation(self, text: str, found: Escalation, verdicts: list[Verdict]) -> Escalation:
        decided = [v for v in verdicts if v.scores.decided["escalation"] and not denied(v.signals)]
        kept = tuple(m for m in found.matches if _within(decided, m.start))
        vetoed = list(found.vetoed) + [
            Veto(m.phrase, m.kind, m.start, m.end, m.sentence, MODEL_VETO)
            for m in found.matches
            if not _within(decided, m.start)
        ]
        score = sum(m.weight for m in kept)
        if decided and score < self.levels.watch:
            best = max(decided, key=lambda v: v.scores.probability["escalation"])
            kept = (*kept, self._learned_act(text, best, found, self.levels.watch - score))
            kept = tuple(sorted(kept, key=lambda m: m.start))
            score = self.levels.watch
        score = round(score, 2)
        vetoed.sort(key=lambda v: v.start)
        return Escalation(score, level_for(score, self.levels), kept, tuple(vetoed))

    def _learned_act(self, text: str, verdict: Verdict, found: Escalation, weight: float) -> Match:
        """The act a passage reports, as the model read it: the sentence of its strongest
        lexicon hit (even one the context vetoed), else its first sentence naming an actor."""
        inside = [v for v in found.vetoed if verdict.start <= v.start < verdict.end]
        sentences = _sentences(text, verdict.start, verdict.end)
        if inside:
            hit = inside[0]
            sentence = _sentence_at(sentences, hit.start)
            phrase, start, end = hit.phrase, hit.start, hit.end
        else:
            whole = Sentence(text[verdict.start : verdict.end], verdict.start, verdict.end)
            sentence = next((s for s in sentences if find_actors(s.text)), whole)
            phrase, start, end = _telling_phrase(self.classifier, sentence)
        actors = [m for m in find_actors(sentence.text) if m.name]
        return Match(
            rule=found.matches[0].rule if found.matches else "escalation",
            phrase=phrase,
            kind=LEARNED_KIND,
            weight=round(weight, 2),
            start=start,
            end=end,
            sentence=sentence.text,
            actor=actors[0].name if actors else None,
        )

    def _commitments(
        self, text: str, reading: CommitmentReading, verdicts: list[Verdict]
    ) -> tuple[tuple[Commitment, ...], tuple[Commitment, ...]]:
        decided = [v for v in verdicts if v.scores.decided["commitment"]]
        kept = [c for c in reading.commitments if _within(decided, c.start)]
        dropped = tuple(c for c in reading.commitments if not _within(decided, c.start))
        if decided and not kept:
            # The model reads a commitment the grammar did not take: one, read loosely from
            # the passage it is surest of (more would repeat the article's one pledge).
            best = max(decided, key=lambda v: v.scores.probability["commitment"])
            kept.append(self._loose_commitment(text, best, reading.rejected))
        kept.sort(key=lambda c: c.start)
        return tuple(kept), dropped

    @staticmethod
    def _loose_commitment(
        text: str, verdict: Verdict, rejected: tuple[Candidate, ...]
    ) -> Commitment:
        sentences = _sentences(text, verdict.start, verdict.end)
        inside = [c for c in rejected if verdict.start <= c.start < verdict.end]
        inside.sort(key=lambda c: c.reason in _WEAK_REJECTIONS)
        if inside:
            candidate = inside[0]
            return commitment_in_sentence(text, _sentence_at(sentences, candidate.start), candidate)
        sentence = next(
            (s for s in sentences if find_actors(s.text)),
            sentences[0] if sentences else Sentence(text[verdict.start : verdict.end], 0, 0),
        )
        return commitment_in_sentence(text, sentence)


_ONLY_VETOED = SIGNALS.index("acts: only vetoed ones")
_NEGATED = SIGNALS.index(f"act vetoed: {NEGATED_ACT}")


def denied(signals: npt.NDArray[np.float64]) -> bool:
    """Every act the passage reports is denied ("denied that its forces had opened fire"):
    no escalation, however warlike the words around it read to the model."""
    return bool(signals[_ONLY_VETOED] and signals[_NEGATED])


def _holds_any(offsets: list[int], start: int, end: int) -> bool:
    index = bisect_right(offsets, start - 1)
    return index < len(offsets) and offsets[index] < end


def _within(verdicts: list[Verdict], offset: int) -> bool:
    return any(v.start <= offset < v.end for v in verdicts)


def _sentences(text: str, start: int, end: int) -> list[Sentence]:
    return [
        Sentence(s.text, s.start + start, s.end + start)
        for s in split_sentences(text[start:end])
        if s.text.strip()
    ]


def _sentence_at(sentences: list[Sentence], offset: int) -> Sentence:
    starts = [s.start for s in sentences]
    return sentences[max(bisect_right(starts, offset) - 1, 0)]


def _telling_phrase(classifier: PassageClassifier, sentence: Sentence) -> tuple[str, int, int]:
    """The word n-gram of ``sentence`` that argues most for escalation, located in it."""
    for gram, weight in classifier.word_contributions(sentence.text, "escalation"):
        if weight <= 0:
            break
        found = re.search(
            r"\b" + r"\W+".join(re.escape(w) for w in gram.split()) + r"\b",
            sentence.text,
            re.IGNORECASE,
        )
        if found:
            return found.group(), sentence.start + found.start(), sentence.start + found.end()
    return sentence.text, sentence.start, sentence.end
