"""Flatline rules: a watch topic, or one outlet's articles about it, gone quiet.

Articles only say when something happened; silence is noticed by ticks (timer messages
the streams layer sends each topic the rule watches), which call :meth:`FlatlineRule.check`.
A topic is watched from the first tick or article; once it has been quiet for ``after``
the rule fires, once, and stands until an article arrives again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.config import models
from alerts.model import Alert, topic_label
from alerts.rules.base import (
    Rule,
    RuleContext,
    TickContext,
    build_alert,
    duration_words,
    topic_alert,
)
from alerts.state import TopicState
from alerts.topics import GLOBAL_TOPIC


class FlatlineRule(Rule[models.FlatlineRule]):
    type = "flatline"
    scope = "topic"
    timed = True
    watch: frozenset[str] = frozenset()
    """The configured watch topics: without ``topics``, the rule watches each of them."""

    def applies_to(self, topic: str) -> bool:
        if self.config.topics is None:
            return topic in self.watch and topic != GLOBAL_TOPIC
        return topic in self.config.topics

    def evaluate(self, ctx: RuleContext) -> list[Alert]:
        config = self.config
        if config.source is not None and ctx.article.source != config.source:
            return []
        entry = ctx.state.quiet.get(self.name)
        if entry is not None and entry.get("alerted") is None:
            # Write the time only when it moved on noticeably: not on every article.
            if ctx.now - float(entry["last"]) >= config.after / 20:
                ctx.state.quiet[self.name] = {"last": ctx.now, "alerted": None}
            return []
        ctx.state.quiet[self.name] = {"last": ctx.now, "alerted": None}
        if entry is None or not config.notify_back:
            return []
        silent = ctx.now - float(entry["last"])
        return [
            build_alert(
                ctx,
                rule=self.name,
                kind="flatline",
                severity="info",
                title=f"{self._what(ctx.topic)} again",
                summary=f"Reporting again after {_about(silent)} without an article.",
                evidence=[],
                event_key=f"back:{int(float(entry['alerted']))}",
                thread_key=self._thread(ctx.topic),
            )
        ]

    def check(self, ctx: TickContext) -> list[Alert]:
        entry = ctx.state.quiet.get(self.name)
        if entry is None:
            ctx.state.quiet[self.name] = {"last": ctx.now, "alerted": None}
            return []
        last = float(entry["last"])
        if entry.get("alerted") is not None or ctx.now - last < self.config.after:
            return []
        ctx.state.quiet[self.name] = {"last": last, "alerted": ctx.now}
        since = datetime.fromtimestamp(last, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return [
            topic_alert(
                ctx.topic,
                ctx.now,
                rule=self.name,
                kind="flatline",
                severity=self.config.severity,
                title=f"{self._what(ctx.topic, quiet=True)} for {_about(ctx.now - last)}",
                summary=f"Nothing since {since}; expected at least one article every "
                f"{duration_words(self.config.after)}.",
                event_key=f"quiet:{int(last)}",
                thread_key=self._thread(ctx.topic),
            )
        ]

    def stands(self, state: TopicState, alert: Alert) -> bool:
        entry = state.quiet.get(self.name)
        return entry is not None and entry.get("alerted") is not None

    def _what(self, topic: str, *, quiet: bool = False) -> str:
        source = self.config.source
        subject = f"{source} on {topic_label(topic)}" if source else topic_label(topic)
        return f"{subject}: no articles" if quiet else f"{subject}: articles"

    def _thread(self, topic: str) -> str:
        return f"{self.name}:{topic}"


def _about(seconds: float) -> str:
    """``7260`` → ``2 hours``: a quiet spell rounded down to its largest whole unit."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(seconds)} seconds"
