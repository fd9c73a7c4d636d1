"""Approximate MMM against exact numpy matmul and torch.cdist."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import amm

torch = pytest.importorskip("torch")


def clustered_rows(n: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)) * 3
    return centres[rng.integers(clusters, size=n)] + rng.normal(size=(n, dim)) * 0.5


def relative_error(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.linalg.norm(approx - exact) / np.linalg.norm(exact))


def test_error_shrinks_with_more_centroids():
    b = np.random.default_rng(1).normal(size=(16, 10))  # fixed, narrow weight matrix
    # clustered features (the notes' setting: K near the number of classes)
    a_train, a_test = clustered_rows(600, 16, 12, seed=0), clustered_rows(200, 16, 12, seed=0)
    errs = [relative_error(amm.amm_query(a_test, amm.amm_fit(a_train, b, k)), a_test @ b)
            for k in (1, 4, 16)]
    assert errs == sorted(errs, reverse=True) and errs[-1] < 0.25 * errs[0]
    # unstructured features: more centroids, and more subspaces (product quantization), help
    rng = np.random.default_rng(2)
    a_train, a_test = rng.normal(size=(800, 16)), rng.normal(size=(200, 16))
    exact = a_test @ b
    by_k = [relative_error(amm.amm_query(a_test, amm.amm_fit(a_train, b, k)), exact)
            for k in (1, 4, 16, 64)]
    by_s = [relative_error(amm.amm_query(a_test, amm.amm_fit(a_train, b, 16, subspaces=s)),
                           exact) for s in (1, 2, 4, 8)]
    assert by_k == sorted(by_k, reverse=True)
    assert by_s == sorted(by_s, reverse=True) and by_s[-1] < 0.5 * by_s[0]


def test_exact_when_centroids_are_the_rows():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(12, 8)), rng.normal(size=(8, 5))
    model = amm.amm_fit(a, b, k=12)  # as many centroids as distinct rows: each row is one
    assert np.allclose(amm.amm_query(a, model), a @ b)
    cols, c, lut = model[0]
    assert np.allclose(lut, c @ b[cols])  # the table holds centroid · weight products


def test_nearest_centroid_matches_torch_cdist():
    rng = np.random.default_rng(3)
    x, c = rng.normal(size=(300, 6)), rng.normal(size=(9, 6))
    ref = torch.cdist(torch.tensor(x), torch.tensor(c)).argmin(1).numpy()
    assert np.array_equal(amm.nearest_centroid(x, c), ref)
