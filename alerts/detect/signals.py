"""What the grammar saw in a passage, as numbers the learned decision can weigh.

The rules know things bag-of-words cannot: that "attack" was vetoed as a football match, that
a verb of commitment had no state before it, that a threat was denied. Each signal is a small
number (0 or 1, or a count scaled to at most 1) computed over one passage's span of the text,
in the fixed order of :data:`SIGNALS`, which the model file records and checks.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from alerts.detect.commitments import REJECTIONS, CommitmentReading
from alerts.detect.context import HISTORICAL, HYPOTHETICAL, NEGATED, NO_ACTOR, NON_MILITARY
from alerts.model import Escalation

ACT_KINDS = ("accuse", "threaten", "mobilise", "coerce", "use_force")
VETOES = (NEGATED, HISTORICAL, HYPOTHETICAL, NON_MILITARY, NO_ACTOR)
SCORE_SCALE = 16.0

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
)


def grammar_signals(
    escalation: Escalation,
    reading: CommitmentReading,
    start: int = 0,
    end: int | None = None,
    *,
    watch: float = 3.0,
    warning: float = 8.0,
) -> npt.NDArray[np.float64]:
    """The signals of the grammar's findings that lie in ``text[start:end]``."""

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
    return np.asarray(values, dtype=np.float64)
