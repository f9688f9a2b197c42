"""Rule files that cannot hang Flashpoint: alias bombs, deep nesting and slow reloads are
problems with a file:line, never a spinning CPU or a crash."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from alerts.config.loader import MAX_YAML_DEPTH, load_config
from alerts.config.models import Config
from alerts.config.reload import LiveConfig
from alerts.errors import ConfigError
from alerts.metrics import Metrics
from alerts.tooling import commands

GOOD = "rules:\n  - {name: drones, type: keyword, phrases: [drone swarm]}\n"
BETTER = "rules:\n  - {name: drones, type: keyword, phrases: [drone swarm], severity: critical}\n"
ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]"
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    ]
)


def finishes(work: Callable[[], Any], within: float = 60.0) -> Any:
    """Run ``work`` in a thread; fail (rather than hang the suite) if it never returns."""
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(_capture(work)), daemon=True)
    thread.start()
    thread.join(within)
    if not outcome:
        pytest.fail(f"still running after {within}s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _capture(work: Callable[[], Any]) -> Any:
    try:
        return work()
    except BaseException as exc:
        return exc


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        finishes(lambda: load_config([path]))
    return caught.value.problems


def test_an_alias_bomb_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB)
    assert len(ALIAS_BOMB.encode()) < 600

    [problem] = problems(bomb)

    assert problem.startswith(f"{bomb}:1:1: yaml: aliases expand to more than")


def test_rules_check_reports_the_bomb_and_exits_1(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(ALIAS_BOMB)
    out, err = io.StringIO(), io.StringIO()

    code = finishes(lambda: commands.check([str(bomb)], out=out, err=err))

    assert code == 1
    assert "alias bomb" in err.getvalue()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 200_000 + "]" * 200_000, f"nested deeper than {MAX_YAML_DEPTH} levels"),
        ("rules:\n" + "  " * 0 + "- " * 100 + "x\n", f"nested deeper than {MAX_YAML_DEPTH}"),
        ("a: &a [*a]\n", "an alias refers to a value it is inside"),
    ],
)
def test_deep_or_recursive_yaml_is_a_located_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text)

    [problem] = problems(path)

    assert message in problem
    assert problem.startswith(f"{path}:")


def test_merge_keys_and_aliases_still_work(tmp_path: Path) -> None:
    path = tmp_path / "shared.yaml"
    path.write_text(
        "rules:\n"
        "  - &drones {name: drones, type: keyword, severity: critical, phrases: [drone swarm]}\n"
        "  - {<<: *drones, name: balloons, phrases: [spy balloon]}\n"
    )

    rules = {rule.name: rule for rule in load_config([path]).rules}

    assert getattr(rules["balloons"], "severity", None) == "critical"


def test_a_duplicate_key_inside_a_shared_value_is_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(
        "rules:\n"
        "  - &r {name: a, type: keyword, phrases: [x], phrases: [y]}\n"
        + "".join(f"  - {{<<: *r, name: r{i}}}\n" for i in range(50))
    )

    found = [p for p in problems(path) if "duplicate key" in p]

    assert len(found) == 1


def _blocking_build(release: threading.Event) -> Callable[[Config], dict[str, str]]:
    def build(config: Config) -> dict[str, str]:
        severities = {rule.name: str(getattr(rule, "severity", "")) for rule in config.rules}
        if severities.get("drones") == "critical":
            release.wait(60)  # a rule set that takes "forever" to compile
        return severities

    return build


async def test_a_reload_over_its_time_limit_fails_in_the_metrics_and_later_edits_apply(
    tmp_path: Path,
) -> None:
    metrics = Metrics(CollectorRegistry())
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    release = threading.Event()
    live = LiveConfig([path], _blocking_build(release), metrics, timeout=60)
    live.load_initial()
    live.timeout = 3.0  # far above a normal load (tens of ms), far below "forever"

    path.write_text(BETTER)
    slow = await asyncio.wait_for(live.reload(), 60)
    success_after_slow = metrics.registry.get_sample_value("flashpoint_config_reload_success")
    failures = metrics.registry.get_sample_value("flashpoint_config_reloads_failed_total")
    path.write_text(GOOD.replace("drone swarm", "drone swarms"))
    later = await asyncio.wait_for(live.reload(), 60)
    release.set()

    assert slow is False
    assert (success_after_slow, failures) == (0.0, 1.0)
    assert later is True
    assert metrics.registry.get_sample_value("flashpoint_config_reload_success") == 1.0
    assert live.current["drones"] == "warning"


def test_a_start_up_load_over_its_time_limit_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(BETTER)
    release = threading.Event()
    live = LiveConfig([path], _blocking_build(release), Metrics(CollectorRegistry()), timeout=3)

    with pytest.raises(ConfigError, match="took longer than 3s"):
        live.load_initial()
    release.set()
