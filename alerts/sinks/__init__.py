"""Where alerts go: Slack, a JSONL audit file, the console, an HTTP webhook.

``build_sinks`` turns the ``sinks:`` config into running sinks; ``Dispatcher`` queues each
alert for the sinks a route names, per lane, paced and retried.
"""

from alerts.sinks.base import BUILTIN_SINKS, ENTRY_POINT_GROUP, SinkFactory, build_sinks
from alerts.sinks.console import ConsoleSink
from alerts.sinks.dispatch import DeliveryReport, Dispatcher, RetryPolicy
from alerts.sinks.jsonl import JsonlSink
from alerts.sinks.slack import SlackSink
from alerts.sinks.types import Attempt, Post, Sent, Sink
from alerts.sinks.webhook import WebhookSink

__all__ = [
    "BUILTIN_SINKS",
    "ENTRY_POINT_GROUP",
    "Attempt",
    "ConsoleSink",
    "DeliveryReport",
    "Dispatcher",
    "JsonlSink",
    "Post",
    "RetryPolicy",
    "Sent",
    "Sink",
    "SinkFactory",
    "SlackSink",
    "WebhookSink",
    "build_sinks",
]
