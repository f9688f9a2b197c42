"""The Grafana dashboard's queries run against a real Prometheus scraping real exporters.

A panel whose query is invalid, names a metric Flashpoint does not export, or filters on a
label that does not exist shows people an empty graph; these tests catch that before they do.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, start_http_server

from alerts.metrics import LEVEL_VALUES, Metrics
from tests.support.prometheus import (
    PrometheusServer,
    exported_metric_names,
    referenced_metric_names,
    run_prometheus,
)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "flashpoint.json"

# What Grafana puts in place of its variables: the "All" value of $topic, and intervals that
# span several of the test's 1 s scrapes.
SUBSTITUTIONS = {
    "${topic}": ".*",
    "$topic": ".*",
    "$__rate_interval": "1m",
    "$__range": "1m",
    "$__interval": "15s",
}
WATCH_LEVELS = {"taiwan-strait": "critical", "china-japan": "watch", "korean-peninsula": "none"}


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def _targets() -> list[tuple[str, str, str]]:
    """(panel title, refId, expr) for every query target in the dashboard."""
    return [
        (panel["title"], target["refId"], target["expr"])
        for panel in _panels(_dashboard()["panels"])
        for target in panel.get("targets", [])
    ]


TARGETS = _targets()


def _substitute(expr: str) -> str:
    for variable, value in SUBSTITUTIONS.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unsubstituted Grafana variable in {expr!r}"
    return expr


def _populate(metrics: Metrics, round_: int) -> None:
    """Record a busy worker's series; called twice so every rate sees an increase."""
    now = time.time()
    metrics.articles.labels(source="gov-press").inc(4)
    metrics.duplicates.labels(reason="same-id").inc(3)
    metrics.duplicates.labels(reason="near-duplicate").inc(1)
    metrics.deadlettered.labels(stage="triage", reason="invalid_json").inc(1)
    metrics.matches.labels(rule="escalation", topic="taiwan-strait").inc(6)
    metrics.matches.labels(rule="spy-balloon", topic="china-japan").inc(2)
    metrics.alerts.labels(
        rule="escalation", kind="escalation", severity="critical", topic="taiwan-strait"
    ).inc()
    metrics.alerts.labels(
        rule="spy-balloon", kind="keyword", severity="warning", topic="china-japan"
    ).inc()
    metrics.alerts.labels(
        rule="new-commitment", kind="commitment", severity="info", topic="china-japan"
    ).inc()
    metrics.suppressed.labels(rule="escalation", reason="throttled").inc(2)
    metrics.deliveries.labels(sink="slack-news", outcome="delivered").inc(2)
    metrics.deliveries.labels(sink="slack-news", outcome="retried").inc(1)
    metrics.deliveries.labels(sink="slack-news", outcome="failed").inc(1)
    metrics.deliveries.labels(sink="audit", outcome="delivered").inc(3)
    for seconds in (0.18, 0.42, 0.95, 1.3):
        metrics.pipeline_latency.labels(sink="slack-news").observe(seconds)
    metrics.pipeline_latency.labels(sink="audit").observe(0.02)
    for seconds in (0.12, 0.3):
        metrics.slack_request.labels(method="chat.postMessage", outcome="ok").observe(seconds)
    metrics.slack_request.labels(method="chat.postMessage", outcome="error").observe(2.1)
    for topic, level in WATCH_LEVELS.items():
        metrics.escalation_level.labels(topic=topic).set(LEVEL_VALUES[level])
    metrics.escalation_score.labels(topic="taiwan-strait").set(11.5)
    metrics.escalation_score.labels(topic="china-japan").set(4.0)
    metrics.commitments.labels(topic="china-japan", novelty="new").inc()
    metrics.commitments.labels(topic="china-japan", novelty="revision").inc()
    metrics.commitments.labels(topic="china-japan", novelty="repeat").inc(2)
    metrics.feed_last_success.labels(source="wire-world").set(now - 45)
    metrics.feed_last_success.labels(source="gov-press").set(now - 700)
    metrics.source_errors.labels(source="gov-press", reason="http_503").inc()
    metrics.consumer_lag.labels(topic="flashpoint.articles").set(12)
    metrics.consumer_lag.labels(topic="flashpoint.by-topic").set(40)
    # The second round is a rejected edit of the rules file.
    metrics.config_reload_success.set(1 if round_ == 1 else 0)
    if round_ == 2:
        metrics.config_reloads_failed.inc()
    metrics.config_last_reload.set(now - 120)
    metrics.rules_loaded.set(12)
    metrics.kafka_received.labels(topic="flashpoint.articles").inc(40)
    metrics.kafka_sent.labels(topic="flashpoint.by-topic").inc(40)
    for seconds in (0.0032, 0.012, 0.08):
        metrics.event_processing.labels(topic="flashpoint.by-topic").observe(seconds)
    metrics.rebalances.inc()
    # Last, so a scrape that shows it has seen everything above.
    metrics.articles.labels(source="wire-world").inc(37)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """Prometheus scraping a worker-like exporter whose series changed between two scrapes."""
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    _populate(metrics, 1)
    httpd, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    target = f"127.0.0.1:{httpd.server_address[1]}"
    try:
        with run_prometheus(tmp_path_factory.mktemp("prometheus"), [target]) as server:
            articles = 'flashpoint_articles_total{source="wire-world"}'
            server.wait_for(
                articles, lambda r: bool(r) and float(r[0]["value"][1]) == 37, timeout=20
            )
            _populate(metrics, 2)
            server.wait_for(
                articles, lambda r: bool(r) and float(r[0]["value"][1]) == 74, timeout=20
            )
            yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_dashboard_reads_only_metrics_flashpoint_exports() -> None:
    exported = exported_metric_names()
    referenced = {name for _, _, expr in TARGETS for name in referenced_metric_names(expr)}
    assert referenced - exported == set()
    # Every metric family people were promised on the dashboard is on it.
    for name in (
        "flashpoint_articles_total",
        "flashpoint_matches_total",
        "flashpoint_alerts_total",
        "flashpoint_escalation_level",
        "flashpoint_pipeline_latency_seconds_bucket",
        "flashpoint_consumer_lag_messages",
        "flashpoint_deliveries_total",
        "flashpoint_slack_request_seconds_bucket",
        "flashpoint_source_last_success_timestamp_seconds",
        "flashpoint_deadletter_total",
        "flashpoint_commitments_total",
        "flashpoint_config_reload_success",
    ):
        assert name in referenced


@pytest.mark.parametrize(("panel", "ref", "expr"), TARGETS, ids=[f"{t}/{r}" for t, r, _ in TARGETS])
def test_panel_query_returns_data(
    prometheus: PrometheusServer, panel: str, ref: str, expr: str
) -> None:
    result = prometheus.query(_substitute(expr))
    assert result, f"panel {panel!r} query {ref} returned no series"
    values = [float(sample["value"][1]) for sample in result]
    assert any(math.isfinite(v) for v in values), f"panel {panel!r} query {ref}: {values}"


def test_level_panel_shows_level_names(prometheus: PrometheusServer) -> None:
    """The state timeline maps each topic's level number to none/watch/warning/critical."""
    panels = _panels(_dashboard()["panels"])
    panel = next(p for p in panels if p["title"] == "Escalation level by watch topic")
    (mapping,) = panel["fieldConfig"]["defaults"]["mappings"]
    shown = {
        sample["metric"]["topic"]: mapping["options"][str(int(float(sample["value"][1])))]["text"]
        for sample in prometheus.query(_substitute(panel["targets"][0]["expr"]))
    }
    assert shown == WATCH_LEVELS


def test_topic_variable_lists_watch_topics(prometheus: PrometheusServer) -> None:
    (variable,) = _dashboard()["templating"]["list"]
    query = re.fullmatch(r"label_values\((\w+), *(\w+)\)", variable["definition"])
    assert query is not None, variable["definition"]
    metric, label = query.groups()
    assert prometheus.api(f"label/{label}/values", **{"match[]": metric}) == sorted(WATCH_LEVELS)
