"""Where alerts go: Slack, a JSONL audit file, the console, an HTTP webhook.

``build_sinks`` turns the ``sinks:`` config into running sinks; ``Dispatcher`` delivers an
alert to the sinks a route names, retrying what is worth retrying.
"""

from alerts.sinks.base import BUILTIN_SINKS, ENTRY_POINT_GROUP, Sink, SinkFactory, build_sinks
from alerts.sinks.console import ConsoleSink
from alerts.sinks.dispatch import DeliveryReport, Dispatcher
from alerts.sinks.jsonl import JsonlSink
from alerts.sinks.slack import SlackSink
from alerts.sinks.webhook import WebhookSink

__all__ = [
    "BUILTIN_SINKS",
    "ENTRY_POINT_GROUP",
    "ConsoleSink",
    "DeliveryReport",
    "Dispatcher",
    "JsonlSink",
    "Sink",
    "SinkFactory",
    "SlackSink",
    "WebhookSink",
    "build_sinks",
]
