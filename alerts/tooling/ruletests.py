"""``flashpoint rules test``: try rules on sample articles and compare the alerts, like
``promtool test rules``.

A test file names the rules to load (``rule_files``, an inline ``config``, or both, over the
shipped rules) and a list of tests. Each test feeds its articles, in order and optionally
timed (``at: 10m`` after the test's start), through a fresh offline engine, and compares
the alerts raised with ``expect`` (``expect: []`` asserts that nothing fires). A failure
prints a unified diff of expected and actual alerts in the same flow-YAML form as the file,
so a correct line can be pasted back.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alerts.articles import Article, article_from_mapping
from alerts.config.loader import (
    Loc,
    Problem,
    YamlDocument,
    load_documents,
    read_yaml,
    shipped_document,
    validation_problems,
)
from alerts.config.models import Config, Duration, Severity, parse_duration
from alerts.engine import Engine, OfflineRun
from alerts.errors import ConfigError, InvalidArticle
from alerts.model import Alert

DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)
FIELDS = ("rule", "kind", "topic", "severity", "article")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExpectedAlert(_Strict):
    """An alert the test expects; fields left out match any value."""

    rule: str = Field(description="Rule name.")
    kind: str | None = Field(default=None, description="escalation, commitment, keyword, ...")
    topic: str | None = Field(default=None, description="Watch topic.")
    severity: Severity | None = Field(default=None, description="info, warning or critical.")
    article: str | None = Field(default=None, description="Id of the article that raised it.")


class SampleArticle(_Strict):
    """An inline article, as the JSON article contract, plus when it arrives."""

    title: str
    body: str
    id: str | None = None
    url: str | None = None
    source: str | None = None
    published: str | None = None
    language: str | None = None
    at: Duration | None = Field(default=None, description="Arrival after the test start.")


class RuleTest(_Strict):
    """Articles in, alerts expected out."""

    name: str
    articles: list[SampleArticle] = Field(default_factory=list)
    articles_file: str | None = Field(
        default=None, description="JSONL of articles (each may carry `at`), relative to this file."
    )
    until: Duration | None = Field(
        default=None,
        description="Let the clock run on to this time after the test start (for flatline "
        "rules and reminders, which act when time passes).",
    )
    expect: list[ExpectedAlert] = Field(description="Every alert expected; [] for none.")


class RuleTestFile(_Strict):
    """A rule test file."""

    rule_files: list[str] = Field(
        default_factory=list, description="Config files to load, relative to this file."
    )
    include_defaults: bool = Field(default=True, description="Load the shipped rules first.")
    config: dict[str, Any] | None = Field(default=None, description="Inline config, last.")
    start: datetime = Field(default=DEFAULT_START, description="Clock time of `at: 0s`.")
    tests: list[RuleTest] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One test's result: its name and the diff when it failed."""

    name: str
    diff: list[str]

    @property
    def passed(self) -> bool:
        return not self.diff


def run_files(paths: Sequence[Path], *, out: TextIO, err: TextIO) -> int:
    """Run every test in every file; print results; 0 only if all pass."""
    total = failed = 0
    broken = 0
    for path in paths:
        try:
            outcomes = run_file(path)
        except ConfigError as exc:
            broken += 1
            for problem in exc.problems:
                print(problem, file=err)
            continue
        print(f"{path}", file=out)
        for outcome in outcomes:
            total += 1
            if outcome.passed:
                print(f"  ok    {outcome.name}", file=out)
                continue
            failed += 1
            print(f"  FAIL  {outcome.name}", file=out)
            for line in outcome.diff:
                print(f"        {line}", file=out)
    summary = f"{total} tests, {failed} failed"
    if broken:
        summary += f", {broken} file{'s' if broken != 1 else ''} could not be loaded"
    print(summary, file=out)
    return 1 if failed or broken or not total else 0


def run_file(path: Path) -> list[Outcome]:
    """Load one test file and its rules, run its tests; ConfigError if either is invalid."""
    problems: list[Problem] = []
    document = read_yaml(path, problems)
    if document is None:
        raise ConfigError([str(p) for p in problems])
    try:
        spec = RuleTestFile.model_validate(document.data)
    except ValidationError as exc:
        found = validation_problems(exc, document, (), RuleTestFile)
        raise ConfigError([str(p) for p in found]) from None
    engine = Engine(_load_rules(path, spec, document))
    start = spec.start.timestamp()
    outcomes = []
    for index, test in enumerate(spec.tests):
        timeline = _articles(path, document, index, test, problems)
        if problems:
            continue
        run = OfflineRun(engine)
        got: list[Alert] = []
        clock = 0.0
        for offset, article in timeline:
            got.extend(_pass_time(run, start, clock, offset))
            got.extend(run.process(article, start + offset).alerts)
            clock = offset
        if test.until is not None and test.until > clock:
            got.extend(_pass_time(run, start, clock, test.until))
        outcomes.append(Outcome(test.name, diff_alerts(test.expect, got)))
    if problems:
        raise ConfigError([str(p) for p in problems])
    return outcomes


MAX_TICKS = 10_000


def _pass_time(run: OfflineRun, start: float, since: float, until: float) -> list[Alert]:
    """Tick from ``since`` to ``until`` (test offsets) as the running pipeline would."""
    interval = run.engine.tick_interval
    if interval is None or until <= since:
        return []
    step = max(interval, (until - since) / MAX_TICKS)
    alerts: list[Alert] = []
    moment = since + step
    while moment < until:
        alerts.extend(run.advance(start + moment))
        moment += step
    alerts.extend(run.advance(start + until))
    return alerts


def diff_alerts(expected: Sequence[ExpectedAlert], got: Sequence[Alert]) -> list[str]:
    """A unified diff of expected and actual alerts; empty when they agree."""
    remaining = list(got)
    expected_lines: list[str] = []
    matched_lines: list[str] = []
    missing: list[str] = []
    for expectation in expected:
        line = _render(expectation.model_dump(exclude_none=True))
        expected_lines.append(line)
        hit = next((a for a in remaining if _agrees(expectation, a)), None)
        if hit is None:
            missing.append(line)
        else:
            remaining.remove(hit)
            matched_lines.append(line)
    if not missing and not remaining:
        return []
    with_article = any(e.article is not None for e in expected)
    extra = [_render(_fields(a, with_article=with_article)) for a in remaining]
    ordered_got = [line for line in expected_lines if line in matched_lines] + extra
    diff = difflib.unified_diff(
        expected_lines, ordered_got, "expected", "got", lineterm="", n=len(expected_lines) + 1
    )
    return [line for line in diff if not line.startswith("@@")]


def _load_rules(path: Path, spec: RuleTestFile, document: YamlDocument) -> Config:
    problems: list[Problem] = []
    documents: list[YamlDocument | None] = []
    if spec.include_defaults:
        documents.append(shipped_document(problems))
    documents += [read_yaml(path.parent / name, problems) for name in spec.rule_files]
    if spec.config is not None:
        inline = _subtree(document, "config")
        documents.append(YamlDocument(document.name, inline, spec.config))
    return load_documents(documents, problems)


def _subtree(document: YamlDocument, key: str) -> yaml.Node | None:
    """The node under a top-level key, so inline config errors point into the test file."""
    if isinstance(document.root, yaml.MappingNode):
        for key_node, value_node in document.root.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found: yaml.Node = value_node
                return found
    return None


def _articles(
    path: Path, document: YamlDocument, index: int, test: RuleTest, problems: list[Problem]
) -> list[tuple[float, Article]]:
    timeline: list[tuple[float, Article]] = []
    clock = 0.0
    for position, sample in enumerate(test.articles):
        loc: Loc = ("tests", index, "articles", position)
        fields = sample.model_dump(exclude={"at"}, exclude_none=True)
        clock = _advance(clock, sample.at, document, loc, problems)
        try:
            timeline.append((clock, article_from_mapping(fields)))
        except InvalidArticle as exc:
            problems.append(document.problem(loc, f"invalid article: {exc.detail}"))
    if test.articles_file is not None:
        clock = _read_jsonl(path.parent / test.articles_file, clock, timeline, problems)
    if not timeline and not problems:
        problems.append(
            document.problem(("tests", index), "a test needs articles or an articles_file")
        )
    return timeline


def _read_jsonl(
    path: Path, clock: float, timeline: list[tuple[float, Article]], problems: list[Problem]
) -> float:
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        problems.append(Problem(str(path), 1, 1, "file", f"cannot read: {exc.strerror or exc}"))
        return clock
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise InvalidArticle("not_an_object", "expected a JSON object")
            at = parse_duration(data.pop("at")) if "at" in data else None
            if at is not None and at < clock:
                raise InvalidArticle("invalid_value", "at: earlier than the article before it")
            clock = clock if at is None else at
            timeline.append((clock, article_from_mapping(data)))
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), number, exc.colno, "article", exc.msg))
        except (InvalidArticle, ValueError) as exc:
            detail = exc.detail if isinstance(exc, InvalidArticle) else str(exc)
            problems.append(Problem(str(path), number, 1, "article", detail))
    return clock


def _advance(
    clock: float, at: float | None, document: YamlDocument, loc: Loc, problems: list[Problem]
) -> float:
    if at is None:
        return clock
    if at < clock:
        problems.append(
            document.problem((*loc, "at"), "earlier than the article before it; keep time order")
        )
        return clock
    return at


def _agrees(expectation: ExpectedAlert, alert: Alert) -> bool:
    actual = _fields(alert, with_article=True)
    return all(
        value is None or actual[name] == value for name, value in expectation.model_dump().items()
    )


def _fields(alert: Alert, *, with_article: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "rule": alert.rule,
        "kind": alert.kind,
        "topic": alert.topic,
        "severity": alert.severity,
    }
    if with_article:
        fields["article"] = alert.article.get("id")
    return fields


def _render(fields: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{name}: {fields[name]}" for name in FIELDS if name in fields) + "}"
