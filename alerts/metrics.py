"""Every Prometheus metric Flashpoint exports, declared once on a registry you pass in.

Label values are bounded: rule, topic, severity, kind, sink, source (a configured source's
name, never an article's outlet), reason, stage, outcome, table, operation. Never ids or
text. ``python -m alerts.metrics`` prints the reference in docs/metrics.md.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from alerts.articles import REJECT_REASONS

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)
PROCESSING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
LEVEL_VALUES = {"none": 0, "watch": 1, "warning": 2, "critical": 3}
PAIR_TOPIC_LABELS = 50
"""Distinct pair topics (``china-india``) given their own label value; later ones are
``other``, so a world of dyads cannot blow up the series count."""
OTHER_TOPIC = "other"

DEADLETTER_REASONS: dict[str, tuple[str, ...]] = {
    "triage": (*REJECT_REASONS, "internal_error"),
    "detect": (*REJECT_REASONS, "invalid_envelope", "internal_error"),
    "notify": ("invalid_envelope", "sink_failed", "internal_error"),
}
"""Every (stage, reason) a dead letter can carry, so each series exists from the start."""
DUPLICATE_REASONS = ("id", "url", "content", "near_duplicate")
DELIVERY_OUTCOMES = ("delivered", "retried", "failed")
TABLE_OPERATIONS = ("get", "set", "delete")


class Metrics:
    """Flashpoint's metrics on one registry (tests build their own registry each)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._pair_labels: set[str] = set()
        r = self.registry
        self.articles = Counter(
            "flashpoint_articles_total", "Articles read from sources.", ["source"], registry=r
        )
        self.duplicates = Counter(
            "flashpoint_duplicates_total",
            "Articles dropped as already seen (by id, canonical URL or content) or folded into "
            "a story already alerted (near-duplicate).",
            ["reason"],
            registry=r,
        )
        self.deadlettered = Counter(
            "flashpoint_deadletter_total",
            "Records sent to the dead-letter topic.",
            ["stage", "reason"],
            registry=r,
        )
        self.sends_failed = Counter(
            "flashpoint_stage_send_failed_total",
            "Records a stage sent on, or dead-lettered, that the broker refused (lost).",
            ["stage"],
            registry=r,
        )
        self.matches = Counter(
            "flashpoint_matches_total", "Rule matches.", ["rule", "topic"], registry=r
        )
        self.alerts = Counter(
            "flashpoint_alerts_total",
            "Alerts decided (after throttling and silences).",
            ["rule", "kind", "severity", "topic"],
            registry=r,
        )
        self.suppressed = Counter(
            "flashpoint_alerts_suppressed_total",
            "Alerts not sent: throttled, silenced, inhibited, or already delivered.",
            ["rule", "reason"],
            registry=r,
        )
        self.deliveries = Counter(
            "flashpoint_deliveries_total",
            "Alert deliveries by sink and outcome (delivered, retried, failed).",
            ["sink", "outcome"],
            registry=r,
        )
        self.delivery_errors = Counter(
            "flashpoint_delivery_errors_total",
            "Failed delivery attempts by sink and error (invalid_auth, channel_not_found, "
            "ratelimited, http_503, timeout, ...); retried or final.",
            ["sink", "error"],
            registry=r,
        )
        self.delivery_queue = Gauge(
            "flashpoint_delivery_queue_alerts",
            "Alerts waiting in a sink's delivery queue or being sent.",
            ["sink"],
            registry=r,
        )
        self.pipeline_latency = Histogram(
            "flashpoint_pipeline_latency_seconds",
            "Time from an article entering Flashpoint to its alert being delivered.",
            ["sink"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.slack_request = Histogram(
            "flashpoint_slack_request_seconds",
            "Slack Web API / webhook request time, one attempt each.",
            ["method", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.escalation_level = Gauge(
            "flashpoint_escalation_level",
            "Rolling escalation level per watch topic: 0 none, 1 watch, 2 warning, 3 critical.",
            ["topic"],
            registry=r,
        )
        self.escalation_score = Gauge(
            "flashpoint_escalation_score",
            "Rolling escalation score per watch topic over the rule's window.",
            ["topic"],
            registry=r,
        )
        self.commitments = Counter(
            "flashpoint_commitments_total",
            "Commitments found, by novelty (new, revision, repeat).",
            ["topic", "novelty"],
            registry=r,
        )
        self.feed_last_success = Gauge(
            "flashpoint_source_last_success_timestamp_seconds",
            "When a source last read successfully (feed freshness).",
            ["source"],
            registry=r,
        )
        self.source_errors = Counter(
            "flashpoint_source_errors_total",
            "Source read failures (HTTP errors, unparsable feeds, rejected posts).",
            ["source", "reason"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "flashpoint_consumer_lag_messages",
            "Messages not yet processed, per Kafka topic, summed over assigned partitions.",
            ["topic"],
            registry=r,
        )
        self.config_reload_success = Gauge(
            "flashpoint_config_reload_success",
            "1 if the last rules (re)load succeeded, 0 if it failed and old rules are kept.",
            registry=r,
        )
        self.config_reloads_failed = Counter(
            "flashpoint_config_reloads_failed_total",
            "Rule reloads rejected because the new file was invalid.",
            registry=r,
        )
        self.config_last_reload = Gauge(
            "flashpoint_config_last_reload_success_timestamp_seconds",
            "When rules were last loaded successfully.",
            registry=r,
        )
        self.rules_loaded = Gauge(
            "flashpoint_rules_loaded", "Rules in the active rule set.", registry=r
        )
        # Kafka-side counters fed by faust's sensor hooks (streams/sensor.py), in base units.
        self.kafka_received = Counter(
            "flashpoint_faust_messages_received_total",
            "Kafka messages received by this worker's agents, per topic.",
            ["topic"],
            registry=r,
        )
        self.kafka_sent = Counter(
            "flashpoint_faust_messages_sent_total",
            "Kafka messages this worker's producer sent, per topic (changelogs included).",
            ["topic"],
            registry=r,
        )
        self.kafka_send_errors = Counter(
            "flashpoint_faust_send_errors_total",
            "Kafka messages the producer failed to send.",
            registry=r,
        )
        self.event_processing = Histogram(
            "flashpoint_faust_event_processing_seconds",
            "Time an agent spent on one Kafka message, per topic it consumes.",
            ["topic"],
            buckets=PROCESSING_BUCKETS,
            registry=r,
        )
        self.rebalances = Counter(
            "flashpoint_faust_rebalances_total",
            "Consumer group rebalances this worker took part in.",
            registry=r,
        )
        self.table_operations = Counter(
            "flashpoint_faust_table_operations_total",
            "State table reads, writes and deletes, per table.",
            ["table", "operation"],
            registry=r,
        )

    def pair_topic_label(self, topic: str) -> str:
        """``topic`` as a label value while fewer than PAIR_TOPIC_LABELS pairs have one."""
        if topic in self._pair_labels:
            return topic
        if len(self._pair_labels) < PAIR_TOPIC_LABELS:
            self._pair_labels.add(topic)
            return topic
        return OTHER_TOPIC

    def zero_known_labels(
        self,
        *,
        sinks: Iterable[str] = (),
        sources: Iterable[str] = (),
        kafka_topics: Iterable[str] = (),
        tables: Iterable[str] = (),
    ) -> None:
        """Create the series whose label values are known up front, at zero, so dashboards
        and alert rules see 0 rather than "no data" before the first event."""
        for stage, reasons in DEADLETTER_REASONS.items():
            for reason in reasons:
                self.deadlettered.labels(stage, reason)
        for reason in DUPLICATE_REASONS:
            self.duplicates.labels(reason)
        for sink in sinks:
            for outcome in DELIVERY_OUTCOMES:
                self.deliveries.labels(sink, outcome)
        for source in sources:
            self.articles.labels(source)
        for topic in kafka_topics:
            self.kafka_received.labels(topic)
            self.kafka_sent.labels(topic)
        for table in tables:
            for operation in TABLE_OPERATIONS:
                self.table_operations.labels(table, operation)


def declared(metrics: Metrics) -> Iterator[MetricWrapperBase]:
    """The metrics declared on ``metrics``, in declaration order."""
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            yield value


def exposed_name(metric: MetricWrapperBase) -> str:
    """The family name as /metrics shows it (counters end in ``_total``)."""
    name: str = metric._name
    return f"{name}_total" if metric._type == "counter" else name


def markdown_reference(metrics: Metrics) -> str:
    """docs/metrics.md: every metric with its type, labels and meaning."""
    lines = [
        "# Metrics",
        "",
        "Every metric a Flashpoint worker serves on `--metrics-port` (`/metrics`). Generated",
        "from `alerts/metrics.py` by `python -m alerts.metrics > docs/metrics.md`; a test",
        "fails when this page and the code disagree, and another checks a live `/metrics`",
        "against it and with `promtool check metrics`.",
        "",
        "Series whose label values are known at start-up (dead-letter stages and reasons,",
        "duplicate reasons, each configured sink with each delivery outcome, each source, each",
        "Kafka topic and table) exist from the start at 0. Counters and histograms also",
        "export a `_created` timestamp, as prometheus-client does by default.",
        "",
        "| Metric | Type | Labels | Meaning |",
        "|---|---|---|---|",
    ]
    for metric in declared(metrics):
        labels = ", ".join(f"`{label}`" for label in metric._labelnames) or "—"
        lines.append(
            f"| `{exposed_name(metric)}` | {metric._type} | {labels} | {metric._documentation} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown_reference(Metrics()))
