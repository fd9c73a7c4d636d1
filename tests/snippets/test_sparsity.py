"""Pruning and sparse encodings against torch.nn.utils.prune and brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from deckforge_snippets import sparsity as sp

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("amount", [0.3, 0.5, 0.9])
def test_magnitude_pruning_matches_torch_prune(amount):
    from torch.nn.utils import prune

    rng = np.random.default_rng(0)
    w = rng.normal(size=(16, 24))  # continuous: no ties
    layer = torch.nn.Linear(24, 16, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w))
    prune.l1_unstructured(layer, "weight", amount=amount)
    assert np.array_equal(sp.magnitude_prune_mask(w, amount), layer.weight_mask.numpy() == 1)


def test_filter_pruning_matches_torch_ln_structured():
    from torch.nn.utils import prune

    rng = np.random.default_rng(1)
    w = rng.normal(size=(8, 3, 3, 3)) * rng.uniform(0.1, 2, size=(8, 1, 1, 1))
    conv = torch.nn.Conv2d(3, 8, 3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(w))
    prune.ln_structured(conv, "weight", amount=3, n=2, dim=0)
    ours = sp.filter_prune_mask(w, 3, p=2)
    assert np.array_equal(ours, conv.weight_mask.numpy() == 1)
    assert ours.reshape(8, -1).all(axis=1).sum() == 5  # whole filters survive or go


def test_sparse_conv_macs_by_counting_nonzero_products():
    """Prune a fraction p of the filters and q of the input channels, count products of non-zeros."""
    F = torch.nn.functional
    m, c, k, h = 10, 8, 3, 9
    p, q = 0.4, 0.25
    w = torch.ones(m, c, k, k)
    w[: int(p * m)] = 0
    x = torch.ones(1, c, h, h)
    x[:, : int(q * c)] = 0
    dense = m * c * k * k * (h - k + 1) ** 2
    nonzero_products = F.conv2d((x != 0).float(), (w != 0).float()).sum().item()
    assert sp.sparse_conv_macs(dense, p, q) == pytest.approx(nonzero_products)
    # random unstructured sparsity: (1 − p)(1 − q) in expectation
    g = torch.Generator().manual_seed(0)
    w = (torch.rand(m, c, k, k, generator=g) > p).float()
    x = (torch.rand(1, c, 40, 40, generator=g) > q).float()
    dense = m * c * k * k * 38 * 38
    assert F.conv2d(x, w).sum().item() / dense == pytest.approx((1 - p) * (1 - q), rel=0.05)


def test_nm_mask_keeps_best_pattern_by_brute_force():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(6, 16))
    mask = sp.nm_mask(w, 2, 4)
    for row, mrow in zip(w.reshape(-1, 4), mask.reshape(-1, 4), strict=True):
        best = max(itertools.combinations(range(4), 2), key=lambda ix: np.abs(row[list(ix)]).sum())
        assert set(np.flatnonzero(mrow)) == set(best)


def test_nm_mask_structure():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(8, 32))
    pruned = w * sp.nm_mask(w, 2, 4)
    assert sp.is_nm_sparse(pruned, 2, 4) and not sp.is_nm_sparse(w, 2, 4)
    assert (pruned != 0).mean() == sp.nm_compute_fraction(2, 4) == 0.5
    assert sp.is_nm_sparse(w * sp.nm_mask(w, 4, 8), 4, 8)


@pytest.mark.parametrize("density", [0.05, 0.3, 0.7])
def test_encodings_roundtrip_and_sizes(density):
    rng = np.random.default_rng(4)
    shape = (32, 48)
    dense = rng.normal(size=shape) * (rng.random(shape) < density)
    flat, nnz, b = dense.ravel(), int((dense != 0).sum()), 16
    # bitmap: the mask and the values reconstruct the matrix
    bitmap, values = dense != 0, dense[dense != 0]
    rebuilt = np.zeros(flat.size)
    rebuilt[bitmap.ravel()] = values
    assert np.array_equal(rebuilt, flat)
    assert sp.bitmap_bits(flat.size, nnz, b) == bitmap.size + values.size * b
    # RLE: decode what was encoded; size = entries × (run + value) bits
    entries = sp.rle_encode(flat, run_bits=3)
    assert np.array_equal(sp.rle_decode(entries, flat.size), flat)
    assert all(0 <= run <= 7 for run, _ in entries)
    assert sp.rle_bits(flat, 3, b) == len(entries) * (3 + b)
    # COO: torch's own COO tensor holds exactly nnz (row, col) pairs
    coo = torch.tensor(dense).to_sparse_coo().coalesce()
    assert coo.indices().shape == (2, nnz)
    index_bits = math.ceil(math.log2(32)) + math.ceil(math.log2(48))
    assert sp.coo_bits(shape, nnz, b) == nnz * (b + index_bits)
    assert torch.equal(coo.to_dense(), torch.tensor(dense))
