"""MinHash + LSH banding over token-id sets: candidate pairs in near-linear time.

Deterministic: the hash coefficients come from a fixed seed and token ids from first
appearance, so the same cards always give the same candidates. Jaccard similarity s makes a
pair a candidate with probability 1 - (1 - s**ROWS)**BANDS (20 bands x 3 rows: s=0.5 -> 0.93,
s=0.7 -> 1.0, s=0.1 -> 0.02).
"""

from __future__ import annotations

import numpy as np

PRIME = (1 << 31) - 1
BANDS = 20
ROWS = 3
BUCKET_CAP = 64  # a bigger bucket is template noise; only neighbours in it are compared
WINDOW = 4


def signatures(docs: list[list[int]], num_perm: int = BANDS * ROWS, seed: int = 1729) -> np.ndarray:
    """(len(docs), num_perm) uint32 MinHash signatures; empty docs get a unique sentinel row."""
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    flat = np.fromiter((t for d in docs for t in d), dtype=np.uint64, count=int(lengths.sum()))
    return signatures_flat(flat, lengths, num_perm, seed)


def signatures_flat(flat: np.ndarray, lengths: np.ndarray, num_perm: int = BANDS * ROWS,
                    seed: int = 1729) -> np.ndarray:
    """Signatures of docs given as one array of token ids and each doc's length (repeats are
    harmless: a minimum over a multiset is the minimum over its set)."""
    rng = np.random.RandomState(seed)
    # multiply-shift universal hashing on uint64 (wrap-around multiply, no modulo: fast)
    a = rng.randint(0, 1 << 62, size=num_perm, dtype=np.int64).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    b = rng.randint(0, 1 << 62, size=num_perm, dtype=np.int64).astype(np.uint64)
    sig = np.full((len(lengths), num_perm), PRIME, dtype=np.uint32)
    nonempty = np.nonzero(lengths)[0]
    if len(nonempty) == 0:
        return sig
    flat = flat.astype(np.uint64, copy=False)
    starts = np.concatenate(([0], np.cumsum(lengths[nonempty])[:-1]))
    for k in range(num_perm):
        h = ((a[k] * flat + b[k]) >> np.uint64(33)).astype(np.uint32)  # < 2**31 - 1 = PRIME
        sig[nonempty, k] = np.minimum.reduceat(h, starts)
    return sig


def candidate_pairs(sig: np.ndarray, bands: int = BANDS, rows: int = ROWS) -> set[tuple[int, int]]:
    """Pairs of row indices (i < j) that share at least one band bucket."""
    n = sig.shape[0]
    if n < 2:
        return set()
    sentinel = np.all(sig == np.uint32(PRIME), axis=1)
    found: list[np.ndarray] = []
    extra: set[tuple[int, int]] = set()
    for band in range(bands):
        block = sig[:, band * rows : (band + 1) * rows].astype(np.uint64)
        key = block[:, 0].copy()
        for r in range(1, rows):
            key = key * np.uint64(0x9E3779B97F4A7C15) + block[:, r]
        key[sentinel] = np.arange(int(sentinel.sum()), dtype=np.uint64) ^ np.uint64(0xFFFFFFFFFFFF)
        order = np.argsort(key, kind="stable")
        sorted_keys = key[order]
        boundaries = np.nonzero(np.diff(sorted_keys))[0] + 1
        starts = np.concatenate(([0], boundaries))
        sizes = np.diff(np.concatenate((starts, [n])))
        twos = starts[sizes == 2]  # most buckets: one pair, done in numpy
        if len(twos):
            a, b = order[twos], order[twos + 1]
            found.append(np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b))
        for s, size in zip(starts[sizes > 2].tolist(), sizes[sizes > 2].tolist(), strict=True):
            members = sorted(order[s : s + size].tolist())
            width = len(members) if len(members) <= BUCKET_CAP else WINDOW + 1
            for x in range(len(members)):
                for y in range(x + 1, min(x + width, len(members))):
                    extra.add((members[x], members[y]))
    if found:
        codes = np.unique(np.concatenate(found))
        extra.update(zip((codes // n).tolist(), (codes % n).tolist(), strict=True))
    return extra
