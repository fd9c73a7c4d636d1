"""Value scaling: map x in [MIN, MAX] linearly onto [-1, 1]."""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

CONCEPTS = [
    Concept(
        id="value-scaling",
        name="Value scaling",
        aliases=("value scaling", "min-max scaling", "scaling formula"),
        definition="Linear map of a known range [MIN, MAX] onto [-1, 1] before quantization.",
        formulas=("value-scaling",),
    )
]

FORMULAS = [
    Formula(
        id="value-scaling",
        name="Value scaling to [-1, 1]",
        latex=r"x' = 2\,\frac{x - \mathrm{MIN}}{\mathrm{MAX} - \mathrm{MIN}} - 1",
        concept="value-scaling",
        aliases=("value scaling", "scaling formula", "map x to [-1, 1]"),
        module="snippets/scaling.py",
        section="value_scaling",
        tests=("tests/snippets/test_scaling.py",),
    )
]


# --8<-- [start:value_scaling]
def scale_to_unit(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """x' = 2 (x - MIN) / (MAX - MIN) - 1."""
    x = np.asarray(x, dtype=np.float64)
    return 2.0 * (x - lo) / (hi - lo) - 1.0
# --8<-- [end:value_scaling]
