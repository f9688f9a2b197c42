"""One compiled pass for many phrases: whole words, linear time, cost flat in their number.

Every phrase list in Flashpoint (watch topics, keyword rules, the escalation lexicon, the
actor gazetteer, commitment verbs) is matched through :class:`PhraseMatcher`, so there is
one way to find phrases and it is fast whatever their number.

Phrases are matched as *literals* on a folded copy of the text (lower case unless the
matcher is case-sensitive; every run of whitespace and hyphens one space), and whole-word
edges are checked only on the hits. Literal sets compile in milliseconds per thousand
phrases and scan in one pass, where the same phrases as regexes with word boundaries and
start-of-match tracking took Hyperscan minutes to compile at 10,000 phrases. Two backends
give the same hits: Hyperscan's literal compiler, and pyahocorasick (a pure wheel) where
Hyperscan does not import. Regexes (RE2 syntax) go to Hyperscan, or to RE2 per pattern
without it; both report each pattern's leftmost-longest, non-overlapping matches.
"""

from __future__ import annotations

import os
import re
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import re2

from alerts.errors import ConfigError

hyperscan: Any
try:
    import hyperscan
except ImportError:  # where no wheel fits; Aho-Corasick and RE2 then do the matching
    hyperscan = None

HYPERSCAN = "hyperscan"
AHO_CORASICK = "aho-corasick"
BACKENDS = (HYPERSCAN, AHO_CORASICK)
BACKEND_ENV = "FLASHPOINT_MATCHER"


@dataclass(frozen=True, slots=True)
class Hit:
    """Pattern ``index`` matched ``text[start:end]``."""

    index: int
    start: int
    end: int


_chosen: list[str] = []


def default_backend() -> str:
    """Hyperscan when it imports (or as ``$FLASHPOINT_MATCHER`` says), else Aho-Corasick."""
    if _chosen:
        return _chosen[-1]
    wanted = os.environ.get(BACKEND_ENV, "")
    if wanted:
        if wanted not in BACKENDS:
            raise ConfigError([f"{BACKEND_ENV}={wanted!r}: expected one of {', '.join(BACKENDS)}"])
        return wanted
    return HYPERSCAN if hyperscan is not None else AHO_CORASICK


@contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Build matchers with backend ``name`` inside the block (tests compare the two)."""
    if name not in BACKENDS:
        raise ValueError(f"unknown matcher backend {name!r}")
    if name == HYPERSCAN and hyperscan is None:
        raise RuntimeError("hyperscan does not import here")
    _chosen.append(name)
    try:
        yield
    finally:
        _chosen.pop()


class PhraseMatcher:
    """Finds whole-word occurrences of many phrases (or RE2-style regexes) in one pass.

    Phrases are literal; spaces and hyphens in a phrase match any run of whitespace or
    hyphens, so ``"spy balloon"`` also finds ``"spy-balloon"`` and a line-wrapped
    ``"spy\\nballoon"``.
    """

    def __init__(
        self,
        phrases: Sequence[str],
        *,
        case_sensitive: bool = False,
        regexes: Sequence[str] = (),
        backend: str | None = None,
    ) -> None:
        self.patterns: tuple[str, ...] = tuple(phrases) + tuple(regexes)
        self.backend = backend or default_backend()
        self.case_sensitive = case_sensitive
        self._literals: _Literals | None = None
        self._regexes: _Regexes | None = None
        if phrases:
            self._literals = _Literals(phrases, case_sensitive, self.backend)
        if regexes:
            offset = len(phrases)
            if self.backend == HYPERSCAN:
                self._regexes = _HyperscanRegexes(regexes, case_sensitive, offset)
            else:
                self._regexes = _Re2Regexes(regexes, case_sensitive, offset)

    def find(self, text: str) -> list[Hit]:
        """All hits, leftmost first (longest first at one start); overlapping hits of
        different phrases are all kept."""
        if not text:
            return []
        hits = self._literals.find(text) if self._literals is not None else []
        if self._regexes is not None:
            hits += self._regexes.find(text)
            hits.sort(key=_order)
        return hits


def _order(hit: Hit) -> tuple[int, int, int]:
    return hit.start, -hit.end, hit.index


# --- literals ------------------------------------------------------------------------------

_TO_SPACE = {c: " " for c in range(0x3001) if chr(c).isspace() or chr(c) == "-"}
"""Every whitespace character (all lie below U+3001) and the hyphen, as a space."""
_SPACE_RUN = re.compile(r"  +")


class _Folded:
    """A text folded for literal matching, and the way back to the original's offsets.

    Folding lower-cases (unless case-sensitive; only letters whose lower case has the same
    length) and makes whitespace and hyphens one space. It keeps every character but
    collapses runs of separators, which in normalised articles occur only at paragraph
    breaks, so the offset map is a short list of runs.
    """

    __slots__ = ("_removed", "_starts", "text")

    def __init__(self, text: str, case_sensitive: bool) -> None:
        if not case_sensitive:
            lowered = text.lower()
            if len(lowered) != len(text):
                lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
            text = lowered
        spaced = text.translate(_TO_SPACE)
        self._starts: list[int] = []
        """Folded offsets from which ``_removed`` characters lie before, in the original."""
        self._removed: list[int] = []
        if "  " not in spaced:
            self.text = spaced
            return
        pieces: list[str] = []
        position = removed = 0
        for run in _SPACE_RUN.finditer(spaced):
            pieces.append(spaced[position : run.start() + 1])
            self._starts.append(run.start() + 1 - removed)
            removed += run.end() - run.start() - 1
            self._removed.append(removed)
            position = run.end()
        pieces.append(spaced[position:])
        self.text = "".join(pieces)

    def original(self, offset: int) -> int:
        """The original text's offset for an offset into the folded text."""
        index = bisect_right(self._starts, offset)
        return offset + (self._removed[index - 1] if index else 0)


def fold(text: str, case_sensitive: bool) -> str:
    """What phrases and texts are compared as (see :class:`_Folded`)."""
    return _Folded(text, case_sensitive).text


def _is_word(char: str) -> bool:
    """Word characters as Hyperscan's and RE2's ``\\b`` see them: ASCII letters, digits, _."""
    return char.isascii() and (char.isalnum() or char == "_")


class _LiteralScan(Protocol):
    def scan(self, folded: str) -> list[tuple[int, int]]:
        """(literal number, end offset in ``folded``) for every occurrence."""


class _Literals:
    """Phrases as folded literals; each literal knows its phrases and its word edges."""

    def __init__(self, phrases: Sequence[str], case_sensitive: bool, backend: str) -> None:
        self._case_sensitive = case_sensitive
        numbers: dict[str, int] = {}
        self._owners: list[list[int]] = []
        self._lengths: list[int] = []
        self._edges: list[tuple[bool, bool]] = []
        for index, phrase in enumerate(phrases):
            literal = fold(phrase, case_sensitive).strip()
            if not literal:
                raise ConfigError([f"empty phrase {phrase!r}"])
            number = numbers.get(literal)
            if number is None:
                number = numbers[literal] = len(self._owners)
                self._owners.append([])
                self._lengths.append(len(literal))
                self._edges.append((_is_word(literal[0]), _is_word(literal[-1])))
            self._owners[number].append(index)
        literals = list(numbers)
        self._scanner: _LiteralScan = (
            _HyperscanLiterals(literals) if backend == HYPERSCAN else _AhoCorasickLiterals(literals)
        )

    def find(self, text: str) -> list[Hit]:
        folded = _Folded(text, self._case_sensitive)
        raw = self._scanner.scan(folded.text)
        if not raw:
            return []
        data = folded.text
        size = len(data)
        hits: list[Hit] = []
        for number, end in raw:
            start = end - self._lengths[number]
            left, right = self._edges[number]
            if left and start > 0 and _is_word(data[start - 1]):
                continue
            if right and end < size and _is_word(data[end]):
                continue
            first, last = folded.original(start), folded.original(end - 1) + 1
            hits.extend(Hit(index, first, last) for index in self._owners[number])
        hits.sort(key=_order)
        return hits


class _HyperscanLiterals:
    def __init__(self, literals: Sequence[str]) -> None:
        encoded = [literal.encode("utf-8") for literal in literals]
        self._byte_lengths = [len(e) for e in encoded]
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._database.compile(
            expressions=encoded,
            ids=list(range(len(encoded))),
            elements=len(encoded),
            flags=0,
            literal=True,
        )
        self._scratch = _ScratchPerThread(self._database)

    def scan(self, folded: str) -> list[tuple[int, int]]:
        data = folded.encode("utf-8")
        raw: list[tuple[int, int]] = []

        def on_match(number: int, start: int, end: int, flags: int, context: object) -> None:
            raw.append((number, end))

        self._database.scan(data, match_event_handler=on_match, scratch=self._scratch.get())
        if raw and len(data) != len(folded):
            to_char = _Offsets(folded)
            raw = [(n, to_char(end)) for n, end in raw]
        return raw


class _AhoCorasickLiterals:
    def __init__(self, literals: Sequence[str]) -> None:
        import ahocorasick

        self._automaton = ahocorasick.Automaton()
        for number, literal in enumerate(literals):
            self._automaton.add_word(literal, number)
        self._automaton.make_automaton()

    def scan(self, folded: str) -> list[tuple[int, int]]:
        return [(number, last + 1) for last, number in self._automaton.iter(folded)]


# --- regexes -------------------------------------------------------------------------------


class _Regexes(Protocol):
    def find(self, text: str) -> list[Hit]: ...


class _HyperscanRegexes:
    def __init__(self, regexes: Sequence[str], case_sensitive: bool, offset: int) -> None:
        self._offset = offset
        flags = hyperscan.HS_FLAG_SOM_LEFTMOST | hyperscan.HS_FLAG_UTF8
        if not case_sensitive:
            flags |= hyperscan.HS_FLAG_CASELESS
        expressions = [rf"(?:{r})".encode() for r in regexes]
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            self._database.compile(
                expressions=expressions,
                ids=list(range(len(expressions))),
                elements=len(expressions),
                flags=[flags] * len(expressions),
            )
        except hyperscan.error as exc:
            raise ConfigError([f"cannot compile patterns: {exc}"]) from None
        self._scratch = _ScratchPerThread(self._database)

    def find(self, text: str) -> list[Hit]:
        data = text.encode("utf-8")
        longest: dict[tuple[int, int], int] = {}

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            key = (index, start)
            if longest.get(key, -1) < end:
                longest[key] = end

        self._database.scan(data, match_event_handler=on_match, scratch=self._scratch.get())
        if not longest:
            return []
        to_char = _byte_to_char_offsets(text, data)
        hits: list[Hit] = []
        reach: dict[int, int] = {}
        for (index, start), end in sorted(longest.items()):
            if start < reach.get(index, 0):
                continue  # inside this pattern's previous match: not a match of its own
            reach[index] = end
            hits.append(Hit(index + self._offset, to_char(start), to_char(end)))
        return hits


class _Re2Regexes:
    def __init__(self, regexes: Sequence[str], case_sensitive: bool, offset: int) -> None:
        options = re2.Options()
        options.longest_match = True
        options.case_sensitive = case_sensitive
        options.log_errors = False
        self._offset = offset
        try:
            self._compiled: list[Any] = [re2.compile(r, options=options) for r in regexes]
        except re2.error as exc:
            raise ConfigError([f"cannot compile patterns: {exc}"]) from None
        for regex, pattern in zip(regexes, self._compiled, strict=True):
            if pattern.fullmatch(""):  # Hyperscan's words for it, which config checks read
                raise ConfigError([f"cannot compile patterns: {regex!r} matches empty buffer"])

    def find(self, text: str) -> list[Hit]:
        return [
            Hit(index + self._offset, found.start(), found.end())
            for index, pattern in enumerate(self._compiled)
            for found in pattern.finditer(text)
            if found.end() > found.start()
        ]


# --- shared --------------------------------------------------------------------------------


class _ScratchPerThread:
    """Hyperscan scratch space is per scan in flight: one per thread makes sharing safe."""

    def __init__(self, database: Any) -> None:
        self._database = database
        self._local = threading.local()

    def get(self) -> Any:
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._database)
        return scratch


def _byte_to_char_offsets(text: str, data: bytes) -> Callable[[int], int]:
    if len(data) == len(text):
        return _identity
    return _Offsets(text)


def _identity(offset: int) -> int:
    return offset


class _Offsets:
    """Maps UTF-8 byte offsets back to str offsets, paying only for the non-ASCII chars."""

    def __init__(self, text: str) -> None:
        self._byte_ends: list[int] = []
        self._extra: list[int] = []
        extra = 0
        for found in _NON_ASCII.finditer(text):
            extra += len(found.group().encode("utf-8")) - 1
            self._byte_ends.append(found.end() + extra)
            self._extra.append(extra)

    def __call__(self, offset: int) -> int:
        index = bisect_right(self._byte_ends, offset)
        return offset - (self._extra[index - 1] if index else 0)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
