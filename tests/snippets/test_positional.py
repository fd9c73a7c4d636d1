"""snippets/positional.py: sinusoidal codes, their offset rotation, and RoPE's relative property."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deckforge_snippets import positional as P

torch = pytest.importorskip("torch")


def test_sinusoidal_matches_formula_elementwise():
    pe = P.sinusoidal_encoding(20, 16)
    for pos in (0, 3, 19):
        for i in range(8):
            assert pe[pos, 2 * i] == pytest.approx(math.sin(pos / 10000 ** (2 * i / 16)))
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(pos / 10000 ** (2 * i / 16)))


def test_sinusoidal_matches_a_torch_implementation():
    # The PyTorch tutorial's PositionalEncoding (exp/log form of the same frequencies).
    n, d = 50, 32
    position = torch.arange(n, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    ref = torch.zeros(n, d, dtype=torch.float64)
    ref[:, 0::2] = torch.sin(position * div_term)
    ref[:, 1::2] = torch.cos(position * div_term)
    np.testing.assert_allclose(P.sinusoidal_encoding(n, d), ref.numpy(), atol=1e-12)


def test_offset_is_a_rotation_independent_of_pos():
    d = 16
    pe = P.sinusoidal_encoding(200, d)
    for k in (1, 7, 50):
        m = P.offset_matrix(k, d)
        np.testing.assert_allclose(m @ m.T, np.eye(d), atol=1e-12)  # orthogonal
        for pos in (0, 13, 120):
            np.testing.assert_allclose(m @ pe[pos], pe[pos + k], atol=1e-10)
    # Independent check: least-squares fit, per frequency pair, of the map pos -> pos + k.
    k, pe = 5, P.sinusoidal_encoding(5000, d)
    m = P.offset_matrix(k, d)
    for i in range(0, d, 2):
        fit, *_ = np.linalg.lstsq(pe[:-k, i : i + 2], pe[k:, i : i + 2], rcond=None)
        np.testing.assert_allclose(fit.T, m[i : i + 2, i : i + 2], atol=1e-6)


def test_rope_matches_complex_multiplication():
    rng = np.random.default_rng(0)
    x, pos = rng.normal(size=(6, 8)), np.arange(6) * 3
    theta = 10000.0 ** (-np.arange(0, 8, 2) / 8)
    z = torch.view_as_complex(torch.from_numpy(x.reshape(6, 4, 2).copy()))
    rot = torch.polar(torch.ones(6, 4, dtype=torch.float64), torch.from_numpy(np.outer(pos, theta)))
    ref = torch.view_as_real(z * rot).reshape(6, 8).numpy()
    np.testing.assert_allclose(P.rope(x, pos), ref, atol=1e-12)


def test_rope_scores_depend_only_on_offset():
    rng = np.random.default_rng(1)
    q, k = rng.normal(size=(1, 16)), rng.normal(size=(1, 16))

    def score(m, n):
        return float((P.rope(q, np.array([m])) @ P.rope(k, np.array([n])).T)[0, 0])

    for offset in (0, 3, 40):
        scores = [score(m, m + offset) for m in (0, 5, 100, 1000)]
        np.testing.assert_allclose(scores, scores[0], rtol=1e-9)
    assert score(0, 3) != pytest.approx(score(0, 40))
    # Norms are preserved: it is a rotation.
    assert np.linalg.norm(P.rope(q, np.array([77]))) == pytest.approx(np.linalg.norm(q))


def test_moving_cached_keys_is_one_more_rotation():
    # Block attention (quiz): keys cached at positions 1-4 moved to 101-104.
    rng = np.random.default_rng(2)
    k = rng.normal(size=(4, 8))
    cached = P.rope(k, np.arange(1, 5))
    moved = P.rope(cached, np.full(4, 100))
    np.testing.assert_allclose(moved, P.rope(k, np.arange(101, 105)), atol=1e-10)
