"""Denoising diffusion (DDPM, Ho et al. 2020) and latent diffusion (Stable Diffusion).

The forward process adds Gaussian noise step by step; its marginal has a closed form, so
training samples a timestep, noises x_0 in one shot and regresses the added noise.
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

MODULE = "snippets/diffusion.py"
TESTS = "tests/snippets/test_diffusion.py"

CONCEPTS = [
    Concept(
        id="diffusion",
        name="Diffusion models",
        aliases=("diffusion model", "stable diffusion", "latent diffusion", "ddpm"),
        definition=(
            "A diffusion model learns to reverse a fixed noising process. The forward process "
            "mixes Gaussian noise into the data over $T$ steps, "
            "$x_t=\\sqrt{1-\\beta_t}\\,x_{t-1}+\\sqrt{\\beta_t}\\,\\varepsilon$, whose marginal is "
            "$x_t=\\sqrt{\\bar\\alpha_t}\\,x_0+\\sqrt{1-\\bar\\alpha_t}\\,\\varepsilon$ with "
            "$\\bar\\alpha_t=\\prod_{s\\le t}(1-\\beta_s)$. A denoiser (a U-Net in Stable "
            "Diffusion) is trained to predict the added noise $\\varepsilon$ from $x_t$ and $t$ "
            "with a mean-squared error; sampling runs the learned reverse steps from pure noise. "
            "Latent diffusion runs the process in a VAE's compressed latent space "
            "(512×512×3 pixels to 64×64×4 latents, 48× fewer values), conditioned on text "
            "through cross-attention."
        ),
        formulas=("ddpm-forward", "ddpm-loss", "latent-compression"),
        related=("attention", "clip", "masked-diffusion-lm"),
    ),
    Concept(
        id="masked-diffusion-lm",
        name="Masked diffusion language models (MDLM)",
        aliases=("masked diffusion language model", "masked diffusion", "mdlm"),
        definition=(
            "A masked diffusion language model corrupts text by replacing each token with a "
            "[MASK] token independently with probability $t$ (the noise level, $t\\sim U(0,1)$) "
            "and trains a bidirectional Transformer to predict the original tokens at the masked "
            "positions, BERT-style, with the cross-entropy weighted by $1/t$; the weighting makes "
            "every token count once in expectation, as in an autoregressive likelihood. "
            "Generation starts from an all-mask sequence and unmasks many tokens per step over a "
            "few parallel denoising steps, each step processing the whole sequence, instead of one "
            "token per forward pass. Masking exactly one fixed next position per step would "
            "recover autoregressive training; masking several or random positions does not."
        ),
        formulas=("mdlm-loss",),
        related=("diffusion", "language-modeling"),
    ),
]

FORMULAS = [
    Formula(
        id="ddpm-forward",
        name="Forward (noising) process and its closed-form marginal",
        latex=(
            r"q(x_t\mid x_{t-1})=\mathcal{N}\bigl(\sqrt{1-\beta_t}\,x_{t-1},\,\beta_tI\bigr),\quad "
            r"q(x_t\mid x_0)=\mathcal{N}\bigl(\sqrt{\bar\alpha_t}\,x_0,\,(1-\bar\alpha_t)I\bigr),\quad "
            r"\bar\alpha_t=\prod_{s=1}^{t}(1-\beta_s)"
        ),
        concept="diffusion",
        aliases=("forward diffusion process", "noising process", "added gaussian noise"),
        module=MODULE,
        section="ddpm_forward",
        tests=(f"{TESTS}::test_closed_form_marginal_matches_step_by_step_simulation",),
        symbols=(
            ("x_t", "noisy sample at step t"),
            ("x_0", "clean data sample"),
            (r"\beta_t", "noise variance at step t"),
            (r"\bar\alpha_t", "cumulative product of 1 - beta up to step t"),
            ("I", "identity matrix"),
        ),
    ),
    Formula(
        id="ddpm-loss",
        name="Noise-prediction training objective",
        latex=(
            r"\mathcal{L}=\mathbb{E}_{t,x_0,\varepsilon}\bigl\lVert\varepsilon-\varepsilon_\theta\bigl("
            r"\sqrt{\bar\alpha_t}\,x_0+\sqrt{1-\bar\alpha_t}\,\varepsilon,\ t\bigr)\bigr\rVert^2"
        ),
        concept="diffusion",
        aliases=(
            "diffusion training objective",
            "u-net predicts",
            "role of u-net in stable diffusion",
            "predict noise",
        ),
        module=MODULE,
        section="ddpm_loss",
        tests=(f"{TESTS}::test_noise_prediction_loss_and_x0_recovery",),
        symbols=(
            (r"\varepsilon", "Gaussian noise added"),
            (r"\varepsilon_\theta", "noise-prediction network"),
            ("x_0", "clean data sample"),
            ("t", "diffusion step"),
            (r"\bar\alpha_t", "cumulative signal fraction at step t"),
        ),
    ),
    Formula(
        id="mdlm-loss",
        name="Masked diffusion LM objective",
        latex=(
            r"\mathcal{L}=\mathbb{E}_{t\sim U(0,1)}\,\mathbb{E}_{z_t\sim q_t(\cdot\mid x)}\left[\frac{1}{t}"
            r"\sum_{\ell:\,z_t^\ell=[\mathrm{MASK}]}-\log p_\theta(x^\ell\mid z_t)\right],\quad "
            r"q_t:\ x^\ell\mapsto[\mathrm{MASK}]\text{ with prob. }t"
        ),
        concept="masked-diffusion-lm",
        aliases=(
            "masked diffusion vs autoregression",
            "mdlm denoising step",
            "mdlm training vs inference cost",
            "mdlm must denoise",
            "mask t>1 tokens",
            "mask exactly one predetermined position",
            "random masked position per step",
            "each diffusion step processes the whole sequence",
            "mdlm is trained across many timesteps",
            "semi-autoregressive block diffusion",
            "autoregression isn't fundamental",
            "mdlm",
        ),
        module=MODULE,
        section="mdlm_loss",
        tests=(f"{TESTS}::test_mdlm_masking_rate_and_unbiased_weighting", f"{TESTS}::test_mdlm_loss_matches_torch"),
        symbols=(
            ("t", "masking rate (diffusion time)"),
            ("z_t", "partially masked sequence"),
            ("x", "clean sequence"),
            (r"p_\theta", "denoising model"),
        ),
    ),
    Formula(
        id="latent-compression",
        name="Latent-space compression of Stable Diffusion",
        latex=r"\frac{H\cdot W\cdot 3}{(H/f)\cdot(W/f)\cdot c}=\frac{512\cdot 512\cdot 3}{64\cdot 64\cdot 4}=48\quad(f=8,\ c=4)",
        concept="diffusion",
        aliases=("latent space instead of pixel space", "operates in pixel space", "latent space"),
        module=MODULE,
        section="latent_compression",
        tests=(f"{TESTS}::test_latent_compression_factor",),
        symbols=(
            ("H", "image height"),
            ("W", "image width"),
            ("f", "downsampling factor of the autoencoder"),
            ("c", "latent channels"),
        ),
    ),
]


# --8<-- [start:mdlm_loss]
def mask_tokens(tokens: np.ndarray, t: float, rng, mask_id: int = -1):
    """Forward process: each token becomes [MASK] independently with probability t."""
    masked = rng.random(tokens.shape) < t
    return np.where(masked, mask_id, tokens), masked


def mdlm_loss(log_probs: np.ndarray, tokens: np.ndarray, masked: np.ndarray, t: float) -> float:
    """(1/t) * sum over masked positions of -log p(x_l | z_t); log_probs is (L, V)."""
    nll = -log_probs[np.arange(len(tokens)), tokens]
    return float((nll * masked).sum() / t)
# --8<-- [end:mdlm_loss]


# --8<-- [start:ddpm_forward]
def alpha_bar(betas: np.ndarray) -> np.ndarray:
    """alpha_bar_t = prod_{s <= t} (1 - beta_s)."""
    return np.cumprod(1.0 - np.asarray(betas, dtype=np.float64))


def noise_to(x0, t: int, betas, eps):
    """Jump straight to step t (1-based): sqrt(abar_t) x0 + sqrt(1 - abar_t) eps."""
    ab = alpha_bar(betas)[t - 1]
    return np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * eps
# --8<-- [end:ddpm_forward]


# --8<-- [start:ddpm_loss]
def noise_prediction_loss(eps, eps_pred) -> float:
    """Mean squared error between the added noise and the denoiser's prediction."""
    return float(np.mean((np.asarray(eps) - np.asarray(eps_pred)) ** 2))


def predict_x0(x_t, eps_pred, ab: float):
    """Invert the marginal: x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar)."""
    return (x_t - np.sqrt(1.0 - ab) * eps_pred) / np.sqrt(ab)
# --8<-- [end:ddpm_loss]


# --8<-- [start:latent_compression]
def latent_compression(h: int = 512, w: int = 512, channels: int = 3, f: int = 8, latent_channels: int = 4) -> float:
    """How many fewer values the denoiser processes in latent space."""
    return (h * w * channels) / ((h // f) * (w // f) * latent_channels)
# --8<-- [end:latent_compression]
