"""``flashpoint rules check|test|explain|schema`` as a rule author sees them."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml

from alerts.tooling import commands

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "config" / "flashpoint.yaml"
RULE_TESTS = sorted((ROOT / "tests" / "rules").glob("*.yaml"))


def run_check(*paths: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = commands.check(list(paths), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def run_test(*paths: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = commands.test([str(p) for p in paths], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_check_passes_shipped_rules_and_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLASHPOINT_CONFIG", raising=False)
    code, out, err = run_check()
    assert (code, err) == (0, "")
    assert out.startswith("ok: 7 rules, 7 watch topics (shipped rules)")

    code, out, err = run_check(str(EXAMPLE))
    assert (code, err) == (0, "")
    assert out == f"ok: 13 rules (1 disabled), 9 watch topics (shipped rules, {EXAMPLE})\n"


def test_check_without_files_uses_flashpoint_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: {}\n")
    monkeypatch.setenv("FLASHPOINT_CONFIG", str(broken))
    code, _, err = run_check()
    assert code == 1
    assert err == f"{broken}:1:8: rules: expected a list of rules\n1 problem found\n"


def test_check_names_a_misspelt_key_in_the_copied_example(tmp_path: Path) -> None:
    copy = tmp_path / "flashpoint.yaml"
    shutil.copy(EXAMPLE, copy)
    lines = copy.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip() == "severity: info")
    lines[index] = lines[index].replace("severity", "sevrity")
    copy.write_text("\n".join(lines) + "\n")

    code, out, err = run_check(str(copy))

    assert (code, out) == (1, "")
    column = lines[index].index("sevrity") + 1
    first, summary = err.splitlines()
    assert first.startswith(f"{copy}:{index + 1}:{column}: rules[")
    assert first.endswith("].sevrity: unknown key 'sevrity'; did you mean 'severity'?")
    assert summary == "1 problem found"


def test_check_reports_yaml_syntax_error_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: a\n     type: keyword\n")
    code, _, err = run_check(str(path))
    assert code == 1
    assert err.startswith(f"{path}:3:10: yaml: mapping values are not allowed here")


def test_schema_is_json_schema_that_accepts_the_example_and_rejects_typos() -> None:
    out = io.StringIO()
    assert commands.schema(out=out) == 0
    schema = json.loads(out.getvalue())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    example = yaml.safe_load(EXAMPLE.read_text())
    example["silences"][0]["until"] = example["silences"][0]["until"].isoformat()
    assert list(validator.iter_errors(example)) == []

    example["rules"][1]["sevrity"] = "critical"
    errors = [e.message for e in validator.iter_errors(example)]
    assert errors
    assert any("sevrity" in message for message in errors)


def test_example_starts_with_the_schema_comment() -> None:
    first = EXAMPLE.read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=flashpoint.schema.json"


@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_project_rule_tests_pass(path: Path) -> None:
    code, out, err = run_test(path)
    assert (code, err) == (0, ""), out
    assert out.endswith(" tests, 0 failed\n")


def test_changed_expected_severity_fails_with_a_diff(tmp_path: Path) -> None:
    copy = tmp_path / "keywords.yaml"
    text = (ROOT / "tests" / "rules" / "keywords.yaml").read_text()
    original = "{rule: nuclear-test, kind: keyword, topic: global, severity: critical}"
    assert original in text
    copy.write_text(text.replace(original, original.replace("critical", "warning")))

    code, out, err = run_test(copy)

    assert (code, err) == (1, "")
    assert (
        "  FAIL  a nuclear test report is critical wherever it comes from\n"
        "        --- expected\n"
        "        +++ got\n"
        "        -{rule: nuclear-test, kind: keyword, topic: global, severity: warning}\n"
        "        +{rule: nuclear-test, kind: keyword, topic: global, severity: critical}\n"
    ) in out
    assert out.endswith("4 tests, 1 failed\n")


def test_rule_test_with_inline_config_and_no_alert_case(tmp_path: Path) -> None:
    path = tmp_path / "inline.yaml"
    path.write_text(
        """\
include_defaults: false
config:
  watch:
    arctic: {any_of: [Arctic, Svalbard]}
  rules:
    - {name: icebreakers, type: keyword, phrases: [icebreaker], severity: info}
tests:
  - name: icebreaker news is info on arctic
    articles:
      - {id: a1, title: Icebreaker sails, body: A nuclear icebreaker left port for Svalbard.}
    expect:
      - {rule: icebreakers, topic: arctic, severity: info, article: a1}
  - name: nothing else fires
    articles:
      - {title: Ice melt, body: The Arctic summer was warm.}
    expect: []
"""
    )
    code, out, err = run_test(path)
    assert (code, err) == (0, ""), out
    assert out.endswith("2 tests, 0 failed\n")


def test_rule_test_file_mistakes_point_at_the_test_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        """\
config:
  rules:
    - {name: x, type: keyword, phrases: [y], sevrity: info}
tests:
  - name: t
    articles: [{title: a, body: b}]
    expct: []
"""
    )
    code, out, err = run_test(path)
    assert code == 1
    assert err.splitlines() == [
        f"{path}:5:5: tests[0].expect: missing required key 'expect'",
        f"{path}:7:5: tests[0].expct: unknown key 'expct'; did you mean 'expect'?",
    ]
    assert out.endswith("0 tests, 0 failed, 1 file could not be loaded\n")


def test_explain_says_what_fired_and_what_was_vetoed(tmp_path: Path) -> None:
    source = tmp_path / "articles.jsonl"
    source.write_text(
        json.dumps(
            {
                "id": "a1",
                "title": "Japan protests Chinese spy balloon",
                "body": "Tokyo said a Chinese spy balloon crossed Okinawa. "
                "Beijing denied sending warships.",
            }
        )
        + "\n"
        + json.dumps({"id": "a2", "title": "Beijing trade fair", "body": "China opened a fair."})
        + "\n"
    )
    out, err = io.StringIO(), io.StringIO()
    records = [line.encode() for line in source.read_text().splitlines() if line.strip()]
    assert commands.explain(records, name=str(source), config_paths=[], out=out, err=err) == 0
    text = out.getvalue()
    assert "== a1  “Japan protests Chinese spy balloon”" in text
    assert "FIRED spy-balloon [warning] keyword on china-japan" in text
    assert "“spy balloon” (keyword) at 23-34 in “Japan protests Chinese spy balloon”" in text
    assert "nearly vetoed “sending warships” (mobilise): negated" in text
    assert "== a2  “Beijing trade fair”\n   topics: global\n" in text
    assert "not china-japan: all_of needs one of Japan, Japanese, Tokyo" in text


def test_the_committed_schema_matches_the_models() -> None:
    """Editors read deploy/config/flashpoint.schema.json; `make schema` regenerates it."""
    out = io.StringIO()
    commands.schema(out=out)
    committed = Path(__file__).resolve().parents[2] / "deploy" / "config" / "flashpoint.schema.json"
    assert json.loads(committed.read_text()) == json.loads(out.getvalue())
