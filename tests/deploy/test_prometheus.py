"""Prometheus config, Flashpoint's recording and alerting rules, and Alertmanager routing.

promtool and amtool validate the files exactly as Prometheus and Alertmanager will load them;
`promtool test rules` runs the rule unit tests in flashpoint.rules.test.yml.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.prometheus import (
    exported_metric_names,
    referenced_metric_names,
    require_binary,
)

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "rules" / "flashpoint.rules.yml"
RULE_TESTS = PROMETHEUS_DIR / "rules" / "flashpoint.rules.test.yml"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"

PROMISED_ALERTS = {
    "FlashpointDown",
    "FeedStale",
    "SlackDeliveryFailing",
    "DeadLettersRising",
    "PipelineLatencyHigh",
    "ConsumerLagHigh",
    "ConfigReloadFailed",
    "EscalationCritical",
}


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _alerting_rules() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in _rules() if "alert" in rule}


def test_promtool_accepts_prometheus_config_and_its_rule_files() -> None:
    promtool = require_binary("promtool")
    result = _run(promtool, "check", "config", "prometheus.yml", cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    # The rule_files glob found the rules, and only the rules (not the unit tests).
    assert "SUCCESS: 1 rule files found" in result.stdout


def test_promtool_accepts_rules() -> None:
    result = _run(require_binary("promtool"), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    result = _run(require_binary("promtool"), "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_routed_and_unit_tested() -> None:
    alerts = _alerting_rules()
    assert PROMISED_ALERTS - alerts.keys() == set()
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }
    assert alerts.keys() - tested == set()
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["labels"]["audience"] in {"ops", "newsroom"}, name
        assert rule["annotations"]["summary"], name


def test_rules_read_only_metrics_flashpoint_exports() -> None:
    referenced = {name for rule in _rules() for name in referenced_metric_names(rule["expr"])}
    assert referenced
    assert referenced - exported_metric_names() == set()


def test_amtool_accepts_alertmanager_config() -> None:
    amtool = require_binary("amtool", package="prometheus-alertmanager")
    result = _run(amtool, "check-config", str(ALERTMANAGER))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (
            ["alertname=EscalationCritical", "audience=newsroom", "severity=critical"],
            "slack-newsroom",
        ),
        (
            ["alertname=SlackDeliveryFailing", "audience=ops", "severity=critical"],
            "slack-ops-critical",
        ),
        (["alertname=FeedStale", "audience=ops", "severity=warning"], "slack-ops"),
    ],
)
def test_alertmanager_routes_by_audience_and_severity(labels: list[str], receiver: str) -> None:
    amtool = require_binary("amtool", package="prometheus-alertmanager")
    result = _run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_alertmanager_reads_slack_url_from_a_file_not_the_config() -> None:
    def keys(node: Any) -> set[str]:
        if isinstance(node, dict):
            return set(node) | {k for value in node.values() for k in keys(value)}
        if isinstance(node, list):
            return {k for item in node for k in keys(item)}
        return set()

    found = keys(yaml.safe_load(ALERTMANAGER.read_text()))
    assert "slack_api_url_file" in found
    assert not found & {"slack_api_url", "api_url"}
    assert "hooks.slack.com" not in ALERTMANAGER.read_text()
