"""snippets/grpo.py: advantages by hand, the clipped surrogate against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deckforge_snippets import grpo as G


def test_group_advantages_match_a_loop():
    rewards = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    mean = sum(rewards) / len(rewards)
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / len(rewards))
    expected = [(r - mean) / std for r in rewards]
    np.testing.assert_allclose(G.group_advantages(rewards), expected, rtol=1e-6)
    adv = G.group_advantages(rewards)
    assert adv.mean() == pytest.approx(0.0, abs=1e-12) and adv.std() == pytest.approx(1.0, rel=1e-6)
    # Not "normalised by the largest advantage" (the cs242 card): that keeps the max at 1 and
    # a different scale whenever the group is unbalanced.
    by_max = (np.array(rewards) - mean) / np.max(np.abs(np.array(rewards) - mean))
    assert not np.allclose(by_max, adv)


def test_clipped_surrogate_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ratio, adv = np.exp(rng.normal(scale=0.3, size=16)), rng.normal(size=16)
    r, a = torch.from_numpy(ratio), torch.from_numpy(adv)
    ref = torch.min(r * a, torch.clamp(r, 0.8, 1.2) * a).mean().item()
    assert G.clipped_surrogate(ratio, adv, 0.2) == pytest.approx(ref)
    # Clipping removes the incentive to move the ratio beyond 1 + eps for a positive advantage.
    assert G.clipped_surrogate([1.5], [1.0]) == pytest.approx(1.2)
