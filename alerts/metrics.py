"""Every Prometheus metric Flashpoint exports, declared once on a registry you pass in.

Label values are bounded: rule, topic, severity, kind, sink, source (a configured source's
name, never an article's outlet), reason, stage, outcome. Never ids or text.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0)
LEVEL_VALUES = {"none": 0, "watch": 1, "warning": 2, "critical": 3}
PAIR_TOPIC_LABELS = 50
"""Distinct pair topics (``china-india``) given their own label value; later ones are
``other``, so a world of dyads cannot blow up the series count."""
OTHER_TOPIC = "other"


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
            "Alerts not sent: throttled, silenced, or already delivered.",
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

    def pair_topic_label(self, topic: str) -> str:
        """``topic`` as a label value while fewer than PAIR_TOPIC_LABELS pairs have one."""
        if topic in self._pair_labels:
            return topic
        if len(self._pair_labels) < PAIR_TOPIC_LABELS:
            self._pair_labels.add(topic)
            return topic
        return OTHER_TOPIC
