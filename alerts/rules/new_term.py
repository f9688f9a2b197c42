"""New-term rules: the first time an actor, or a pair of actors, appears in a topic.

The terms are the actors of the article's counted acts and commitments (``actor``) or the
dyads between them (``pair``). A topic's first ``warm_up`` only teaches the rule what is
usual; a term not seen for ``memory`` is new again. At most :data:`MAX_TERMS` are kept.
"""

from __future__ import annotations

from alerts.config import models
from alerts.model import Alert, Evidence, topic_label
from alerts.rules.base import Analysis, Rule, RuleContext, build_alert, story_thread_key
from alerts.topics import dyads

MAX_TERMS = 2000
MAX_NEW_PER_ARTICLE = 3
PAIR_JOIN = " and "


class NewTermRule(Rule[models.NewTermRule]):
    type = "new_term"
    scope = "topic"
    needs_signal = True

    def reads_signal_in(self, analysis: Analysis) -> bool:
        return bool(analysis.escalation.matches or analysis.commitments)  # their actors

    def evaluate(self, ctx: RuleContext) -> list[Alert]:
        found = self._terms(ctx)
        if not found:
            return []
        config = self.config
        entry = ctx.state.terms.setdefault(self.name, {"since": ctx.now, "seen": {}})
        seen: dict[str, float] = {
            term: at for term, at in entry["seen"].items() if ctx.now - at < config.memory
        }
        new = [(term, sentence) for term, sentence in found.items() if term not in seen]
        for term in found:
            seen[term] = ctx.now
        if len(seen) > MAX_TERMS:
            seen = dict(sorted(seen.items(), key=lambda kv: kv[1])[-MAX_TERMS:])
        entry["seen"] = seen
        if ctx.repeat or ctx.now - float(entry["since"]) < config.warm_up:
            return []
        return [self._alert(ctx, term, sentence) for term, sentence in new[:MAX_NEW_PER_ARTICLE]]

    def _terms(self, ctx: RuleContext) -> dict[str, str]:
        """Each term in the article with a sentence that shows it, in order of appearance."""
        analysis = ctx.analysis
        found: dict[str, str] = {}
        if self.config.term == "pair":
            for dyad in dyads(analysis.escalation, analysis.commitments):
                found.setdefault(PAIR_JOIN.join(dyad.parties), dyad.sentence)
            return found
        for match in analysis.escalation.matches:
            if match.actor:
                found.setdefault(match.actor, match.sentence)
        for commitment in analysis.commitments:
            found.setdefault(commitment.actor, commitment.sentence)
        return found

    def _alert(self, ctx: RuleContext, term: str, sentence: str) -> Alert:
        pair = self.config.term == "pair"
        what = f"first report between {term}" if pair else f"{term} appears for the first time"
        start = max(0, sentence.find(term.split(PAIR_JOIN)[0]))
        shown = term.split(PAIR_JOIN)[0]
        return build_alert(
            ctx,
            rule=self.name,
            kind="new_term",
            severity=self.config.severity,
            title=f"{topic_label(ctx.topic)}: {what}",
            summary=f"New in {topic_label(ctx.topic)}: "
            + (f"an act or commitment between {term}." if pair else f"{term}."),
            evidence=[
                Evidence(
                    phrase=shown if shown in sentence else "",
                    sentence=sentence,
                    start=start,
                    end=start + len(shown) if shown in sentence else start,
                    label="new_term",
                    attributes={"term": term},
                )
            ],
            event_key=f"term:{term}",
            thread_key=story_thread_key(ctx.topic, ctx.story.id),
        )
