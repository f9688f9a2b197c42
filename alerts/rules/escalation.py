"""Escalation rules: a rolling level per watch topic; alert when it rises, note when it falls."""

from __future__ import annotations

from alerts.config import models
from alerts.detect.escalation import level_for
from alerts.metrics import LEVEL_VALUES
from alerts.model import LEVELS, Alert, Level, Match, topic_label
from alerts.rules.base import Rule, RuleContext, build_alert, duration_words, match_evidence
from alerts.state import EscalationEvent
from alerts.topics import GLOBAL_TOPIC

MAX_EVIDENCE = 5
MAX_ACTS_SAID = 3


def rank(level: str) -> int:
    return LEVELS.index(level)


class EscalationRule(Rule[models.EscalationRule]):
    type = "escalation"
    scope = "topic"

    def applies_to(self, topic: str) -> bool:
        """Every watch topic, but ``global`` only when named: a level across unrelated
        stories would mean nothing."""
        if self.config.topics is None:
            return topic != GLOBAL_TOPIC
        return topic in self.config.topics

    def evaluate(self, ctx: RuleContext) -> list[Alert]:
        events = [
            e
            for e in ctx.state.escalation.get(self.name, [])
            if ctx.now - e.at < self.config.window
        ]
        matches = self._acts_about_topic(ctx)
        score = sum(m.weight for m in matches)
        counted = next((e for e in events if e.story == ctx.story.id), None)
        if score > 0:
            if counted is None:
                acts = sorted({m.phrase.lower() for m in matches})
                events.append(EscalationEvent(ctx.now, ctx.story.id, score, acts))
            elif score > counted.score:
                counted.score = score  # a fuller version of the same story
        ctx.state.escalation[self.name] = events
        rolling = sum(min(e.score, self.config.story_cap) for e in events)
        level: Level = level_for(rolling, self.config.levels)
        previous = ctx.state.levels.get(self.name, "none")
        ctx.state.levels[self.name] = level
        if ctx.metrics is not None:
            ctx.metrics.escalation_score.labels(ctx.label or ctx.topic).set(rolling)
            ctx.metrics.escalation_level.labels(ctx.label or ctx.topic).set(LEVEL_VALUES[level])
        floor = rank(self.config.min_level)
        if rank(level) > rank(previous) and rank(level) >= floor:
            return [self._rise(ctx, matches, level, previous, rolling, len(events))]
        if rank(level) < rank(previous) and rank(previous) >= floor and self.config.notify_fall:
            return [self._fall(ctx, level, previous, rolling)]
        return []

    @staticmethod
    def _acts_about_topic(ctx: RuleContext) -> list[Match]:
        """The article's acts that concern this topic.

        For a pairing of parties (``china-japan``) the act must be done by one of them: a
        North Korean launch in a story that mentions Japan and China does not count. For a
        place (``south-china-sea``) the act's sentence may name the place instead: "a
        Chinese ship fired water cannon at a Philippine boat near Second Thomas Shoal".
        """
        return [
            m
            for m in ctx.analysis.escalation.matches
            if (m.actor is not None and ctx.mentions_topic(m.actor))
            or ((m.actor is None or not ctx.pairing_topic) and ctx.mentions_topic(m.sentence))
        ]

    def _rise(
        self,
        ctx: RuleContext,
        acts: list[Match],
        level: Level,
        previous: str,
        rolling: float,
        stories: int,
    ) -> Alert:
        matches = sorted(acts, key=lambda m: -m.weight)
        done = list(dict.fromkeys(_act(m) for m in matches[:MAX_ACTS_SAID]))
        said = "; ".join(done)
        window = duration_words(self.config.window)
        counted = f"{stories} {'story' if stories == 1 else 'stories'} in {window}"
        change = f", up from {previous.upper()}" if previous != "none" else ""
        return build_alert(
            ctx,
            rule=self.name,
            kind="escalation",
            severity=self.config.severity[level],  # type: ignore[index]
            title=f"{topic_label(ctx.topic)} escalation: {level.upper()}",
            summary=(f"{said[:1].upper()}{said[1:]}. " if said else "")
            + f"Now {level.upper()}{change} ({counted}).",
            evidence=[match_evidence(m) for m in matches[:MAX_EVIDENCE]],
            event_key=f"rise:{level}:{ctx.story.id}",
            thread_key=f"{self.name}:{ctx.topic}",
            level=level,
        )

    def _fall(self, ctx: RuleContext, level: Level, previous: str, rolling: float) -> Alert:
        window = duration_words(self.config.window)
        return build_alert(
            ctx,
            rule=self.name,
            kind="escalation",
            severity="info",
            title=f"{topic_label(ctx.topic)} escalation eased to {level.upper()}",
            summary=f"Down from {previous.upper()}: fewer hostile acts reported in the last "
            f"{window}.",
            evidence=[],
            event_key=f"fall:{level}:{ctx.story.id}",
            thread_key=f"{self.name}:{ctx.topic}",
            level=level,
        )


KIND_WORDS = {
    "accuse": "accusation",
    "threaten": "threat",
    "mobilise": "show of force",
    "coerce": "coercion",
    "use_force": "force used",
    "learned": "hostile act",
}
"""How each kind of act reads in an alert; ``learned`` is an act the model read in a passage
the lexicon's phrases did not cover (alerts.detect.decision)."""


def _act(match: Match) -> str:
    """``threat by China: “use force”``: the kind of act, who (as the evidence says), what."""
    kind = KIND_WORDS.get(match.kind, match.kind.replace("_", " "))
    phrase = " ".join(match.phrase.split())
    return f"{kind} by {match.actor}: “{phrase}”" if match.actor else f"{kind}: “{phrase}”"
