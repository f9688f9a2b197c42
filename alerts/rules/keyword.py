"""Keyword rules: alert once per story when any of the rule's phrases or regexes match."""

from __future__ import annotations

from alerts.config import models
from alerts.model import Alert
from alerts.rules.base import (
    Rule,
    RuleContext,
    build_alert,
    match_evidence,
    story_thread_key,
)

MAX_EVIDENCE = 5


class KeywordRule(Rule[models.KeywordRule]):
    type = "keyword"
    needs_signal = True
    only_on_match = True

    def evaluate(self, ctx: RuleContext) -> list[Alert]:
        matches = ctx.analysis.keyword_matches.get(self.name, ())
        if not matches:
            return []
        if any(story == ctx.story.id for _, story in ctx.state.rule_hits.get(self.name, ())):
            return []
        what = self.config.description or self.name.replace("-", " ").capitalize()
        return [
            build_alert(
                ctx,
                rule=self.name,
                kind="keyword",
                severity=self.config.severity,
                title=ctx.article.title,
                summary=what,
                evidence=[match_evidence(m) for m in matches[:MAX_EVIDENCE]],
                event_key=f"story:{ctx.story.id}",
                thread_key=story_thread_key(ctx.topic, ctx.story.id),
            )
        ]
