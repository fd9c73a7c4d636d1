"""Quantization: uniform (affine and symmetric), logarithmic, rounding modes, floating-point
decomposition, swamping in low-precision sums, and the straight-through estimator."""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

_MODULE = "snippets/quantization.py"
_TESTS = "tests/snippets/test_quantization.py"

CONCEPTS = [
    Concept(
        id="quantization",
        name="Quantization",
        aliases=("quantization", "what is quantization", "ptq", "qat",
                 "post-training quantization", "quantization-aware training",
                 "on-device quantization", "bits/weight", "fixed point"),
        definition=(
            "Quantization represents weights, activations or gradients with fewer bits (INT8, "
            "INT4, FP8 instead of FP32/FP16) to save memory, bandwidth and energy. Uniform "
            "quantization uses equal steps over a clipping range; logarithmic quantization uses "
            "steps that grow with magnitude; floating-point formats do the latter with a "
            "mantissa per exponent. Post-training quantization (PTQ) is cheap but loses more "
            "accuracy than quantization-aware training (QAT), which trains through the rounding "
            "with the straight-through estimator."
        ),
        formulas=(),
        related=("uniform-quantization", "logarithmic-quantization", "stochastic-rounding",
                 "swamping", "floating-point", "straight-through-estimator"),
    ),
    Concept(
        id="activation-outliers",
        name="Activation outliers",
        aliases=("activation outliers", "massive activation", "massive activations",
                 "channelwise outlier", "channel wise outlier", "outlier study",
                 "clip activations"),
        definition=(
            "A few activations in large models are orders of magnitude larger than the rest: "
            "massive activations at fixed token positions, and channelwise outliers that stay "
            "in the same channels across tokens. They stretch a tensor's range, so a uniform "
            "quantizer spends its levels on them and rounds everything else to a few steps; "
            "truncating them instead wrecks accuracy. Hence per-channel scales and smoothing "
            "(moving the range from activations into weights) for quantizing LLMs."
        ),
        formulas=(),
        related=("quantization", "uniform-quantization"),
    ),
    Concept(
        id="uniform-quantization",
        name="Uniform quantization",
        aliases=("uniform quantization", "linear quantization", "zero point", "int8", "quantization error", "symmetric quantization"),
        definition=(
            "Uniform quantization partitions a known dynamic range into 2^b − 1 equal intervals "
            "of width s (the scale factor) and maps each real value to the integer index of its "
            "level, q = clamp(round(x/s) + z), with z the zero point (0 for the symmetric "
            "variant). With nearest rounding the error of any value inside the range is at most "
            "s/2. Because s is proportional to 1/(2^b − 1), each extra bit roughly halves the "
            "maximum error and two extra bits quarter it."
        ),
        formulas=("uniform-quantization", "quantization-error-bound", "symmetric-quantization"),
        related=("quantization", "logarithmic-quantization", "stochastic-rounding"),
    ),
    Concept(
        id="logarithmic-quantization",
        name="Logarithmic quantization",
        aliases=("logarithmic quantization", "log quantization", "power-of-two quantization"),
        definition=(
            "Logarithmic quantization stores sign(x) and a rounded log₂|x|, so the representable "
            "values are powers of two. The step between neighbouring levels grows with |x| and "
            "the relative error is bounded (a factor of at most √2 with nearest rounding in the "
            "log domain), which suits the wide, bell-shaped ranges of weights; multiplication "
            "by a quantized value becomes a shift."
        ),
        formulas=("log-quantization",),
        related=("uniform-quantization", "floating-point"),
    ),
    Concept(
        id="stochastic-rounding",
        name="Nearest vs stochastic rounding",
        aliases=("stochastic rounding", "nearest rounding", "rounding bias"),
        definition=(
            "Nearest rounding maps a value deterministically to the closest level, so the same "
            "small update is rounded the same way every time and can vanish or bias training. "
            "Stochastic rounding rounds up with probability equal to the fractional distance "
            "from the lower level (x − ⌊x⌋) and down otherwise, which makes the rounded value "
            "unbiased: E[SR(x)] = x. A cheap implementation adds uniform noise in [−0.5, 0.5) "
            "and rounds to nearest."
        ),
        formulas=("stochastic-rounding",),
        related=("uniform-quantization", "swamping"),
    ),
    Concept(
        id="swamping",
        name="Swamping in low-precision accumulation",
        aliases=("swamping", "catastrophic cancellation", "low-precision accumulation",
                 "accumulation precision"),
        definition=(
            "Swamping happens when a floating-point number is added to one with a much larger "
            "exponent: aligning the exponents shifts the small mantissa out and the sum equals "
            "the large operand. With p significand bits (mantissa + implicit 1) any addend "
            "smaller than half a unit in the last place of the running sum is lost, so a long "
            "sum of small terms stalls; fp16 (p = 11) and bf16 (p = 8) stall much earlier than "
            "fp32 (p = 24). Accumulating in higher precision, pairwise or chunked summation, "
            "and similar exponents among the addends reduce it."
        ),
        formulas=("swamping",),
        related=("floating-point", "stochastic-rounding"),
    ),
    Concept(
        id="floating-point",
        name="Floating-point representation",
        aliases=("floating point", "fp representation", "bfloat16", "mantissa",
                 "block floating point"),
        definition=(
            "A binary floating-point number stores a sign, a biased exponent e = ⌊log₂|x|⌋ + bias "
            "and a mantissa m = |x|/2^⌊log₂|x|⌋ − 1 ∈ [0, 1), so x = (−1)^s (1 + m) 2^(e − bias). "
            "The relative spacing of representable values is constant, which gives small "
            "magnitudes better resolution than a fixed-point format of the same width."
        ),
        formulas=("fp-representation",),
        related=("quantization", "swamping"),
    ),
    Concept(
        id="straight-through-estimator",
        name="Straight-through estimator (STE)",
        aliases=("straight through estimator", "straight-through estimator"),
        definition=(
            "The rounding staircase has zero derivative almost everywhere, which would stop "
            "gradients in quantization-aware training. The straight-through estimator applies "
            "the quantizer in the forward pass and treats it as the identity in the backward "
            "pass (∂W'/∂W = 1), so gradients reach the full-precision weights."
        ),
        formulas=("straight-through-estimator",),
        related=("quantization", "backpropagation"),
    ),
]

FORMULAS = [
    Formula(
        id="uniform-quantization",
        name="Uniform (affine) quantization",
        latex=(
            r"s = \frac{x_{\max} - x_{\min}}{2^b - 1},\quad z = \mathrm{round}\!\left("
            r"-\frac{x_{\min}}{s}\right),\quad q = \mathrm{clamp}\!\left(\mathrm{round}\!\left("
            r"\frac{x}{s}\right) + z,\ 0,\ 2^b - 1\right),\quad \hat{x} = s\,(q - z)"
        ),
        concept="uniform-quantization",
        aliases=(
            "uniform quantization",
            "uniform quantization (uq)",
            "uniform quantization (uq) — define & pipeline",
            "scale factor sf",
            "zero point",
            "what is quantization",
            "on-device quantization",
        ),
        module=_MODULE,
        section="uniform_quantization",
        tests=(
            f"{_TESTS}::test_uniform_quantization_matches_torch",
            f"{_TESTS}::test_uniform_roundtrip_error_within_half_step",
        ),
        symbols=(
            ("s", "scale"),
            ("z", "zero point"),
            ("q", "integer code"),
            ("x", "real value"),
            (r"\hat{x}", "dequantized value"),
            (r"x_{\max}", "largest value of the range"),
            (r"x_{\min}", "smallest value of the range"),
            ("b", "bit width"),
        ),
    ),
    Formula(
        id="quantization-error-bound",
        name="Maximum uniform-quantization error vs bit width",
        latex=(
            r"|x - \hat{x}| \le \frac{s}{2} = \frac{x_{\max} - x_{\min}}{2\,(2^b - 1)},\quad "
            r"\frac{e_{\max}(b + \Delta b)}{e_{\max}(b)} = \frac{2^b - 1}{2^{b + \Delta b} - 1}"
            r" \approx 2^{-\Delta b}"
        ),
        concept="uniform-quantization",
        aliases=(
            "maximum quantization error",
            "bounds the maximum quantization error",
            "in uq, what bounds the maximum quantization error",
            "max uq error",
            "increase bit-width",
            "increase bit-width by 2 bits",
            "error halves",
            "interval length",
        ),
        module=_MODULE,
        section="error_bound",
        tests=(
            f"{_TESTS}::test_error_bound_is_tight_by_brute_force",
            f"{_TESTS}::test_two_more_bits_quarter_the_error",
        ),
        symbols=(
            ("x", "real value"),
            (r"\hat{x}", "dequantized value"),
            ("s", "scale (quantization step)"),
            (r"x_{\max}", "largest value of the range"),
            (r"x_{\min}", "smallest value of the range"),
            ("b", "bit width"),
            (r"\Delta b", "extra bits"),
            (r"e_{\max}", "maximum rounding error"),
        ),
    ),
    Formula(
        id="symmetric-quantization",
        name="Symmetric fixed-point quantization",
        latex=(
            r"s = \frac{2L}{2^b - 2},\quad x_c = \mathrm{clip}(x, -L, L),\quad "
            r"x_{\text{int}} = \mathrm{round}\!\left(\frac{x_c}{s}\right),\quad "
            r"x_q = s\,x_{\text{int}}"
        ),
        concept="uniform-quantization",
        aliases=(
            "fixed-point format",
            "fixed-point format (symmetrical)",
            "convert a number x to int representation",
            "int representation",
            "symmetric quantization",
            "symmetrical",
            "clipping range",
        ),
        module=_MODULE,
        section="symmetric_quantization",
        tests=(f"{_TESTS}::test_symmetric_quantization_levels",),
        symbols=(
            ("s", "scale"),
            ("L", "clipping range limit"),
            ("b", "bit width"),
            ("x", "real value"),
            ("x_c", "clipped value"),
            (r"x_{\text{int}}", "integer code"),
            ("x_q", "quantized value"),
        ),
    ),
    Formula(
        id="log-quantization",
        name="Logarithmic (power-of-two) quantization",
        latex=(
            r"\hat{x} = \mathrm{sign}(x)\, 2^{\mathrm{round}(\log_2 |x|)},\quad "
            r"2^{-1/2} \le \frac{\hat{x}}{x} \le 2^{1/2}"
        ),
        concept="logarithmic-quantization",
        aliases=(
            "logarithmic quantization",
            "logarithmic quantization (lq)",
            "logarithmic quantization (lq) — key difference",
            "log quantization",
            "under lq",
            "scale factor increases with |x|",
            "logarithm quantization",
        ),
        module=_MODULE,
        section="log_quantization",
        tests=(f"{_TESTS}::test_log_quantization_relative_error_and_step_growth",),
        symbols=(
            ("x", "real value"),
            (r"\hat{x}", "quantized value (a power of two)"),
        ),
    ),
    Formula(
        id="stochastic-rounding",
        name="Stochastic rounding (unbiased) vs nearest rounding",
        latex=(
            r"\mathrm{SR}(x) = \begin{cases} \lfloor x \rfloor + 1 & \text{with probability } "
            r"x - \lfloor x \rfloor \\ \lfloor x \rfloor & \text{otherwise} \end{cases},\quad "
            r"\mathbb{E}[\mathrm{SR}(x)] = x"
        ),
        concept="stochastic-rounding",
        aliases=(
            "stochastic rounding",
            "stochastic rounding (sr)",
            "stochastic rounding (sr) — rule & expectation",
            "fast sr implementation",
            "nearest rounding",
            "nearest rounding (nr) bias",
            "stochastic quantization",
        ),
        module=_MODULE,
        section="rounding",
        tests=(
            f"{_TESTS}::test_stochastic_rounding_is_unbiased",
            f"{_TESTS}::test_fast_stochastic_rounding_has_same_distribution",
            f"{_TESTS}::test_nearest_rounding_loses_small_updates_stochastic_keeps_them",
        ),
        symbols=(
            ("x", "real value"),
            (r"\mathrm{SR}", "stochastic rounding"),
        ),
    ),
    Formula(
        id="swamping",
        name="Swamping: when a low-precision sum ignores an addend",
        latex=(
            r"\mathrm{fl}(a + b) = a \quad \text{if } |b| < \tfrac{1}{2}\,\mathrm{ulp}(a),\quad "
            r"\mathrm{ulp}(a) = 2^{\lfloor \log_2 |a| \rfloor - (p - 1)}"
        ),
        concept="swamping",
        aliases=(
            "swamping",
            "define swamping",
            "define swamping (catastrophic cancellation)",
            "swamping is reduced when exponents are similar",
            "increasing mantissa bits reduces swamping",
            "different signs can prevent swamping",
            "catastrophic cancellation",
        ),
        module=_MODULE,
        section="swamping",
        tests=(
            f"{_TESTS}::test_low_precision_running_sum_stalls",
            f"{_TESTS}::test_swamping_rule_matches_hardware_rounding",
            f"{_TESTS}::test_more_mantissa_bits_swamp_less",
        ),
        symbols=(
            ("a", "large addend"),
            ("b", "small addend"),
            ("p", "mantissa precision (bits)"),
        ),
    ),
    Formula(
        id="fp-representation",
        name="Floating-point decomposition",
        latex=(
            r"s = \mathrm{sign}(x),\quad a = \lfloor \log_2 |x| \rfloor,\quad "
            r"e = a + \text{bias},\quad m = \frac{|x|}{2^a} - 1"
        ),
        concept="floating-point",
        aliases=(
            "floating point arithmetic",
            "convert a real number x to fp representation",
            "fp representation",
            "floating point",
        ),
        module=_MODULE,
        section="fp_representation",
        tests=(f"{_TESTS}::test_fp_decomposition_matches_frexp_and_bits",),
        symbols=(
            ("s", "sign bit"),
            ("x", "real value"),
            ("a", "unbiased exponent"),
            ("e", "stored (biased) exponent"),
            ("m", "mantissa (fraction)"),
        ),
    ),
    Formula(
        id="straight-through-estimator",
        name="Straight-through estimator",
        latex=(
            r"\frac{\partial L}{\partial W} = \frac{\partial L}{\partial Z}\frac{\partial Z}"
            r"{\partial Y}\frac{\partial Y}{\partial W'}\frac{\partial W'}{\partial W},\quad "
            r"\frac{\partial W'}{\partial W} := 1"
        ),
        concept="straight-through-estimator",
        aliases=(
            "straight through estimator",
            "straight through estimator (ste)",
            "how to compute ∂w'/∂w",
            "how to compute ∂w’/∂w",
            "flow with quantization",
            "another way to look at quantization",
        ),
        module=_MODULE,
        section="ste",
        tests=(f"{_TESTS}::test_ste_gradient_is_identity",),
        symbols=(
            ("L", "loss"),
            ("W", "full-precision weights"),
            ("W'", "quantized weights"),
            ("Y", "layer output"),
            ("Z", "next-layer output"),
        ),
    ),
]


# --8<-- [start:uniform_quantization]
def uq_params(x_min: float, x_max: float, bits: int) -> tuple[float, int]:
    """Scale s = (max − min) / (2^b − 1) and zero point z so that x_min ↦ 0, x_max ↦ 2^b − 1."""
    scale = (x_max - x_min) / (2**bits - 1)
    zero_point = int(np.round(-x_min / scale))
    return scale, zero_point


def quantize(x, scale: float, zero_point: int, bits: int) -> np.ndarray:
    """q = clamp(round(x / s) + z, 0, 2^b − 1) (round half to even, as torch does)."""
    q = np.round(np.asarray(x, dtype=np.float64) / scale) + zero_point
    return np.clip(q, 0, 2**bits - 1).astype(np.int64)


def dequantize(q, scale: float, zero_point: int) -> np.ndarray:
    """x̂ = s (q − z)."""
    return scale * (np.asarray(q, dtype=np.float64) - zero_point)
# --8<-- [end:uniform_quantization]


# --8<-- [start:error_bound]
def max_quantization_error(x_min: float, x_max: float, bits: int) -> float:
    """Nearest rounding: at most half an interval, s / 2 = (max − min) / (2 (2^b − 1))."""
    return (x_max - x_min) / (2 * (2**bits - 1))


def error_bound_ratio(bits_added: int, bits: int | None = None) -> float:
    """Factor on the maximum error when the bit width grows by `bits_added`.

    Exact for a given starting width `bits`: (2^b − 1) / (2^(b+Δ) − 1); without it the
    large-b limit 2^−Δ. +1 bit halves the error, +2 bits quarter it (≈ 0.25, not 0.5).
    """
    if bits is None:
        return 2.0**-bits_added
    return (2**bits - 1) / (2 ** (bits + bits_added) - 1)
# --8<-- [end:error_bound]


# --8<-- [start:symmetric_quantization]
def symmetric_scale(clip: float, bits: int) -> float:
    """s = 2L / (2^b − 2): 2^b − 1 levels −(2^(b−1) − 1) … 2^(b−1) − 1, symmetric around 0."""
    return 2.0 * clip / (2**bits - 2)


def symmetric_quantize(x, clip: float, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Clip to (−L, L), x_int = round(x_c / s), rescale x_q = s · x_int."""
    s = symmetric_scale(clip, bits)
    x_int = np.round(np.clip(np.asarray(x, dtype=np.float64), -clip, clip) / s).astype(np.int64)
    return x_int, s * x_int
# --8<-- [end:symmetric_quantization]


# --8<-- [start:log_quantization]
def log_quantize(x) -> np.ndarray:
    """x̂ = sign(x) · 2^round(log2 |x|) (0 stays 0); relative error within a factor √2."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    nz = x != 0
    out[nz] = np.sign(x[nz]) * 2.0 ** np.round(np.log2(np.abs(x[nz])))
    return out


def log_step(x) -> np.ndarray:
    """Gap between the power-of-two levels around |x|: it grows in proportion to |x|."""
    a = np.floor(np.log2(np.abs(np.asarray(x, dtype=np.float64))))
    return 2.0**a
# --8<-- [end:log_quantization]


# --8<-- [start:rounding]
def nearest_round(x) -> np.ndarray:
    """Deterministic: the same input always gives the same level (biased for small updates)."""
    return np.round(np.asarray(x, dtype=np.float64))


def stochastic_round(x, rng: np.random.Generator) -> np.ndarray:
    """Round up with probability x − ⌊x⌋ (the distance to the LOWER level), so E[SR(x)] = x."""
    x = np.asarray(x, dtype=np.float64)
    return np.floor(x + rng.random(x.shape))


def round_up_probability(x) -> np.ndarray:
    """P(SR(x) = ⌊x⌋ + 1) = x − ⌊x⌋: proportional to the distance from the OTHER level."""
    x = np.asarray(x, dtype=np.float64)
    return x - np.floor(x)


def stochastic_round_fast(x, rng: np.random.Generator) -> np.ndarray:
    """Add r ~ U[−0.5, 0.5) and round to nearest: no division or multiplication needed."""
    x = np.asarray(x, dtype=np.float64)
    return np.round(x + rng.random(x.shape) - 0.5)
# --8<-- [end:rounding]


# --8<-- [start:swamping]
SIGNIFICAND_BITS = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}


def ulp(a: float, significand_bits: int) -> float:
    """Unit in the last place of a (normal numbers): 2^(⌊log2|a|⌋ − (p − 1))."""
    return 2.0 ** (np.floor(np.log2(abs(a))) - (significand_bits - 1))


def is_swamped(a: float, b: float, significand_bits: int) -> bool:
    """fl(a + b) == a when |b| is below half an ulp of a (round to nearest even).

    Exact for a same-sign addend; for an opposite-sign one it is exact unless |a| is a power
    of two (the spacing just below 2^e is half as wide, so a slightly larger |b| survives).
    """
    return abs(b) < ulp(a, significand_bits) / 2


def stall_point(significand_bits: int) -> float:
    """Adding 1.0 again and again stops changing the sum at 2^p (fp16: 2048, bf16: 256)."""
    return 2.0**significand_bits


def round_to_bfloat16(x) -> np.ndarray:
    """fp32 → bf16 (round to nearest even on the top 16 bits), returned as float32."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32)


def running_sum(values, dtype: str) -> float:
    """Sequential accumulation rounded to `dtype` after every add, as a naive low-precision kernel."""
    acc = np.float32(0.0)
    for v in np.asarray(values, dtype=np.float64):
        if dtype == "bfloat16":
            acc = round_to_bfloat16(np.float32(acc) + round_to_bfloat16(np.float32(v)))[()]
        else:
            t = np.dtype(dtype).type
            acc = t(t(acc) + t(v))
    return float(acc)
# --8<-- [end:swamping]


# --8<-- [start:fp_representation]
def fp_decompose(x: float, bias: int = 127) -> tuple[int, int, float]:
    """(sign, biased exponent e = ⌊log2|x|⌋ + bias, mantissa m = |x| / 2^a − 1 ∈ [0, 1))."""
    sign = 1 if x < 0 else 0
    mag = abs(x)
    a = int(np.floor(np.log2(mag)))
    return sign, a + bias, mag / 2.0**a - 1.0
# --8<-- [end:fp_representation]


# --8<-- [start:ste]
def ste_quantize(w, scale: float):
    """Forward: round to the grid. Backward: identity (∂W'/∂W = 1). Takes a torch tensor."""
    q = (w / scale).round() * scale
    return w + (q - w).detach()
# --8<-- [end:ste]


def swamped_fraction(significand_bits: int = 11, max_gap: int = 30, sign: float = 1.0) -> float:
    """Share of exponent gaps g = 0 … max_gap at which 1.5 + sign·1.5·2^-g is swamped: how often
    adding a smaller number loses it, over a range of magnitude differences."""
    gaps = range(0, int(max_gap) + 1)
    return sum(is_swamped(1.5, sign * 1.5 * 2.0**-g, int(significand_bits)) for g in gaps) / len(gaps)


# -- claims the check pass evaluates with this module's code (deckforge.claims) -----------------
from deckforge.claims import Quantity, Var  # noqa: E402  (declarations stay at the module's end)

CLAIMS = [
    Quantity(
        formula="quantization-error-bound", function="max_quantization_error",
        name="maximum quantization error",
        phrases=(r"max(?:imum)? (?:uq |uniform )?(?:quantization |rounding )?error",
                 r"(?:uniform |uq )?quantization error", r"uq error"),
        variables=(Var("bits", phrases=(r"bit-?width", r"bit width", r"bits?", r"precision"),
                       low=8, high=10),),
        fixed=(("x_min", 0.0), ("x_max", 1.0)),
    ),
    Quantity(
        formula="swamping", function="swamped_fraction", name="share of swamped additions",
        phrases=(r"swamping(?: probability| rate)?", r"swamped"),
        variables=(
            Var("significand_bits", phrases=(r"mantissa(?: bits)?", r"significand(?: bits)?"),
                low=11, high=24),
            Var("max_gap", phrases=(r"exponent gaps?", r"gaps? between (?:the )?exponents"),
                less=(r"exponents (?:are )?(?:similar|close)", r"similar exponents"), low=3, high=30, base=30),
            Var("sign", phrases=(r"(?:different|opposite|mixed) signs?", r"signs?"), values=(1.0, -1.0),
                low=1.0, high=-1.0, integer=False),
        ),
    ),
]
