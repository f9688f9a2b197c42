"""How configured sinks are built by ``type`` (what a sink is: :mod:`alerts.sinks.types`).

Built-in types live in ``BUILTIN_SINKS``; packages add more through the entry-point group
``flashpoint.sinks`` (name = the config ``type``, object = a ``SinkFactory``). A dotted path
written in YAML is never imported: config chooses among installed code, it does not name it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, Protocol

from alerts.config.models import SinkConfig
from alerts.errors import ConfigError
from alerts.metrics import Metrics
from alerts.sinks.console import ConsoleSink
from alerts.sinks.jsonl import JsonlSink
from alerts.sinks.slack import SlackSink
from alerts.sinks.types import Sink
from alerts.sinks.webhook import WebhookSink

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "flashpoint.sinks"
__all__ = [
    "BUILTIN_SINKS",
    "ENTRY_POINT_GROUP",
    "Sink",
    "SinkFactory",
    "build_sinks",
    "sink_factory",
]


class SinkFactory(Protocol):
    """Builds a sink from its config; returns None to leave it out (after logging why)."""

    def __call__(
        self, name: str, config: Any, env: Mapping[str, str], metrics: Metrics
    ) -> Sink | None: ...


BUILTIN_SINKS: dict[str, SinkFactory] = {
    "slack": SlackSink.from_config,
    "jsonl": JsonlSink.from_config,
    "console": ConsoleSink.from_config,
    "webhook": WebhookSink.from_config,
}


def sink_factory(sink_type: str) -> SinkFactory:
    """The factory for a config ``type``: a built-in, else an installed entry point."""
    if sink_type in BUILTIN_SINKS:
        return BUILTIN_SINKS[sink_type]
    for entry in entry_points(group=ENTRY_POINT_GROUP, name=sink_type):
        factory: SinkFactory = entry.load()
        return factory
    known = sorted({*BUILTIN_SINKS, *(e.name for e in entry_points(group=ENTRY_POINT_GROUP))})
    raise ConfigError([f"unknown sink type {sink_type!r} (known: {', '.join(known)})"])


def build_sinks(
    configs: Mapping[str, SinkConfig], env: Mapping[str, str], metrics: Metrics
) -> dict[str, Sink]:
    """Every configured sink that can run here; Slack without credentials is left out."""
    sinks: dict[str, Sink] = {}
    for name, config in configs.items():
        sink = sink_factory(config.type)(name, config, env, metrics)
        if sink is not None:
            sinks[name] = sink
    return sinks
