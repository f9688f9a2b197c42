"""One compiled pass for many phrases: whole words, linear time, cost flat in their number.

Every phrase list in Flashpoint (watch topics, keyword rules, the escalation lexicon, the
actor gazetteer, commitment verbs) is matched through :class:`PhraseMatcher`, so there is
one way to find phrases and it is fast whatever their number.

Phrases are matched as *literals* on a folded copy of the text: lower case unless the
matcher is case-sensitive, every run of characters other than letters and digits one
space, a space at each end; a phrase folded the same way and padded with spaces then
matches exactly its whole-word occurrences. Literal sets compile in well under a second
for 10,000 phrases and scan in one pass, where the same phrases as Hyperscan regexes with
word boundaries took minutes to compile. Two backends give the same hits: Hyperscan's
literal compiler, and pyahocorasick (a pure wheel) where Hyperscan does not import.
Regexes (RE2 syntax) go to Hyperscan, or to RE2 per pattern without it; both report each
pattern's leftmost-longest, non-overlapping matches.
"""

from __future__ import annotations

import os
import re
import threading
from bisect import bisect_left, bisect_right
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

    Phrases are literal words; whatever separates them (spaces, hyphens, punctuation, a
    line break) matches whatever separates them in the text, so ``"spy balloon"`` also
    finds ``"spy-balloon"`` and a line-wrapped ``"spy\\nballoon"``, and ``"F-16"`` finds
    ``"F 16"``, but never ``"F-16s"``.
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

_ASCII_TO_SPACE = bytes(c if chr(c).isalnum() or c >= 0x80 else 0x20 for c in range(256))
"""Byte table: ASCII letters and digits stay, every other ASCII byte becomes a space."""
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SPACE_RUN = re.compile(rb"  +")


class _Folded:
    """A text folded for literal matching, and the way back to the original's offsets.

    Folding lower-cases (unless case-sensitive; only letters whose lower case has the same
    length), turns every run of characters other than letters and digits into one space,
    and puts a space at each end, in UTF-8. A phrase folded the same way, with a space at
    each end, then occurs in the folded text exactly where it occurs in the original as
    whole words: the matchers need no word-boundary logic and report no partial-word hits.
    It is done with byte translations (C loops): most of a matcher's cost per article.
    """

    __slots__ = ("_chars", "_removed", "_runs", "_spaced", "_text", "data")

    def __init__(self, text: str, case_sensitive: bool) -> None:
        if not case_sensitive:
            lowered = text.lower()
            if len(lowered) != len(text):
                lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
            text = lowered
        self._text = text
        if text.isascii():
            spaced = text.encode("ascii").translate(_ASCII_TO_SPACE)
        else:
            spaced = text.encode("utf-8").translate(_ASCII_TO_SPACE)
            for char in set(_NON_ASCII.findall(text)):
                if not char.isalnum():  # curly quotes, dashes, non-breaking spaces
                    encoded = char.encode("utf-8")
                    spaced = spaced.replace(encoded, b" " * len(encoded))
        self._spaced = spaced  # byte for byte the original's UTF-8
        data = b" " + spaced + b" "
        while b"  " in data:  # a few passes: runs between words are short
            data = data.replace(b"   ", b" ").replace(b"  ", b" ")
        self.data = data
        self._runs: list[int] | None = None
        """Where (in the folded text) runs of separators were collapsed, and how many bytes
        had gone by then: worked out at the first hit only."""
        self._removed: list[int] = []
        self._chars: Callable[[int], int] | None = None

    def original(self, offset: int) -> int:
        """The original text's (character) offset of the letter or digit at byte ``offset``
        of the folded text."""
        if self._runs is None:
            # Each run of two or more spaces in the padded text lost all but one of them.
            self._runs, self._removed = [], []
            removed = 0
            for run in _SPACE_RUN.finditer(b" " + self._spaced + b" "):
                self._runs.append(run.start() - removed)
                removed += run.end() - run.start() - 1
                self._removed.append(removed)
            self._chars = _byte_to_char_offsets(self._text, self._spaced)
        index = bisect_left(self._runs, offset)
        byte = offset + (self._removed[index - 1] if index else 0) - 1
        assert self._chars is not None
        return self._chars(byte)


_cache = threading.local()


def folded(text: str, case_sensitive: bool) -> _Folded:
    """``text`` folded, reusing the last fold of the same text: the engine's matchers all
    read one article, and folding is most of what a matcher costs per article."""
    slot = "exact" if case_sensitive else "lower"
    last: tuple[str, _Folded] | None = getattr(_cache, slot, None)
    if last is not None and last[0] == text:
        return last[1]
    result = _Folded(text, case_sensitive)
    setattr(_cache, slot, (text, result))
    return result


def fold(text: str, case_sensitive: bool) -> bytes:
    """What phrases and texts are compared as (see :class:`_Folded`), without the padding."""
    return _Folded(text, case_sensitive).data.strip(b" ")


class _LiteralScan(Protocol):
    def scan(self, data: bytes) -> list[tuple[int, int]]:
        """(literal number, end offset in ``data``) for every occurrence."""


class _Literals:
    """Phrases as folded literals (`` spy balloon ``); each literal knows its phrases."""

    def __init__(self, phrases: Sequence[str], case_sensitive: bool, backend: str) -> None:
        self._case_sensitive = case_sensitive
        numbers: dict[bytes, int] = {}
        self._owners: list[list[tuple[int, str, str]]] = []
        self._lengths: list[int] = []
        for index, phrase in enumerate(phrases):
            words = fold(phrase, case_sensitive)
            if not words:
                raise ConfigError([f"phrase {phrase!r} has no letters or digits to match"])
            literal = b" " + words + b" "
            number = numbers.get(literal)
            if number is None:
                number = numbers[literal] = len(self._owners)
                self._owners.append([])
                self._lengths.append(len(literal))
            self._owners[number].append((index, *_edges(phrase.strip())))
        literals = list(numbers)
        self._scanner: _LiteralScan = (
            _HyperscanLiterals(literals) if backend == HYPERSCAN else _AhoCorasickLiterals(literals)
        )

    def find(self, text: str) -> list[Hit]:
        fold = folded(text, self._case_sensitive)
        raw = self._scanner.scan(fold.data)
        if not raw:
            return []
        hits: list[Hit] = []
        for number, end in raw:
            first = fold.original(end - self._lengths[number] + 1)
            last = fold.original(end - 2) + 1
            for index, lead, tail in self._owners[number]:
                start, stop = first, last
                # A phrase's own leading or trailing punctuation ("U.S.") is part of the hit
                # where the text has it too.
                if lead and text[max(0, first - len(lead)) : first].lower() == lead:
                    start -= len(lead)
                if tail and text[last : last + len(tail)].lower() == tail:
                    stop += len(tail)
                hits.append(Hit(index, start, stop))
        hits.sort(key=_order)
        return hits


def _edges(phrase: str) -> tuple[str, str]:
    """The characters before a phrase's first letter or digit, and after its last."""
    inside = [n for n, char in enumerate(phrase) if char.isalnum()]
    if not inside:
        return "", ""
    return phrase[: inside[0]].lower(), phrase[inside[-1] + 1 :].lower()


class _HyperscanLiterals:
    def __init__(self, literals: Sequence[bytes]) -> None:
        self._database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._database.compile(
            expressions=list(literals),
            ids=list(range(len(literals))),
            elements=len(literals),
            flags=0,
            literal=True,
        )
        self._scratch = _ScratchPerThread(self._database)

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        raw: list[tuple[int, int]] = []

        def on_match(number: int, start: int, end: int, flags: int, context: object) -> None:
            raw.append((number, end))

        self._database.scan(data, match_event_handler=on_match, scratch=self._scratch.get())
        return raw


class _AhoCorasickLiterals:
    """Bytes as Latin-1 characters, one for one, so offsets are the same as Hyperscan's."""

    def __init__(self, literals: Sequence[bytes]) -> None:
        import ahocorasick

        self._automaton = ahocorasick.Automaton()
        for number, literal in enumerate(literals):
            self._automaton.add_word(literal.decode("latin-1"), number)
        self._automaton.make_automaton()

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        text = data.decode("latin-1")
        return [(number, last + 1) for last, number in self._automaton.iter(text)]


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
