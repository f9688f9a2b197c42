"""One compiled pass for many phrases: Hyperscan, whole words, linear time.

Every phrase list in Flashpoint (watch topics, keyword rules, the escalation lexicon, the
actor gazetteer) is matched through :class:`PhraseMatcher`, so there is one way to find
phrases and it is fast: Hyperscan scans once for all patterns, whatever their number.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import hyperscan

from alerts.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Hit:
    """Pattern ``index`` matched ``text[start:end]``."""

    index: int
    start: int
    end: int


class PhraseMatcher:
    """Finds whole-word occurrences of many phrases (or RE2-style regexes) in one pass.

    Phrases are literal; spaces in a phrase match any run of whitespace or a hyphen, so
    ``"spy balloon"`` also finds ``"spy-balloon"`` and a line-wrapped ``"spy\\nballoon"``.
    """

    def __init__(
        self,
        phrases: Sequence[str],
        *,
        case_sensitive: bool = False,
        regexes: Sequence[str] = (),
    ) -> None:
        self.patterns: tuple[str, ...] = tuple(phrases) + tuple(regexes)
        self._database: hyperscan.Database | None = None
        self._scratches = threading.local()
        if not self.patterns:
            return
        expressions = [_phrase_pattern(p) for p in phrases] + [
            rf"(?:{r})".encode() for r in regexes
        ]
        flags = hyperscan.HS_FLAG_SOM_LEFTMOST | hyperscan.HS_FLAG_UTF8
        if not case_sensitive:
            flags |= hyperscan.HS_FLAG_CASELESS
        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            database.compile(
                expressions=expressions,
                ids=list(range(len(expressions))),
                elements=len(expressions),
                flags=[flags] * len(expressions),
            )
        except hyperscan.error as exc:
            raise ConfigError([f"cannot compile patterns: {exc}"]) from None
        self._database = database

    def find(self, text: str) -> list[Hit]:
        """All hits, leftmost first; overlapping hits of different phrases are all kept."""
        if self._database is None or not text:
            return []
        data = text.encode("utf-8")
        raw: list[tuple[int, int, int]] = []

        def on_match(index: int, start: int, end: int, flags: int, context: object) -> None:
            raw.append((index, start, end))

        self._database.scan(data, match_event_handler=on_match, scratch=self._scratch())
        if not raw:
            return []
        to_char = _byte_to_char_offsets(text, data)
        hits = {Hit(i, to_char(s), to_char(e)) for i, s, e in raw}
        return sorted(hits, key=lambda h: (h.start, -h.end, h.index))

    def _scratch(self) -> hyperscan.Scratch:
        """Hyperscan scratch space is per scan in flight: one per thread makes sharing safe."""
        local = self._scratches
        scratch: hyperscan.Scratch | None = getattr(local, "scratch", None)
        if scratch is None:
            scratch = hyperscan.Scratch(self._database)
            local.scratch = scratch
        return scratch


def _phrase_pattern(phrase: str) -> bytes:
    words = phrase.split()
    if not words:
        raise ConfigError([f"empty phrase {phrase!r}"])
    body = r"[\s\-]+".join(re.escape(word) for word in words)
    left = r"\b" if re.match(r"\w", words[0]) else ""
    right = r"\b" if re.search(r"\w$", words[-1]) else ""
    return f"{left}{body}{right}".encode()


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
