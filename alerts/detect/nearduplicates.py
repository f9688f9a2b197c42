"""Near-duplicate stories: the same wire story carried by several outlets is one event.

MinHash over word 3-shingles, 64 permutations (multiply-shift hashing), 16 bits kept per
permutation (b-bit MinHash), so a signature is 128 bytes and fits in per-topic state. Two
texts whose estimated Jaccard similarity is at least ``THRESHOLD`` are the same story:
rewrites by a second outlet share many of their shingles, unrelated articles almost none.
"""

from __future__ import annotations

import base64
import functools
import re
import zlib

import numpy as np
import numpy.typing as npt

PERMUTATIONS = 64
THRESHOLD = 0.3
_rng = np.random.default_rng(20260101)
_A = (_rng.integers(1, 2**63, size=PERMUTATIONS, dtype=np.uint64) | np.uint64(1))[:, None]
_B = _rng.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64)[:, None]
_WORD = re.compile(r"[a-z0-9]+")
_CHANCE = 1.0 / 65536
_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)


def signature(text: str) -> str:
    """A 128-byte b-bit MinHash signature of ``text``, base64-encoded for JSON state."""
    words = _WORD.findall(text.lower()) or [""]
    words += [""] * (3 - len(words))
    word_hashes = np.fromiter(
        (zlib.crc32(w.encode()) for w in words), dtype=np.uint64, count=len(words)
    )
    # A 3-word shingle's hash from its words' hashes: hashing each word once is far cheaper
    # than joining and hashing every shingle. uint64 arithmetic wraps, which is the point.
    shingles = np.unique(
        (word_hashes[:-2] * _P1 + word_hashes[1:-1] * _P2 + word_hashes[2:]) >> np.uint64(16)
    )
    # h(x) = high 16 bits of (a*x + b) mod 2**64.
    mixed: npt.NDArray[np.uint64] = (_A * shingles[None, :] + _B) >> np.uint64(48)
    return base64.b64encode(mixed.min(axis=1).astype(">u2").tobytes()).decode()


def similarity(first: str, second: str) -> float:
    """Estimated Jaccard similarity of two signatures (0.0 to 1.0)."""
    a = _decoded(first)
    b = _decoded(second)
    if a.shape != b.shape:
        return 0.0
    agree = float(np.count_nonzero(a == b)) / PERMUTATIONS
    return max(0.0, (agree - _CHANCE) / (1 - _CHANCE))


@functools.lru_cache(maxsize=8192)
def _decoded(sig: str) -> npt.NDArray[np.uint16]:
    """Stories are compared with every new article on their topic: decode each once."""
    return np.frombuffer(base64.b64decode(sig), dtype=">u2")


def is_near_duplicate(first: str, second: str) -> bool:
    return similarity(first, second) >= THRESHOLD
