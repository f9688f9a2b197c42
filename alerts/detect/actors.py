"""Who is acting: states, capitals, governments, militaries, leaders, organisations, groups.

News copy rarely names a state plainly: it writes "Tokyo", "Beijing's", "the Kremlin",
"Japan's foreign ministry" or "Chinese troops". :func:`find_actors` folds every such surface
onto one canonical actor, so detectors can ask "which state acted here?" with one call.
The names live in ``data/actors.yaml``; they are compiled once into two Hyperscan passes
(proper names as written, unnamed offices in any case).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import pycountry
import yaml

from alerts.detect.matcher import PhraseMatcher
from alerts.detect.sentences import split_sentences

KINDS = ("state", "capital", "government", "military", "leader", "organisation", "armed_group")
_SECTIONS = {"states": "state", "organisations": "organisation", "armed_groups": "armed_group"}
_EXTRA_KINDS = {"capital", "government", "military", "leader"}
_NOT_ACTOR = "-"
_STATE_LIKE = frozenset({"state", "capital"})


@dataclass(frozen=True, slots=True)
class ActorMention:
    """One mention of an actor: its canonical ``name`` and the ``surface`` as written."""

    name: str
    surface: str
    kind: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str
    kind: str


class Gazetteer:
    """The compiled actor lists: named surfaces (case as written) and unnamed offices."""

    def __init__(self, data: dict[str, Any]) -> None:
        named: dict[str, _Entry] = {}
        for section, kind in _SECTIONS.items():
            for name, extra in (data.get(section) or {}).items():
                extra = extra or {}
                _add(named, name, _Entry(name, kind))
                for surface in extra.get("also", []):
                    _add(named, surface, _Entry(name, kind))
                for other in _EXTRA_KINDS:
                    for surface in extra.get(other, []):
                        _add(named, surface, _Entry(name, other))
        for phrase in data.get("not_actors", []):
            named[phrase] = _Entry("", _NOT_ACTOR)
        generic: dict[str, str] = {}
        for kind, phrases in (data.get("generic") or {}).items():
            for phrase in phrases:
                generic[phrase.lower()] = kind
        for portfolio in data.get("portfolios", []):
            for office, kind in (data.get("offices") or {}).items():
                generic.setdefault(f"{portfolio} {office}".lower(), kind)
        self.states = frozenset(data.get("states") or {})
        self.unnamed_heads = frozenset(phrase.split()[-1] for phrase in generic)
        self._named = list(named.items())
        self._generic = list(generic.items())
        self._named_matcher = PhraseMatcher([s for s, _ in self._named], case_sensitive=True)
        self._generic_matcher = PhraseMatcher([s for s, _ in self._generic])

    def find(self, text: str) -> list[ActorMention]:
        """Mentions in ``text``: leftmost first, non-overlapping, the longest surface winning."""
        candidates: list[tuple[int, int, int, str, str]] = []
        for hit in self._named_matcher.find(text):
            entry = self._named[hit.index][1]
            candidates.append((hit.start, -hit.end, 0, entry.name, entry.kind))
        for hit in self._generic_matcher.find(text):
            kind = self._generic[hit.index][1]
            candidates.append((hit.start, -hit.end, 1, "", kind))
        if not candidates:
            return []
        candidates.sort()
        chosen: list[ActorMention] = []
        covered = 0
        for start, neg_end, _, name, kind in candidates:
            if start < covered:
                continue
            covered = -neg_end
            if kind != _NOT_ACTOR:
                chosen.append(ActorMention(name, text[start:covered], kind, start, covered))
        merged = _merge_adjacent(text, [_with_possessive(text, m) for m in chosen])
        return self._resolve_unnamed(text, [_with_article(text, m) for m in merged])

    def _resolve_unnamed(self, text: str, mentions: list[ActorMention]) -> list[ActorMention]:
        """Give each unnamed office the nearest state in its sentence (or the one before)."""
        if all(m.name for m in mentions):
            return mentions
        starts = [s.start for s in split_sentences(text)] or [0]
        anchors = [(m.start, _sentence_index(starts, m.start), m.name) for m in mentions]
        anchors = [a for a in anchors if a[2] in self.states]
        resolved: list[ActorMention] = []
        for mention in mentions:
            if mention.name:
                resolved.append(mention)
                continue
            sentence = _sentence_index(starts, mention.start)
            name = _nearest_state(text, anchors, mention, sentence)
            if name:
                resolved.append(replace(mention, name=name))
        return resolved


def _add(named: dict[str, _Entry], surface: str, entry: _Entry) -> None:
    variants = {surface, surface.replace("'", "\u2019")}
    if entry.kind in _STATE_LIKE and len(surface) >= 4:
        variants.add(surface.upper())
    for variant in variants:
        named.setdefault(variant, entry)


_POSSESSIVE = re.compile(r"['\u2019]s\b|(?<=s)['\u2019](?!\w)")
_ARTICLE = re.compile(r"\b[Tt]he\s+$")
_GAP = re.compile(r"\s+")


def _with_possessive(text: str, mention: ActorMention) -> ActorMention:
    found = _POSSESSIVE.match(text, mention.end)
    if found is None:
        return mention
    return replace(mention, surface=text[mention.start : found.end()], end=found.end())


def _with_article(text: str, mention: ActorMention) -> ActorMention:
    found = _ARTICLE.search(text, max(0, mention.start - 5), mention.start)
    if found is None:
        return mention
    return replace(mention, surface=text[found.start() : mention.end], start=found.start())


def _merge_adjacent(text: str, mentions: list[ActorMention]) -> list[ActorMention]:
    """Fold "Japan's" + "foreign ministry" and "President" + "Xi Jinping" into one mention."""
    merged: list[ActorMention] = []
    for mention in mentions:
        if merged:
            left = merged[-1]
            gap = text[left.end : mention.start]
            joined = _join(left, mention) if gap and _GAP.fullmatch(gap) else None
            if joined is not None:
                merged[-1] = ActorMention(
                    joined[0], text[left.start : mention.end], joined[1], left.start, mention.end
                )
                continue
        merged.append(mention)
    return merged


def _join(left: ActorMention, right: ActorMention) -> tuple[str, str] | None:
    if right.kind in _STATE_LIKE or right.kind == "organisation":
        return None
    if left.kind in _STATE_LIKE or left.kind == "organisation":
        if not right.name or right.name == left.name:
            return left.name, right.kind
        return None
    same_leader = left.kind == right.kind == "leader" and left.name in ("", right.name)
    return (right.name, "leader") if same_leader and right.name else None


def _sentence_index(starts: list[int], offset: int) -> int:
    return bisect_right(starts, offset) - 1


def _nearest_state(
    text: str, anchors: list[tuple[int, int, str]], mention: ActorMention, sentence: int
) -> str:
    """The state an unnamed office belongs to.

    Preference: the nearest state before it in the sentence; one right after it ("the
    defence ministry of Japan"); the first state of the sentence before, usually its
    subject; last, a later state in the sentence, which is often only an object ("the army
    will resume attacks on Palestinian targets").
    """
    same = [(start, name) for start, s, name in anchors if s == sentence]
    before = [name for start, name in same if start < mention.start]
    if before:
        return before[-1]
    after = [(start, name) for start, name in same if start >= mention.end]
    if after and _OF_LINK.fullmatch(text, mention.end, after[0][0]):
        return after[0][1]
    previous = [name for start, s, name in anchors if s == sentence - 1]
    if previous:
        return previous[0]
    return after[0][1] if after else ""


_OF_LINK = re.compile(r"\s+(?:of|in|for)\s+")


@cache
def gazetteer() -> Gazetteer:
    """The shipped gazetteer, loaded and compiled once per process: ISO 3166 countries
    (``pycountry``) with the hand list's demonyms, capitals, metonyms, forces and leaders."""
    source = resources.files("alerts.detect").joinpath("data/actors.yaml")
    return Gazetteer(with_iso_countries(yaml.safe_load(source.read_text(encoding="utf-8"))))


def with_iso_countries(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with every ISO 3166-1 country: its short, common and official names become
    surfaces of the hand list's state they name (matched on the canonical name or a surface
    in ``also``); a country the hand list lacks (most are territories: Greenland, Guam) is
    added under its common name. The hand list keeps what no dataset has."""
    states: dict[str, Any] = {name: dict(extra or {}) for name, extra in data["states"].items()}
    by_surface = {name: name for name in states}
    for name, extra in states.items():
        for surface in extra.get("also", []):
            by_surface.setdefault(surface, name)
    for country in pycountry.countries:
        names = [n for n in _iso_names(country) if n not in NOT_COUNTRY_NAMES]
        if not names:
            continue
        longest_first = sorted(names, key=len, reverse=True)  # "Republic of the Congo" first
        state = next((by_surface[n] for n in longest_first if n in by_surface), None)
        if state is None:
            state = names[0]
            states[state] = {}
            by_surface[state] = state
        also = states[state].setdefault("also", [])
        also.extend(n for n in names if n != state and n not in also and n not in by_surface)
        for n in names:
            by_surface.setdefault(n, state)
    return {**data, "states": states}


def _iso_names(country: Any) -> list[str]:
    """A country's names, the everyday one first: "Korea, Republic of" is "South Korea"
    (its common name) and "Republic of Korea"; "Micronesia, Federated States of" is also
    plain "Micronesia"; "(Malvinas)"-style asides are dropped."""
    found: list[str] = []
    heads: list[str] = []
    for attribute in ("common_name", "name", "official_name"):
        value = getattr(country, attribute, None)
        if not value:
            continue
        value = _ASIDE.sub("", value).strip()
        if ", " in value:
            head, qualifier = value.split(", ", 1)
            heads.append(head)
            value = f"{qualifier} {head}" if _INVERTED.search(qualifier) else head
        value = re.sub(r"^(?:the|The)\s+", "", value)
        if value not in found:
            found.append(value)
    return found + [h for h in heads if h not in found]


_ASIDE = re.compile(r"\s*\([^)]*\)")
_INVERTED = re.compile(r"\bof(?:\s+the)?$")
NOT_COUNTRY_NAMES = frozenset({"Jersey", "Guernsey", "Antarctica"})
"""ISO names that read as something else in news ("New Jersey", a Guernsey cow)."""


def unnamed_heads() -> frozenset[str]:
    """Last words of the unnamed offices ("ministry", "troops"): what can end an actor's name
    besides a capitalised word, for callers that pre-filter before calling find_actors."""
    return gazetteer().unnamed_heads


# "TOKYO (Reuters) -", "ABU DHABI, March 3 (Harbour Wire) -": where the story was filed.
_DATELINE = re.compile(
    r"^[ \t]*[A-Z][A-Z'.\- ]{1,40}[A-Z.](?:,[^\n()\-\u2013\u2014]{0,30})?[ \t]*"
    r"(?:\([^)\n]{1,40}\))?[ \t]*[-\u2013\u2014]",
    re.M,
)


def find_actors(text: str) -> list[ActorMention]:
    """Every actor mention in ``text``, leftmost first, non-overlapping, longest wins.

    A dateline names where a story was filed, not who acts in it, so it is skipped.
    """
    mentions = gazetteer().find(text)
    if not mentions:
        return mentions
    datelines = [(m.start(), m.end()) for m in _DATELINE.finditer(text)]
    if not datelines:
        return mentions
    return [m for m in mentions if not any(a <= m.start < b for a, b in datelines)]
