"""snippets/diffusion.py: closed-form marginal vs simulating every noising step."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import diffusion as D


def test_closed_form_marginal_matches_step_by_step_simulation():
    rng = np.random.default_rng(0)
    betas = np.linspace(1e-4, 0.02, 1000)
    x0 = np.full(100_000, 1.5)
    x = x0.copy()
    for t, b in enumerate(betas[:300], start=1):
        x = np.sqrt(1 - b) * x + np.sqrt(b) * rng.standard_normal(x.shape)
        if t in (1, 10, 300):
            ab = D.alpha_bar(betas)[t - 1]
            assert x.mean() == pytest.approx(np.sqrt(ab) * 1.5, abs=0.01)
            assert x.var() == pytest.approx(1 - ab, abs=0.01)
    # The one-shot sample has the same law.
    one_shot = D.noise_to(x0, 300, betas, rng.standard_normal(x0.shape))
    assert one_shot.mean() == pytest.approx(x.mean(), abs=0.02)
    assert D.alpha_bar(betas)[-1] < 1e-4  # after T steps almost pure noise


def test_noise_prediction_loss_and_x0_recovery():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    betas = np.linspace(1e-4, 0.02, 1000)
    x0, eps, guess = rng.normal(size=64), rng.normal(size=64), rng.normal(size=64)
    ab = D.alpha_bar(betas)[499]
    x_t = D.noise_to(x0, 500, betas, eps)
    ref = torch.nn.functional.mse_loss(torch.from_numpy(guess), torch.from_numpy(eps)).item()
    assert D.noise_prediction_loss(eps, guess) == pytest.approx(ref)
    assert D.noise_prediction_loss(eps, eps) == 0.0
    np.testing.assert_allclose(D.predict_x0(x_t, eps, ab), x0, atol=1e-10)


def test_latent_compression_factor():
    assert D.latent_compression() == 48.0
    assert 10 <= D.latent_compression() <= 100  # the card's "10-100x"


def test_mdlm_masking_rate_and_unbiased_weighting():
    rng = np.random.default_rng(2)
    tokens = rng.integers(0, 50, size=64)
    _, masked = D.mask_tokens(np.tile(tokens, (4000, 1)), 0.3, rng)
    assert masked.mean() == pytest.approx(0.3, abs=0.01)
    # With t ~ U(0, 1), the 1/t weight makes each position count once in expectation:
    # E[(1/t) * #masked] = L, as in the autoregressive sum over L tokens.
    ts = rng.uniform(0.05, 1.0, size=20000)
    weighted = [D.mask_tokens(tokens, t, rng)[1].sum() / t for t in ts]
    assert np.mean(weighted) == pytest.approx(len(tokens), rel=0.02)


def test_mdlm_loss_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    logits, tokens = rng.normal(size=(10, 7)), rng.integers(0, 7, size=10)
    masked = np.zeros(10, dtype=bool)
    masked[[1, 4, 8]] = True
    log_probs = torch.log_softmax(torch.from_numpy(logits), -1)
    ce = torch.nn.functional.nll_loss(log_probs[masked], torch.from_numpy(tokens[masked]), reduction="sum")
    assert D.mdlm_loss(log_probs.numpy(), tokens, masked, 0.25) == pytest.approx(ce.item() / 0.25)
