"""docs/metrics.md is the code's own reference, and known label values start at zero."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from alerts.metrics import DEADLETTER_REASONS, DELIVERY_OUTCOMES, Metrics, markdown_reference
from tests.conftest import ROOT

METRICS_DOC = ROOT / "docs" / "metrics.md"


def test_metrics_doc_is_generated_from_the_code() -> None:
    expected = markdown_reference(Metrics())
    assert METRICS_DOC.read_text() == expected, (
        "docs/metrics.md is stale: python -m alerts.metrics > docs/metrics.md"
    )


def test_every_documented_metric_follows_prometheus_naming() -> None:
    for line in markdown_reference(Metrics()).splitlines():
        if not line.startswith("| `flashpoint_"):
            continue
        name, kind = line.split("|")[1].strip(" `"), line.split("|")[2].strip()
        assert not name.endswith(("_ms", "_milliseconds", "_bytes_total")), name
        if kind == "counter":
            assert name.endswith("_total"), name
        else:
            assert not name.endswith("_total"), name


def test_known_label_values_exist_at_zero_before_any_event() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    metrics.zero_known_labels(
        sinks=["slack", "audit"],
        sources=["file"],
        kafka_topics=["flashpoint.articles"],
        tables=["seen"],
    )

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    for stage, reasons in DEADLETTER_REASONS.items():
        for reason in reasons:
            assert value("flashpoint_deadletter_total", stage=stage, reason=reason) == 0.0
    for sink in ("slack", "audit"):
        for outcome in DELIVERY_OUTCOMES:
            assert value("flashpoint_deliveries_total", sink=sink, outcome=outcome) == 0.0
    assert value("flashpoint_duplicates_total", reason="near_duplicate") == 0.0
    assert value("flashpoint_articles_total", source="file") == 0.0
    assert value("flashpoint_faust_messages_received_total", topic="flashpoint.articles") == 0.0
    assert value("flashpoint_faust_table_operations_total", table="seen", operation="set") == 0.0
    assert value("flashpoint_deliveries_total", sink="webhook", outcome="failed") is None
