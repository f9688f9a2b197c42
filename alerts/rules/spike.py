"""Spike rules: a topic's rate in a recent window against its rate in the window before.

Counts are kept in buckets (a sixth of the window wide, at most :data:`MAX_BUCKETS` over
both windows), so a topic's entry stays small however busy it is. A spike fires once when
the rate crosses ``factor`` times the baseline rate (and ``min_count``), stands while it
stays there, and may fire again only after it fell back.
"""

from __future__ import annotations

import math
from typing import Any

from alerts.config import models
from alerts.model import Alert, topic_label
from alerts.rules.base import Rule, RuleContext, build_alert, duration_words
from alerts.state import TopicState

MAX_BUCKETS = 600


class SpikeRule(Rule[models.SpikeRule]):
    type = "spike"
    scope = "topic"
    after_others = True  # with ``of``, it reads what that rule did to this article

    def __init__(self, config: models.SpikeRule) -> None:
        super().__init__(config)
        # Counting every article acts on quiet articles too; counting a rule's stories
        # needs that rule to have matched.
        self.needs_signal = config.of is not None
        self.width = max(config.window / 6, (config.window + config.baseline) / MAX_BUCKETS)
        self.warm_up = (
            config.warm_up if config.warm_up is not None else config.window + config.baseline
        )

    def evaluate(self, ctx: RuleContext) -> list[Alert]:
        config = self.config
        if config.of is not None:
            hits = ctx.state.rule_hits.get(config.of, ())
            if not hits or hits[-1] != (ctx.now, ctx.story.id):
                return []  # the counted rule did not fire on this story now
        entry = ctx.state.rates.setdefault(
            self.name, {"since": ctx.now, "buckets": [], "fired": None}
        )
        buckets = self._count(entry, ctx.now)
        recent, before = self.counts(buckets, ctx.now)
        if not self.firing(entry, recent, before, ctx.now):
            entry["fired"] = None
            return []
        if entry["fired"] is not None:
            return []  # still the same spike
        entry["fired"] = ctx.now
        return [self._alert(ctx, recent, before)]

    def _count(self, entry: dict[str, Any], now: float) -> list[list[float]]:
        start = math.floor(now / self.width) * self.width
        horizon = now - self.config.window - self.config.baseline - self.width
        buckets: list[list[float]] = [b for b in entry["buckets"] if b[0] >= horizon]
        if buckets and buckets[-1][0] == start:
            buckets[-1][1] += 1
        else:
            buckets.append([start, 1])
        entry["buckets"] = buckets
        return buckets

    def counts(self, buckets: list[list[float]], now: float) -> tuple[int, int]:
        """How many in the recent window, and in the baseline window before it."""
        edge = now - self.config.window
        recent = sum(int(count) for start, count in buckets if start + self.width > edge)
        floor = edge - self.config.baseline
        before = sum(
            int(count) for start, count in buckets if floor <= start and start + self.width <= edge
        )
        return recent, before

    def firing(self, entry: dict[str, Any], recent: int, before: int, now: float) -> bool:
        config = self.config
        if now - float(entry["since"]) < self.warm_up or recent < config.min_count:
            return False
        return recent / config.window >= config.factor * before / config.baseline

    def stands(self, state: TopicState, alert: Alert) -> bool:
        entry = state.rates.get(self.name)
        return entry is not None and entry.get("fired") is not None

    def _alert(self, ctx: RuleContext, recent: int, before: int) -> Alert:
        config = self.config
        window, baseline = duration_words(config.window), duration_words(config.baseline)
        what = f"{config.of.replace('-', ' ')} stories" if config.of else "articles"
        if before:
            times = (recent / config.window) / (before / config.baseline)
            usual = f"{times:.0f} times the usual rate ({before} in the {baseline} before)"
        else:
            usual = f"none in the {baseline} before"
        return build_alert(
            ctx,
            rule=self.name,
            kind="spike",
            severity=config.severity,
            title=f"{topic_label(ctx.topic)}: {recent} {what} in {window}",
            summary=f"{recent} {what} in the last {window}, {usual}.",
            evidence=[],
            event_key=f"spike:{int(ctx.now)}",
            thread_key=f"{self.name}:{ctx.topic}",
        )
