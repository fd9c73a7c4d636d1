"""check: numeric claims in the notes evaluated by the registry's own code; LaTeX validated.

Each claim rule is a small named function registered in RULES with the regex that finds its
claim. The evaluator calls the snippet implementation (never a re-derivation here) and says
whether the claim's statement holds, with the computed values. The card's own verdict
(True/False for quiz items; a plain answer asserts its statement) is compared with it:

- the code contradicts the notes -> flag `claim-mismatch`, reason with the computed values;
- the code confirms them        -> an entry in `card.verified`.

A rule whose snippet function is missing is skipped silently: the claim stays unchecked, not
judged. Afterwards every math span in the graph is validated (deckforge.latex) so `build` and
`lint` report invalid LaTeX with the card's file:line.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from deckforge import latex
from deckforge.diagnostics import Diagnostic
from deckforge.model import Card, KnowledgeGraph, _replace
from deckforge.passes.cards import verdict
from deckforge.registry import Registry


@dataclass(frozen=True)
class Verdict:
    holds: bool  # does the statement hold, according to the code?
    detail: str  # the computed values, in words


class Snippets:
    """Access to snippet functions by formula id (module from the registry)."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.cache: dict = {}

    def fn(self, formula_id: str, name: str) -> Callable:
        formula = self.registry.formula(formula_id)
        if formula is None or not formula.module:
            raise LookupError(f"formula {formula_id} is not in the registry")
        origin = self.registry.origin(formula)
        module_name = (origin.module_name(formula) if origin is not None
                       else Path(formula.module).with_suffix("").as_posix().replace("/", "."))
        module = self.cache.get(module_name) or importlib.import_module(module_name)
        self.cache[module_name] = module
        func = getattr(module, name, None)
        if func is None:
            raise LookupError(f"{formula.module} has no {name}()")
        return func


@dataclass
class RuleContext:
    snippets: Snippets
    graph: KnowledgeGraph
    memo: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimRule:
    name: str
    formula: str  # the registry formula whose code evaluates the claim
    pattern: re.Pattern
    evaluate: Callable[[re.Match, RuleContext], Verdict | None]
    keyword: str = ""  # a lowercase word every match contains: a cheap test before the regex


# -- helpers -------------------------------------------------------------------------------

_NUM = re.compile(r"[-−–]?\d+(?:\.\d+)?")


def _numbers(text: str) -> list[float]:
    return [float(n.replace("−", "-").replace("–", "-")) for n in _NUM.findall(text)]


def _fmt(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".") if abs(x - round(x)) > 1e-9 else str(int(round(x)))


def _rx(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.I | re.S)


# -- rules: one function each -------------------------------------------------------------

_ARROW = r"\s*(?:→|->|\\to|\\rightarrow|\$\\to\$|\$\\rightarrow\$)\s*"
_VALUE_PAIRS = _rx(r"w\s*=\s*\[([^\]]+)\]" + _ARROW + r"\[([^\]]+)\]")


def _scaling_range(ctx: RuleContext) -> tuple[float, float, int, int] | None:
    """The [MIN, MAX] the value-scaling items share: the notes never state it, so take the
    range that the most (x, x') pairs across all such items agree with (each candidate from
    two pairs of one item), rounded to integers when they are that close. Candidates are
    deduplicated and scored in one vectorized call each, so many items stay cheap."""
    import numpy as np

    if "scaling" in ctx.memo:
        return ctx.memo["scaling"]
    pairs_by_card = []
    for card in ctx.graph.cards:
        m = _VALUE_PAIRS.search(card.question)
        if m:
            xs, ys = _numbers(m.group(1)), _numbers(m.group(2))
            if len(xs) == len(ys) >= 2:
                pairs_by_card.append(list(zip(xs, ys, strict=True)))
    scale = ctx.snippets.fn("value-scaling", "scale_to_unit")
    everything = [p for pairs in pairs_by_card for p in pairs]
    all_x = np.array([x for x, _ in everything], dtype=float)
    all_y = np.array([y for _, y in everything], dtype=float)
    candidates: dict[tuple[float, float], None] = {}
    for pairs in pairs_by_card:
        for (x1, y1), (x2, y2) in zip(pairs, pairs[1:], strict=False):
            if x1 == x2 or y1 == y2:
                continue
            a = (y2 - y1) / (x2 - x1)  # x' = a x + b  <=>  MIN = (-1 - b) / a, MAX = (1 - b) / a
            b = y1 - a * x1
            lo, hi = (-1 - b) / a, (1 - b) / a
            near = 0.005 * abs(hi - lo)  # the quiz values have 3 decimals: MIN/MAX are that fuzzy
            lo, hi = (round(v) if abs(v - round(v)) <= near else round(v, 6) for v in (lo, hi))
            candidates[(lo, hi)] = None
    best = None
    for lo, hi in candidates:
        agree = int(np.sum(np.abs(scale(all_x, lo, hi) - all_y) <= 0.0015))
        if best is None or agree > best[2]:
            best = (lo, hi, agree, len(everything))
    ctx.memo["scaling"] = best
    return best


def value_scaling(m: re.Match, ctx: RuleContext) -> Verdict | None:
    xs, ys = _numbers(m.group(1)), _numbers(m.group(2))
    rng = _scaling_range(ctx)
    if rng is None or len(xs) != len(ys):
        return None
    lo, hi, agree, total = rng
    scale = ctx.snippets.fn("value-scaling", "scale_to_unit")
    got = [float(scale(x, lo, hi)) for x in xs]
    wrong = [(x, g, y) for x, g, y in zip(xs, got, ys, strict=True) if abs(g - y) > 0.0015]
    where = (f"with [MIN, MAX] = [{_fmt(lo)}, {_fmt(hi)}] (the range {agree} of the {total} "
             "quiz values agree with), scale_to_unit gives ")
    if wrong:
        return Verdict(False, where + "; ".join(f"{_fmt(x)} → {g:.3f} (claimed {y:.3f})" for x, g, y in wrong))
    return Verdict(True, where + ", ".join(f"{_fmt(x)} → {g:.3f}" for x, g in zip(xs, got, strict=True)))


_WORD_FACTOR = {"halves": 0.5, "halve": 0.5, "quarters": 0.25, "quarter": 0.25, "doubles": 2.0,
                "thirds": 1 / 3}


def uq_error_vs_bits(m: re.Match, ctx: RuleContext) -> Verdict:
    added, word = int(m.group(1)), m.group(2).lower()
    ratio = ctx.snippets.fn("quantization-error-bound", "error_bound_ratio")
    exact = ratio(added, 8)
    limit = ratio(added)
    claimed = _WORD_FACTOR[word]
    detail = (f"error_bound_ratio({added}) = {limit:g} (8 → {8 + added} bits: {exact:.4f}): "
              f"{added} more bits multiply the max error by 2^-{added}, not by {claimed:g}")
    holds = abs(limit - claimed) < 1e-9
    if holds:
        detail = f"error_bound_ratio({added}) = {limit:g} (8 → {8 + added} bits: {exact:.4f})"
    return Verdict(holds, detail)


def ridge_definition(m: re.Match, ctx: RuleContext) -> Verdict:
    ridge = ctx.snippets.fn("ridge-point", "ridge_point")
    roof = ctx.snippets.fn("roofline", "attainable_throughput")
    peak, bw = 989e12, 3.35e12
    alpha = ridge(peak, bw)
    meet = abs(float(roof(alpha, peak, bw)) - peak) < 1e-6 * peak
    return Verdict(meet and abs(alpha - peak / bw) < 1e-9,
                   f"ridge_point(989 TFLOP/s, 3.35 TB/s) = {alpha:.1f} FLOP/byte = peak / BW, "
                   "where min(peak, α·BW) meets the compute roof")


def ridge_shift(m: re.Match, ctx: RuleContext) -> Verdict:
    direction, change = m.group(1).lower(), m.group(2).lower()
    shift = ctx.snippets.fn("ridge-point", "ridge_shift")
    factor = 0.5 if change.startswith("decrease") else 2.0
    moved = shift(factor)
    actual = "right" if moved > 1 else "left"
    change_words = "halving" if factor < 1 else "doubling"
    return Verdict(actual == direction,
                   f"ridge_shift({factor:g}) = {moved:g}: {change_words} the bandwidth multiplies "
                   f"α_ridge = peak/BW by {moved:g}, so the ridge moves {actual}")


def stride_ops(m: re.Match, ctx: RuleContext) -> Verdict:
    text = m.string
    claimed = float(m.group("factor"))
    strides = re.search(r"stride\s*(?:=\s*)?(\d)\s*(?:→|->|to|\$\\to\$)\s*(\d)", text, re.I)
    if strides:
        old, new = int(strides.group(1)), int(strides.group(2))
    else:
        found = [int(s) for s in re.findall(r"stride\s*=\s*(\d)", text, re.I)]
        if len(found) < 2:
            return None
        old, new = found[0], found[1]
    ratio = ctx.snippets.fn("conv-output-size", "stride_ops_ratio")
    r = ratio(3000, 3000, 3, old, new)  # "h and w are large integers"
    holds = abs(claimed - r) / r <= 0.15
    return Verdict(holds, f"stride_ops_ratio(h=w=3000, K=3, {old}→{new}) = {r:.3f}: the MACs grow "
                   f"by (S_old/S_new)² ≈ {r:.2f}×" + (f" (the claimed {_fmt(claimed)}× is within 15%)"
                                                     if holds else f", not {_fmt(claimed)}×"))


_DSC_VARS = {"n": "filters", "filters": "filters", "output channels": "filters",
             "m": "channels", "input channels": "channels", "channels": "channels",
             "k": "kernel", "spatial filter size": "kernel", "filter size": "kernel",
             "kernel size": "kernel"}


def dsc_savings_trend(m: re.Match, ctx: RuleContext) -> Verdict:
    claimed_dir, var = m.group(1).lower(), m.group(2).lower()
    text = m.string
    convention = re.search(r"\b([a-z])\s*k\s*[x×]\s*k\s*[x×]\s*([a-z])\s+filters", text, re.I)
    names = {"n": "filters", "m": "channels"}
    if convention:  # "N k×k×M filters": the first letter counts filters, the second channels
        names = {convention.group(1).lower(): "filters", convention.group(2).lower(): "channels"}
    which = names.get(var) or _DSC_VARS.get(var)
    if which is None:
        return None
    savings = ctx.snippets.fn("dsc-params", "dsc_savings")
    base = {"channels": 32, "filters": 64, "kernel": 3}
    small, large = dict(base), dict(base)
    large[which] = base[which] * 2 + (2 if which == "kernel" else 0)
    s1, s2 = savings(**small), savings(**large)
    frac_dir = "increase" if s2["fraction"] > s1["fraction"] + 1e-12 else (
        "decrease" if s2["fraction"] < s1["fraction"] - 1e-12 else "unchanged")
    abs_dir = "increase" if s2["absolute"] > s1["absolute"] else "decrease"
    holds = claimed_dir.startswith(frac_dir[:7]) and claimed_dir.startswith(abs_dir[:7])
    label = {"filters": "filters", "channels": "input channels", "kernel": "kernel size k"}[which]
    detail = (f"dsc_savings with {label} {base[which]} → {large[which]}: saved fraction "
              f"{s1['fraction']:.3f} → {s2['fraction']:.3f}, saved weights {_fmt(s1['absolute'])} → "
              f"{_fmt(s2['absolute'])}")
    return Verdict(holds, detail)


def tying_saves_vd(m: re.Match, ctx: RuleContext) -> Verdict:
    savings = ctx.snippets.fn("tied-embeddings", "tying_savings")
    cases = [(32000, 512), (50257, 768)]
    ok = all(savings(v, d) == v * d for v, d in cases)
    return Verdict(ok, "tying_savings(V=32000, d=512) = 16,384,000 = V·d; "
                   "tying_savings(V=50257, d=768) = 38,597,376 = V·d (linear in V)")


def tying_vs_layers(m: re.Match, ctx: RuleContext) -> Verdict:
    savings = ctx.snippets.fn("tied-embeddings", "tying_savings")
    a, b = savings(32000, 512, n_layers=6), savings(32000, 512, n_layers=48)
    return Verdict(a != b, f"tying_savings(V=32000, d=512) is {a:,} with 6 layers and {b:,} with "
                   "48: the saving does not depend on L")


def scores_square(m: re.Match, ctx: RuleContext) -> Verdict:
    shape = ctx.snippets.fn("attention-scores", "attention_scores_shape")
    shapes = {n: shape(n, n) for n in (5, 128)}
    ok = all(s == (n, n) for n, s in shapes.items())
    return Verdict(ok, "attention_scores_shape: " + ", ".join(
        f"n={n} → {s[0]}×{s[1]}" for n, s in shapes.items()) + " (QKᵀ is n×n for every n)")


def projections_independent_of_n(m: re.Match, ctx: RuleContext) -> Verdict:
    import numpy as np

    project = ctx.snippets.fn("qkv-projections", "qkv_projections")
    rng = np.random.default_rng(0)
    w = [rng.standard_normal((16, 4)) for _ in range(3)]
    shapes = []
    for n in (3, 11):
        q, k, _v = project(rng.standard_normal((n, 16)), *w)
        shapes.append((n, q.shape, k.shape))
    return Verdict(True, "qkv_projections with the same W_Q, W_K (16×4) works for n = 3 and 11 "
                   f"(Q: {shapes[0][1]} → {shapes[1][1]}): the weights are d×d_k whatever n is")


def swamping_exponents(m: re.Match, ctx: RuleContext) -> Verdict:
    swamped = ctx.snippets.fn("swamping", "is_swamped")
    near = sum(swamped(1.5, 1.5 * 2.0**-g, 11) for g in range(0, 4))
    far = sum(swamped(1.5, 1.5 * 2.0**-g, 11) for g in range(12, 16))
    return Verdict(near < far, f"is_swamped(1.5, 1.5·2^-g, fp16): {near}/4 swamped for exponent gaps "
                   f"g = 0–3, {far}/4 for g = 12–15")


def swamping_mantissa(m: re.Match, ctx: RuleContext) -> Verdict:
    swamped = ctx.snippets.fn("swamping", "is_swamped")
    gaps = range(0, 31)
    fp16 = sum(swamped(1.5, 1.5 * 2.0**-g, 11) for g in gaps)
    fp32 = sum(swamped(1.5, 1.5 * 2.0**-g, 24) for g in gaps)
    return Verdict(fp32 < fp16, f"is_swamped(1.5, 1.5·2^-g) for exponent gaps g = 0–30: {fp16}/31 "
                   f"swamped with 11 significand bits (fp16), {fp32}/31 with 24 (fp32)")


def swamping_signs(m: re.Match, ctx: RuleContext) -> Verdict:
    swamped = ctx.snippets.fn("swamping", "is_swamped")
    total = ctx.snippets.fn("swamping", "running_sum")
    b = 2.0**-12
    plus, minus = swamped(1.5, b, 11), swamped(1.5, -b, 11)
    sums = total([1.5, b], "float16"), total([1.5, -b], "float16")
    return Verdict(not (plus and minus),
                   f"is_swamped(1.5, +2^-12, fp16) = {plus} and is_swamped(1.5, -2^-12, fp16) = {minus}; "
                   f"fp16 sums 1.5 + 2^-12 = {sums[0]:g}, 1.5 - 2^-12 = {sums[1]:g}: the sign of the "
                   "small addend does not prevent it being shifted out")


def head_dim_arith(m: re.Match, ctx: RuleContext) -> Verdict:
    d_model, h, claimed = int(m.group(1)), int(m.group(2)), int(m.group(3))
    got = ctx.snippets.fn("multi-head-attention", "head_dim")(d_model, h)
    return Verdict(got == claimed, f"head_dim({d_model}, {h}) = {got}")


def training_flops_factor(m: re.Match, ctx: RuleContext) -> Verdict | None:
    phase = m.group("phase").lower()
    claimed = eval_factor(m.group("factor"))
    if claimed is None:
        return None
    name = {"forward": "forward_flops", "backward": "backward_flops"}[phase]
    got = ctx.snippets.fn("training-flops", name)(1_000_000, 1000) / (1_000_000 * 1000)
    return Verdict(abs(got - claimed) < 1e-9,
                   f"{name}(N=10^6 params, D=1000 tokens) = {_fmt(got)}·N·D")


def eval_factor(text: str) -> float | None:
    """'2' or '(2+2)' -> number; anything else -> None (never eval arbitrary text)."""
    terms = re.fullmatch(r"\(?\s*(\d+)\s*(?:\+\s*(\d+)\s*)?\)?", text.strip())
    if not terms:
        return None
    return float(int(terms.group(1)) + int(terms.group(2) or 0))


def kv_cache_per_token(m: re.Match, ctx: RuleContext) -> Verdict:
    cost = ctx.snippets.fn("kv-cache-decode-cost", "decode_flops")
    d, t = 64, 1 << 16

    def order(cached: bool) -> float:
        return math.log2(cost(2 * t, d, cached=cached) / cost(t, d, cached=cached))

    without, with_cache = order(False), order(True)
    holds = abs(without - 2) < 0.1 and abs(with_cache - 1) < 0.1
    return Verdict(holds, f"decode_flops(t, d=64) grows as t^{without:.2f} recomputing and as "
                   f"t^{with_cache:.2f} with the cache (t = 65536 → 131072)")


def separable_kernel(m: re.Match, ctx: RuleContext) -> Verdict:
    k, rank1, full = int(m.group(1)), int(m.group(2)), int(m.group(3))
    got = ctx.snippets.fn("separable-kernel", "separable_kernel_params")(k)
    return Verdict(got == (rank1, full), f"separable_kernel_params({k}) = {got}: a rank-1 "
                   f"{k}×{k} kernel u vᵀ has {got[0]} numbers, a full one {got[1]}")


def lora_full_rank(m: re.Match, ctx: RuleContext) -> Verdict:
    import numpy as np

    delta = ctx.snippets.fn("lora-update", "lora_delta")
    d, k = 6, 9
    target = np.random.default_rng(0).standard_normal((d, k))
    u, sv, vt = np.linalg.svd(target, full_matrices=False)
    b, a = u * sv, vt  # r = d factors; alpha = r keeps the scale 1
    err = float(np.abs(delta(a, b, alpha=d) - target).max())
    return Verdict(err < 1e-9, f"lora_delta with r = d = {d} reproduces an arbitrary {d}×{k} update "
                   f"(max error {err:.1e}): rank r = d spans every ΔW, as full fine-tuning does")


def svd_without_truncation(m: re.Match, ctx: RuleContext) -> Verdict:
    params = ctx.snippets.fn("svd-lowrank-params", "lowrank_params")
    dense = ctx.snippets.fn("svd-lowrank-params", "dense_params")
    m_, n_ = 512, 256
    full, low = dense(m_, n_), params(m_, n_, min(m_, n_))
    return Verdict(low > full, f"lowrank_params({m_}, {n_}, r = {min(m_, n_)}) = {low:,} > "
                   f"dense_params = {full:,}")


def nm_speedup(m: re.Match, ctx: RuleContext) -> Verdict:
    n, m_ = int(m.group(1)), int(m.group(2))
    frac = ctx.snippets.fn("nm-sparsity", "nm_compute_fraction")(n, m_)
    claimed = float(m.group(3))
    bound = 1 / frac
    return Verdict(abs(bound - claimed) / claimed <= 0.15,
                   f"nm_compute_fraction({n}, {m_}) = {frac:g}: {n}:{m_} keeps {frac:.0%} of the "
                   f"multiplies, a speedup of at most {bound:g}× (measured on a GPU: snippets/bench)")


def ring_vs_pairwise(m: re.Match, ctx: RuleContext) -> Verdict:
    traffic = ctx.snippets.fn("ring-allreduce-traffic", "ring_allreduce_traffic")
    n = 8
    ring = traffic(n, 1.0)
    return Verdict(ring < n - 1, f"ring_allreduce_traffic(N={n}, S=1) = {ring:g}·S per GPU "
                   f"(2(N−1)/N), against {n - 1}·S for N−1 pairwise receives")


def activation_lifetime(m: re.Match, ctx: RuleContext) -> Verdict:
    lifetimes = ctx.snippets.fn("backprop-linear", "activation_lifetimes")(4)
    deeper_longer = lifetimes[-1] > lifetimes[0]
    return Verdict(deeper_longer, f"activation_lifetimes(4 layers) = {lifetimes} steps from layer 1 "
                   "to 4: the first layer's input is stored longest (freed last in backward)")


def ffn_neuron_inputs(m: re.Match, ctx: RuleContext) -> Verdict:
    import numpy as np

    ffn = ctx.snippets.fn("position-wise-ffn", "ffn")
    rng = np.random.default_rng(0)
    d_model, d_ff = 8, 32
    w1, b1 = rng.standard_normal((d_model, d_ff)), np.zeros(d_ff)
    w2, b2 = rng.standard_normal((d_ff, d_model)), np.zeros(d_model)
    ok = [ffn(rng.standard_normal((n, d_model)), w1, b1, w2, b2).shape == (n, d_model) for n in (3, 17)]
    return Verdict(False if all(ok) else True,
                   f"ffn with W1 of shape {w1.shape} runs on n = 3 and n = 17 tokens alike: each hidden "
                   f"neuron takes the d_model = {d_model} inputs of one token, not n")


def kl_zero_iff_equal(m: re.Match, ctx: RuleContext) -> Verdict:
    import numpy as np

    kl = ctx.snippets.fn("kl-divergence", "kl_divergence")
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.4, 0.4, 0.2])
    same, differ = float(kl(p, p)), float(kl(p, q))
    return Verdict(abs(same) < 1e-12 and differ > 0,
                   f"kl_divergence(P, P) = {same:g} and kl_divergence(P, Q) = {differ:.4f} > 0 "
                   "for P = [0.5, 0.3, 0.2], Q = [0.4, 0.4, 0.2]")


RULES: list[ClaimRule] = [
    ClaimRule("value scaling", "value-scaling", _VALUE_PAIRS, value_scaling, "["),
    ClaimRule("uniform quantization error vs bit width", "quantization-error-bound",
              _rx(r"increas\w* (?:the )?bit-?width by (\d+) bits?\W.*?error (halves|quarters|doubles|halve|quarter)"),
              uq_error_vs_bits, "bit"),
    ClaimRule("ridge point", "ridge-point",
              _rx(r"ridge point,?\s*(?:\$?\\?alpha\$?|α)\s*=\s*peak flop/s\s*/\s*peak bw"), ridge_definition, "ridge"),
    ClaimRule("ridge shift with bandwidth", "ridge-point",
              _rx(r"ridge moves (right|left) if (?:the )?(?:i/o |memory )?(?:bandwidth|bw) (decreases|increases)"),
              ridge_shift, "ridge"),
    ClaimRule("conv ops vs stride", "conv-output-size",
              _rx(r"(?:stride\s*\d\s*(?:→|->|to|\$\\to\$)\s*\d\s*)?incurs\s+(?P<factor>\d+(?:\.\d+)?)\s*(?:×|x|\$\\times\$)\s*"
                  r"more (?:arithmetic )?op"), stride_ops, "more"),
    ClaimRule("depthwise-separable savings", "dsc-params",
              _rx(r"savings? (increases?|decreases?) as (n|m|k|input channels|output channels|filters|"
                  r"(?:the )?spatial filter size|filter size|kernel size) increases"), dsc_savings_trend, "saving"),
    ClaimRule("tied embeddings saving", "tied-embeddings",
              _rx(r"tying (?:input/output )?embeddings saves \$?v\s*(?:·|⋅|\\cdot|\*)\s*d\$? param"), tying_saves_vd, "tying"),
    ClaimRule("tied embeddings saving", "tied-embeddings",
              _rx(r"untied uses 2\s*·\s*v\s*·\s*d param\w*; tied uses v\s*·\s*d\W+save v\s*·\s*d"), tying_saves_vd, "tied"),
    ClaimRule("tied embeddings vs depth", "tied-embeddings",
              _rx(r"tying embeddings depends on (?:the )?number of (?:transformer )?layers"), tying_vs_layers, "tying"),
    ClaimRule("attention score matrix shape", "attention-scores",
              _rx(r"\b(?:qkt|kqt|qk\^?t|qk\^\{?\\top\}?)\s+is always an?\s+n\s*(?:x|×|\\times)\s*n\b"), scores_square, "always"),
    ClaimRule("projection shapes vs sequence length", "qkv-projections",
              _rx(r"linear projection matrices (?:qw and qk|wq and wk|w_q and w_k)\W.*?independent of the sequence length"),
              projections_independent_of_n, "independent"),
    ClaimRule("swamping vs exponent gap", "swamping",
              _rx(r"swamping is reduced when exponents are similar"), swamping_exponents, "swamping"),
    ClaimRule("swamping vs mantissa bits", "swamping",
              _rx(r"increasing mantissa bits reduces swamping"), swamping_mantissa, "swamping"),
    ClaimRule("swamping vs signs", "swamping",
              _rx(r"different signs can prevent swamping"), swamping_signs, "swamping"),
    ClaimRule("head dimension", "multi-head-attention",
              _rx(r"d_?k\s*=\s*d_?v\s*=\s*d_?\{?model\}?\s*/\s*h\s*=\s*(\d+)\s*/\s*(\d+)\s*=\s*(\d+)"), head_dim_arith, "/"),
    ClaimRule("training FLOPs per token and parameter", "training-flops",
              _rx(r"flops (?:for|in) (?P<phase>forward|backward) pass(?: is)?:?\s*(?:\{\{c\d+::)?\s*(?P<factor>\(?\d+(?:\s*\+\s*\d+)?\)?)\s*\(# tokens\)\s*\(# parameters\)"),
              training_flops_factor, "flops"),
    ClaimRule("separable (rank-1) kernel parameters", "separable-kernel",
              _rx(r"(\d)\s*(?:×|x|\$\\times\$)\s*\1 rank-1 kernel uses (\d+) params.*?vs\.? (\d+)"), separable_kernel, "rank-1"),
    ClaimRule("LoRA with r = d", "lora-update",
              _rx(r"when \$?r\s*=\s*d\$?\W.*?equivalent to full fine-tuning"), lora_full_rank, "equivalent"),
    ClaimRule("SVD without truncation", "svd-lowrank-params",
              _rx(r"without rank truncation,? the number of parameters increases"), svd_without_truncation, "truncation"),
    ClaimRule("N:M sparsity speedup", "nm-sparsity",
              _rx(r"\b(\d):(\d)\b.*?~?\s*(\d+(?:\.\d+)?)\s*(?:×|x|\$\\times\$)\s*speedup"), nm_speedup, "speedup"),
    ClaimRule("ring all-reduce vs pairwise", "ring-allreduce-traffic",
              _rx(r"ring/?(?:tree)? ?allreduce\W.*?not explicit n\s*[−-]\s*1 pairwise"), ring_vs_pairwise, "pairwise"),
    ClaimRule("activation lifetimes in backprop", "backprop-linear",
              _rx(r"deeper layer activations are kept longer"), activation_lifetime, "deeper"),
    ClaimRule("feed-forward neuron inputs", "position-wise-ffn",
              _rx(r"each neuron in a feed ?forward layer takes n inputs"), ffn_neuron_inputs, "neuron"),
    ClaimRule("KL divergence is zero only for equal distributions", "kl-divergence",
              _rx(r"if p\(x\)\s*=\s*q\(x\) for all x\s*,?\s*then the kl divergence equals 0"), kl_zero_iff_equal, "kl"),
    ClaimRule("KV cache per-token compute", "kv-cache-decode-cost",
              _rx(r"per-token compute from \$?o\(n\^2\)\$? to \$?o\(n\)"), kv_cache_per_token, "per-token"),
]


# -- applying the rules ----------------------------------------------------------------------


_PLAIN = [(r"\\times(?![a-zA-Z])", "×"), (r"\\cdot(?![a-zA-Z])", "·"), (r"\\(?:to|rightarrow)(?![a-zA-Z])", "→"),
          (r"\\alpha(?![a-zA-Z])", "α"), (r"\\top(?![a-zA-Z])", "T"), (r"\\text\{([^}]*)\}", r"\1"),
          (r"(?<!\\)\$", ""), (r"[ \t]+", " ")]
_PLAIN = [(re.compile(p), r) for p, r in _PLAIN]


def plain(text: str) -> str:
    """Rules read claims as plain text: the normalize pass writes `3×3` as `$3 \\times 3$`."""
    for pattern, repl in _PLAIN:
        text = pattern.sub(repl, text)
    return text


def claim_text(card: Card) -> str:
    """Where the card's statement is: the question, or for a bare quiz label (the question is
    just "Quiz 4 Q2b") the explanation after its True/False."""
    question = card.question.strip()
    if card.label and question.casefold() == card.label.casefold():
        return plain(re.sub(r"^\s*(?:true|false)\b[\s.—–:-]*", "", card.answer, flags=re.I))
    return plain(question if card.kind == "true-false" else f"{question}\n{card.answer}")


_CONFLICT_SIDE = re.compile(r"^\s*-\s*(True|False)\b", re.M)
# dedupe's conflict reason: "… 'False — …' at a.txt:208-210, a.txt:231 vs 'True — …' at a.txt:238; …"
_REASON_SIDE = re.compile(r"""(['"])(True|False)\b.*?\1 at (.+?)(?= vs ['"]|; |$)""")


def claimed_truths(card: Card) -> list[tuple[bool, str]]:
    """What the notes say about the statement: one (truth, where) per answer. A card dedupe
    flagged as a conflict lists each side (`- True — …`, locations in the flag's reason); the
    check settles it side by side."""
    if card.has_flag("conflict"):
        for flag in card.flags:
            if flag.name == "conflict":
                sides = [(v == "True", where.strip()) for _q, v, where in _REASON_SIDE.findall(flag.reason)]
                if len(sides) >= 2:
                    return sides
        sides = [(v == "True", "") for v in _CONFLICT_SIDE.findall(card.answer)]
        if sides:
            return sides
    return [(verdict(card) != "False", "")]  # a plain answer asserts its statement


def explanation(card: Card) -> str:
    """The text after a True/False verdict: the notes' own reasoning, asserted as true."""
    return plain(re.sub(r"^\s*(?:true|false)\b[\s.—–:-]*", "", card.answer, flags=re.I)) if verdict(card) else ""


def _find(rule: ClaimRule, statement: str, reasoning: str) -> tuple[re.Match | None, bool]:
    """The claim in the card's statement, else in the explanation of its verdict (which the
    notes assert: "True — … not explicit N−1 pairwise receives")."""
    m = rule.pattern.search(statement)
    if m:
        return m, False
    m = rule.pattern.search(reasoning) if reasoning else None
    return (m, True) if m else (None, False)


def check_card(card: Card, ctx: RuleContext) -> tuple[Card, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    statement = claim_text(card)
    reasoning = (explanation(card) if card.kind == "true-false" and not card.has_flag("conflict")
                 else "")
    folded = f"{statement}\n{reasoning}".casefold()
    for rule in RULES:
        if rule.keyword not in folded:
            continue
        m, in_explanation = _find(rule, statement, reasoning)
        if not m or ctx.snippets.registry.formula(rule.formula) is None:
            continue
        try:
            result = rule.evaluate(m, ctx)
        except LookupError:
            continue  # the snippet function is not there (yet): unchecked, not judged
        except Exception as err:  # a snippet bug must not stop the build
            src = card.sources[0]
            diags.append(Diagnostic(src.path, src.line, "claim-check-error",
                                    f"rule {rule.name!r} failed: {type(err).__name__}: {err}"))
            continue
        if result is None:
            continue
        module = ctx.snippets.registry.formula(rule.formula).module
        card = _replace(card, formulas=tuple(dict.fromkeys((*card.formulas, rule.formula))))
        sides = [(True, "")] if in_explanation else claimed_truths(card)
        for said, where in sides:
            says = f"the notes say {'True' if said else 'False'}" + (f" at {where}" if where else "")
            if result.holds == said:
                # No file:line in what the card shows (moving other lines must not change it);
                # flag reasons keep locations, as dedupe's do.
                agreed = f"the notes say {'True' if said else 'False'}" + (" (one side)" if where else "")
                note = f"{rule.name}: {agreed}; {result.detail} ({module})"
                card = _replace(card, verified=tuple(dict.fromkeys((*card.verified, note))))
            else:
                card = card.with_flag("claim-mismatch", (
                    f"{rule.name}: {says}, but the registry code says "
                    f"{'True' if result.holds else 'False'}: {result.detail} ({module})."))
    return card, diags


def check(graph: KnowledgeGraph, ctx) -> KnowledgeGraph:
    rctx = RuleContext(Snippets(ctx.registry), graph)
    cards, diags = [], []
    for card in graph.cards:
        checked, found = check_card(card, rctx)
        cards.append(checked)
        diags.extend(found)
    graph = graph.replace(cards=tuple(cards))
    return graph.warn(*diags, *latex.graph_diagnostics(graph, ctx.config.root, ctx.registry))
