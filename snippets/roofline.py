"""Roofline model: attainable throughput, ridge point, arithmetic intensity of GEMM vs GEMV.

Units are whatever the caller uses consistently (FLOP/s and byte/s, or GFLOP/s and GB/s).
The notes write CT (compute throughput), MB (memory bandwidth) and α (arithmetic intensity).
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Fingerprint, Formula

_MODULE = "snippets/roofline.py"
_TESTS = "tests/snippets/test_roofline.py"

CONCEPTS = [
    Concept(
        id="roofline",
        name="Roofline model",
        aliases=(
            "roofline",
            "roofline model",
            "memory-bound",
            "compute-bound",
            "memory wall",
            "compute roof",
            "bandwidth roof",
        ),
        definition=(
            "The roofline model bounds the throughput a kernel can reach on a machine by two "
            "roofs: the peak compute rate and the memory bandwidth times the kernel's arithmetic "
            "intensity (FLOPs performed per byte moved to or from memory). Plotted on log-log "
            "axes (x: arithmetic intensity, y: FLOP/s) the bandwidth roof is a slanted line and "
            "the compute roof a flat one; they meet at the ridge point, the intensity "
            "peak/bandwidth. Kernels left of the ridge are memory-bound (a faster memory or more "
            "data reuse helps), kernels right of it are compute-bound. Matrix-matrix products "
            "reuse each loaded element O(n) times and sit far right; matrix-vector products "
            "reuse each weight once and stay memory-bound whatever their size."
        ),
        formulas=("roofline", "ridge-point", "arithmetic-intensity", "model-flops-utilization"),
        related=("systolic-array", "kv-cache", "flash-attention"),
    )
]

FORMULAS = [
    Formula(
        id="roofline",
        name="Roofline: attainable throughput",
        latex=r"\mathrm{CT} = \min\left(\mathrm{CT}_{\text{peak}},\ \alpha \cdot \mathrm{MB}\right)",
        concept="roofline",
        aliases=(
            "roofline relation",
            "equation for achievable throughput",
            "achievable throughput",
            "attainable throughput",
            "attainable performance",
            "roofline model",
            "roofline model axis labels",
            "roofline",
            "ct = min",
            "ct = α · mb",
            "what does ct = α · mb imply",
            r"ct = \alpha \cdot mb",
            "imply for design",
            "bw-bound roofline",
            "flat (bw-bound) roofline",
            "raise the flat",
            "memory wall",
            "bypass memory wall",
        ),
        module=_MODULE,
        section="roofline",
        tests=(
            f"{_TESTS}::test_roofline_matches_simulated_machine",
            f"{_TESTS}::test_roofline_is_continuous_at_ridge",
        ),
        symbols=(
            (r"\mathrm{CT}", "attainable compute throughput (FLOP/s)"),
            (r"\mathrm{CT}_{\text{peak}}", "peak compute throughput (FLOP/s)"),
            (r"\alpha", "arithmetic intensity (FLOPs per byte)"),
            (r"\mathrm{MB}", "memory bandwidth (bytes/s)"),
        ),
    ),
    Formula(
        id="ridge-point",
        name="Ridge point of the roofline",
        latex=r"\alpha_{\text{ridge}} = \frac{\mathrm{CT}_{\text{peak}}}{\mathrm{MB}}",
        concept="roofline",
        aliases=(
            "ridge point",
            "interpret ridge point",
            "ridge point on roofline",
            "at the ridge point",
            "ridge moves right",
            "ridge moves left",
            "alpha_ridge",
            "peak flop/s / peak bw",
        ),
        module=_MODULE,
        section="ridge_point",
        tests=(
            f"{_TESTS}::test_ridge_point_is_where_roofs_meet",
            f"{_TESTS}::test_ridge_moves_right_when_bandwidth_drops",
        ),
        symbols=(
            (r"\alpha_{\text{ridge}}", "arithmetic intensity at the ridge point"),
            (r"\mathrm{CT}_{\text{peak}}", "peak compute throughput (FLOP/s)"),
            (r"\mathrm{MB}", "memory bandwidth (bytes/s)"),
        ),
    ),
    Formula(
        id="arithmetic-intensity",
        name="Arithmetic intensity (GEMM vs GEMV)",
        definition=("Arithmetic intensity is the work a kernel does per byte it moves: FLOPs "
                    "divided by the bytes read from and written to memory. Below the machine's "
                    "ridge point (peak FLOP/s over memory bandwidth) the kernel is memory-bound, "
                    "above it compute-bound; a GEMM's intensity grows with the matrix sizes, a "
                    "GEMV's stays near 2/b whatever its size."),
        latex=(
            r"\alpha = \frac{\text{FLOPs}}{\text{bytes moved}},\quad "
            r"\alpha_{\text{GEMM}} = \frac{2mnk}{b\,(mk + kn + mn)},\quad "
            r"\alpha_{\text{GEMV}} = \frac{2mk}{b\,(mk + k + m)}"
        ),
        concept="roofline",
        aliases=(
            "arithmetic intensity",
            "operational intensity",
            "define arithmetic intensity",
            "arithmetic/operational intensity",
            "α = ct / mb",
            "mmm vs mvm",
            "mvm vs mmm",
            "mmm vs mvm α",
            "mvm vs mmm bandwidth difference",
            "why increase α",
            "ways to increase α",
            "increase α",
            "increase alpha",
            "data reuse via tiling",
            "block shaping",
            "cake scheduling",
            "flops/byte",
        ),
        module=_MODULE,
        section="arithmetic_intensity",
        tests=(
            f"{_TESTS}::test_gemm_counts_match_brute_force",
            f"{_TESTS}::test_gemm_intensity_grows_linearly_gemv_stays_constant",
        ),
        symbols=(
            (r"\alpha", "arithmetic intensity (FLOPs per byte moved)"),
            ("m", "rows of the output matrix"),
            ("n", "columns of the output matrix"),
            ("k", "inner (reduction) dimension"),
            ("b", "bytes per element"),
        ),
    ),
    Formula(
        id="model-flops-utilization",
        name="Model FLOPs utilization (MFU)",
        latex=r"\mathrm{MFU} = \frac{\text{achieved FLOP/s}}{\text{peak FLOP/s}}",
        concept="roofline",
        aliases=("model flops utilization", "mfu", "promised flop/s"),
        module=_MODULE,
        section="mfu",
        tests=(f"{_TESTS}::test_mfu_of_simulated_kernel",),
        symbols=(
            (r"\mathrm{MFU}", "model FLOPs utilization"),
        ),
    ),
]


# --8<-- [start:roofline]
def attainable_throughput(intensity, peak: float, bandwidth: float):
    """CT = min(peak, α · MB): the lower of the compute roof and the bandwidth roof."""
    return np.minimum(peak, np.asarray(intensity, dtype=np.float64) * bandwidth)
# --8<-- [end:roofline]


# --8<-- [start:ridge_point]
def ridge_point(peak: float, bandwidth: float) -> float:
    """α_ridge = peak / MB: below it a kernel is memory-bound, above it compute-bound."""
    return peak / bandwidth


def ridge_shift(bandwidth_factor: float) -> float:
    """How the ridge moves when bandwidth is multiplied by `bandwidth_factor` (same peak).

    Returns the factor on α_ridge: lower bandwidth (factor < 1) gives a larger ridge, i.e. the
    ridge moves RIGHT; more kernels become memory-bound.
    """
    return 1.0 / bandwidth_factor
# --8<-- [end:ridge_point]


# --8<-- [start:arithmetic_intensity]
def gemm_flops(m: int, n: int, k: int) -> int:
    """(m×k) @ (k×n): one multiply and one add per inner-product term."""
    return 2 * m * n * k


def gemm_bytes(m: int, n: int, k: int, bytes_per_element: int = 2) -> int:
    """Ideal traffic: read A and B once, write C once (perfect on-chip reuse)."""
    return bytes_per_element * (m * k + k * n + m * n)


def gemv_flops(m: int, k: int) -> int:
    """(m×k) @ (k): a matrix-vector product is a GEMM with n = 1."""
    return gemm_flops(m, 1, k)


def gemv_bytes(m: int, k: int, bytes_per_element: int = 2) -> int:
    return gemm_bytes(m, 1, k, bytes_per_element)


def arithmetic_intensity(flops: float, nbytes: float) -> float:
    """α = FLOPs / bytes moved."""
    return flops / nbytes


def gemm_intensity(m: int, n: int, k: int, bytes_per_element: int = 2) -> float:
    """Square n³ GEMM: 2n³ / (3 b n²) = 2n / 3b, grows O(n) (MMM reuses tiles)."""
    return arithmetic_intensity(gemm_flops(m, n, k), gemm_bytes(m, n, k, bytes_per_element))


def gemv_intensity(m: int, k: int, bytes_per_element: int = 2) -> float:
    """GEMV: every weight is used once, α → 2 / b, O(1) whatever the size."""
    return arithmetic_intensity(gemv_flops(m, k), gemv_bytes(m, k, bytes_per_element))
# --8<-- [end:arithmetic_intensity]


# --8<-- [start:mfu]
def model_flops_utilization(achieved_flops_per_s: float, peak_flops_per_s: float) -> float:
    """MFU = achieved / promised FLOP/s; below 0.5 is usually considered poor."""
    return achieved_flops_per_s / peak_flops_per_s
# --8<-- [end:mfu]


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Quantity, Var  # noqa: E402  (declarations stay at the module's end)

CLAIMS = [
    Quantity(
        formula="ridge-point", function="ridge_point", name="ridge point",
        phrases=(r"ridge(?: point)?,? (?:α|alpha)(?:_?ridge)?", r"α_?ridge", r"alpha_?ridge",
                 r"ridge(?: point)?"),
        variables=(
            Var("peak", phrases=(r"peak (?:compute|flop/?s|flops|throughput|performance)",
                                 r"compute (?:roof|peak)"),
                symbols=("peak flop/s", "peak flops", "peak compute", "peak", "π"), low=100, high=300,
                integer=False),
            Var("bandwidth", phrases=(r"(?:i/o |memory |peak |hbm )?(?:bandwidth|bw)",),
                symbols=("peak bw", "peak bandwidth", "memory bandwidth", "bandwidth", "bw", "β"),
                low=2, high=4, integer=False),
        ),
    ),
]


# How these formulas look in notes (regexes over formula_match.compact() text); `example` is
# a spelling from the notes each must match, pinned by tests/test_repair.py.
FINGERPRINTS = [
    Fingerprint("roofline", r"ct=(?:α\*mb|min\()", r"CT = \alpha \cdot MB", mangled=False),
    Fingerprint("arithmetic-intensity", "α=ct/mb", "α = CT / MB", mangled=False),
]
