"""snippets/embeddings.py: skip-gram pairs by brute force, the objective vs torch, mean pooling."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from deckforge_snippets import embeddings as E

torch = pytest.importorskip("torch")

SENTENCE = "The quick brown fox jumps over the lazy dog".lower().split()


def test_skip_gram_pairs_match_brute_force():
    for window in (1, 2, 3):
        expected = [(SENTENCE[a], SENTENCE[b]) for a, b in itertools.product(range(9), repeat=2)
                    if a != b and abs(a - b) <= window]
        assert sorted(E.skip_gram_pairs(SENTENCE, window)) == sorted(expected)
    # The quiz's training data, (quick, the) (quick, brown) (quick, fox): a window of 2.
    quick = [c for w, c in E.skip_gram_pairs(SENTENCE, 2) if w == "quick"]
    assert quick == ["the", "brown", "fox"]
    assert "jumps" not in quick  # never seen around "quick": the least likely option


def test_skip_gram_loss_matches_torch():
    rng = np.random.default_rng(0)
    v_in, v_out = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    pairs = [(0, 1), (1, 0), (1, 2), (3, 5)]
    logits = torch.from_numpy(v_in[[i for i, _ in pairs]] @ v_out.T)
    ref = -torch.nn.functional.cross_entropy(logits, torch.tensor([o for _, o in pairs])).item()
    assert E.skip_gram_log_likelihood(v_in, v_out, pairs) == pytest.approx(ref)


def test_mean_pooling_matches_torch():
    h = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_allclose(E.mean_pool(h), torch.from_numpy(h).mean(0).numpy())
    mask = np.array([1, 1, 1, 0, 0])
    np.testing.assert_allclose(E.mean_pool(h, mask), h[:3].mean(axis=0))
