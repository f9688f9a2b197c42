"""faust's sensor hooks, exported as Flashpoint metrics in base units.

faust's own Prometheus sensor names a histogram ``events_runtime_ms`` and observes every
latency in milliseconds, against Prometheus's naming rules; it also duplicates what
``alerts.metrics`` already counts. This monitor keeps faust's bookkeeping (the base
``Monitor``) and feeds the few Kafka-side series Flashpoint lacks: messages in and out per
topic, send errors, per-message processing time, rebalances and table operations.
"""

from __future__ import annotations

from typing import Any

from faust.sensors.monitor import Monitor

from alerts.metrics import Metrics


class MetricsMonitor(Monitor):
    """faust ``Monitor`` that also records into :class:`alerts.metrics.Metrics`."""

    def __init__(self, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics

    def on_message_in(self, tp: Any, offset: int, message: Any) -> None:
        super().on_message_in(tp, offset, message)
        self._metrics.kafka_received.labels(tp.topic).inc()

    def on_stream_event_out(
        self, tp: Any, offset: int, stream: Any, event: Any, state: dict[str, Any] | None = None
    ) -> None:
        super().on_stream_event_out(tp, offset, stream, event, state)
        if state is not None and state.get("time_total") is not None:
            self._metrics.event_processing.labels(tp.topic).observe(state["time_total"])

    def on_send_initiated(
        self, producer: Any, topic: str, message: Any, keysize: int, valsize: int
    ) -> Any:
        self._metrics.kafka_sent.labels(topic).inc()
        return super().on_send_initiated(producer, topic, message, keysize, valsize)

    def on_send_error(self, producer: Any, exc: BaseException, state: Any) -> None:
        super().on_send_error(producer, exc, state)
        self._metrics.kafka_send_errors.inc()

    def on_rebalance_start(self, app: Any) -> Any:
        self._metrics.rebalances.inc()
        return super().on_rebalance_start(app)

    def on_table_get(self, table: Any, key: Any) -> None:
        super().on_table_get(table, key)
        self._metrics.table_operations.labels(table.name, "get").inc()

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        super().on_table_set(table, key, value)
        self._metrics.table_operations.labels(table.name, "set").inc()

    def on_table_del(self, table: Any, key: Any) -> None:
        super().on_table_del(table, key)
        self._metrics.table_operations.labels(table.name, "delete").inc()
