"""The config loader: merge semantics, and every mistake named by file, line and column."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from alerts.config.loader import config_paths_from_env, load_config
from alerts.config.models import EscalationRule, FrequencyRule, KeywordRule
from alerts.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "config" / "flashpoint.yaml"


def write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(*paths: Path, include_defaults: bool = True) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(paths, include_defaults=include_defaults)
    return caught.value.problems


def test_shipped_rules_and_example_load() -> None:
    shipped = load_config()
    assert {"escalation", "new-commitment", "spy-balloon"} <= {r.name for r in shipped.rules}
    example = load_config([EXAMPLE])
    assert "undersea-cable" in {r.name for r in example.rules}
    assert "slack-oncall" in example.sinks


def test_misspelt_key_in_copied_example_names_file_line_column_and_suggests(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "flashpoint.yaml"
    shutil.copy(EXAMPLE, copy)
    lines = copy.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip() == "severity: warning")
    lines[index] = lines[index].replace("severity", "sevrity")
    copy.write_text("\n".join(lines) + "\n")

    found = problems(copy)

    column = lines[index].index("sevrity") + 1
    assert len(found) == 1
    assert found[0].startswith(f"{copy}:{index + 1}:{column}: rules[")
    assert found[0].endswith(".sevrity: unknown key 'sevrity'; did you mean 'severity'?")


def test_unknown_key_without_near_miss_lists_the_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "watch:\n  arctic: {any_of: [Arctic], colour: red}\n")
    assert problems(path) == [
        f"{path}:2:30: watch.arctic.colour: unknown key 'colour' "
        "(expected one of: any_of, all_of, none_of, description)"
    ]


def test_unknown_top_level_section(tmp_path: Path) -> None:
    path = write(tmp_path, "rule:\n  - {name: x, type: keyword, phrases: [x]}\n")
    assert problems(path) == [
        f"{path}:1:1: rule: unknown section 'rule'; did you mean 'rules'? "
        "(sections: watch, rules, routes, sinks, throttle, silences, inhibit_rules, classifier, "
        "pair_topics)"
    ]


def test_wrong_type_bad_duration_and_bad_enum_all_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - name: surge
            type: frequency
            of: spy-balloon
            count: three
            window: 6 hours
          - name: loud
            type: keyword
            phrases: [drone swarm]
            severity: critcal
        """,
    )
    assert problems(path) == [
        f"{path}:5:12: rules[0].count: input should be a valid integer, unable to parse "
        "string as an integer (got 'three')",
        f"{path}:6:13: rules[0].window: '6 hours' is not a duration like 30s, 15m, 6h, 2d",
        f"{path}:10:15: rules[1].severity: input should be 'info', 'warning' or 'critical'; "
        "did you mean 'critical'?",
    ]


def test_durations_are_read_as_seconds(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - {name: escalation, type: escalation, window: 90m}
          - {name: surge, type: frequency, of: spy-balloon, count: 2, window: 30s}
        throttle: {realert: 2h}
        """,
    )
    config = load_config([path])
    rules = {r.name: r for r in config.rules}
    assert isinstance(rules["escalation"], EscalationRule)
    assert rules["escalation"].window == 5400.0
    assert isinstance(rules["surge"], FrequencyRule)
    assert rules["surge"].window == 30.0
    assert config.throttle.realert == 7200.0


def test_unknown_rule_type_and_missing_type(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - {name: a, type: keywords, phrases: [x]}
          - {name: b, phrases: [x]}
          - {name: c, type: frequency, of: a}
        """,
    )
    assert problems(path) == [
        f"{path}:2:21: rules[0].type: unknown type 'keywords'; did you mean 'keyword'? "
        "(one of: keyword, escalation, commitment, frequency, spike, flatline, new_term)",
        f"{path}:3:5: rules[1]: missing key 'type' (one of: keyword, escalation, commitment, "
        "frequency, spike, flatline, new_term)",
        f"{path}:4:5: rules[2].count: missing required key 'count'",
        f"{path}:4:5: rules[2].window: missing required key 'window'",
    ]


def test_references_to_missing_rules_sinks_and_topics(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - {name: surge, type: frequency, of: spy-baloon, count: 3, window: 1h}
          - {name: local, type: keyword, phrases: [x], topics: [taiwan-strat]}
        routes:
          - match: {rule: nuclear-tset}
            sinks: [consle]
        """,
    )
    assert problems(path) == [
        f"{path}:2:40: rules[0].of: unknown rule 'spy-baloon'; did you mean 'spy-balloon'?",
        f"{path}:3:57: rules[1].topics[0]: unknown watch topic 'taiwan-strat'; "
        "did you mean 'taiwan-strait'?",
        f"{path}:5:19: routes[0].match.rule: unknown rule 'nuclear-tset'; "
        "did you mean 'nuclear-test'?",
        f"{path}:6:13: routes[0].sinks[0]: unknown sink 'consle'; did you mean 'console'?",
    ]


def test_reference_to_something_defined_in_an_earlier_file_is_fine(tmp_path: Path) -> None:
    first = write(tmp_path, "sinks:\n  audit: {type: jsonl, path: a.jsonl}\n", "sinks.yaml")
    second = write(tmp_path, "routes:\n  - sinks: [audit]\n", "routes.yaml")
    assert load_config([first, second]).routes[0].sinks == ["audit"]
    assert problems(second, include_defaults=False) == [
        f"{second}:2:13: routes[0].sinks[0]: unknown sink 'audit'"
    ]


@pytest.mark.parametrize(
    ("regex", "message"),
    [
        ("(?<=spy )balloon", "invalid RE2 regex '(?<=spy )balloon': invalid perl operator: (?<="),
        (r"(spy)\1", r"invalid RE2 regex '(spy)\\1': invalid escape sequence: \1"),
        ("[unclosed", "invalid RE2 regex '[unclosed': missing ]: [unclosed"),
        ("x{0,2000}", "invalid RE2 regex 'x{0,2000}': invalid repetition size: {0,2000}"),
        (
            "(drone)?",
            "regex '(drone)?' matches the empty string, so it would fire on every article",
        ),
    ],
)
def test_regexes_must_compile_for_the_linear_time_engines(
    tmp_path: Path, regex: str, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"rules:\n  - name: r\n    type: keyword\n    regex:\n      - ok\\d+\n      - '{regex}'\n"
    )
    assert problems(path) == [f"{path}:6:9: rules[0].regex[1]: {message}"]


def test_valid_re2_regex_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, r"rules: [{name: r, type: keyword, regex: ['J-?\d{2} fighters?']}]")
    rule = load_config([path]).rules[-1]
    assert isinstance(rule, KeywordRule)
    assert rule.regex == [r"J-?\d{2} fighters?"]


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - name: a
            type: keyword
            phrases: [spy balloon
          - name: b
        """,
    )
    assert problems(path) == [
        f"{path}:5:9: yaml: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence at line 4)"
    ]


def test_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - name: a
            type: keyword
            phrases: [x]
            severity: info
            severity: critical
        """,
    )
    assert problems(path) == [
        f"{path}:6:5: rules[0].severity: duplicate key 'severity' (first at line 5)"
    ]


def test_duplicate_rule_names_in_one_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - {name: a, type: keyword, phrases: [x]}
          - {name: a, type: keyword, phrases: [y]}
        """,
    )
    assert problems(path) == [
        f"{path}:3:12: rules[1].name: rule name 'a' is already used at line 2"
    ]


def test_unreadable_and_non_mapping_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    listed = write(tmp_path, "- a\n- b\n", "list.yaml")
    assert problems(missing, listed) == [
        f"{missing}:1:1: file: cannot read: No such file or directory",
        f"{listed}:1:1: (top level): the top level must be a mapping of sections: "
        "watch, rules, routes, sinks, throttle, silences, inhibit_rules, classifier, pair_topics",
    ]


def test_empty_user_file_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing yet\n")
    assert load_config([path]) == load_config()


def test_merge_by_name_and_replacement_of_routes_and_throttle(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        watch:
          taiwan-strait: {any_of: [Taiwan]}
          arctic: {any_of: [Arctic]}
        rules:
          - {name: spy-balloon, type: keyword, phrases: [spy balloon], severity: critical}
          - {name: drones, type: keyword, phrases: [drone swarm]}
        sinks:
          audit: {type: jsonl, path: a.jsonl}
        routes:
          - sinks: [audit]
        throttle: {realert: 5m, group_by: [rule]}
        """,
    )
    shipped = load_config()
    merged = load_config([path])
    names = [r.name for r in merged.rules]
    assert names == [*(r.name for r in shipped.rules), "drones"]
    balloon = next(r for r in merged.rules if r.name == "spy-balloon")
    assert isinstance(balloon, KeywordRule)
    assert balloon.severity == "critical"
    assert merged.watch["taiwan-strait"].any_of == ["Taiwan"]
    assert set(merged.watch) == {*shipped.watch, "arctic"}
    assert set(merged.sinks) == {*shipped.sinks, "audit"}
    assert [route.sinks for route in merged.routes] == [["audit"]]
    assert merged.throttle.realert == 300.0
    assert merged.throttle.group_by == ["rule"]


def test_later_user_file_wins(tmp_path: Path) -> None:
    first = write(tmp_path, "rules: [{name: x, type: keyword, phrases: [a]}]", "a.yaml")
    second = write(tmp_path, "rules: [{name: x, type: commitment}]", "b.yaml")
    rule = load_config([first, second], include_defaults=False).rules
    assert [(r.name, r.type) for r in rule] == [("x", "commitment")]


def test_config_paths_from_cli_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASHPOINT_CONFIG", "/etc/a.yaml:/etc/b.yaml")
    assert config_paths_from_env(["mine.yaml"]) == [Path("mine.yaml")]
    assert config_paths_from_env([]) == [Path("/etc/a.yaml"), Path("/etc/b.yaml")]
    monkeypatch.delenv("FLASHPOINT_CONFIG")
    assert config_paths_from_env([]) == []


def test_rules_over_time_and_inhibit_rules_are_checked_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - {name: surge, type: spike, of: nothing-such, window: 2h, baseline: 1h}
          - {name: quiet, type: flatline, topics: [global], after: 1h}
          - {name: fresh, type: new_term, term: trio}
          - {name: hush, type: flatline}
        inhibit_rules:
          - {source: {rule: nuclear-tset}, target: {severity: warning}}
        """,
    )
    assert problems(path) == [
        f"{path}:2:5: rules[0]: baseline must be at least as long as window",
        f"{path}:3:44: rules[1].topics[0]: a flatline watches watch topics; 'global' is not one",
        f"{path}:4:41: rules[2].term: input should be 'actor' or 'pair'",
        f"{path}:5:5: rules[3].after: missing required key 'after'",
        f"{path}:7:21: inhibit_rules[0].source.rule: unknown rule 'nuclear-tset'; "
        "did you mean 'nuclear-test'?",
    ]
