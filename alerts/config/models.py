"""The configuration model: watch topics, rules, routes, sinks, throttling and silences.

One pydantic model with ``extra="forbid"`` everywhere is the single source of truth: the
loader validates with it, ``flashpoint rules schema`` exports its JSON Schema, and the engine
reads typed values from it. Secrets never live here; sinks name environment variables.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import re2
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

hyperscan: Any
try:
    import hyperscan
except ImportError:  # where no wheel fits; the matcher then runs regexes with RE2
    hyperscan = None

Severity = Literal["info", "warning", "critical"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: object) -> float:
    """``30s``, ``15m``, ``6h``, ``2d`` (or a number of seconds) to seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 15m, 6h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (found := _DURATION.match(value)):
        seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    else:
        raise ValueError(f"{value!r} is not a duration like 30s, 15m, 6h, 2d")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)\s*$"},
                {"type": "number", "minimum": 0},
            ],
            "description": "A duration: 30s, 15m, 6h, 2d, 1w (or a number of seconds).",
        }
    ),
]
"""Seconds, written in config as ``30s``, ``15m``, ``6h``."""

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]

MAX_REGEX_CHARS = 1000
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def check_regex(pattern: str) -> str:
    """Accept only patterns both RE2 and the Hyperscan matcher run in linear time.

    RE2 rejects what needs backtracking (backreferences, lookaround); Hyperscan rejects
    patterns that match the empty string, which would fire on every article.
    """
    if not pattern:
        raise ValueError("empty regex")
    if len(pattern) > MAX_REGEX_CHARS:
        raise ValueError(f"regex is {len(pattern)} characters, limit {MAX_REGEX_CHARS}")
    try:
        compiled = re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        raise ValueError(f"invalid RE2 regex {pattern!r}: {detail}") from None
    fires_always = f"regex {pattern!r} matches the empty string, so it would fire on every article"
    if hyperscan is None:  # the matcher then runs regexes with RE2, one by one
        if compiled.fullmatch(""):
            raise ValueError(fires_always)
        return pattern
    refusal = _hyperscan_refusal(pattern)
    if refusal is not None:
        if "empty buffer" in refusal:
            raise ValueError(fires_always)
        raise ValueError(f"regex {pattern!r} is not supported by the matcher: {refusal}")
    return pattern


def _hyperscan_refusal(pattern: str) -> str | None:
    """Why Hyperscan will not compile ``pattern`` as the matcher compiles regexes
    (``alerts/detect/matcher.py``, a layer above this one), or None when it will."""
    flags = hyperscan.HS_FLAG_SOM_LEFTMOST | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_CASELESS
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(
            expressions=[f"(?:{pattern})".encode()], ids=[0], elements=1, flags=[flags]
        )
    except hyperscan.error as exc:
        return str(exc)
    return None


Regex = Annotated[str, AfterValidator(check_regex)]
"""A regular expression in RE2 syntax, checked to compile for the linear-time matcher."""


def check_phrase(phrase: str) -> str:
    """A phrase must have something to match: blank phrases are a mistake, not a wildcard."""
    if not phrase.strip():
        raise ValueError("empty phrase")
    return phrase


Phrase = Annotated[str, AfterValidator(check_phrase), Field(max_length=200)]
"""A literal phrase, matched as whole words, case-insensitive unless the rule says not."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WatchTopic(Strict):
    """How an article is keyed to a watch topic: phrases that must (not) appear."""

    any_of: list[Phrase] = Field(default_factory=list, description="At least one of these phrases.")
    all_of: list[list[Phrase]] = Field(
        default_factory=list,
        description="Every group must have at least one phrase present.",
    )
    none_of: list[Phrase] = Field(default_factory=list, description="None of these phrases.")
    description: str = Field(default="", description="What the topic covers, for people.")

    @model_validator(mode="after")
    def _needs_terms(self) -> WatchTopic:
        if not self.any_of and not self.all_of:
            raise ValueError("a watch topic needs any_of or all_of")
        return self


class RuleBase(Strict):
    name: Name = Field(
        description="Unique rule name; a user file replaces a shipped rule of the same name."
    )
    description: str = Field(default="", description="What the rule is for, for people.")
    topics: list[str] | None = Field(
        default=None, description="Only these watch topics (default: all, including global)."
    )
    enabled: bool = Field(default=True, description="false keeps the rule but never runs it.")


class KeywordRule(RuleBase):
    """Alert when any phrase (whole words, case-insensitive) or regex matches."""

    type: Literal["keyword"]
    phrases: list[Phrase] = Field(
        default_factory=list,
        description="Literal phrases, whole words; a space also matches a hyphen or line break.",
    )
    regex: list[Regex] = Field(default_factory=list, description="RE2 syntax, linear time.")
    severity: Severity = Field(default="warning", description="Severity of the alert.")
    case_sensitive: bool = Field(default=False, description="Match letter case exactly.")

    @model_validator(mode="after")
    def _needs_patterns(self) -> KeywordRule:
        if not self.phrases and not self.regex:
            raise ValueError("a keyword rule needs phrases or regex")
        return self


class EscalationLevels(Strict):
    """Rolling-score thresholds for each escalation level."""

    watch: float = Field(default=3.0, description="Score at which the level becomes watch.")
    warning: float = Field(default=8.0, description="Score at which the level becomes warning.")
    critical: float = Field(default=16.0, description="Score at which the level becomes critical.")

    @model_validator(mode="after")
    def _ordered(self) -> EscalationLevels:
        if not 0 < self.watch <= self.warning <= self.critical:
            raise ValueError("levels must satisfy 0 < watch <= warning <= critical")
        return self


def _level_severities() -> dict[Literal["watch", "warning", "critical"], Severity]:
    return {"watch": "info", "warning": "warning", "critical": "critical"}


class EscalationRule(RuleBase):
    """Score escalatory acts; alert when a watch topic's rolling level rises."""

    type: Literal["escalation"]
    window: Duration = Field(default=6 * 3600.0, description="How far back the score sums acts.")
    levels: EscalationLevels = Field(
        default_factory=EscalationLevels, description="Score thresholds per level."
    )
    min_level: Literal["watch", "warning", "critical"] = Field(
        default="watch", description="Alert only when the level rises to at least this."
    )
    severity: dict[Literal["watch", "warning", "critical"], Severity] = Field(
        default_factory=_level_severities,
        description="Alert severity for each level reached.",
    )
    notify_fall: bool = Field(default=True, description="Post a note when the level falls back.")
    story_cap: float = Field(
        default=12.0,
        gt=0,
        description="Most one story adds to the rolling score: with the default levels a "
        "single report can reach warning, critical needs corroboration by another story.",
    )


class CommitmentRule(RuleBase):
    """Alert on new commitments by states and organisations, and on revisions."""

    type: Literal["commitment"]
    severity: Severity = Field(default="info", description="Severity of the alert.")
    revisions: bool = Field(
        default=True, description="Also alert when a known commitment's amount or deadline changes."
    )
    actors: list[str] | None = Field(default=None, description="Only these actors.")


class FrequencyRule(RuleBase):
    """Alert when another rule fires ``count`` times within ``window`` for one topic."""

    type: Literal["frequency"]
    of: Name = Field(description="The rule whose alerts are counted.")
    count: int = Field(ge=2, description="Alerts of that rule needed within the window.")
    window: Duration = Field(description="The sliding window the count applies to.")
    severity: Severity = Field(default="critical", description="Severity of the alert.")


class SpikeRule(RuleBase):
    """Alert when a topic's rate in a recent window is a multiple of its rate in the
    baseline window before it: articles about the topic, or stories another rule fired on."""

    type: Literal["spike"]
    of: Name | None = Field(
        default=None,
        description="Count the stories this rule fired on (default: every article about the "
        "topic).",
    )
    window: Duration = Field(default=3600.0, gt=0, description="The recent window.")
    baseline: Duration = Field(
        default=24 * 3600.0, gt=0, description="The window before it the rate is compared with."
    )
    factor: float = Field(
        default=3.0, gt=1, description="Recent rate at least this many times the baseline rate."
    )
    min_count: int = Field(
        default=3,
        ge=1,
        description="At least this many in the recent window (a rise from 0 to 1 is no spike).",
    )
    warm_up: Duration | None = Field(
        default=None,
        description="How long the rule watches a topic before it may fire (default: window + "
        "baseline, so the baseline is real).",
    )
    severity: Severity = Field(default="warning", description="Severity of the alert.")

    @model_validator(mode="after")
    def _baseline_longer(self) -> SpikeRule:
        if self.baseline < self.window:
            raise ValueError("baseline must be at least as long as window")
        return self


class FlatlineRule(RuleBase):
    """Alert when a watch topic (or one outlet's articles about it) has been quiet longer
    than expected; checked by a timer, not only when articles arrive."""

    type: Literal["flatline"]
    after: Duration = Field(gt=0, description="Quiet for longer than this raises the alert.")
    source: str | None = Field(
        default=None, description="Only articles from this outlet (its `source` field) count."
    )
    severity: Severity = Field(default="warning", description="Severity of the alert.")
    notify_back: bool = Field(
        default=True, description="Post a note in the alert's thread when articles return."
    )


class NewTermRule(RuleBase):
    """Alert the first time an actor, or a pair of actors, appears in a topic's acts and
    commitments."""

    type: Literal["new_term"]
    term: Literal["actor", "pair"] = Field(
        default="actor", description="actor: a state or organisation; pair: two of them."
    )
    warm_up: Duration = Field(
        default=24 * 3600.0,
        description="Terms seen in this long after the rule first sees a topic are learned "
        "silently: at first every term is new.",
    )
    memory: Duration = Field(
        default=30 * 86400.0, gt=0, description="A term not seen for this long is new again."
    )
    severity: Severity = Field(default="info", description="Severity of the alert.")


Rule = Annotated[
    KeywordRule
    | EscalationRule
    | CommitmentRule
    | FrequencyRule
    | SpikeRule
    | FlatlineRule
    | NewTermRule,
    Field(discriminator="type"),
]


GroupField = Literal["id", "rule", "kind", "topic", "severity"]


def _group_by_id() -> list[GroupField]:
    return ["id"]


class RouteMatch(Strict):
    """Conditions an alert must meet; every given field must match (a list means any of)."""

    severity: Severity | list[Severity] | None = Field(default=None, description="Severities.")
    topic: str | list[str] | None = Field(default=None, description="Watch topics.")
    rule: str | list[str] | None = Field(default=None, description="Rule names.")
    kind: str | list[str] | None = Field(
        default=None,
        description="Alert kinds: escalation, commitment, keyword, frequency, spike, flatline, "
        "new_term.",
    )


class Route(Strict):
    """Alerts matching ``match`` go to ``sinks``; the first matching route wins unless
    ``continue`` is true."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    match: RouteMatch = Field(
        default_factory=RouteMatch, description="Which alerts; empty matches every alert."
    )
    sinks: list[str] = Field(min_length=1, description="Names of sinks the alerts go to.")
    continue_: bool = Field(
        default=False, alias="continue", description="Keep trying later routes after this one."
    )
    group_by: list[GroupField] | None = Field(
        default=None,
        description="Batch this route's alerts that share these fields into one message "
        "(as Alertmanager's group_by); unset sends each alert on its own.",
    )
    group_wait: Duration = Field(
        default=30.0, description="How long a new group waits for more alerts before it is sent."
    )
    group_interval: Duration = Field(
        default=300.0,
        gt=0,
        description="After a group was sent, how long before its newer alerts are sent.",
    )
    repeat_interval: Duration | None = Field(
        default=None,
        gt=0,
        description="Remind of a standing condition (an escalation level that stays, a "
        "flatline that goes on, a spike) this often while it lasts.",
    )
    digest: Duration | None = Field(
        default=None,
        gt=0,
        description="Collect this route's alerts and send them as one message every so often "
        "(1h: on the hour), instead of one by one.",
    )

    @property
    def batches(self) -> bool:
        """Whether alerts of this route wait to be sent together."""
        return bool(self.group_by) or self.digest is not None


class SlackSinkConfig(Strict):
    """Post alerts to Slack (bot token, or an incoming webhook)."""

    type: Literal["slack"]
    channel: str | None = Field(default=None, description="Default: $SLACK_CHANNEL.")
    token_env: str = Field(default="SLACK_BOT_TOKEN", description="Env var holding the bot token.")
    webhook_env: str = Field(
        default="SLACK_WEBHOOK_URL", description="Env var holding an incoming-webhook URL."
    )
    mention: str | None = Field(
        default=None, description="Slack user/group id to mention on critical alerts."
    )
    timeout: Duration = Field(default=10.0, gt=0, description="Per-request timeout.")
    pace: Duration = Field(
        default=1.0,
        description="Least time between two messages to the channel (Slack allows about one "
        "a second per channel).",
    )
    hold: Duration = Field(
        default=0.25,
        description="How long a message waits so that other alerts about the same article "
        "join it, and thread replies waiting together go out in publication order.",
    )
    thread_max_age: Duration = Field(
        default=24 * 3600.0,
        gt=0,
        description="A thread older than this ends: the next alert starts a new message.",
    )


class JsonlSinkConfig(Strict):
    """Append each alert as one JSON line (an audit trail)."""

    type: Literal["jsonl"]
    path: str = Field(description="File the alerts are appended to.")


class ConsoleSinkConfig(Strict):
    """Print alerts to standard error."""

    type: Literal["console"]
    color: bool | None = Field(default=None, description="Default: when stderr is a terminal.")


class WebhookSinkConfig(Strict):
    """POST each alert's JSON to a URL."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://", description="http(s) URL the alert JSON is posted to.")
    token_env: str | None = Field(default=None, description="Env var with a bearer token.")
    timeout: Duration = Field(default=10.0, description="Per-request timeout.")
    pace: Duration = Field(default=0.0, description="Least time between two requests.")


SinkConfig = Annotated[
    SlackSinkConfig | JsonlSinkConfig | ConsoleSinkConfig | WebhookSinkConfig,
    Field(discriminator="type"),
]


class Throttle(Strict):
    """An alert whose ``group_by`` fields equal one sent within ``realert`` is suppressed."""

    realert: Duration = Field(
        default=30 * 60.0, description="How long an alert group stays quiet after it fires."
    )
    group_by: list[GroupField] = Field(
        default_factory=_group_by_id, description="Alert fields that define a group."
    )


class Silence(Strict):
    """Mute matching alerts until a time (for planned noise: summits, exercises)."""

    match: RouteMatch = Field(description="Which alerts are muted.")
    until: datetime = Field(description="End of the silence (RFC 3339).")
    comment: str = Field(default="", description="Why, and who set it.")


def _group_by_topic() -> list[GroupField]:
    return ["topic"]


class InhibitRule(Strict):
    """While a ``source`` alert stands for a topic, mute that topic's ``target`` alerts
    (as Alertmanager's inhibit_rules): a standing critical mutes the warnings under it."""

    source: RouteMatch = Field(description="The alerts that mute (e.g. severity: critical).")
    target: RouteMatch = Field(description="The alerts they mute (e.g. severity: warning).")
    equal: list[GroupField] = Field(
        default_factory=_group_by_topic,
        description="Fields source and target must share; topic always (inhibition is per "
        "watch topic).",
    )
    lasts: Duration = Field(
        default=6 * 3600.0,
        gt=0,
        description="How long a source alert stands (an escalation alert: also only while "
        "the topic stays at its level).",
    )

    @field_validator("equal")
    @classmethod
    def _topic_always(cls, equal: list[GroupField]) -> list[GroupField]:
        return equal if "topic" in equal else ["topic", *equal]


class ClassifierConfig(Strict):
    """The learned decision over the grammar's findings (docs/detection.md)."""

    enabled: bool = Field(
        default=True,
        description="false lets the grammar alone decide (as before the model shipped).",
    )
    path: str | None = Field(
        default=None,
        description="A model file built by `make train` (default: the one shipped inside).",
    )


class PairTopics(Strict):
    """Topics of their own for two states that no watch topic covers ("china-india")."""

    enabled: bool = Field(default=True, description="false sends such acts to 'global'.")
    max_live: int = Field(
        default=50, ge=1, description="At most this many pair topics live at once per worker."
    )
    idle: Duration = Field(
        default=7 * 86400.0, description="A pair topic with no article for this long lapses."
    )
    only: list[str] | None = Field(
        default=None, description="Pair only these states (canonical names, e.g. 'India')."
    )
    exclude: list[str] = Field(default_factory=list, description="Never pair these states.")


class Config(Strict):
    """A complete Flashpoint configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Flashpoint configuration")

    watch: dict[Name, WatchTopic] = Field(
        default_factory=dict, description="Watch topics by name: how articles are keyed."
    )
    rules: list[Rule] = Field(default_factory=list, description="Alert rules.")
    routes: list[Route] = Field(
        default_factory=list, description="Which alerts go to which sinks, first match wins."
    )
    sinks: dict[Name, SinkConfig] = Field(
        default_factory=dict, description="Where alerts are delivered, by name."
    )
    throttle: Throttle = Field(
        default_factory=Throttle, description="Suppress repeats of the same alert group."
    )
    silences: list[Silence] = Field(default_factory=list, description="Planned mutes.")
    inhibit_rules: list[InhibitRule] = Field(
        default_factory=list, description="Standing alerts that mute lesser ones of a topic."
    )
    classifier: ClassifierConfig = Field(
        default_factory=ClassifierConfig, description="The learned decision."
    )
    pair_topics: PairTopics = Field(
        default_factory=PairTopics, description="Topics for pairs of states no watch covers."
    )

    @field_validator("rules")
    @classmethod
    def _unique_rule_names(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return rules

    @model_validator(mode="after")
    def _references_exist(self) -> Config:
        names = {rule.name for rule in self.rules}
        for rule in self.rules:
            if isinstance(rule, FrequencyRule | SpikeRule) and rule.of not in (None, *names):
                raise ValueError(f"rule {rule.name!r}: 'of' names unknown rule {rule.of!r}")
            if isinstance(rule, FlatlineRule) and "global" in (rule.topics or ()):
                raise ValueError(
                    f"rule {rule.name!r}: a flatline watches watch topics; 'global' is not one"
                )
            for topic in rule.topics or ():
                if topic != "global" and topic not in self.watch:
                    raise ValueError(f"rule {rule.name!r}: unknown watch topic {topic!r}")
        for index, route in enumerate(self.routes):
            for sink in route.sinks:
                if sink not in self.sinks:
                    raise ValueError(f"routes[{index}]: unknown sink {sink!r}")
        return self
