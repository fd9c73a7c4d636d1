"""Scaling laws: Kaplan et al. (2020) power laws and Chinchilla's compute-optimal allocation.

Kaplan: loss falls as a power of parameters N, data D or compute C when the other two are
not the bottleneck. Chinchilla (Hoffmann et al., 2022) fits L(N, D) = E + A/N^a + B/D^b and
minimises it under the budget C = 6 N D.
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Fingerprint, Formula

MODULE = "snippets/scaling_laws.py"
TESTS = "tests/snippets/test_scaling_laws.py"

# Hoffmann et al. (2022), Approach 3 fit (loss in nats/token).
CHINCHILLA = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
# Kaplan et al. (2020): N_c, D_c in parameters / tokens, C_c in PF-days.
KAPLAN = {"N": (8.8e13, 0.076), "D": (5.4e13, 0.095), "C": (3.1e8, 0.050)}

CONCEPTS = [
    Concept(
        id="scaling-laws",
        name="Scaling laws",
        aliases=("scaling laws", "scaling law", "chinchilla", "compute-optimal", "power laws"),
        definition=(
            "Scaling laws are empirical fits of test loss as a function of model size $N$, "
            "training tokens $D$ and compute $C\\approx 6ND$. Kaplan et al. found clean power "
            "laws $L(X)=(X_c/X)^{\\alpha_X}$ for each of $N$, $D$, $C$ when the other two are not "
            "limiting, which lets small experiments predict large runs. Chinchilla fits "
            "$L(N,D)=E+A/N^{\\alpha}+B/D^{\\beta}$ and minimises it under a fixed budget: both "
            "$N_{\\text{opt}}$ and $D_{\\text{opt}}$ grow roughly as $\\sqrt{C}$, which gives the "
            "rule of thumb of about 20 training tokens per parameter (Chinchilla: 70B parameters, "
            "1.4T tokens), far more data per parameter than the Kaplan-era models used."
        ),
        formulas=("kaplan-power-laws", "chinchilla-loss", "chinchilla-optimum", "tokens-per-parameter"),
        related=("resource-accounting",),
    )
]

FORMULAS = [
    Formula(
        id="kaplan-power-laws",
        name="Kaplan power laws for N, D and C",
        latex=(
            r"L(N)\approx\left(\frac{N_c}{N}\right)^{\alpha_N},\quad "
            r"L(D)\approx\left(\frac{D_c}{D}\right)^{\alpha_D},\quad "
            r"L(C)\approx\left(\frac{C_c}{C}\right)^{\alpha_C}"
        ),
        concept="scaling-laws",
        aliases=(
            "three power-law relationships",
            "llm scaling laws",
            "scaling laws (kaplan",
            "kaplan",
            "l(n)≈(nnc)αn",
        ),
        module=MODULE,
        section="kaplan_power_laws",
        tests=(f"{TESTS}::test_kaplan_power_laws_are_straight_lines_in_log_log",),
        symbols=(
            ("L", "test loss"),
            ("N", "number of parameters (model size)"),
            ("D", "dataset size in tokens"),
            ("C", "training compute"),
            ("N_c", "parameter scale constant"),
            ("D_c", "data scale constant"),
            ("C_c", "compute scale constant"),
            (r"\alpha_N", "parameter exponent"),
            (r"\alpha_D", "data exponent"),
            (r"\alpha_C", "compute exponent"),
        ),
    ),
    Formula(
        id="chinchilla-loss",
        name="Chinchilla parametric loss",
        latex=r"L(N,D)=E+\frac{A}{N^{\alpha}}+\frac{B}{D^{\beta}},\qquad C\approx 6ND",
        concept="scaling-laws",
        aliases=("chinchilla loss", "parametric loss", "l(n,d)"),
        module=MODULE,
        section="chinchilla",
        tests=(f"{TESTS}::test_closed_form_optimum_matches_grid_search",),
        symbols=(
            ("L", "pre-training loss"),
            ("N", "number of parameters (model size)"),
            ("D", "number of training tokens (data size)"),
            ("E", "irreducible loss (entropy of natural text)"),
            ("A", "parameter-term coefficient"),
            ("B", "data-term coefficient"),
            (r"\alpha", "parameter-term exponent"),
            (r"\beta", "data-term exponent"),
            ("C", "training compute in FLOPs"),
        ),
    ),
    Formula(
        id="chinchilla-optimum",
        name="Compute-optimal model and data size",
        latex=(
            r"N_{\text{opt}}(C)=G\left(\frac{C}{6}\right)^{\frac{\beta}{\alpha+\beta}},\quad "
            r"D_{\text{opt}}(C)=G^{-1}\left(\frac{C}{6}\right)^{\frac{\alpha}{\alpha+\beta}},\quad "
            r"G=\left(\frac{\alpha A}{\beta B}\right)^{\frac{1}{\alpha+\beta}}"
        ),
        concept="scaling-laws",
        aliases=("compute-optimal", "compute optimal", "optimal model size"),
        module=MODULE,
        section="chinchilla",
        tests=(f"{TESTS}::test_closed_form_optimum_matches_grid_search",),
        symbols=(
            (r"N_{\text{opt}}", "compute-optimal number of parameters"),
            (r"D_{\text{opt}}", "compute-optimal number of training tokens"),
            ("C", "training compute budget in FLOPs"),
            ("A", "parameter-term coefficient"),
            ("B", "data-term coefficient"),
            (r"\alpha", "parameter-term exponent"),
            (r"\beta", "data-term exponent"),
        ),
    ),
    Formula(
        id="tokens-per-parameter",
        name="Chinchilla rule of thumb: about 20 tokens per parameter",
        latex=r"D\approx 20N,\quad C=6ND\ \Rightarrow\ N\approx\sqrt{C/120},\ D\approx\sqrt{20C/6}",
        concept="scaling-laws",
        aliases=("20 tokens per parameter", "tokens per parameter", "d ≈ 20n"),
        module=MODULE,
        section="tokens_per_parameter",
        tests=(f"{TESTS}::test_twenty_tokens_per_parameter_rule",),
        symbols=(
            ("D", "number of training tokens"),
            ("N", "number of parameters"),
            ("C", "training compute in FLOPs"),
        ),
    ),
]


# --8<-- [start:kaplan_power_laws]
def kaplan_loss(x, which: str = "N"):
    """L(X) = (X_c / X)^alpha_X for X in {N, D, C} (C in PF-days)."""
    x_c, alpha = KAPLAN[which]
    return (x_c / np.asarray(x, dtype=np.float64)) ** alpha
# --8<-- [end:kaplan_power_laws]


# --8<-- [start:chinchilla]
def chinchilla_loss(n, d, E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28):
    return E + A / np.asarray(n, dtype=np.float64) ** alpha + B / np.asarray(d, dtype=np.float64) ** beta


def chinchilla_optimum(c, E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28):
    """argmin_N L(N, C / (6N)): set dL/dN = 0, i.e. alpha A / N^alpha = beta B / D^beta."""
    g = (alpha * A / (beta * B)) ** (1.0 / (alpha + beta))
    n_opt = g * (c / 6.0) ** (beta / (alpha + beta))
    return n_opt, c / (6.0 * n_opt)
# --8<-- [end:chinchilla]


# --8<-- [start:tokens_per_parameter]
def twenty_tokens_rule(c: float) -> tuple[float, float]:
    """D = 20 N with C = 6 N D: N = sqrt(C / 120), D = 20 N."""
    n = (c / 120.0) ** 0.5
    return n, 20.0 * n
# --8<-- [end:tokens_per_parameter]


# How these formulas look in notes (regexes over formula_match.compact() text); `example` is
# a spelling from the notes each must match, pinned by tests/test_repair.py.
FINGERPRINTS = [
    Fingerprint("kaplan-power-laws",
                r"l\(n\)~\(nnc\)αn|l\(c\)~\(ccc\)αc|l\(d\)~\(ddc\)αd",
                "Parameters: L(N)≈(NNc)αN;Compute: L(C)≈(CCc)αC;Data: L(D)≈(DDc)αD"),
]
