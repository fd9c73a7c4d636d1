"""Attention: naive softmax(QK^T / sqrt(d)) V against PyTorch's fused SDPA backends.

Counts (registry `scaled-dot-product-attention`): the forward pass does 4 B H n^2 d FLOP and
must move Q, K, V and O once, 8 B H n d bytes in bf16; the naive version also writes and reads
the n x n score matrix several times (S = QK^T, its scaled copy, P = softmax(S)), which is
what makes it memory-bound and quadratic in memory.
"""

from __future__ import annotations

import math

from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import mib, randn

CASE = CaseInfo(
    id="attention",
    title="Naive attention vs SDPA backends (flash, cuDNN, memory-efficient), seq 1k-16k",
    formulas=("scaled-dot-product-attention", "multi-head-attention", "online-softmax"),
    concepts=("attention", "flash-attention"),
    claim="Attention computed naively materializes the n x n score matrix: it is memory-bound and "
          "its memory grows quadratically with sequence length; fused (tiled) attention kernels "
          "are faster and need memory linear in n.",
    measures=("scaled-dot-product-attention",),
    claim_terms=(
        ("attention",),
        ("materializ", "score matrix", "quadratic", "memory-bound", "memory bound", "fused",
         "tiled", "tiling", "o(n) memory"),
    ),
)

BACKENDS = ("flash", "cudnn", "efficient")


def naive_attention(q, k, v):
    """softmax(Q K^T / sqrt(d)) V, literally: the n x n scores are materialized."""
    import torch

    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    return torch.softmax(scores, dim=-1) @ v


def sdpa_fn(backend: str, q, k, v):
    """A callable running F.scaled_dot_product_attention restricted to one backend."""
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    chosen = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
              "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}[backend]

    def fn():
        with sdpa_kernel(chosen):
            return F.scaled_dot_product_attention(q, k, v)
    return fn


def attention_counts(b: int, h: int, n: int, d: int, elem: int = 2) -> tuple[float, float]:
    return 4.0 * b * h * n * n * d, float(4 * b * h * n * d * elem)


def naive_traffic_bytes(b: int, h: int, n: int, d: int, elem: int = 2) -> float:
    """HBM bytes of the naive version: QKV/O once plus S written, read+P written... (6 passes
    over an n x n matrix: write S, read S / write S*scale, read / write P, read P)."""
    return attention_counts(b, h, n, d, elem)[1] + 6.0 * b * h * n * n * elem


def growth_exponent(ns, values) -> float | None:
    """Slope of log(value) against log(n) between the first and last point that have values."""
    pts = [(n, v) for n, v in zip(ns, values, strict=True) if v]
    if len(pts) < 2:
        return None
    (n0, v0), (n1, v1) = pts[0], pts[-1]
    return math.log(v1 / v0) / math.log(n1 / n0)


def shape(ctx) -> tuple[int, int, int]:
    return ctx.pick((1, 2, 32), (2, 16, 128))  # batch, heads, head dim


def seqs(ctx) -> tuple[int, ...]:
    return ctx.pick((64, 128, 256), (1024, 2048, 4096, 8192, 16384))


def measure(ctx, impl: str, fn, flops: float, nbytes: float) -> dict:
    """ms, TFLOP/s and peak extra memory of one implementation, or nulls if it cannot run."""
    try:
        mem = ctx.peak_memory(fn)
        t = ctx.time(fn)
    except RuntimeError as err:  # a backend that does not support this shape / device
        ctx.notes.append(f"{impl}: not run ({str(err).splitlines()[0][:160]})")
        return {f"ms_{impl}": None, f"tflops_{impl}": None, f"mib_{impl}": None}
    return {f"ms_{impl}": t.median_ms, f"tflops_{impl}": flops / (t.median_ms / 1e3) / 1e12,
            f"mib_{impl}": mib(mem)}


def run(ctx) -> Outcome:
    b, h, d = shape(ctx)
    rows = []
    impls = ("naive",) + (BACKENDS if ctx.is_cuda else ("math",))
    for n in seqs(ctx):
        q, k, v = (randn((b, h, n, d), device=ctx.device, seed=s) for s in (1, 2, 3))
        flops, nbytes = attention_counts(b, h, n, d)
        row = {"n": n}
        for impl in impls:
            fn = (lambda q=q, k=k, v=v: naive_attention(q, k, v)) if impl == "naive" else sdpa_fn(impl, q, k, v)
            row.update(measure(ctx, impl, fn, flops, nbytes))
        if row["ms_naive"]:
            row["naive_frac_bw"] = (naive_traffic_bytes(b, h, n, d) / (row["ms_naive"] / 1e3) / 1e9
                                    / ctx.peaks.hbm_gbs) if ctx.peaks.hbm_gbs else None
        fused = [row.get(f"ms_{i}") for i in impls[1:] if row.get(f"ms_{i}")]
        row["speedup_best_vs_naive"] = row["ms_naive"] / min(fused) if fused and row["ms_naive"] else None
        rows.append(row)
        del q, k, v
    columns = [Column("n", "sequence length")]
    for impl in impls:
        columns += [Column(f"ms_{impl}", f"{impl} time", "ms"),
                    Column(f"tflops_{impl}", f"{impl} throughput", "TFLOP/s"),
                    Column(f"mib_{impl}", f"{impl} peak extra memory", "MiB")]
    columns += [Column("naive_frac_bw", "naive: estimated HBM traffic / time / bandwidth", ""),
                Column("speedup_best_vs_naive", "naive time / fastest fused time", "x")]
    ns = [r["n"] for r in rows]
    plots = (
        Plot("Attention forward time", "n", tuple(f"ms_{i}" for i in impls), "sequence length",
             "ms", logx=True, logy=True),
        Plot("Attention peak memory (beyond Q, K, V)", "n", tuple(f"mib_{i}" for i in impls),
             "sequence length", "MiB", logx=True, logy=True),
    )
    params = {"batch": b, "heads": h, "head_dim": d, "dtype": "bfloat16", "causal": False}
    if not ctx.is_cuda:
        return Outcome("not-run", "Tiny CPU run: naive and math attention ran; peak memory and "
                       "the fused backends need CUDA.", tuple(columns), tuple(rows), plots, params)
    exp_naive = growth_exponent(ns, [r["mib_naive"] for r in rows])
    best_impl = min(BACKENDS, key=lambda i: rows[-1].get(f"ms_{i}") or math.inf)
    exp_fused = growth_exponent(ns, [r[f"mib_{best_impl}"] for r in rows])
    last = rows[-1]
    quadratic = exp_naive is not None and exp_naive > 1.8
    linear = exp_fused is not None and exp_fused < 1.2
    faster = all((r["speedup_best_vs_naive"] or 0) > 1 for r in rows)
    verdict = "supports" if quadratic and linear and faster else "partly"
    summary = (f"At n={last['n']} naive attention took {last['ms_naive']:.3g} ms and "
               f"{last['mib_naive']:.0f} MiB (memory ~ n^{exp_naive:.2f}; its score traffic ran "
               f"at {last['naive_frac_bw']:.0%} of HBM bandwidth) while SDPA {best_impl} took "
               f"{last[f'ms_{best_impl}']:.3g} ms ({last[f'tflops_{best_impl}']:.0f} TFLOP/s, "
               f"{last['speedup_best_vs_naive']:.1f}x faster) and {last[f'mib_{best_impl}']:.0f} MiB "
               f"(memory ~ n^{exp_fused:.2f}).")
    params.update({"memory_exponent_naive": exp_naive, "memory_exponent_fused": exp_fused,
                   "fastest_backend_at_max_n": best_impl})
    return Outcome(verdict, summary, tuple(columns), tuple(rows), plots, params)
