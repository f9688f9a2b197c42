"""Hashed word and character n-grams of a passage, in a few vectorised numpy steps.

The learned decision (:mod:`alerts.detect.classifier`) reads a passage as TF-IDF weighted
word 1-2-grams and character 2-5-grams. Hashing them into a fixed number of buckets keeps
the shipped model a plain array (no vocabulary to store) and makes featurising cost a few
numpy calls per passage instead of a Python loop per n-gram. Training (``make train``) and
the running monitor call the same :func:`ngram_buckets`, so both see identical features.

Hashes are polynomial over the code points of a normalised text (lower case, every run of
non-alphanumeric characters folded to one space), taken from one prefix-sum array with
64-bit wrap-around, so they are stable across processes and platforms.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import numpy.typing as npt

BUCKET_BITS = 20
BUCKETS = 1 << BUCKET_BITS
CHAR_SIZES = (2, 3, 4, 5)
WORD_SIZES = (1, 2)
FAMILIES = ("word", "char")

_BASE = np.uint64(1_000_003)
_WORD_SALT = np.uint64(0x9E3779B97F4A7C15)
_BIGRAM_MIX = np.uint64(0xBF58476D1CE4E5B9)
_SIZE_SALT = np.uint64(0x94D049BB133111EB)
_SPACE = 32

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

# Typographic quotes as their ASCII forms, so both spellings of "Japan's" hash alike.
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def _modular_inverse(value: int) -> int:
    """The inverse of an odd ``value`` modulo 2**64 (Newton's iteration)."""
    inverse = value
    for _ in range(6):
        inverse = (inverse * (2 - value * inverse)) % (1 << 64)
    return inverse


_INVERSE_BASE = np.uint64(_modular_inverse(int(_BASE)))


@cache
def _powers(length: int) -> tuple[U64, U64]:
    """BASE**i and BASE**-i modulo 2**64 for i < ``length`` (grown in powers of two)."""
    with np.errstate(over="ignore"):
        forward = np.cumprod(np.full(length, _BASE, dtype=np.uint64), dtype=np.uint64)
        backward = np.cumprod(np.full(length, _INVERSE_BASE, dtype=np.uint64), dtype=np.uint64)
    one = np.ones(1, dtype=np.uint64)
    return np.concatenate((one, forward[:-1])), np.concatenate((one, backward[:-1]))


def _powers_for(length: int) -> tuple[U64, U64]:
    size = 1024
    while size < length:
        size *= 2
    return _powers(size)


def normalise(text: str) -> npt.NDArray[np.int64]:
    """Code points of ``text`` lower-cased, non-alphanumeric runs folded to one space and a
    space at each end (so a word's first and last characters start and end n-grams)."""
    lowered = text.translate(_FOLD).lower()
    codes = np.frombuffer(lowered.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    keep = _is_alphanumeric(codes)
    codes = np.where(keep, codes, _SPACE)
    if codes.size:
        repeated = np.zeros(codes.size, dtype=bool)
        repeated[1:] = (codes[1:] == _SPACE) & (codes[:-1] == _SPACE)
        codes = codes[~repeated]
    if not codes.size or codes[0] != _SPACE:
        codes = np.concatenate(([_SPACE], codes))
    if codes[-1] != _SPACE:
        codes = np.concatenate((codes, [_SPACE]))
    return codes


_ASCII_ALNUM = np.zeros(128, dtype=bool)
for _c in "abcdefghijklmnopqrstuvwxyz0123456789":
    _ASCII_ALNUM[ord(_c)] = True


def _is_alphanumeric(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """ASCII letters and digits, and every non-ASCII letter-range code point (accented
    letters, other scripts); general punctuation and symbols of U+2000-U+2BFF are not."""
    ascii_part = codes < 128
    result = np.zeros(codes.size, dtype=bool)
    result[ascii_part] = _ASCII_ALNUM[codes[ascii_part]]
    high = ~ascii_part
    result[high] = ((codes[high] >= 0xC0) & (codes[high] < 0x2000)) | (codes[high] >= 0x2C00)
    return result


def _substring_hashes(prefix: U64, inverse: U64, starts: I64, ends: I64) -> U64:
    """Hash of codes[start:end] for each pair, independent of where it stands."""
    with np.errstate(over="ignore"):
        return (prefix[ends] - prefix[starts]) * inverse[starts]


def ngram_buckets(text: str) -> dict[str, npt.NDArray[np.int64]]:
    """Bucket index of every word and character n-gram of ``text``, per feature family."""
    codes = normalise(text)
    n = codes.size
    forward, backward = _powers_for(n + 1)
    with np.errstate(over="ignore"):
        prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(codes.astype(np.uint64) * forward[:n], out=prefix[1:])
    inverse = backward[: n + 1]
    char_hashes = []
    for size in CHAR_SIZES:
        if n < size:
            continue
        starts = np.arange(n - size + 1, dtype=np.int64)
        hashes = _substring_hashes(prefix, inverse, starts, starts + size)
        with np.errstate(over="ignore"):
            char_hashes.append(hashes ^ (np.uint64(size) * _SIZE_SALT))
    spaces = np.flatnonzero(codes == _SPACE)
    word_starts = spaces[:-1] + 1
    word_ends = spaces[1:]
    words = _substring_hashes(prefix, inverse, word_starts, word_ends) ^ _WORD_SALT
    word_hashes = [words]
    if words.size > 1:
        with np.errstate(over="ignore"):
            word_hashes.append(words[:-1] * _BIGRAM_MIX + words[1:])
    return {
        "word": _bucket(np.concatenate(word_hashes)),
        "char": _bucket(np.concatenate(char_hashes) if char_hashes else np.zeros(0, np.uint64)),
    }


def _bucket(hashes: U64) -> npt.NDArray[np.int64]:
    with np.errstate(over="ignore"):
        mixed = hashes * np.uint64(0xD6E8FEB86659FD93)
    return (mixed >> np.uint64(64 - BUCKET_BITS)).astype(np.int64)


def term_frequencies(
    buckets: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Distinct buckets and their sublinear term frequency, 1 + log(count)."""
    if not buckets.size:
        return buckets, np.zeros(0)
    distinct, counts = np.unique(buckets, return_counts=True)
    return distinct, 1.0 + np.log(counts)


def words(text: str) -> list[str]:
    """The words of ``text`` as :func:`ngram_buckets` reads them, in order."""
    codes = normalise(text)
    return "".join(map(chr, codes.tolist())).split()


def word_ngrams(text: str) -> list[str]:
    """The word n-grams of ``text`` in the order of ``ngram_buckets(text)["word"]``."""
    tokens = words(text)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
