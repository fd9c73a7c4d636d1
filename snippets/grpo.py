"""GRPO (Shao et al., DeepSeekMath 2024): group-relative advantages and the clipped objective.

For one prompt the policy samples a group of G answers; each answer's advantage is its reward
standardised within the group, so no learned value function (critic) is needed.
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

MODULE = "snippets/grpo.py"
TESTS = "tests/snippets/test_grpo.py"

CONCEPTS = [
    Concept(
        id="grpo",
        name="Group relative policy optimization (GRPO)",
        aliases=("grpo", "group relative policy optimization", "group-relative advantages"),
        definition=(
            "GRPO is a PPO variant for fine-tuning language models with rewards (e.g. whether a "
            "reasoning trace reaches the right answer). For each prompt it samples a group of "
            "$G$ outputs and uses as the advantage of output $i$ its reward standardised within "
            "the group, $\\hat A_i=(r_i-\\operatorname{mean}(r))/\\operatorname{std}(r)$, which "
            "replaces PPO's learned critic. The policy then maximises PPO's clipped surrogate "
            "$\\min(\\rho_i\\hat A_i,\\operatorname{clip}(\\rho_i,1-\\epsilon,1+\\epsilon)\\hat A_i)$ "
            "with probability ratio $\\rho_i=\\pi_\\theta/\\pi_{\\text{old}}$, minus a KL penalty "
            "towards a reference model."
        ),
        formulas=("grpo-advantage",),
        related=("language-modeling",),
    )
]

FORMULAS = [
    Formula(
        id="grpo-advantage",
        name="GRPO group-relative advantage and clipped objective",
        latex=(
            r"\hat A_i=\frac{r_i-\operatorname{mean}(r_{1:G})}{\operatorname{std}(r_{1:G})},\quad "
            r"J=\frac{1}{G}\sum_{i=1}^{G}\min\bigl(\rho_i\hat A_i,\ \operatorname{clip}(\rho_i,1-\epsilon,1+\epsilon)\hat A_i\bigr)"
            r"-\beta\,D_{\mathrm{KL}}(\pi_\theta\parallel\pi_{\text{ref}})"
        ),
        concept="grpo",
        aliases=("grpo intuition", "pro → grpo", "group-relative advantages", "grpo"),
        module=MODULE,
        section="grpo",
        tests=(f"{TESTS}::test_group_advantages_match_a_loop", f"{TESTS}::test_clipped_surrogate_matches_torch"),
        symbols=(
            (r"\hat A_i", "advantage of sampled response i"),
            ("r_i", "reward of sampled response i"),
            ("G", "number of responses sampled per prompt (group size)"),
            (r"\rho_i", "probability ratio of the new and old policy"),
            (r"\epsilon", "clipping range"),
            (r"\beta", "KL penalty weight"),
            ("J", "GRPO objective"),
        ),
    )
]


# --8<-- [start:grpo]
def group_advantages(rewards, eps: float = 1e-8) -> np.ndarray:
    """(r_i - mean) / std over the G samples of one prompt (population std, as in the paper)."""
    r = np.asarray(rewards, dtype=np.float64)
    return (r - r.mean()) / (r.std() + eps)


def clipped_surrogate(ratio, adv, clip_eps: float = 0.2) -> float:
    """Mean of min(rho A, clip(rho, 1 - eps, 1 + eps) A): the objective to maximise."""
    ratio, adv = np.asarray(ratio), np.asarray(adv)
    return float(np.mean(np.minimum(ratio * adv, np.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv)))
# --8<-- [end:grpo]


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Normalizes  # noqa: E402  (declarations stay at the module's end)

CLAIMS = [
    Normalizes(formula="grpo-advantage", function="group_advantages",
               phrases=(r"grpo", r"group[- ]relative(?: advantages?)?")),
]
