"""snippets/speculative_decoding.py: closed forms vs simulation, exactness of the acceptance rule."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import speculative_decoding as S


@pytest.mark.parametrize(("alpha", "gamma"), [(0.5, 3), (0.8, 5), (0.95, 2)])
def test_expected_tokens_matches_simulation(alpha, gamma):
    rng = np.random.default_rng(0)
    accepts = rng.random((200_000, gamma)) < alpha
    # Leading run of accepted drafts, then one token from the target (correction or bonus).
    run = np.where(accepts.all(axis=1), gamma, np.argmin(accepts, axis=1))
    assert (run + 1).mean() == pytest.approx(S.expected_tokens(alpha, gamma), rel=0.01)
    # The cs242 card's "1.5-2.5x" is the range these formulas give for typical settings.
    assert 1.5 <= S.speedup(0.7, 4, 0.05) <= 2.5


def test_speculative_sampling_preserves_the_target_distribution():
    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    np.testing.assert_allclose(S.acceptance_distribution(p, q), p, atol=1e-12)
    draws = np.bincount([S.speculative_step(p, q, rng) for _ in range(40_000)], minlength=6) / 40_000
    np.testing.assert_allclose(draws, p, atol=0.01)
