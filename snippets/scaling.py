"""Value scaling: map x in [MIN, MAX] linearly onto [-1, 1] (and back), as done before
quantizing to a symmetric integer range."""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

_MODULE = "snippets/scaling.py"
_TESTS = "tests/snippets/test_scaling.py"

CONCEPTS = [
    Concept(
        id="value-scaling",
        name="Value scaling",
        aliases=("value scaling", "min-max scaling", "scaling formula", "normalize to [-1, 1]"),
        definition=(
            "Value scaling maps a known range [MIN, MAX] linearly onto [−1, 1] with "
            "x′ = 2·(x − MIN)/(MAX − MIN) − 1, so MIN goes to −1, MAX to 1 and the midpoint to "
            "0; the inverse x = MIN + (x′ + 1)(MAX − MIN)/2 recovers the value. It is the first "
            "step of symmetric quantization: once values live in [−1, 1], multiplying by "
            "2^(b−1) − 1 and rounding gives b-bit integers. Because the map is affine, three "
            "claimed (x, x′) pairs are consistent only if they lie on one line."
        ),
        formulas=("value-scaling",),
        related=("uniform-quantization", "quantization"),
    )
]

FORMULAS = [
    Formula(
        id="value-scaling",
        name="Value scaling to [-1, 1]",
        latex=(
            r"x' = 2\,\frac{x - \mathrm{MIN}}{\mathrm{MAX} - \mathrm{MIN}} - 1,\quad "
            r"x = \mathrm{MIN} + \frac{(x' + 1)(\mathrm{MAX} - \mathrm{MIN})}{2}"
        ),
        concept="value-scaling",
        aliases=(
            "value scaling",
            "explain value scaling",
            "explain value scaling on slide 47",
            "value scaling on slide 47",
            "scaling formula",
            "map x to [-1, 1]",
            "map x ∈ [min, max]",
            "min-max scaling",
        ),
        module=_MODULE,
        section="value_scaling",
        tests=(
            f"{_TESTS}::test_scale_matches_torch_and_inverts",
            f"{_TESTS}::test_quiz_examples",
            f"{_TESTS}::test_infer_range_recovers_the_slide_range",
        ),
        symbols=(
            ("x", "original value"),
            ("x'", "scaled value in [-1, 1]"),
            (r"\mathrm{MIN}", "smallest value of the range"),
            (r"\mathrm{MAX}", "largest value of the range"),
        ),
    )
]


# --8<-- [start:value_scaling]
def scale_to_unit(x, lo: float, hi: float) -> np.ndarray:
    """x' = 2 (x - MIN) / (MAX - MIN) - 1."""
    x = np.asarray(x, dtype=np.float64)
    return 2.0 * (x - lo) / (hi - lo) - 1.0


def unscale_from_unit(y, lo: float, hi: float) -> np.ndarray:
    """Inverse: x = MIN + (x' + 1)(MAX - MIN) / 2."""
    return lo + (np.asarray(y, dtype=np.float64) + 1.0) * (hi - lo) / 2.0
# --8<-- [end:value_scaling]


# --8<-- [start:value_scaling_check]
def infer_range(x, claimed) -> tuple[float, float, float]:
    """Least-squares (MIN, MAX) that best explains claimed x ↦ x' pairs, and the worst residual.

    A residual far above the rounding of the claims means no single range makes them all true.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(claimed, dtype=np.float64)
    slope, intercept = np.polyfit(x, y, 1)  # x' = slope·x + intercept, slope = 2/(MAX−MIN)
    lo, hi = (-1 - intercept) / slope, (1 - intercept) / slope
    return float(lo), float(hi), float(np.abs(slope * x + intercept - y).max())


def check_scaling_claim(x, claimed, lo: float = 0.0, hi: float = 1000.0,
                        tol: float = 5e-4) -> list[dict]:
    """Per value: claimed vs computed x' for the range [lo, hi] (the slide's [0, 1000])."""
    computed = scale_to_unit(x, lo, hi)
    return [{"x": float(v), "claimed": float(c), "computed": round(float(r), 6),
             "ok": bool(abs(c - r) <= tol)}
            for v, c, r in zip(np.ravel(x), np.ravel(claimed), np.ravel(computed), strict=True)]
# --8<-- [end:value_scaling_check]


def range_candidates(pairs) -> list[tuple[float, float]]:
    """(MIN, MAX) ranges that two consecutive (x, x') pairs of one quiz item imply, rounded to
    integers when within the quiz's 3-decimal fuzz: the check pass keeps the range most pairs of
    all the items agree with (the notes never state it)."""
    out = []
    for (x1, y1), (x2, y2) in zip(pairs, pairs[1:], strict=False):
        if x1 == x2 or y1 == y2:
            continue
        a = (y2 - y1) / (x2 - x1)  # x' = a x + b  <=>  MIN = (-1 - b) / a, MAX = (1 - b) / a
        b = y1 - a * x1
        lo, hi = (-1 - b) / a, (1 - b) / a
        near = 0.005 * abs(hi - lo)
        out.append(tuple(round(v) if abs(v - round(v)) <= near else round(v, 6) for v in (lo, hi)))
    return out


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Mapping  # noqa: E402  (declarations stay at the module's end)

CLAIMS = [
    Mapping(formula="value-scaling", function="scale_to_unit", candidates="range_candidates",
            names=("w", "x"), params=("MIN", "MAX")),
]
