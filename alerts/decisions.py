"""Alert decisions after the rules: silences, throttling, and routing to sinks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from alerts.config.models import Config, Route, RouteMatch
from alerts.model import Alert
from alerts.state import TopicState


def matches(alert: Alert, match: RouteMatch) -> bool:
    """True when every field ``match`` sets equals (or lists) the alert's value."""
    for field in ("severity", "topic", "rule", "kind"):
        wanted = getattr(match, field)
        if wanted is None:
            continue
        value = getattr(alert, field)
        if isinstance(wanted, list) and value not in wanted:
            return False
        if isinstance(wanted, str) and value != wanted:
            return False
    return True


class Decisions:
    """Silence, throttle and route alerts as the config says."""

    def __init__(self, config: Config) -> None:
        self._throttle = config.throttle
        self._silences = config.silences
        self._routes: Sequence[Route] = config.routes

    def suppression(self, alert: Alert, state: TopicState, now: float) -> str | None:
        """Why ``alert`` must not be sent (``"silenced"``, ``"throttled"``), or None.

        Admitting an alert records it in ``state`` for later throttling.
        """
        moment = datetime.fromtimestamp(now, UTC)
        for silence in self._silences:
            until = silence.until if silence.until.tzinfo else silence.until.replace(tzinfo=UTC)
            if moment < until and matches(alert, silence.match):
                return "silenced"
        key = "throttle:" + "|".join(str(getattr(alert, f)) for f in self._throttle.group_by)
        last = state.throttle.get(key)
        if last is not None and now - last < self._throttle.realert:
            return "throttled"
        state.throttle[key] = now
        return None

    def route(self, alert: Alert) -> list[str]:
        """Sink names for ``alert``: first matching route, and more while ``continue``."""
        sinks: list[str] = []
        for route in self._routes:
            if matches(alert, route.match):
                sinks.extend(s for s in route.sinks if s not in sinks)
                if not route.continue_:
                    break
        return sinks
