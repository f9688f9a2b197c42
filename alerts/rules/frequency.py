"""Frequency rules: alert when another rule fires ``count`` times in ``window`` on a topic."""

from __future__ import annotations

from alerts.config import models
from alerts.model import Alert
from alerts.rules.base import Rule, RuleContext, build_alert, describe_source


class FrequencyRule(Rule[models.FrequencyRule]):
    type = "frequency"
    needs_signal = True
    scope = "topic"
    after_others = True

    def evaluate(self, ctx: RuleContext) -> list[Alert]:
        hits = [
            (at, story)
            for at, story in ctx.state.rule_hits.get(self.config.of, ())
            if ctx.now - at < self.config.window
        ]
        if len(hits) < self.config.count or hits[-1][1] != ctx.story.id:
            return []
        window = _human(self.config.window)
        return [
            build_alert(
                ctx,
                rule=self.name,
                kind="frequency",
                severity=self.config.severity,
                title=f"{self.config.of} fired {len(hits)} times in {window} on {ctx.topic}",
                summary=f"{len(hits)} distinct stories matched {self.config.of!r} within "
                f"{window}; latest {describe_source(ctx.article)}.",
                evidence=[],
                event_key=f"burst:{int(hits[0][0])}",
                thread_key=f"{self.name}:{ctx.topic}",
            )
        ]


def _human(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
