"""The cycle-by-cycle systolic array against numpy matmul."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import systolic as sa


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (4, 3, 5), (7, 6, 2), (2, 8, 8), (16, 4, 4)])
def test_systolic_array_equals_matmul(m, k, n):
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    x, w = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    y, _ = sa.systolic_matmul(x, w)
    assert np.allclose(y, x @ w)


def test_single_pe_rule():
    y_out, x_out = sa.pe_step(np.float64(1.5), 2.0, 3.0)
    assert y_out == 1.5 + 2.0 * 3.0 and x_out == 3.0


def test_systolic_cycle_count():
    """Stop the simulated clock early and watch which results have left the array."""
    m, k, n = 5, 3, 4
    x, w = np.ones((m, k)), np.ones((k, n))
    y, cycles = sa.systolic_matmul(x, w)
    assert cycles == sa.systolic_cycles(m, k, n) == m + k + n - 2
    assert np.all(y == k)
    early, _ = sa.systolic_matmul(x, w, cycles=cycles - 1)
    missing = np.argwhere(np.isnan(early)).tolist()
    assert missing == [[m - 1, 0]]  # only the last input row's output of row 0 is in flight
    before, _ = sa.systolic_matmul(x, w, cycles=k - 1)
    assert np.isnan(before).all()  # a partial sum needs K cycles to cross a row
    first, _ = sa.systolic_matmul(x, w, cycles=k)
    assert np.argwhere(~np.isnan(first)).tolist() == [[0, n - 1]]  # bottom row finishes first
