"""Roofline sweep: bf16 GEMM with the inner dimension varied across the ridge, GEMV, a copy.

Counts (the registry's `arithmetic-intensity`): a GEMM (M,K)x(K,N) does 2MNK FLOP and must
move 2(MK + KN + MN) bytes in bf16; a GEMV (N,N)x(N) does 2N^2 FLOP over about 2N^2 bytes
(intensity ~1); a copy moves 2 x its size (read + write) and does no arithmetic.
"""

from __future__ import annotations

from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import fmt, randn

CASE = CaseInfo(
    id="roofline",
    title="Roofline: bf16 GEMM across the ridge, GEMV and an HBM copy",
    formulas=("roofline", "ridge-point", "arithmetic-intensity"),
    concepts=("roofline",),
    claim="Attainable throughput is min(peak compute, arithmetic intensity x memory bandwidth): "
          "matrix-matrix products have high and matrix-vector products low arithmetic intensity, "
          "so GEMM is compute-bound and GEMV memory-bound.",
    measures=("roofline", "ridge-point", "arithmetic-intensity"),
    claim_terms=(
        ("compute-bound", "compute bound", "memory-bound", "memory bound", "io-bound",
         "bandwidth-bound", "bw-bound", "bandwidth bound", "compute roof", "bandwidth roof",
         "flat part", "ridge"),
    ),
)

COLUMNS = (
    Column("op", "kernel"), Column("m", "M"), Column("n", "N"), Column("k", "K"),
    Column("ai", "arithmetic intensity", "FLOP/byte"), Column("ms", "time (median)", "ms"),
    Column("q1_ms", "q1", "ms"), Column("q3_ms", "q3", "ms"),
    Column("tflops", "achieved", "TFLOP/s"), Column("gbs", "achieved", "GB/s"),
    Column("roof_tflops", "roofline at this intensity", "TFLOP/s"),
    Column("frac_roofline", "fraction of roofline", ""),
    Column("frac_peak", "fraction of bf16 peak", ""), Column("frac_bw", "fraction of HBM bandwidth", ""),
)


def gemm_counts(m: int, n: int, k: int, elem: int = 2) -> tuple[float, float]:
    return 2.0 * m * n * k, float(elem * (m * k + k * n + m * n))


def gemv_counts(n: int, elem: int = 2) -> tuple[float, float]:
    return 2.0 * n * n, float(elem * (n * n + 2 * n))


def _row(ctx, op, m, n, k, flops, nbytes, fn) -> dict:
    t = ctx.time(fn)
    return {"op": op, "m": m, "n": n, "k": k, **{key: t.to_json()[key] for key in ("ms", "q1_ms", "q3_ms")},
            **ctx.perf(flops, nbytes, t.median_ms)}


def run(ctx) -> Outcome:
    import torch

    dev = ctx.device
    mn = ctx.pick(128, 8192)
    ks = ctx.pick((16, 64, 128), (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192))
    rows = []
    for k in ks:
        a = randn((mn, k), device=dev, seed=1)
        b = randn((k, mn), device=dev, seed=2)
        rows.append(_row(ctx, "gemm", mn, mn, k, *gemm_counts(mn, mn, k), lambda a=a, b=b: a @ b))
        del a, b
    nv = ctx.pick(256, 16384)
    mat = randn((nv, nv), device=dev, seed=3)
    vec = randn((nv,), device=dev, seed=4)
    rows.append(_row(ctx, "gemv", nv, 1, nv, *gemv_counts(nv), lambda mat=mat, vec=vec: mat @ vec))
    del mat, vec
    numel = ctx.pick(1 << 16, 1 << 31)  # 4 GiB of bf16 on the GPU
    src = randn((numel,), device=dev, seed=5) if not ctx.is_cuda else \
        torch.empty(numel, dtype=torch.bfloat16, device=dev).normal_()
    dst = torch.empty_like(src)
    rows.append(_row(ctx, "copy", numel, 1, 1, 0.0, 2.0 * 2 * numel, lambda dst=dst, src=src: dst.copy_(src)))
    del src, dst

    big = next(r for r in rows if r["op"] == "gemm" and r["k"] == max(ks))
    gemv = next(r for r in rows if r["op"] == "gemv")
    copy = next(r for r in rows if r["op"] == "copy")
    ridge = ctx.peaks.ridge("bf16")
    peaks = ctx.peaks
    below = [r for r in rows if r["op"] == "gemm" and ridge and r["ai"] < ridge]
    above = [r for r in rows if r["op"] == "gemm" and ridge and r["ai"] >= ridge]
    if peaks.hbm_gbs:
        ok = (big["frac_peak"] or 0) >= 0.7 and (gemv["frac_bw"] or 0) >= 0.7 and \
            (copy["frac_bw"] or 0) >= 0.85
        verdict = "supports" if ok else "partly"
        summary = (f"On {peaks.name.split(' (')[0]}, bf16 GEMM {mn}x{mn}x{max(ks)} (intensity "
                   f"{big['ai']:.0f} FLOP/B) ran at {big['tflops']:.0f} TFLOP/s = "
                   f"{big['frac_peak']:.0%} of the {peaks.tflops['bf16']:.0f} TFLOP/s peak, while "
                   f"GEMV (intensity {gemv['ai']:.2f}) reached only {gemv['tflops']:.2f} TFLOP/s but "
                   f"{gemv['gbs']:.0f} GB/s and a {numel * 2 / 2**30:.0f} GiB copy {copy['gbs']:.0f} GB/s "
                   f"({copy['frac_bw']:.0%} of {peaks.hbm_gbs:.0f} GB/s): the ridge sits at "
                   f"{ridge:.0f} FLOP/B.")
    else:
        verdict = "not-run"
        summary = (f"Tiny CPU run (no device peaks): GEMM K={max(ks)} at {fmt(big['tflops'])} "
                   f"TFLOP/s, GEMV at {fmt(gemv['gbs'])} GB/s; numbers prove the code, not the claim.")
    hlines = ((peaks.tflops["bf16"], "dense bf16 peak"),) if "bf16" in peaks.tflops else ()
    plots = (
        Plot("Measured roofline (bf16)", "ai", ("tflops", "roof_tflops"), "arithmetic intensity (FLOP/byte)",
             "TFLOP/s", logx=True, logy=True, hlines=hlines),
        Plot("Achieved memory bandwidth", "ai", ("gbs",), "arithmetic intensity (FLOP/byte)", "GB/s",
             logx=True, logy=True,
             hlines=((peaks.hbm_gbs, "HBM bandwidth"),) if peaks.hbm_gbs else ()),
    )
    notes = [f"ridge point {fmt(ridge)} FLOP/byte = peak bf16 / HBM bandwidth "
             f"({len(below)} GEMM shapes below it, {len(above)} above)"] if ridge else []
    notes.append(f"copy row: dst.copy_(src) of {numel} bf16 elements; bytes = read + write; ai is null")
    # rows in order of intensity, so a renderer drawing lines in row order draws the roofline
    rows.sort(key=lambda r: (r["ai"] is None, r["ai"] or 0.0))
    return Outcome(verdict, summary, COLUMNS, tuple(rows), plots,
                   params={"dtype": "bfloat16", "gemm_mn": mn, "gemm_k": list(ks), "gemv_n": nv,
                           "copy_elements": numel}, notes=tuple(notes))
