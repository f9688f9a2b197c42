"""Alert decisions after the rules, as Alertmanager makes them: silences, inhibition,
throttling, and routing to sinks (with the route's grouping and repeat settings).

Silences come from the config (``silences:``) and, at run time, from a
:class:`~alerts.silences.SilenceBook` every worker fills from the silences topic. An
inhibition needs a standing source alert of the same topic, so the alerts that can inhibit
are remembered in the topic's state (``active``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from alerts.config.models import Config, InhibitRule, Route, RouteMatch
from alerts.model import Alert
from alerts.silences import SilenceBook
from alerts.state import TopicState


def matches(alert: Alert, match: RouteMatch) -> bool:
    """True when every field ``match`` sets equals (or lists) the alert's value."""
    return fields_match(lambda name: getattr(alert, name), match)


def fields_match(value_of: Callable[[str], Any], match: RouteMatch) -> bool:
    for name in ("severity", "topic", "rule", "kind"):
        wanted = getattr(match, name)
        if wanted is None:
            continue
        value = value_of(name)
        if isinstance(wanted, list) and value not in wanted:
            return False
        if isinstance(wanted, str) and value != wanted:
            return False
    return True


class Decisions:
    """Silence, inhibit, throttle and route alerts as the config says."""

    def __init__(self, config: Config, silences: SilenceBook | None = None) -> None:
        self._throttle = config.throttle
        self._silences = config.silences
        self._book = silences
        self._inhibit: Sequence[InhibitRule] = config.inhibit_rules
        self._routes: Sequence[Route] = config.routes

    def silenced(self, alert: Alert, now: float) -> bool:
        """Whether a silence in the config or one set at run time mutes ``alert`` now."""
        moment = datetime.fromtimestamp(now, UTC)
        for silence in self._silences:
            until = silence.until if silence.until.tzinfo else silence.until.replace(tzinfo=UTC)
            if moment < until and matches(alert, silence.match):
                return True
        return self._book is not None and self._book.matching(alert, now) is not None

    def suppression(self, alert: Alert, state: TopicState, now: float) -> str | None:
        """Why ``alert`` must not be sent (``"silenced"``, ``"inhibited"``,
        ``"throttled"``), or None.

        Admitting an alert records it in ``state`` for later throttling and, when it can
        inhibit others, as standing.
        """
        if self.silenced(alert, now):
            return "silenced"
        if self.inhibited(alert, state, now):
            return "inhibited"
        key = "throttle:" + "|".join(str(getattr(alert, f)) for f in self._throttle.group_by)
        last = state.throttle.get(key)
        if last is not None and now - last < self._throttle.realert:
            return "throttled"
        state.throttle[key] = now
        if any(matches(alert, rule.source) for rule in self._inhibit):
            state.active.append(
                {
                    "at": now,
                    "id": alert.id,
                    "rule": alert.rule,
                    "kind": alert.kind,
                    "severity": alert.severity,
                    "level": alert.level,
                }
            )
        return None

    def inhibited(self, alert: Alert, state: TopicState, now: float) -> bool:
        """Whether a standing alert of the topic mutes ``alert`` (an inhibit rule's source
        that shares the rule's ``equal`` fields, within ``lasts``)."""
        for rule in self._inhibit:
            if not matches(alert, rule.target):
                continue
            for source in state.active:
                if (
                    source["id"] != alert.id
                    and now - float(source["at"]) < rule.lasts
                    and _standing(source, state)
                    and fields_match(_reader(source, alert.topic), rule.source)
                    and all(
                        source.get(name) == getattr(alert, name)
                        for name in rule.equal
                        if name != "topic"  # the state is the topic's own
                    )
                ):
                    return True
        return False

    def routes(self, alert: Alert) -> list[tuple[int, Route]]:
        """The routes ``alert`` takes, with their positions: the first that matches, and
        more while ``continue``."""
        taken: list[tuple[int, Route]] = []
        for position, route in enumerate(self._routes):
            if matches(alert, route.match):
                taken.append((position, route))
                if not route.continue_:
                    break
        return taken

    def route(self, alert: Alert) -> list[str]:
        """Sink names for ``alert``: first matching route, and more while ``continue``."""
        sinks: list[str] = []
        for _, route in self.routes(alert):
            sinks.extend(s for s in route.sinks if s not in sinks)
        return sinks

    def repeat_interval(self, alert: Alert) -> float | None:
        """How often a standing condition ``alert`` reported is to be reminded of (the
        shortest of its routes'), or None."""
        intervals = [r.repeat_interval for _, r in self.routes(alert) if r.repeat_interval]
        return min(intervals) if intervals else None


def _standing(source: Mapping[str, Any], state: TopicState) -> bool:
    """An escalation alert stands only while its topic stays at the level it reported."""
    if source.get("kind") != "escalation":
        return True
    return state.levels.get(str(source["rule"])) == source.get("level")


def _reader(source: Mapping[str, Any], topic: str) -> Callable[[str], Any]:
    """Field values of a remembered alert (its topic is the state's own)."""
    return lambda name: topic if name == "topic" else source.get(name)
