"""Speculative decoding (Leviathan et al. 2023; Chen et al. 2023).

A cheap draft model proposes gamma tokens; the target model scores them all in one parallel
pass and accepts each with probability min(1, p/q), resampling the first rejected position
from norm(max(0, p - q)). The output is distributed exactly as the target model's.
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

MODULE = "snippets/speculative_decoding.py"
TESTS = "tests/snippets/test_speculative_decoding.py"

CONCEPTS = [
    Concept(
        id="speculative-decoding",
        name="Speculative decoding",
        aliases=("speculative decoding", "speculative sampling", "draft model"),
        definition=(
            "Speculative decoding speeds up autoregressive generation without changing its "
            "output distribution. A small draft model proposes $\\gamma$ tokens; the large "
            "target model evaluates all of them in one forward pass (decoding is memory-bound, "
            "so checking several tokens costs about as much as generating one) and accepts each "
            "draft token $x$ with probability $\\min(1, p(x)/q(x))$; at the first rejection it "
            "samples a replacement from $\\operatorname{norm}(\\max(0,p-q))$. With acceptance "
            "rate $\\alpha$ each target pass yields $(1-\\alpha^{\\gamma+1})/(1-\\alpha)$ tokens "
            "on average; longer drafts help only while $\\alpha$ is high, since the draft and the "
            "verification of rejected tokens cost time."
        ),
        formulas=("speculative-expected-tokens", "speculative-sampling"),
        related=("kv-cache",),
    )
]

FORMULAS = [
    Formula(
        id="speculative-expected-tokens",
        name="Expected tokens per target pass and speed-up",
        latex=(
            r"\mathbb{E}[\#\text{tokens}]=\frac{1-\alpha^{\gamma+1}}{1-\alpha},\qquad "
            r"\text{speed-up}=\frac{1-\alpha^{\gamma+1}}{(1-\alpha)(\gamma c+1)}"
        ),
        concept="speculative-decoding",
        aliases=(
            "speedup achieved by speculative decoding",
            "key tradeoff in speculative decoding",
            "speculative decoding",
        ),
        module=MODULE,
        section="speculative_expected_tokens",
        tests=(f"{TESTS}::test_expected_tokens_matches_simulation",),
        symbols=(
            (r"\alpha", "acceptance rate of draft tokens"),
            (r"\gamma", "draft tokens proposed per step"),
            ("c", "cost of a draft step relative to the target model"),
        ),
    ),
    Formula(
        id="speculative-sampling",
        name="Speculative sampling acceptance rule",
        latex=(
            r"\text{accept }x\sim q\text{ with prob. }\min\!\left(1,\frac{p(x)}{q(x)}\right),\ "
            r"\text{else sample }x\sim\frac{\max(0,p-q)}{\sum_{x'}\max(0,p(x')-q(x'))}"
        ),
        concept="speculative-decoding",
        aliases=("verification work in speculative decoding", "speculative sampling"),
        module=MODULE,
        section="speculative_sampling",
        tests=(f"{TESTS}::test_speculative_sampling_preserves_the_target_distribution",),
        symbols=(
            ("p", "target model distribution"),
            ("q", "draft model distribution"),
            ("x", "drafted token"),
        ),
    ),
]


# --8<-- [start:speculative_expected_tokens]
def expected_tokens(alpha: float, gamma: int) -> float:
    """Accepted drafts until the first rejection (capped at gamma), plus the target's own token."""
    if alpha == 1.0:
        return gamma + 1.0
    return (1 - alpha ** (gamma + 1)) / (1 - alpha)


def speedup(alpha: float, gamma: int, c: float) -> float:
    """Wall-clock speed-up when one draft step costs c target steps."""
    return expected_tokens(alpha, gamma) / (gamma * c + 1)
# --8<-- [end:speculative_expected_tokens]


# --8<-- [start:speculative_sampling]
def acceptance_distribution(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Exact distribution of one speculative step's output token.

    P(x) = q(x) min(1, p(x)/q(x)) + P(reject) * residual(x), residual = norm(max(0, p - q)).
    """
    accepted = np.minimum(q, p)  # q(x) * min(1, p(x)/q(x))
    residual = np.maximum(0.0, p - q)
    reject = 1.0 - accepted.sum()
    if reject <= 0:
        return accepted
    return accepted + reject * residual / residual.sum()


def speculative_step(p, q, rng):
    """Sample one token: draft from q, accept or resample from the residual."""
    x = rng.choice(len(q), p=q)
    if rng.random() < min(1.0, p[x] / q[x]):
        return x
    residual = np.maximum(0.0, p - q)
    return rng.choice(len(p), p=residual / residual.sum())
# --8<-- [end:speculative_sampling]
