"""The escalation lexicon: acts, their kinds and weights, and every surface form to match.

The lexicon is data (``data/escalation.yaml``) so analysts can review and extend it without
reading code; this module validates it, expands the ``{a|b}`` shorthand into the explicit
phrases it stands for (checked for clashes between acts), and compiles each template to one
factored regex for :class:`PhraseMatcher`: ~125 templates compile in a fraction of a second
where the ~1,700 phrases they expand to take seconds in Hyperscan.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alerts.detect.context import SENSES
from alerts.errors import ConfigError

_GROUP = re.compile(r"\{([^{}]*)\}")
_SEPARATOR = r"[\s\-]+"
"""What a space in a phrase matches, as in :class:`PhraseMatcher`: whitespace or hyphens."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _KindModel(_Strict):
    weight: float = Field(gt=0)
    max_acts: int = Field(default=3, ge=1)
    description: str = ""


class _ActModel(_Strict):
    id: str = Field(min_length=1)
    kind: str
    weight: float | None = Field(default=None, gt=0)
    senses: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()


class _LexiconModel(_Strict):
    kinds: dict[str, _KindModel]
    acts: tuple[_ActModel, ...]


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of act (accuse, threaten, ...) with its default weight and its cap on acts."""

    name: str
    weight: float
    max_acts: int


@dataclass(frozen=True, slots=True)
class Act:
    """One act an article can report ("shoot-down"), whatever words it is reported in."""

    id: str
    kind: str
    weight: float
    senses: frozenset[str]


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Acts plus the flat pattern list: ``owners[i]`` is the act of ``patterns[i]``.

    ``phrases`` lists every phrase the templates stand for, for review and tests.
    """

    kinds: Mapping[str, Kind]
    acts: tuple[Act, ...]
    patterns: tuple[str, ...]
    owners: tuple[int, ...]
    phrases: tuple[str, ...]


def expand(template: str) -> list[str]:
    """Every phrase a ``{a|b|}`` template stands for, in order, spaces normalised.

    >>> expand("{shot|shoot} down")
    ['shot down', 'shoot down']
    """
    if "{" not in template and "}" not in template:
        return [" ".join(template.split())]
    parts = _GROUP.split(template)
    literals, groups = parts[0::2], parts[1::2]
    if any("{" in lit or "}" in lit for lit in literals):
        raise ValueError(f"unbalanced or nested braces in {template!r}")
    options = [group.split("|") for group in groups]
    phrases: list[str] = []
    for choice in itertools.product(*options):
        pieces = [literals[0]]
        for option, literal in zip(choice, literals[1:], strict=True):
            pieces += [option, literal]
        phrase = " ".join("".join(pieces).split())
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    return phrases


def template_regex(template: str) -> str:
    """One whole-word regex matching exactly the phrases ``expand(template)`` lists.

    ``"{joint |}drills"`` becomes ``\\b(?:joint[\\s\\-]+|)drills\\b``: spaces match whitespace
    or hyphens, as in :class:`PhraseMatcher`.
    """
    phrases = expand(template)
    parts = _GROUP.split(" ".join(template.split()))
    literals, groups = parts[0::2], [g.split("|") for g in parts[1::2]]
    for index, options in enumerate(groups):
        if "" not in options:
            continue
        # An optional part takes one neighbouring space with it, so "a {big|} deal" still
        # matches "a deal" with a single separator.
        if literals[index + 1].startswith(" "):
            literals[index + 1] = literals[index + 1][1:]
            groups[index] = [f"{o} " if o else o for o in options]
        elif literals[index].endswith(" "):
            literals[index] = literals[index][:-1]
            groups[index] = [f" {o}" if o else o for o in options]
    body = _literal(literals[0])
    for options, literal in zip(groups, literals[1:], strict=True):
        body += "(?:" + "|".join(_literal(o) for o in options) + ")" + _literal(literal)
    left = r"\b" if all(re.match(r"\w", p) for p in phrases) else ""
    right = r"\b" if all(re.search(r"\w$", p) for p in phrases) else ""
    return f"{left}{body}{right}"


def _literal(text: str) -> str:
    return _SEPARATOR.join(re.escape(word) for word in text.split(" "))


def load_lexicon(path: Path | None = None) -> Lexicon:
    """Read and check the lexicon (the packaged one unless ``path`` is given)."""
    if path is None:
        source = resources.files("alerts.detect").joinpath("data/escalation.yaml")
        name, raw = "escalation.yaml", source.read_text(encoding="utf-8")
    else:
        name, raw = str(path), path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{name}: not valid YAML: {exc}"]) from None
    return build_lexicon(data, name=name)


def build_lexicon(data: Any, *, name: str = "lexicon") -> Lexicon:
    """Validate parsed lexicon data; every problem found is reported at once."""
    try:
        model = _LexiconModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            [
                f"{name}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in exc.errors()
            ]
        ) from None
    problems: list[str] = []
    kinds = {k: Kind(k, v.weight, v.max_acts) for k, v in model.kinds.items()}
    acts: list[Act] = []
    phrases: list[str] = []
    phrase_owner: dict[str, int] = {}
    patterns: list[str] = []
    owners: list[int] = []
    for index, act in enumerate(model.acts):
        where = f"{name}: acts.{index} ({act.id})"
        if act.kind not in kinds:
            problems.append(f"{where}: unknown kind {act.kind!r}")
            continue
        unknown = sorted(set(act.senses) - SENSES)
        if unknown:
            problems.append(f"{where}: unknown senses {unknown}")
        if not act.phrases and not act.regexes:
            problems.append(f"{where}: needs phrases or regexes")
        weight = act.weight if act.weight is not None else kinds[act.kind].weight
        acts.append(Act(act.id, act.kind, weight, frozenset(act.senses)))
        owner = len(acts) - 1
        for template in act.phrases:
            try:
                expanded = expand(template)
                patterns.append(template_regex(template))
                owners.append(owner)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            for phrase in expanded:
                key = phrase.lower()
                if key in phrase_owner:
                    if phrase_owner[key] != owner:
                        other = acts[phrase_owner[key]].id
                        problems.append(f"{where}: phrase {phrase!r} already belongs to {other}")
                    continue
                phrase_owner[key] = owner
                phrases.append(phrase)
        patterns += act.regexes
        owners += [owner] * len(act.regexes)
    if problems:
        raise ConfigError(problems)
    return Lexicon(
        kinds=kinds,
        acts=tuple(acts),
        patterns=tuple(patterns),
        owners=tuple(owners),
        phrases=tuple(phrases),
    )
