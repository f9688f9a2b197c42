"""Load rule files into one validated :class:`Config`, naming the file, line and column of
every mistake.

YAML is composed to a node tree first, so each pydantic error location maps back to the
line and column people see in their editor. Every problem in every file is collected and
raised together in one :class:`~alerts.errors.ConfigError`, one line each:
``file:line:column: field.path: message``.

Merging: the shipped defaults come first, then each user file in order. Watch topics and
sinks merge by name, rules by ``name`` (the same name replaces the earlier rule in place);
a file that sets ``routes``, ``throttle``, ``silences`` or ``inhibit_rules`` replaces them.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from alerts.config.models import (
    ClassifierConfig,
    Config,
    FlatlineRule,
    FrequencyRule,
    InhibitRule,
    Name,
    PairTopics,
    Route,
    RouteMatch,
    Rule,
    RuleBase,
    Silence,
    SinkConfig,
    SpikeRule,
    Throttle,
    WatchTopic,
)
from alerts.errors import ConfigError

ENV_VAR = "FLASHPOINT_CONFIG"
MAX_FILE_BYTES = 16_000_000
"""Room for 50,000 keyword rules of a few phrases each (about 130 bytes a rule written one
per line; 6.5 MB) with space to spare, while still refusing a runaway file."""
MAX_YAML_DEPTH = 64
"""Nesting a rules file may use; PyYAML composes recursively, so depth costs stack."""
MIN_YAML_VALUES = 200_000
"""Values any file may expand to once aliases are resolved; a larger file may expand to one
value per two bytes of itself, which no file without aliases exceeds. A 454-byte alias bomb
expands to hundreds of millions."""
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML was built with it: the same nodes and marks, ~20x faster,
which is most of the time a reload of tens of thousands of rules takes."""
GLOBAL_TOPIC = "global"

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake in one file, at a 1-based line and column."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.field}: {self.message}"


@dataclass(slots=True)
class YamlDocument:
    """A parsed YAML document: its data and the node tree that knows where each value is."""

    name: str
    root: yaml.Node | None
    data: Any

    def locate(self, loc: Loc, *, key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value at ``loc`` (of its key when ``key``).

        Parts of ``loc`` that are not in the document (pydantic's union tags, a missing
        field) are skipped, so the position falls back to the nearest enclosing value.
        """
        node = _walk(self.root, loc, key=key)[0]
        if node is None:
            return 1, 1
        return node.start_mark.line + 1, node.start_mark.column + 1

    def problem(self, loc: Loc, message: str, *, key: bool = False) -> Problem:
        line, column = self.locate(loc, key=key)
        return Problem(self.name, line, column, format_loc(loc) or "(top level)", message)


def config_paths_from_env(cli_paths: Sequence[str]) -> list[Path]:
    """``--config`` paths if given, else ``$FLASHPOINT_CONFIG`` (``os.pathsep``-separated)."""
    if cli_paths:
        return [Path(p) for p in cli_paths]
    raw = os.environ.get(ENV_VAR, "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


def config_files(paths: Sequence[str | Path]) -> list[Path]:
    """``paths`` with each directory replaced by the ``*.yaml`` files in it, sorted by name.

    A large rule set is easier to keep as many files (one per desk, per region); sorted
    order makes the merge, and so which of two same-named rules wins, predictable.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.glob("*.yaml") if p.is_file())
        else:
            files.append(path)
    return files


def defaults_path() -> str:
    """Where the shipped rules live (shown in messages about them)."""
    return str(resources.files("alerts.config").joinpath("defaults.yaml"))


def shipped_document(problems: list[Problem]) -> YamlDocument | None:
    """The rules shipped in the package, parsed."""
    text = resources.files("alerts.config").joinpath("defaults.yaml").read_text("utf-8")
    return parse_yaml(defaults_path(), text, problems)


def load_config(user_files: Sequence[str | Path] = (), *, include_defaults: bool = True) -> Config:
    """The shipped defaults merged with ``user_files`` in order (a directory: its ``*.yaml``
    files, sorted); every problem raised at once."""
    problems: list[Problem] = []
    documents: list[YamlDocument | None] = []
    if include_defaults:
        documents.append(shipped_document(problems))
    for path in user_files:
        if Path(path).is_dir() and not config_files([path]):
            problems.append(Problem(str(path), 1, 1, "file", "directory holds no *.yaml files"))
            documents.append(None)
    documents += [read_yaml(path, problems) for path in config_files(user_files)]
    return load_documents(documents, problems)


def load_documents(
    documents: Sequence[YamlDocument | None], problems: Sequence[Problem] = ()
) -> Config:
    """Validate and merge parsed documents in order (``None``: a file that did not parse).

    Cross-references (rule ``of``, route sinks, topics) are checked even when entries have
    errors, but not when a whole file or section is unreadable: its names are unknown, and
    every reference to them would be a false alarm.
    """
    found = list(problems)
    merged = _Merged()
    for document in documents:
        if document is None:
            merged.complete = False
        else:
            merged.add(document, found)
    if merged.complete:
        merged.check_references(found)
    if found:
        order = {d.name: i for i, d in enumerate(documents) if d is not None}
        found.sort(key=lambda p: (order.get(p.file, len(order)), p.line, p.column))
        raise ConfigError([str(p) for p in found])
    try:
        return merged.build()
    except ValidationError as exc:  # only a check the loader does not repeat can land here
        raise ConfigError([f"config: {e['msg']}" for e in exc.errors()]) from None


def read_yaml(path: str | Path, problems: list[Problem]) -> YamlDocument | None:
    """Read and parse one file; unreadable files become a problem, not an exception."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        problems.append(Problem(name, 1, 1, "file", f"cannot read: {exc.strerror or exc}"))
        return None
    if len(raw) > MAX_FILE_BYTES:
        problems.append(Problem(name, 1, 1, "file", f"larger than {MAX_FILE_BYTES} bytes"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, 1, 1, "file", f"not UTF-8 (byte {exc.start})"))
        return None
    return parse_yaml(name, text, problems)


def parse_yaml(
    name: str, text: str, problems: list[Problem], *, loader_class: Any = _YAML_LOADER
) -> YamlDocument | None:
    """Compose and construct one YAML document; syntax errors and duplicate keys are problems.

    Bounded before anything expands: nesting is checked on the event stream (produced
    without recursion), and the values that aliases expand to are counted on the node graph,
    each shared node once, before the duplicate-key check and construction. A document
    libyaml rejects is read again by PyYAML's own parser, whose messages are the ones
    documented (and slower to reach only on the error path).
    """
    loader = loader_class(text)
    try:
        too_deep = _too_deep(text, loader_class)
        if too_deep is not None:
            problems.append(too_deep.named(name))
            return None
        root = loader.get_single_node()
        if root is None:
            return YamlDocument(name, None, {})
        oversized = _expansion_problem(root, max(MIN_YAML_VALUES, len(text) // 2))
        if oversized is not None:
            problems.append(oversized.named(name))
            return None
        problems.extend(_duplicate_keys(name, root))
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        if loader_class is not yaml.SafeLoader:
            return parse_yaml(name, text, problems, loader_class=yaml.SafeLoader)
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = exc.problem or "invalid YAML"
        if exc.context:
            where = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
            message = f"{message} ({exc.context}{where})"
        problems.append(Problem(name, line, column, "yaml", message))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(name, 1, 1, "yaml", str(exc)))
        return None
    except RecursionError:
        problems.append(Problem(name, 1, 1, "yaml", "nested too deeply"))
        return None
    finally:
        loader.dispose()
    return YamlDocument(name, root, data)


@dataclass(frozen=True, slots=True)
class _Unnamed:
    """A problem found before the file's name is attached."""

    mark: Any
    """A ``yaml.Mark`` (pure or C loader), or None."""
    message: str

    def named(self, name: str) -> Problem:
        line, column = (self.mark.line + 1, self.mark.column + 1) if self.mark else (1, 1)
        return Problem(name, line, column, "yaml", self.message)


def _too_deep(text: str, loader_class: Any) -> _Unnamed | None:
    depth = 0
    for event in yaml.parse(text, Loader=loader_class):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                return _Unnamed(event.start_mark, f"nested deeper than {MAX_YAML_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _expansion_problem(root: yaml.Node, limit: int) -> _Unnamed | None:
    """Too many values once aliases are expanded, or an alias inside itself."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise _Recursive(node)
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(key)
        sizes[key] = total = min(total, limit + 1)
        return total

    try:
        if size(root) > limit:
            return _Unnamed(
                root.start_mark, f"aliases expand to more than {limit} values (an alias bomb?)"
            )
    except _Recursive as recursive:
        return _Unnamed(recursive.node.start_mark, "an alias refers to a value it is inside")
    return None


class _Recursive(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node
        super().__init__("recursive alias")


def validation_problems(
    exc: ValidationError, document: YamlDocument, prefix: Loc, annotation: Any
) -> list[Problem]:
    """pydantic's errors for the value at ``prefix`` as located, readable problems.

    ``annotation`` is the type that was validated; it supplies the field names behind
    "did you mean" suggestions.
    """
    by_place: dict[tuple[int, int, str], list[str]] = {}
    kinds: dict[tuple[int, int, str], list[str]] = {}
    for error in exc.errors():
        loc = _error_loc(error)
        message = _message(error, annotation, loc)
        is_key = error["type"] == "extra_forbidden" or (loc[-1:] == ("[key]",))
        full = prefix + loc
        if error["type"].startswith("union_tag"):
            full = (*full, str(error.get("ctx", {}).get("discriminator", "type")).strip("'"))
        node, used = _walk(document.root, full, key=is_key)
        shown = used + (full[-1:] if error["type"] == "missing" else ())
        line, column = (
            (node.start_mark.line + 1, node.start_mark.column + 1) if node is not None else (1, 1)
        )
        place = (line, column, format_loc(shown) or "(top level)")
        by_place.setdefault(place, []).append(message)
        kinds.setdefault(place, []).append(error["type"])
    problems = []
    for place, messages in by_place.items():
        specific = [
            m for m, k in zip(messages, kinds[place], strict=True) if not k.endswith("_type")
        ]
        unique = list(dict.fromkeys(specific or messages))
        problems.append(Problem(document.name, place[0], place[1], place[2], "; ".join(unique)))
    return problems


def format_loc(loc: Loc) -> str:
    """``("rules", 2, "severity")`` as ``rules[2].severity``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":
            text += f".{part}" if text else part
    return text


def suggest(word: str, choices: Sequence[str]) -> str:
    """`` did you mean 'x'?`` for a near miss, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


# --- merging -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Item:
    """A validated config entry and where it was written."""

    value: Any
    document: YamlDocument
    loc: Loc


_SECTIONS: dict[str, Any] = {
    "watch": WatchTopic,
    "rules": Rule,
    "routes": Route,
    "sinks": SinkConfig,
    "throttle": Throttle,
    "silences": Silence,
    "inhibit_rules": InhibitRule,
    "classifier": ClassifierConfig,
    "pair_topics": PairTopics,
}
_SINGLE = ("throttle", "classifier", "pair_topics")
_NAME = TypeAdapter(Name)
_ADAPTERS: dict[str, TypeAdapter[Any]] = {k: TypeAdapter(v) for k, v in _SECTIONS.items()}


@dataclass(slots=True)
class _Merged:
    watch: dict[str, _Item] = field(default_factory=dict)
    rules: dict[str, _Item] = field(default_factory=dict)
    sinks: dict[str, _Item] = field(default_factory=dict)
    routes: list[_Item] | None = None
    single: dict[str, _Item] = field(default_factory=dict)
    silences: list[_Item] | None = None
    inhibit_rules: list[_Item] | None = None
    known_rules: set[str] = field(default_factory=set)
    known_sinks: set[str] = field(default_factory=set)
    known_topics: set[str] = field(default_factory=set)
    complete: bool = True

    def add(self, document: YamlDocument, problems: list[Problem]) -> None:
        data = document.data
        if not isinstance(data, dict):
            self.complete = False
            problems.append(
                document.problem((), "the top level must be a mapping of sections: " + _LIST)
            )
            return
        for key, value in data.items():
            section = str(key)
            if section not in _SECTIONS:
                problems.append(
                    document.problem(
                        (section,),
                        f"unknown section {section!r}{suggest(section, list(_SECTIONS))}"
                        f" (sections: {_LIST})",
                        key=True,
                    )
                )
            elif section in ("watch", "sinks"):
                self._add_named(section, value, document, problems)
            elif section in _SINGLE:
                entry = _validate(section, value, document, (section,), problems)
                if entry is not None:
                    self.single[section] = _Item(entry, document, (section,))
            else:
                self._add_list(section, value, document, problems)

    def _add_named(
        self, section: str, value: Any, document: YamlDocument, problems: list[Problem]
    ) -> None:
        if not isinstance(value, dict):
            self.complete = False
            problems.append(
                document.problem((section,), f"expected a mapping of names to {section} entries")
            )
            return
        target, known = (
            (self.watch, self.known_topics)
            if section == "watch"
            else (self.sinks, self.known_sinks)
        )
        for raw_name, body in value.items():
            name = str(raw_name)
            known.add(name)
            loc: Loc = (section, name)
            try:
                _NAME.validate_python(raw_name)
            except ValidationError as exc:
                problems.extend(validation_problems(exc, document, (*loc, "[key]"), Name))
                continue
            entry = _validate(section, body, document, loc, problems)
            if entry is not None:
                target[name] = _Item(entry, document, loc)

    def _add_list(
        self, section: str, value: Any, document: YamlDocument, problems: list[Problem]
    ) -> None:
        if not isinstance(value, list):
            self.complete = False
            problems.append(document.problem((section,), f"expected a list of {section}"))
            return
        items: list[_Item] = []
        first_line: dict[str, int] = {}
        for index, body in enumerate(value):
            loc: Loc = (section, index)
            raw_name = body.get("name") if isinstance(body, dict) else None
            if section == "rules" and isinstance(raw_name, str):
                self.known_rules.add(raw_name)
                if raw_name in first_line:
                    problems.append(
                        document.problem(
                            (*loc, "name"),
                            f"rule name {raw_name!r} is already used at line "
                            f"{first_line[raw_name]}",
                        )
                    )
                    continue
                first_line[raw_name] = document.locate((*loc, "name"))[0]
            entry = _validate(section, body, document, loc, problems)
            if entry is not None:
                items.append(_Item(entry, document, loc))
        if section == "rules":
            for item in items:
                self.rules[item.value.name] = item
        elif section == "routes":
            self.routes = items
        elif section == "inhibit_rules":
            self.inhibit_rules = items
        else:
            self.silences = items

    def check_references(self, problems: list[Problem]) -> None:
        topics = self.known_topics | {GLOBAL_TOPIC}
        for item in self.rules.values():
            rule: RuleBase = item.value
            for index, topic in enumerate(rule.topics or ()):
                if topic not in topics:
                    problems.append(_unknown(item, ("topics", index), "watch topic", topic, topics))
            if isinstance(rule, FlatlineRule) and GLOBAL_TOPIC in (rule.topics or ()):
                index = (rule.topics or []).index(GLOBAL_TOPIC)
                problems.append(
                    item.document.problem(
                        (*item.loc, "topics", index),
                        "a flatline watches watch topics; 'global' is not one",
                    )
                )
            if isinstance(rule, FrequencyRule | SpikeRule) and rule.of is not None:
                if rule.of == rule.name:
                    problems.append(
                        item.document.problem((*item.loc, "of"), "a rule cannot count itself")
                    )
                elif rule.of not in self.known_rules:
                    problems.append(_unknown(item, ("of",), "rule", rule.of, self.known_rules))
        for item in self.routes or ():
            route: Route = item.value
            for index, sink in enumerate(route.sinks):
                if sink not in self.known_sinks:
                    problems.append(
                        _unknown(item, ("sinks", index), "sink", sink, self.known_sinks)
                    )
            problems.extend(self._match_problems(item, route.match))
        for item in self.silences or ():
            problems.extend(self._match_problems(item, item.value.match))
        for item in self.inhibit_rules or ():
            for part in ("source", "target"):
                problems.extend(self._match_problems(item, getattr(item.value, part), part))

    def _match_problems(
        self, item: _Item, match: RouteMatch, at: str = "match"
    ) -> Iterator[Problem]:
        checks = (
            ("rule", match.rule, self.known_rules),
            ("topic", match.topic, self.known_topics | {GLOBAL_TOPIC}),
        )
        for key, value, known in checks:
            names = [value] if isinstance(value, str) else list(value or ())
            for index, name in enumerate(names):
                if name not in known:
                    where: Loc = (at, key) if isinstance(value, str) else (at, key, index)
                    label = "rule" if key == "rule" else "watch topic"
                    yield _unknown(item, where, label, name, known)

    def build(self) -> Config:
        fields: dict[str, Any] = {
            "watch": {name: item.value for name, item in self.watch.items()},
            "rules": [item.value for item in self.rules.values()],
            "sinks": {name: item.value for name, item in self.sinks.items()},
            "routes": [item.value for item in self.routes or ()],
            "silences": [item.value for item in self.silences or ()],
            "inhibit_rules": [item.value for item in self.inhibit_rules or ()],
        }
        fields.update({section: item.value for section, item in self.single.items()})
        return Config(**fields)


_LIST = ", ".join(_SECTIONS)


def _unknown(item: _Item, where: Loc, label: str, name: str, known: set[str]) -> Problem:
    return item.document.problem(
        item.loc + where, f"unknown {label} {name!r}{suggest(name, sorted(known))}"
    )


def _validate(
    section: str, value: Any, document: YamlDocument, loc: Loc, problems: list[Problem]
) -> Any:
    try:
        return _ADAPTERS[section].validate_python(value)
    except ValidationError as exc:
        problems.extend(validation_problems(exc, document, loc, _SECTIONS[section]))
        return None


# --- YAML nodes ----------------------------------------------------------------------------


def _walk(root: yaml.Node | None, loc: Loc, *, key: bool) -> tuple[yaml.Node | None, Loc]:
    """The node at ``loc`` (or its key node) and the parts of ``loc`` that exist."""
    node = root
    used: list[str | int] = []
    for position, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == part:
                    used.append(part)
                    rest = loc[position + 1 :]
                    if rest[:1] == ("[key]",) or (key and not rest):
                        return key_node, tuple(used)
                    node = value_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                used.append(part)
                node = node.value[part]
        elif isinstance(node, yaml.ScalarNode):
            break
    return node, tuple(used)


def _duplicate_keys(name: str, root: yaml.Node) -> Iterator[Problem]:
    """Every key written twice in one mapping. Each node is checked once, where it is first
    reached: an alias shares its node, so a value used a million times costs one check."""
    checked: set[int] = set()
    pending: list[tuple[yaml.Node, Loc]] = [(root, ())]
    while pending:
        node, loc = pending.pop()
        if id(node) in checked:
            continue
        checked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                    pending.append((value_node, loc))
                    continue
                key = str(key_node.value)
                mark = key_node.start_mark
                if key in seen:
                    yield Problem(
                        name,
                        mark.line + 1,
                        mark.column + 1,
                        format_loc((*loc, key)),
                        f"duplicate key {key!r} (first at line {seen[key]})",
                    )
                else:
                    seen[key] = mark.line + 1
                pending.append((value_node, (*loc, key)))
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((child, (*loc, index)) for index, child in enumerate(node.value))


# --- messages ------------------------------------------------------------------------------


def _error_loc(error: ErrorDetails) -> Loc:
    return tuple(error["loc"])


def _message(error: ErrorDetails, annotation: Any, loc: Loc) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "extra_forbidden":
        unknown = str(loc[-1]) if loc else "?"
        names = _field_names(annotation, loc[:-1])
        hint = suggest(unknown, names)
        return f"unknown key {unknown!r}" + (hint or f" (expected one of: {', '.join(names)})")
    if kind == "missing":
        return f"missing required key {loc[-1]!r}" if loc else "missing"
    if kind == "union_tag_invalid":
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = str(ctx.get("tag", ""))
        return f"unknown type {tag!r}{suggest(tag, tags)} (one of: {', '.join(tags)})"
    if kind == "union_tag_not_found":
        tags = _tags(annotation, loc)
        return "missing key 'type'" + (f" (one of: {', '.join(tags)})" if tags else "")
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = message[:1].lower() + message[1:]
    value = error.get("input")
    if kind == "literal_error" and isinstance(value, str):
        message += suggest(value, re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
    elif kind.endswith(("_type", "_parsing")) and isinstance(value, str | int | float | bool):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        message += f" (got {shown})"
    return message


def _members(annotation: Any) -> list[Any]:
    """The alternatives inside Annotated/Union/Optional wrappers."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _step(annotation: Any, part: str | int) -> list[Any]:
    found: list[Any] = []
    for member in _members(annotation):
        origin = typing.get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
            for field_name, info in member.model_fields.items():
                if part in (field_name, info.alias):
                    found.append(info.annotation)
            if part in _model_tags(member):
                found.append(member)
        elif origin is list and isinstance(part, int):
            found.append(typing.get_args(member)[0])
        elif origin is dict and isinstance(part, str):
            found.append(typing.get_args(member)[0 if part == "[key]" else 1])
    return found


def _types_at(annotation: Any, loc: Loc) -> list[Any]:
    current = [annotation]
    for part in loc:
        following = [t for ann in current for t in _step(ann, part)]
        current = following or current
    return current


def _field_names(annotation: Any, loc: Loc) -> list[str]:
    names: list[str] = []
    for member in (m for t in _types_at(annotation, loc) for m in _members(t)):
        if isinstance(member, type) and issubclass(member, BaseModel):
            names += [info.alias or n for n, info in member.model_fields.items()]
    return list(dict.fromkeys(names))


def _tags(annotation: Any, loc: Loc) -> list[str]:
    tags: list[str] = []
    for member in (m for t in _types_at(annotation, loc) for m in _members(t)):
        if isinstance(member, type) and issubclass(member, BaseModel):
            tags += _model_tags(member)
    return tags


def _model_tags(model: type[BaseModel]) -> list[str]:
    info = model.model_fields.get("type")
    if info is None or typing.get_origin(info.annotation) is not typing.Literal:
        return []
    return [str(v) for v in typing.get_args(info.annotation)]
