"""A weight-stationary systolic array, simulated cycle by cycle.

Layout as in the notes: weights are fixed in the PEs, inputs stream UP through the columns and
partial sums move RIGHT along the rows, leaving the array on its right side. PE (n, k) holds
W[k, n]; row n produces output column n of Y = X W, column k consumes input feature k.
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

_MODULE = "snippets/systolic.py"
_TESTS = "tests/snippets/test_systolic.py"

CONCEPTS = [
    Concept(
        id="systolic-array",
        name="Systolic array (weight-stationary)",
        aliases=(
            "systolic array",
            "weight-stationary systolic array",
            "weight stationary",
            "processing element",
            "column combining",
            "systolic array cells",
        ),
        definition=(
            "A systolic array is a grid of processing elements (PEs) that each do one "
            "multiply-accumulate per cycle and pass data only to their neighbours. In the "
            "weight-stationary form used by the TPU every PE holds one weight; input values "
            "stream through the array in one direction and partial sums in the other, each PE "
            "applying y_out = y_in + w·x_in, so a K×N array computes a matrix product with "
            "purely local data movement and each weight and input reused many times. Feeding "
            "M input rows with a one-cycle skew per column takes M + K + N − 2 cycles. Zero "
            "weights still occupy PEs, which is why unstructured sparsity wastes cells unless "
            "sparse columns are packed together (column combining)."
        ),
        formulas=("systolic-pe", "systolic-latency"),
        related=("roofline", "convolution", "n-m-sparsity"),
    )
]

FORMULAS = [
    Formula(
        id="systolic-pe",
        name="Systolic PE rule",
        latex=r"y_{\text{out}} = y_{\text{in}} + w \cdot x_{\text{in}},\quad x_{\text{out}} = x_{\text{in}}",
        concept="systolic-array",
        aliases=(
            "systolic pe equation",
            "systolic pe rule",
            "pe equation",
            "y_out = y_in + w·x_in",
            "define a weight-stationary systolic array",
            "weight-stationary systolic array",
            "why is systolic array efficient",
            "from the top of array",
            "results are output from the right side",
            "tpu uses what architecture",
            "systolic array",
        ),
        module=_MODULE,
        section="systolic_pe",
        tests=(
            f"{_TESTS}::test_systolic_array_equals_matmul",
            f"{_TESTS}::test_single_pe_rule",
        ),
        symbols=(
            (r"y_{\text{out}}", "partial sum leaving the PE"),
            (r"y_{\text{in}}", "partial sum entering the PE"),
            ("w", "stationary weight of the PE"),
            (r"x_{\text{in}}", "input activation entering the PE"),
            (r"x_{\text{out}}", "input activation passed on"),
        ),
    ),
    Formula(
        id="systolic-latency",
        name="Cycles of a weight-stationary systolic matmul",
        latex=r"T = M + K + N - 2 \quad \text{cycles for } (M \times K) \cdot (K \times N)",
        concept="systolic-array",
        aliases=("systolic array latency", "systolic cycles", "cycles of a systolic array"),
        module=_MODULE,
        section="systolic_array",
        tests=(f"{_TESTS}::test_systolic_cycle_count",),
        symbols=(
            ("T", "latency in cycles"),
            ("M", "rows of the left matrix"),
            ("K", "inner (shared) dimension"),
            ("N", "columns of the right matrix"),
        ),
    ),
]


# --8<-- [start:systolic_pe]
def pe_step(y_in, w, x_in):
    """One processing element, one cycle: add its product to the partial sum, pass x on."""
    return y_in + w * x_in, x_in
# --8<-- [end:systolic_pe]


# --8<-- [start:systolic_array]
def systolic_cycles(m: int, k: int, n: int) -> int:
    """Last output (m = M−1, row n = 0) leaves after (M−1) + (N−1) + (K−1) + 1 cycles."""
    return m + k + n - 2


def systolic_matmul(x: np.ndarray, w: np.ndarray,
                    cycles: int | None = None) -> tuple[np.ndarray, int]:
    """Y = X W on a K×N weight-stationary array, simulated register by register.

    x[m, k] enters column k at the bottom row at cycle m + k (skewed), climbs one row per
    cycle; the partial sum for (m, n) starts at the left of row n and moves one column right
    per cycle, meeting x[m, k] exactly at PE (n, k). It leaves row n on the right at cycle
    m + (N − 1 − n) + (K − 1). `cycles` stops the clock early (to watch results arrive).
    """
    m_rows, k_dim = x.shape
    _, n_dim = w.shape
    weights = w.T  # PE (n, k) holds W[k, n]
    x_reg = np.zeros((n_dim, k_dim))  # value each PE passes upward
    y_reg = np.zeros((n_dim, k_dim))  # partial sum each PE passes right
    y = np.full((m_rows, n_dim), np.nan)  # NaN: not out of the array yet
    cycles = systolic_cycles(m_rows, k_dim, n_dim) if cycles is None else cycles
    for t in range(cycles):
        x_in = np.zeros_like(x_reg)
        x_in[:-1] = x_reg[1:]  # from the PE below
        for k in range(k_dim):  # skewed injection at the bottom row
            if 0 <= t - k < m_rows:
                x_in[-1, k] = x[t - k, k]
        y_in = np.zeros_like(y_reg)
        y_in[:, 1:] = y_reg[:, :-1]  # from the PE on the left; 0 enters at the left edge
        y_reg, x_reg = pe_step(y_in, weights, x_in)  # every PE fires in the same cycle
        for n in range(n_dim):  # results leave on the right side
            m = t - (n_dim - 1 - n) - (k_dim - 1)
            if 0 <= m < m_rows:
                y[m, n] = y_reg[n, -1]
    return y, cycles
# --8<-- [end:systolic_array]
