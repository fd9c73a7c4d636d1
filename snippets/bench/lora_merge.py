"""LoRA at inference: the adapter merged into W vs applied beside it.

Counts (registry `lora-update`, `lora-merge`, `lora-params`): W' = W + (alpha / r) B A with
B (d_out x r), A (r x d_in). Merged, a layer costs exactly the base x W'^T (2 T d_in d_out FLOP);
unmerged it adds x A^T and (x A^T) B^T, 2 T r (d_in + d_out) FLOP, in two more small kernels.
"""

from __future__ import annotations

from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import randn, rel_err

CASE = CaseInfo(
    id="lora-merge",
    title="LoRA merged vs unmerged at inference",
    formulas=("lora-merge", "lora-update", "lora-params"),
    concepts=("lora",),
    claim="A LoRA adapter merged into the weights (W + BA) adds no inference latency; kept "
          "separate it costs extra kernels.",
    measures=("lora-merge",),
    claim_terms=(
        ("lora",),
        ("merg",),
        ("latency", "inference"),
    ),
)


def merge(w, a, b, scale: float):
    """W' = W + scale * B A (in float32, stored back in W's dtype)."""
    return (w.float() + scale * (b.float() @ a.float())).to(w.dtype)


def unmerged(x, w, a, b, scale: float):
    return x @ w.T + scale * ((x @ a.T) @ b.T)


def run(ctx) -> Outcome:
    d, r = ctx.pick((64, 4), (4096, 16))
    scale = 2.0  # alpha / r with alpha = 2r
    w = randn((d, d), device=ctx.device, seed=1, scale=d ** -0.5)
    a = randn((r, d), device=ctx.device, seed=2, scale=d ** -0.5)
    b = randn((d, r), device=ctx.device, seed=3, scale=r ** -0.5)
    w_merged = merge(w, a, b, scale)
    rows = []
    for tokens in ctx.pick((1, 8, 32), (1, 16, 128, 1024, 8192, 32768)):
        x = randn((tokens, d), device=ctx.device, seed=4)
        diff = rel_err(x.float() @ w_merged.float().T, unmerged(x.float(), w.float(), a.float(), b.float(), scale))
        # interleaved: base and merged are the same kernel, so any gap between them is drift
        times = ctx.time_many({"base": lambda x=x: x @ w.T, "merged": lambda x=x: x @ w_merged.T,
                               "unmerged": lambda x=x: unmerged(x, w, a, b, scale)})
        t_base, t_merged, t_un = times["base"], times["merged"], times["unmerged"]
        rows.append({"tokens": tokens, "ms_base": t_base.median_ms, "ms_merged": t_merged.median_ms,
                     "ms_unmerged": t_un.median_ms,
                     "merged_overhead": t_merged.median_ms / t_base.median_ms - 1,
                     "unmerged_overhead": t_un.median_ms / t_base.median_ms - 1,
                     "extra_flop_frac": r * (d + d) / (d * d), "rel_err_merged": diff})
        del x
    columns = (Column("tokens", "tokens in the batch"), Column("ms_base", "base x W^T", "ms"),
               Column("ms_merged", "merged x (W + sBA)^T", "ms"),
               Column("ms_unmerged", "unmerged x W^T + s (x A^T) B^T", "ms"),
               Column("merged_overhead", "merged / base - 1"), Column("unmerged_overhead", "unmerged / base - 1"),
               Column("extra_flop_frac", "adapter FLOP / base FLOP"),
               Column("rel_err_merged", "merged (bf16 W') vs unmerged fp32 (rel. error)"))
    plots = (Plot("LoRA layer time", "tokens", ("ms_base", "ms_merged", "ms_unmerged"), "tokens", "ms",
                  logx=True, logy=True),
             Plot("Latency overhead vs base", "tokens", ("merged_overhead", "unmerged_overhead"), "tokens",
                  "relative overhead", logx=True))
    params = {"d_in": d, "d_out": d, "rank": r, "scale": scale, "dtype": "bfloat16"}
    if not ctx.is_cuda:
        return Outcome("not-run", "Tiny CPU run: merged and unmerged layers agree to "
                       f"{max(x['rel_err_merged'] for x in rows):.1e} relative error; timings need CUDA.",
                       columns, tuple(rows), plots, params)
    worst_merged = max(abs(x["merged_overhead"]) for x in rows)
    un = [x["unmerged_overhead"] for x in rows]
    verdict = "supports" if worst_merged < 0.05 and min(un) > 0 else "partly"
    summary = (f"Merged LoRA (d={d}, r={r}) ran within {worst_merged:.1%} of the base layer at every batch "
               f"size, while the unmerged adapter added {min(un):.0%}-{max(un):.0%} "
               f"({rows[0]['ms_unmerged']*1e3:.0f} vs {rows[0]['ms_base']*1e3:.0f} us at 1 token, "
               f"{rows[-1]['ms_unmerged']:.3g} vs {rows[-1]['ms_base']:.3g} ms at {rows[-1]['tokens']}).")
    return Outcome(verdict, summary, columns, tuple(rows), plots, params)
