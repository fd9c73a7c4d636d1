"""Learning-rate schedules: the Transformer's warmup + inverse-square-root decay, multistep decay."""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Fingerprint, Formula

MODULE = "snippets/lr_schedule.py"
TESTS = "tests/snippets/test_lr_schedule.py"

CONCEPTS = [
    Concept(
        id="learning-rate-schedule",
        name="Learning-rate schedule",
        aliases=("learning rate schedule", "learning-rate schedule", "learning rate scheduler", "warmup"),
        definition=(
            "A learning-rate schedule changes the optimizer's step size during training. The "
            "Transformer (Vaswani et al.) uses linear warmup followed by inverse-square-root decay, "
            "$\\text{lrate}=d_{\\text{model}}^{-0.5}\\min(\\text{step}^{-0.5},\\,\\text{step}\\cdot"
            "\\text{warmup}^{-1.5})$: the two branches meet at $\\text{step}=\\text{warmup}$ "
            "(4000 in the paper), where the rate peaks at $(d_{\\text{model}}\\cdot\\text{warmup})^{-0.5}$. "
            "Warmup keeps Adam's early, badly-estimated second moments from producing huge "
            "updates. A multistage (step) schedule instead multiplies the rate by a factor "
            "$\\gamma$ at fixed milestones."
        ),
        formulas=("transformer-lr-schedule", "multistep-lr"),
        related=(),
    )
]

FORMULAS = [
    Formula(
        id="transformer-lr-schedule",
        name="Transformer learning-rate schedule (warmup, then inverse square root)",
        latex=(
            r"\text{lrate}=d_{\text{model}}^{-0.5}\cdot\min\left(\mathrm{step\_num}^{-0.5},\ "
            r"\mathrm{step\_num}\cdot\mathrm{warmup\_steps}^{-1.5}\right)"
        ),
        concept="learning-rate-schedule",
        aliases=(
            "learning rate schedule",
            "learning-rate schedule",
            "lrate",
            "lrate=dmodel",
            "warmup_steps",
            "noam schedule",
        ),
        module=MODULE,
        section="transformer_lr_schedule",
        tests=(
            f"{TESTS}::test_peak_is_at_warmup_where_the_branches_meet",
            f"{TESTS}::test_matches_torch_lambdalr",
        ),
        symbols=(
            (r"\text{lrate}", "learning rate"),
            (r"d_{\text{model}}", "model dimension"),
            (r"\mathrm{step\_num}", "training step number"),
            (r"\mathrm{warmup\_steps}", "number of warm-up steps"),
        ),
    ),
    Formula(
        id="multistep-lr",
        name="Multistage (step) learning-rate schedule",
        latex=r"\eta_t=\eta_0\,\gamma^{\,\left|\{m\in\text{milestones}\,:\,m\le t\}\right|}",
        concept="learning-rate-schedule",
        aliases=("multistage learning rate scheduler", "multistep learning rate", "step decay"),
        module=MODULE,
        section="multistep_lr",
        tests=(f"{TESTS}::test_multistep_matches_torch",),
        symbols=(
            (r"\eta_t", "learning rate at step t"),
            (r"\eta_0", "initial learning rate"),
            (r"\gamma", "decay factor per milestone"),
            ("m", "a milestone step"),
            ("t", "current step"),
        ),
    ),
]


# --8<-- [start:transformer_lr_schedule]
def transformer_lrate(step, d_model: int = 512, warmup_steps: int = 4000):
    """lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5), for step >= 1.

    Linear growth for step < warmup, then decay proportional to 1/sqrt(step).
    """
    step = np.asarray(step, dtype=np.float64)
    return d_model**-0.5 * np.minimum(step**-0.5, step * warmup_steps**-1.5)


def peak_lrate(d_model: int = 512, warmup_steps: int = 4000) -> float:
    """Both branches equal warmup^-0.5 at step = warmup: peak = (d_model * warmup)^-0.5."""
    return (d_model * warmup_steps) ** -0.5
# --8<-- [end:transformer_lr_schedule]


# --8<-- [start:multistep_lr]
def multistep_lr(step: int, base_lr: float, milestones, gamma: float = 0.1) -> float:
    """Multiply the rate by gamma at every milestone already passed."""
    return base_lr * gamma ** sum(1 for m in milestones if m <= step)
# --8<-- [end:multistep_lr]


# How these formulas look in notes (regexes over formula_match.compact() text); `example` is
# a spelling from the notes each must match, pinned by tests/test_repair.py.
FINGERPRINTS = [
    Fingerprint("transformer-lr-schedule",
                r"lrate=dmodel-0\.5\*?min\(stepnum-0\.5,",
                "lrate=dmodel−0.5⋅min(step_num−0.5,step_num⋅warmup_steps−1.5)"),
]
