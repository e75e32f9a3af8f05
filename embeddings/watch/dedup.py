"""The same story under several URLs (syndication, a wire story run by many outlets): a MinHash signature of each
text's word shingles, compared through LSH bands so that a new article meets only its likely duplicates."""

from __future__ import annotations

import hashlib
import re

import numpy as np

SHINGLE = 5
PERMUTATIONS = 64
BANDS = 16
# The share of equal signature values (about the Jaccard similarity of the shingles) from which two texts are one
# story: syndicated copies differ by a headline, a byline or an added paragraph, rewrites by far more.
SAME_STORY = 0.7
_WORD = re.compile(r"\w+")
_PRIME = np.uint64((1 << 61) - 1)
_rng = np.random.default_rng(23)
_A = _rng.integers(1, 1 << 61, PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, 1 << 61, PERMUTATIONS, dtype=np.uint64)


def signature(text: str) -> np.ndarray:
    """Return a text's MinHash signature (PERMUTATIONS values) over its lower-cased word shingles."""
    words = _WORD.findall(text.lower())
    shingles = {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    hashes = np.fromiter((int.from_bytes(hashlib.blake2b(s.encode(), digest_size=7).digest(), "little")
                          for s in shingles), dtype=np.uint64, count=len(shingles))
    # (a * h + b) mod p on 56-bit hashes: a 64-bit product wraps, which keeps it a fixed mixing of h, good enough
    # for estimating overlap (the same for every text).
    mixed = (hashes[:, None] * _A[None, :] + _B[None, :]) % _PRIME
    return mixed.min(axis=0) if len(hashes) else np.zeros(PERMUTATIONS, dtype=np.uint64)


def bands(sig: np.ndarray) -> list[str]:
    """Return the signature's LSH band keys: texts sharing any one are compared."""
    rows = PERMUTATIONS // BANDS
    return [f"{n}:" + hashlib.blake2b(sig[n * rows : (n + 1) * rows].tobytes(), digest_size=8).hexdigest()
            for n in range(BANDS)]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Return the estimated Jaccard similarity of two texts' shingles."""
    return float(np.mean(a == b))


def to_bytes(sig: np.ndarray) -> bytes:
    """Return a signature as bytes for storage."""
    return sig.astype("<u8").tobytes()


def from_bytes(raw: bytes) -> np.ndarray:
    """Return a stored signature."""
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)
