"""Frequency rules: alert when another rule fires ``count`` times in ``window`` on a topic."""

from __future__ import annotations

from alerts.config import models
from alerts.model import Alert, topic_label
from alerts.rules.base import Rule, RuleContext, build_alert, duration_words


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
        window = duration_words(self.config.window)
        what = self.config.of.replace("-", " ")
        latest = ctx.article.source or "another outlet"
        return [
            build_alert(
                ctx,
                rule=self.name,
                kind="frequency",
                severity=self.config.severity,
                title=f"{topic_label(ctx.topic)}: {len(hits)} {what} reports in {window}",
                summary=f"{len(hits)} separate stories within {window}, the latest from {latest}.",
                evidence=[],
                event_key=f"burst:{int(hits[0][0])}",
                thread_key=f"{self.name}:{ctx.topic}",
            )
        ]
