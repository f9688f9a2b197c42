"""Sentence splitting tuned for wire copy: abbreviations, initials and quotes stay whole."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "gen",
        "lt",
        "col",
        "maj",
        "capt",
        "sgt",
        "adm",
        "cmdr",
        "gov",
        "sen",
        "rep",
        "st",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "corp",
        "u.s",
        "u.n",
        "u.k",
        "e.u",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "no",
        "vs",
        "etc",
        "approx",
        "est",
    ]
)
_BOUNDARY = re.compile(r"""(?<=[.!?])["')\]]*\s+(?=["'(\[]?[A-Z0-9])|\n\s*\n""")


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence and its character span in the text it came from."""

    text: str
    start: int
    end: int


def split_sentences(text: str) -> list[Sentence]:
    """Split ``text`` into sentences, keeping character offsets into ``text``."""
    sentences: list[Sentence] = []
    start = 0
    for boundary in _BOUNDARY.finditer(text):
        candidate = text[start : boundary.start()]
        if boundary.group().count("\n") < 2 and _ends_with_abbreviation(candidate):
            continue
        _append(sentences, text, start, boundary.start())
        start = boundary.end()
    _append(sentences, text, start, len(text))
    return sentences


def _ends_with_abbreviation(candidate: str) -> bool:
    last = candidate.rstrip("\"')]").rsplit(None, 1)[-1] if candidate.strip() else ""
    word = last.rstrip(".").lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _append(sentences: list[Sentence], text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if stripped:
        offset = start + chunk.index(stripped[0])
        sentences.append(Sentence(stripped, offset, offset + len(stripped)))
