"""LayerNorm vs RMSNorm: both read x once and write y once, so both are memory-bound.

Counts (registry `layer-norm`, `rms-norm`): per row of d values LayerNorm computes a mean and a
variance (about 8d FLOP), RMSNorm only the mean square (about 4d FLOP); each must move
2 x rows x d x 2 bytes in bf16 (plus the d-sized weights). At a handful of FLOP per byte
both sit far left of the ridge: the bytes, not the saved arithmetic, set the time.
"""

from __future__ import annotations

from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import randn, rel_err

CASE = CaseInfo(
    id="layernorm-rmsnorm",
    title="LayerNorm vs RMSNorm (fused PyTorch kernels and an unfused RMSNorm)",
    formulas=("layer-norm", "rms-norm"),
    concepts=("layer-norm", "rms-norm"),
    claim="RMSNorm is cheaper and faster than LayerNorm because it drops the mean subtraction "
          "and the bias.",
    measures=("layer-norm", "rms-norm"),
    claim_terms=(
        ("rmsnorm", "rms norm", "rms-norm"),
        ("layernorm", "layer norm", "layer-norm"),
    ),
)

EPS = 1e-6


def rms_norm_unfused(x, weight, eps: float = EPS):
    """y = x / sqrt(mean(x^2) + eps) * w, written out in torch ops (several passes over x)."""
    import torch

    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * weight


def run(ctx) -> Outcome:
    import torch.nn.functional as F

    rows_n = ctx.pick(64, 32768)
    rows = []
    for d in ctx.pick((64, 256), (1024, 2048, 4096, 8192)):
        x = randn((rows_n, d), device=ctx.device, seed=1)
        w, bias = randn((d,), device=ctx.device, seed=2), randn((d,), device=ctx.device, seed=3)
        fused = F.rms_norm(x, (d,), w, EPS)
        err = rel_err(fused, rms_norm_unfused(x, w))
        nbytes = 2.0 * rows_n * d * 2
        row = {"d": d, "rows": rows_n, "rms_rel_err": err}
        times = ctx.time_many({  # interleaved: the claim is a difference of ~10-70%
            "layernorm": lambda x=x, d=d, w=w, bias=bias: F.layer_norm(x, (d,), w, bias, EPS),
            "rmsnorm": lambda x=x, d=d, w=w: F.rms_norm(x, (d,), w, EPS),
            "rmsnorm_unfused": lambda x=x, w=w: rms_norm_unfused(x, w)})
        for name, t in times.items():
            row[f"ms_{name}"] = t.median_ms
            row[f"gbs_{name}"] = nbytes / (t.median_ms / 1e3) / 1e9
        row["rms_speedup"] = row["ms_layernorm"] / row["ms_rmsnorm"]
        rows.append(row)
        del x
    columns = (Column("d", "hidden size"), Column("rows", "rows (tokens)"),
               Column("ms_layernorm", "LayerNorm (F.layer_norm)", "ms"),
               Column("ms_rmsnorm", "RMSNorm (F.rms_norm)", "ms"),
               Column("ms_rmsnorm_unfused", "RMSNorm, unfused torch ops", "ms"),
               Column("gbs_layernorm", "LayerNorm bandwidth", "GB/s"),
               Column("gbs_rmsnorm", "RMSNorm bandwidth", "GB/s"),
               Column("gbs_rmsnorm_unfused", "unfused RMSNorm bandwidth", "GB/s"),
               Column("rms_speedup", "LayerNorm time / RMSNorm time", "x"),
               Column("rms_rel_err", "fused vs unfused RMSNorm (rel. error)"))
    hl = ((ctx.peaks.hbm_gbs, "HBM bandwidth"),) if ctx.peaks.hbm_gbs else ()
    plots = (Plot("Normalization time", "d", ("ms_layernorm", "ms_rmsnorm", "ms_rmsnorm_unfused"),
                  "hidden size", "ms", logx=True, logy=True),
             Plot("Normalization bandwidth", "d", ("gbs_layernorm", "gbs_rmsnorm", "gbs_rmsnorm_unfused"),
                  "hidden size", "GB/s", logx=True, hlines=hl))
    params = {"rows": rows_n, "dtype": "bfloat16", "eps": EPS}
    if not ctx.is_cuda:
        return Outcome("not-run", "Tiny CPU run: fused and unfused RMSNorm agree to "
                       f"{max(r['rms_rel_err'] for r in rows):.1e}; timings need CUDA.",
                       columns, tuple(rows), plots, params)
    speedups = [r["rms_speedup"] for r in rows]
    lo, hi = min(speedups), max(speedups)
    verdict = "supports" if lo > 1.05 else ("contradicts" if hi < 0.95 else "partly")
    big = rows[-1]
    summary = (f"Fused RMSNorm took {lo:.2f}-{hi:.2f}x less time than LayerNorm over d = "
               f"{rows[0]['d']}-{big['d']} ({big['ms_rmsnorm']*1e3:.0f} vs {big['ms_layernorm']*1e3:.0f} us "
               f"at d={big['d']}, {big['gbs_rmsnorm']:.0f} vs {big['gbs_layernorm']:.0f} GB/s); both are "
               f"memory-bound, and an unfused RMSNorm took {big['ms_rmsnorm_unfused']*1e3:.0f} us.")
    return Outcome(verdict, summary, columns, tuple(rows), plots, params)
