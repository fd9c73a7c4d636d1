"""Approximate matrix multiplication with k-means lookup tables (product quantization /
MADDNESS style): learn centroids of A's rows offline, precompute centroid·B tables, and at run
time replace each dot product a·b_j by a table lookup c(a)·b_j."""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

_MODULE = "snippets/amm.py"
_TESTS = "tests/snippets/test_amm.py"

CONCEPTS = [
    Concept(
        id="approximate-matrix-multiplication",
        name="Approximate matrix multiplication (lookup tables)",
        aliases=("approximate mmm", "approximate matrix multiplication", "maddness",
                 "product quantization", "lookup table", "lookup-accumulate", "centroids"),
        definition=(
            "When one operand B is fixed and narrow (classifier weights, learned filters) a "
            "product A·B can be approximated without multiplications. Offline, k-means "
            "clusters the rows of training data A into K centroids c_1 … c_K and a lookup "
            "table stores every c_i·b_j. Online, each new row a is mapped to its nearest "
            "centroid (by distance or by hashing) and a·b_j is read from the table: "
            "multiply-accumulates become lookup-accumulates. Splitting the columns of A (and "
            "rows of B) into subspaces, each with its own centroids and tables, and summing the "
            "lookups (product quantization) makes the approximation much finer; the error "
            "shrinks as K grows and vanishes when every row is its own centroid."
        ),
        formulas=("amm-lookup",),
        related=("uniform-quantization", "roofline"),
    )
]

FORMULAS = [
    Formula(
        id="amm-lookup",
        name="Approximate MMM with k-means lookup tables",
        latex=(
            r"a^{\top} b_j \approx \sum_{s=1}^{S} \mathrm{LUT}_s\bigl[\,\mathrm{nearest}_s"
            r"(a^{(s)}),\ j\,\bigr],\quad \mathrm{LUT}_s[i, j] = c_i^{(s)\top} b_j^{(s)}"
        ),
        concept="approximate-matrix-multiplication",
        aliases=(
            "approximate mmm",
            "approximate mmm for fixed, narrow weight matrices",
            "approximate mmm — offline/online split",
            "what are a and b in approximate mmm",
            "what does a dot b represent",
            "a dot b",
            "what are the centroids",
            "what is k in approximate mmm",
            "offline phase of approximate mmm",
            "online phase of approximate mmm",
            "why does approximate mmm avoid multiplications",
            "how is the nearest centroid found",
            "nearest centroid",
            "ai and bi partitions",
            "approximate matrix multiplication",
        ),
        module=_MODULE,
        section="amm",
        tests=(
            f"{_TESTS}::test_error_shrinks_with_more_centroids",
            f"{_TESTS}::test_exact_when_centroids_are_the_rows",
            f"{_TESTS}::test_nearest_centroid_matches_torch_cdist",
        ),
        symbols=(
            ("a", "input row vector (a data sample)"),
            ("b_j", "column j of the fixed weight matrix B"),
            ("S", "number of subspaces (codebooks)"),
            (r"\mathrm{LUT}_s", "lookup table of subspace s"),
            ("c_i", "centroid i of a subspace"),
        ),
    )
]


# --8<-- [start:amm]
def kmeans(x: np.ndarray, k: int, iters: int = 25, seed: int = 0) -> np.ndarray:
    """Lloyd's algorithm with k-means++ seeding; returns (k, dim) centroids."""
    rng = np.random.default_rng(seed)
    centroids = [x[rng.integers(len(x))]]
    for _ in range(1, k):  # k-means++: far points are likelier seeds
        d2 = ((x[:, None, :] - np.array(centroids)[None]) ** 2).sum(-1).min(1)
        if d2.sum() == 0:
            centroids.append(x[rng.integers(len(x))])
            continue
        centroids.append(x[rng.choice(len(x), p=d2 / d2.sum())])
    c = np.array(centroids, dtype=np.float64)
    for _ in range(iters):
        assign = nearest_centroid(x, c)
        for i in range(k):
            members = x[assign == i]
            if len(members):
                c[i] = members.mean(0)
    return c


def nearest_centroid(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the closest centroid (squared Euclidean) for every row of x."""
    return ((x[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(1)


def amm_fit(a_train: np.ndarray, b: np.ndarray, k: int, subspaces: int = 1, seed: int = 0):
    """Offline: per column block s, k-means on A's sub-rows and the table LUT_s = C_s B_s."""
    blocks = np.array_split(np.arange(a_train.shape[1]), subspaces)
    model = []
    for s, cols in enumerate(blocks):
        c = kmeans(a_train[:, cols], k, seed=seed + s)
        model.append((cols, c, c @ b[cols]))  # (K, N) lookup table
    return model


def amm_query(a: np.ndarray, model) -> np.ndarray:
    """Online: find each sub-row's nearest centroid and add up table rows (no multiplies)."""
    out = 0.0
    for cols, c, lut in model:
        out = out + lut[nearest_centroid(a[:, cols], c)]
    return out
# --8<-- [end:amm]
