"""Hot reload: new rules swap in, broken files keep the last good rules and say so."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from alerts.config.models import Config
from alerts.config.reload import LiveConfig
from alerts.errors import ConfigError
from alerts.metrics import Metrics

GOOD = "rules:\n  - {name: drones, type: keyword, phrases: [drone swarm]}\n"
BETTER = "rules:\n  - {name: drones, type: keyword, phrases: [drone swarm], severity: critical}\n"
BROKEN = "rules:\n  - {name: drones, type: keyword, phrases: [drone swarm], sevrity: critical}\n"


def severities(config: Config) -> dict[str, str]:
    """A stand-in for the compiled engine: what each rule would alert with."""
    return {rule.name: str(getattr(rule, "severity", "")) for rule in config.rules}


def sample(metrics: Metrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(name)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    return path


def replace_file(path: Path, text: str) -> None:
    """Save the way editors do: write a new file, rename it over the old one."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def overwrite(path: Path, text: str) -> None:
    """Save in place, as `echo > file` does."""
    path.write_text(text)


async def wait_for(condition: Callable[[], bool], within: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
async def watching(rules_file: Path, metrics: Metrics) -> AsyncIterator[LiveConfig[dict[str, str]]]:
    live = LiveConfig([rules_file], severities, metrics)
    live.load_initial()
    stop = asyncio.Event()
    task = asyncio.create_task(live.watch(stop, debounce=0.1))
    await asyncio.sleep(0.3)  # let the watcher register before files change
    yield live
    stop.set()
    await asyncio.wait_for(task, 5)


def test_initial_load_sets_metrics(rules_file: Path, metrics: Metrics) -> None:
    live = LiveConfig([rules_file], severities, metrics)
    assert live.load_initial()["drones"] == "warning"
    assert live.current["spy-balloon"] == "warning"
    assert sample(metrics, "flashpoint_config_reload_success") == 1.0
    assert sample(metrics, "flashpoint_rules_loaded") == len(live.config.rules)
    assert (sample(metrics, "flashpoint_config_last_reload_success_timestamp_seconds") or 0) > 0


def test_broken_file_at_start_fails_loudly(rules_file: Path, metrics: Metrics) -> None:
    rules_file.write_text(BROKEN)
    live = LiveConfig([rules_file], severities, metrics)
    with pytest.raises(ConfigError, match="did you mean 'severity'"):
        live.load_initial()


async def test_reload_swaps_in_new_rules(rules_file: Path, metrics: Metrics) -> None:
    live = LiveConfig([rules_file], severities, metrics)
    live.load_initial()
    overwrite(rules_file, BETTER)
    assert await live.reload() is True
    assert live.current["drones"] == "critical"


async def test_broken_reload_keeps_last_good_rules_and_reports(
    rules_file: Path, metrics: Metrics, caplog: pytest.LogCaptureFixture
) -> None:
    live = LiveConfig([rules_file], severities, metrics)
    live.load_initial()
    overwrite(rules_file, BROKEN)

    with caplog.at_level(logging.ERROR, logger="alerts.config.reload"):
        assert await live.reload() is False

    assert live.current["drones"] == "warning"
    assert sample(metrics, "flashpoint_config_reload_success") == 0.0
    assert sample(metrics, "flashpoint_config_reloads_failed_total") == 1.0
    assert f"{rules_file}:2:59: rules[0].sevrity: unknown key 'sevrity'" in caplog.text

    overwrite(rules_file, BETTER)
    assert await live.reload() is True
    assert live.current["drones"] == "critical"
    assert sample(metrics, "flashpoint_config_reload_success") == 1.0
    assert sample(metrics, "flashpoint_config_reloads_failed_total") == 1.0


async def test_failing_build_keeps_last_good_rules(rules_file: Path, metrics: Metrics) -> None:
    def build(config: Config) -> dict[str, str]:
        if any(getattr(rule, "severity", "") == "critical" for rule in config.rules[-1:]):
            raise RuntimeError("cannot compile")
        return severities(config)

    live = LiveConfig([rules_file], build, metrics)
    live.load_initial()
    overwrite(rules_file, BETTER)
    assert await live.reload() is False
    assert live.current["drones"] == "warning"
    assert sample(metrics, "flashpoint_config_reloads_failed_total") == 1.0


async def test_watch_picks_up_an_edited_file(
    watching: LiveConfig[dict[str, str]], rules_file: Path, metrics: Metrics
) -> None:
    replace_file(rules_file, BETTER)
    await wait_for(lambda: watching.current["drones"] == "critical", within=10)

    replace_file(rules_file, BROKEN)
    await wait_for(lambda: sample(metrics, "flashpoint_config_reload_success") == 0.0)
    assert watching.current["drones"] == "critical"

    overwrite(rules_file, GOOD)
    await wait_for(lambda: watching.current["drones"] == "warning")
    assert sample(metrics, "flashpoint_config_reload_success") == 1.0


async def test_sighup_reloads(
    watching: LiveConfig[dict[str, str]], rules_file: Path, metrics: Metrics
) -> None:
    assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, None), "no SIGHUP handler"
    reloads = sample(metrics, "flashpoint_config_last_reload_success_timestamp_seconds")
    os.kill(os.getpid(), signal.SIGHUP)
    await wait_for(
        lambda: (
            sample(metrics, "flashpoint_config_last_reload_success_timestamp_seconds") != reloads
        )
    )
    assert watching.current["drones"] == "warning"
