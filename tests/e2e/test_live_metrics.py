"""A live worker's /metrics, as Prometheus and its tooling read it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.broker import free_port
from tests.conftest import ROOT, SAMPLE_FEED
from tests.support.prometheus import require_binary

pytestmark = pytest.mark.e2e

METRICS_DOC = ROOT / "docs" / "metrics.md"


def _documented_family(name: str) -> str:
    """The family a served name belongs to as docs/metrics.md names it.

    prometheus-client serves a counter ``x_total`` as family ``x_total`` and its creation
    time as a separate gauge ``x_created``; a histogram's is ``x_created`` too.
    """
    return name.removesuffix("_created")


def _value(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def test_live_metrics_pass_promtool_and_are_all_documented(tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    port = free_port()
    alerts_out = tmp_path / "alerts.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLASHPOINT_"))}
    env["FLASHPOINT_PARTITIONS"] = "2"
    log_path = tmp_path / "flashpoint.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "streams.cli", "run", "--source", str(SAMPLE_FEED)),
                *("--alerts-out", str(alerts_out), "--metrics-port", str(port)),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while not (alerts_out.exists() and alerts_out.read_text().count("\n") >= 5):
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "no alerts after 120 s"
            time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            exposition = resp.read()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)

    checked = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == b""

    text = exposition.decode()
    documented = METRICS_DOC.read_text()
    served = {
        _documented_family(line.split()[2])
        for line in text.splitlines()
        if line.startswith("# TYPE flashpoint_")
    }
    assert len(served) > 20
    for name in served:
        assert f"`{name}`" in documented or f"`{name}_total`" in documented, (
            f"{name} is served but not in docs/metrics.md"
        )

    # Known label values are there at zero; faust's hooks fed the Kafka-side series.
    assert _value(text, "flashpoint_deadletter_total", stage="triage", reason="invalid_json") == 0
    assert _value(text, "flashpoint_deliveries_total", sink="alerts-out", outcome="failed") == 0
    assert _value(text, "flashpoint_deliveries_total", sink="alerts-out", outcome="delivered")
    received = sum(
        _value(text, "flashpoint_faust_messages_received_total", topic=lane) or 0
        for lane in ("flashpoint.articles", "flashpoint.articles.global")
    )
    assert received == 14, "every sample article, in the watch-topic or the off-topic lane"
    assert _value(
        text, "flashpoint_faust_event_processing_seconds_count", topic="flashpoint.by-topic"
    )
    assert _value(text, "flashpoint_faust_table_operations_total", table="seen", operation="set")
