"""Commitment rules: alert on commitments not seen before for a topic, and on revisions."""

from __future__ import annotations

from alerts.config import models
from alerts.model import Alert, Commitment, Evidence
from alerts.rules.base import Rule, RuleContext, build_alert, story_thread_key
from alerts.state import SeenCommitment

MAX_EVIDENCE = 8


class CommitmentRule(Rule[models.CommitmentRule]):
    type = "commitment"
    needs_signal = True

    def evaluate(self, ctx: RuleContext) -> list[Alert]:
        actors = {a.lower() for a in self.config.actors} if self.config.actors else None
        found: list[tuple[Commitment, str, SeenCommitment | None]] = []
        for commitment in ctx.analysis.commitments:
            if actors is not None and not _actor_allowed(commitment.actor, actors):
                continue
            key = f"{self.name}|{commitment.key}"
            seen = ctx.state.commitments.get(key)
            novelty = _novelty(commitment, seen)
            if ctx.metrics is not None:
                ctx.metrics.commitments.labels(ctx.label or ctx.topic, novelty).inc()
            before = None if seen is None else SeenCommitment(**vars(seen))
            ctx.state.commitments[key] = SeenCommitment(
                amount=commitment.amount or (seen.amount if seen else None),
                deadline=commitment.deadline or (seen.deadline if seen else None),
                first_seen=seen.first_seen if seen else ctx.now,
                last_seen=ctx.now,
            )
            if novelty == "new" or (novelty == "revision" and self.config.revisions):
                found.append((commitment, novelty, before))
        if not found:
            return []
        first, novelty, before = found[0]
        headline = _headline(first)
        if novelty == "revision":
            headline = f"Revised: {headline}"
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        lines = [_line(c, n, b) for c, n, b in found]
        return [
            build_alert(
                ctx,
                rule=self.name,
                kind="commitment",
                severity=self.config.severity,
                title=f"{headline}{more}",
                summary=("Revised commitment: " if novelty == "revision" else "New commitment: ")
                + "; ".join(lines)
                + ".",
                evidence=[_evidence(c, n, b) for c, n, b in found[:MAX_EVIDENCE]],
                event_key="commit:"
                + ",".join(sorted(f"{c.key}={c.amount}/{c.deadline}" for c, _, _ in found)),
                thread_key=story_thread_key(ctx.topic, ctx.story.id),
            )
        ]


def _novelty(commitment: Commitment, seen: SeenCommitment | None) -> str:
    if seen is None:
        return "new"
    if (commitment.amount and commitment.amount != seen.amount) or (
        commitment.deadline and commitment.deadline != seen.deadline
    ):
        return "revision"
    return "repeat"


def _actor_allowed(actor: str, allowed: set[str]) -> bool:
    return any(part.strip().lower() in allowed for part in actor.replace(" and ", ",").split(","))


def _headline(c: Commitment) -> str:
    return f"{c.actor}: {c.action}"


def _line(c: Commitment, novelty: str, before: SeenCommitment | None) -> str:
    """``Japan pledged to double defence spending, 2% of GDP, by 2027 (was 1% of GDP)``."""
    parts = [" ".join(f"{c.actor} {c.verb} {c.action}".split())]
    parts += [value for value in (c.amount, c.deadline) if value]
    line = ", ".join(parts)
    if novelty == "revision" and before is not None:
        was = ", ".join(value for value in (before.amount, before.deadline) if value)
        line += f" (was {was})" if was else ""
    return line


def _evidence(c: Commitment, novelty: str, before: SeenCommitment | None) -> Evidence:
    attributes = {"actor": c.actor, "action": c.action, "novelty": novelty}
    if c.amount:
        attributes["amount"] = c.amount
    if c.deadline:
        attributes["deadline"] = c.deadline
    if novelty == "revision" and before is not None:
        attributes["previous"] = f"{before.amount or '-'} / {before.deadline or '-'}"
    return Evidence(
        phrase=f"{c.verb} {c.action}".strip(),
        sentence=c.sentence,
        start=c.start,
        end=c.end,
        label="commitment",
        attributes=attributes,
    )
