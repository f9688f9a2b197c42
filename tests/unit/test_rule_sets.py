"""Large rule sets: a directory of rule files, files big enough for 50,000 rules, and an
engine whose cost does not depend on how many rules are idle."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from alerts.articles import Article
from alerts.config.loader import MAX_FILE_BYTES, load_config, read_yaml
from alerts.config.models import KeywordRule
from alerts.config.reload import LiveConfig
from alerts.engine import Engine, OfflineRun
from alerts.errors import ConfigError
from alerts.metrics import Metrics
from tests.unit.test_reload import wait_for

WORDS = ["amber", "basalt", "cobalt", "delta", "ember", "fjord", "garnet", "harbour"]


def rule_line(n: int, **extra: object) -> str:
    """One keyword rule, written on one line as generated rule sets are."""
    phrases = [f"{WORDS[n % 8]} {WORDS[n // 8 % 8]} signal{n}", f"code{n} {WORDS[n % 7]}"]
    rule = {"name": f"r{n:05d}", "type": "keyword", "phrases": phrases, **extra}
    return "  - " + json.dumps(rule)


def rules_file(path: Path, numbers: range, **extra: object) -> Path:
    path.write_text("rules:\n" + "\n".join(rule_line(n, **extra) for n in numbers) + "\n")
    return path


def test_a_directory_loads_its_yaml_files_in_name_order(tmp_path: Path) -> None:
    rules = tmp_path / "rules.d"
    rules.mkdir()
    (rules / "20-override.yaml").write_text(
        "rules:\n  - {name: r00001, type: keyword, phrases: [override], severity: critical}\n"
    )
    rules_file(rules / "10-base.yaml", range(3))
    (rules / "notes.txt").write_text("not a rule file")

    config = load_config([rules], include_defaults=False)

    by_name = {rule.name: rule for rule in config.rules if isinstance(rule, KeywordRule)}
    assert sorted(by_name) == ["r00000", "r00001", "r00002"]
    assert by_name["r00001"].severity == "critical"  # the later file wins
    assert by_name["r00001"].phrases == ["override"]


def test_mistakes_in_a_directory_name_the_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.d"
    rules.mkdir()
    rules_file(rules / "a.yaml", range(2))
    lines = [rule_line(n) for n in range(2, 6)]
    lines[2] = lines[2].replace('"keyword"', '"keywrod"')
    (rules / "b.yaml").write_text("rules:\n" + "\n".join(lines) + "\n")

    with pytest.raises(ConfigError) as caught:
        load_config([rules], include_defaults=False)

    assert caught.value.problems[0].startswith(f"{rules / 'b.yaml'}:4:")
    assert "unknown type 'keywrod'" in caught.value.problems[0]


def test_an_empty_directory_is_a_mistake(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config([tmp_path], include_defaults=False)
    assert caught.value.problems == [f"{tmp_path}:1:1: file: directory holds no *.yaml files"]


def test_a_file_of_50000_rules_fits_the_size_limit(tmp_path: Path) -> None:
    path = rules_file(tmp_path / "big.yaml", range(50_000))
    assert path.stat().st_size < MAX_FILE_BYTES
    problems: list[object] = []
    document = read_yaml(path, problems)  # type: ignore[arg-type]
    assert problems == []
    assert document is not None and len(document.data["rules"]) == 50_000


def test_a_file_over_the_limit_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ConfigError) as caught:
        load_config([path], include_defaults=False)
    assert caught.value.problems == [f"{path}:1:1: file: larger than {MAX_FILE_BYTES} bytes"]


def test_five_thousand_rules_alert_only_where_they_match(tmp_path: Path) -> None:
    text = "\n".join(["rules:", *(rule_line(n) for n in range(5000))])
    text += '\n  - {name: strait-only, type: keyword, phrases: ["code4321 cobalt"],'
    text += " topics: [taiwan-strait]}\n"
    path = tmp_path / "generated.yaml"
    path.write_text(text)
    engine = Engine(load_config([path]))
    run = OfflineRun(engine)
    hit = Article(
        id="hit",
        title="Harbour report",
        body="The shipping notice quoted code4321 cobalt twice. Nothing else happened.",
    )
    idle = Article(id="idle", title="Harbour report", body="A quiet day at the harbour.")

    alerts = run.process(hit, now=1_800_000_000.0).alerts
    assert [(a.rule, a.topic) for a in alerts] == [("r04321", "global")]
    assert alerts[0].evidence[0].phrase == "code4321 cobalt"
    assert alerts[0].evidence[0].sentence == "The shipping notice quoted code4321 cobalt twice."
    assert run.process(idle, now=1_800_000_060.0).alerts == []


async def test_a_new_file_in_a_watched_directory_is_loaded(tmp_path: Path) -> None:
    rules_file(tmp_path / "a.yaml", range(2))
    metrics = Metrics(CollectorRegistry())
    live = LiveConfig(
        [tmp_path], lambda c: sorted(r.name for r in c.rules if r.name[1:].isdigit()), metrics
    )
    live.load_initial()
    assert live.current == ["r00000", "r00001"]
    stop = asyncio.Event()
    task = asyncio.create_task(live.watch(stop, debounce=0.1))
    try:
        await asyncio.sleep(0.3)  # let the watcher register before files change
        rules_file(tmp_path / "b.yaml", range(2, 4))
        await wait_for(lambda: live.current == ["r00000", "r00001", "r00002", "r00003"])
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
