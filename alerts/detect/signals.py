"""What the grammar saw in a passage, as numbers the learned decision can weigh.

The rules know things bag-of-words cannot: that "attack" was vetoed as a football match, that
a verb of commitment had no state before it, that a threat was denied. Each signal is a small
number (0 or 1, or a count scaled to at most 1) computed over one passage's span of the text,
in the fixed order of :data:`SIGNALS`, which the model file records and checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import numpy as np
import numpy.typing as npt

from alerts.detect.commitments import REJECTIONS, CommitmentReading
from alerts.detect.context import HISTORICAL, HYPOTHETICAL, NEGATED, NO_ACTOR, NON_MILITARY
from alerts.detect.matcher import PhraseMatcher
from alerts.model import Escalation

ACT_KINDS = ("accuse", "threaten", "mobilise", "coerce", "use_force")
VETOES = (NEGATED, HISTORICAL, HYPOTHETICAL, NON_MILITARY, NO_ACTOR)
SCORE_SCALE = 16.0

# Words that tell a reader a passage is not news of a decision or an act, whatever else it
# says: a denial, a hedge, a demand on others, a hope, a company, history, a calming, a
# schedule, the status quo, something long done, domestic order, sport or film.
CUES: dict[str, tuple[str, ...]] = {
    "denial": (
        r"den(?:y|ies|ied|ying)",
        r"(?:rejected|dismissed|refuted|rebuffed)\s+(?:the\s+|these\s+|such\s+|as\s+)?"
        r"(?:claims?|reports?|allegations?|accusations?|rumou?rs?|baseless|false)",
        r"baseless",
        r"groundless",
        r"false\s+(?:reports?|claims?)",
        r"fabricat\w*",
    ),
    "hedge": (
        r"consider(?:s|ed|ing)?",
        r"mull(?:s|ed|ing)?",
        r"weigh(?:s|ed|ing)",
        r"could|might|may|possible|possibly|potential(?:ly)?|options?|whether",
        r"(?:expected|likely)\s+to",
        r"on\s+the\s+table",
    ),
    "demand": (
        r"urge[sd]?|urging",
        r"call(?:s|ed)?\s+(?:on|for|upon)",
        r"demand(?:s|ed|ing)?",
        r"appeal(?:s|ed)?",
        r"press(?:es|ed|ing)\s+\w+\s+to",
    ),
    "hope": (r"hope[sd]?|hoping|hopeful|optimistic|wish(?:es|ed)?|aspir\w*",),
    "company": (
        r"[Cc]ompan(?:y|ies)|[Ff]irms?|[Cc]orporation|Inc|Ltd|CEO|start-?ups?",
        r"shares|investors|stocks|stock\s+(?:markets?|exchanges?|prices?)|revenue|profits?|brands?",
        r"[Cc]hief\s+[Ee]xecutive",
    ),
    "history": (
        r"(?:years|decades)\s+ago",
        r"anniversary|history|historic(?:al)?|recalled|commemorat\w*",
        r"(?:back\s+)?in\s+(?:19|20)\d\d",
    ),
    "calming": (
        r"withdr(?:ew|awn|awal)",
        r"pull(?:ed|s)?\s+(?:out|back)",
        r"de-?escalat\w*|calm|restraint",
        r"(?:eas(?:e|ed|ing)|lower(?:ed|ing)?)\s+tensions?",
    ),
    "schedule": (
        r"will\s+(?:vote|meet|debate|discuss|hear|decide|review|gather|examine)",
        r"(?:is|are)\s+(?:due|scheduled|set|expected)\s+to\s+"
        r"(?:vote|meet|hear|decide|debate|discuss|gather)",
    ),
    "status quo": (
        r"will\s+(?:not|never|still|continue)",
        r"remains?\s+committed",
        r"no\s+concessions?",
        r"(?:not|never)\s+change",
    ),
    "long done": (
        r"delivered|completed|already",
        r"handed\s+over",
        r"(?:was|were)\s+signed",
        r"(?:last|earlier\s+this)\s+year",
    ),
    "domestic": (
        r"police|court|judge|trial|arrest(?:ed|s)?|criminal|gangs?|poach\w*|smuggl\w*",
        r"protesters?|opposition|election|parade",
    ),
    "sport or film": (
        r"film|movie|match|league|coach|club|season|tournament|players?|championship",
        r"festival|premiere",
    ),
}


@cache
def _cue_matcher() -> PhraseMatcher:
    return PhraseMatcher((), regexes=[rf"\b(?:{'|'.join(forms)})\b" for forms in CUES.values()])


def cue_hits(text: str) -> list[tuple[int, int]]:
    """Where each cue occurs in ``text``: (offset, cue index), in one compiled pass."""
    return [(hit.start, hit.index) for hit in _cue_matcher().find(text)]


SIGNALS: tuple[str, ...] = (
    *(f"act: {kind}" for kind in ACT_KINDS),
    "acts: score",
    "acts: reach watch",
    "acts: reach warning",
    *(f"act vetoed: {reason}" for reason in VETOES),
    "acts: only vetoed ones",
    "commitment: found",
    "commitments: several",
    "commitment: amount",
    "commitment: deadline",
    *(f"commitment verb turned down: {reason}" for reason in REJECTIONS),
    "commitment verbs: all turned down",
    *(f"cue: {name}" for name in CUES),
)


def grammar_signals(
    text: str,
    escalation: Escalation,
    reading: CommitmentReading,
    start: int = 0,
    end: int | None = None,
    *,
    watch: float = 3.0,
    warning: float = 8.0,
    cues: list[tuple[int, int]] | None = None,
) -> npt.NDArray[np.float64]:
    """The signals of the grammar's findings, and the cues, in ``text[start:end]``
    (``cues``: :func:`cue_hits` of the whole text, when the caller has them already)."""

    def inside(items: Iterable[int]) -> bool:
        return any(start <= at and (end is None or at < end) for at in items)

    acts = [m for m in escalation.matches if inside((m.start,))]
    vetoes = [v for v in escalation.vetoed if inside((v.start,))]
    commitments = [c for c in reading.commitments if inside((c.start,))]
    rejected = [c for c in reading.rejected if inside((c.start,))]
    kinds = {m.kind for m in acts}
    score = sum(m.weight for m in acts)
    reasons = {v.reason for v in vetoes}
    turned_down = {c.reason for c in rejected}
    values = [
        *(float(kind in kinds) for kind in ACT_KINDS),
        min(score, SCORE_SCALE) / SCORE_SCALE,
        float(score >= watch),
        float(score >= warning),
        *(float(reason in reasons) for reason in VETOES),
        float(bool(vetoes) and not acts),
        float(bool(commitments)),
        float(len(commitments) > 1),
        float(any(c.amount for c in commitments)),
        float(any(c.deadline for c in commitments)),
        *(float(reason in turned_down) for reason in REJECTIONS),
        float(bool(rejected) and not commitments),
    ]
    present = [0.0] * len(CUES)
    for at, index in cue_hits(text) if cues is None else cues:
        if start <= at and (end is None or at < end):
            present[index] = 1.0
    return np.asarray(values + present, dtype=np.float64)
