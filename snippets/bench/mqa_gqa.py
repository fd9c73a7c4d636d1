"""Decode attention with MHA vs GQA vs MQA: the KV cache shrinks by the head ratio.

Counts (registry `mqa-gqa-cache`): with h_q query heads sharing h_kv key/value heads, the cache
is 2 B t h_kv d_h x 2 bytes, h_q / h_kv times smaller than MHA's. A decode step reads the
whole cache once, so it is memory-bound and its time should fall about as fast.
"""

from __future__ import annotations

from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import randn

CASE = CaseInfo(
    id="mqa-gqa",
    title="Decode attention: MHA vs GQA vs MQA",
    formulas=("mqa-gqa-cache", "kv-cache-size"),
    concepts=("grouped-query-attention", "kv-cache"),
    claim="Multi-query and grouped-query attention shrink the KV cache by the ratio of query to "
          "key/value heads, and decoding, which is bound by reading the cache, speeds up accordingly.",
    measures=("mqa-gqa-cache",),
    claim_terms=(
        ("multi-query", "grouped-query", "mqa", "gqa"),
        ("kv cache", "kv-cache", "cache"),
    ),
)


def grouped_decode(q, k, v):
    """q (B, Hq, 1, d); k, v (B, Hkv, t, d) with Hq a multiple of Hkv; returns (B, Hq, 1, d).

    The query heads of a group are stacked as rows, so each K/V head is read once."""
    import torch

    b, hq, _, d = q.shape
    hkv = k.shape[1]
    qg = q.reshape(b, hkv, hq // hkv, d)
    scores = (qg @ k.transpose(-2, -1)) * d ** -0.5
    out = torch.softmax(scores.float(), dim=-1).to(v.dtype) @ v
    return out.reshape(b, hq, 1, d)


def run(ctx) -> Outcome:
    import torch.nn.functional as F

    b, hq, d, t = ctx.pick((2, 8, 16, 64), (8, 32, 128, 8192))
    rows, fns = [], {}
    q = randn((b, hq, 1, d), device=ctx.device, seed=1)
    for name, hkv in (("MHA", hq), ("GQA-8", 8 if hq >= 8 else 2), ("GQA-4", 4 if hq >= 8 else 2),
                      ("MQA", 1)):
        k, v = randn((b, hkv, t, d), device=ctx.device, seed=2), randn((b, hkv, t, d), device=ctx.device, seed=3)
        ref = F.scaled_dot_product_attention(q.float(), k.float().repeat_interleave(hq // hkv, 1),
                                             v.float().repeat_interleave(hq // hkv, 1))
        err = (grouped_decode(q, k, v).float() - ref).abs().max().item()
        fns[name] = lambda k=k, v=v: grouped_decode(q, k, v)
        rows.append({"variant": name, "kv_heads": hkv, "cache_mib": 2 * b * t * hkv * d * 2 / 2**20,
                     "cache_ratio": hq / hkv, "max_abs_err": err})
        del ref
    times = ctx.time_many(fns)  # interleaved: the four variants see the same clocks
    for row in rows:
        tm = times[row["variant"]]
        row.update(ms=tm.median_ms, q1_ms=tm.q1_ms, q3_ms=tm.q3_ms,
                   gbs=row["cache_mib"] * 2**20 / (tm.median_ms / 1e3) / 1e9)
    mha = rows[0]
    for r in rows:
        r["speedup_vs_mha"] = mha["ms"] / r["ms"]
    columns = (Column("variant", "attention"), Column("kv_heads", "K/V heads"),
               Column("cache_mib", "KV cache (one layer)", "MiB"),
               Column("cache_ratio", "cache reduction vs MHA", "x"), Column("ms", "decode step", "ms"),
               Column("q1_ms", "q1", "ms"), Column("q3_ms", "q3", "ms"),
               Column("gbs", "cache read rate", "GB/s"),
               Column("speedup_vs_mha", "speedup vs MHA", "x"), Column("max_abs_err", "max |err| vs SDPA"))
    plots = (Plot("Decode step time vs K/V heads", "kv_heads", ("ms",), "K/V heads", "ms",
                  logx=True, logy=True),
             Plot("Speed-up vs cache reduction", "cache_ratio", ("speedup_vs_mha", "cache_ratio"),
                  "cache reduction vs MHA (x)", "x", logx=True, logy=True))
    params = {"batch": b, "query_heads": hq, "head_dim": d, "context": t, "dtype": "bfloat16"}
    if not ctx.is_cuda:
        return Outcome("not-run", "Tiny CPU run: grouped decode matched SDPA with repeated K/V "
                       f"heads to {max(r['max_abs_err'] for r in rows):.1e}; timings need CUDA.",
                       columns, tuple(rows), plots, params)
    gqa8 = rows[1]
    mqa = rows[-1]
    tracks = gqa8["speedup_vs_mha"] >= 0.5 * gqa8["cache_ratio"]
    summary = (f"At context {t}, batch {b}: the cache shrank {gqa8['cache_ratio']:.0f}x with GQA-8 and "
               f"{mqa['cache_ratio']:.0f}x with MQA; the decode step went from {mha['ms']*1e3:.0f} us (MHA, "
               f"{mha['gbs']:.0f} GB/s) to {gqa8['ms']*1e3:.0f} us ({gqa8['speedup_vs_mha']:.1f}x) and "
               f"{mqa['ms']*1e3:.0f} us ({mqa['speedup_vs_mha']:.1f}x).")
    verdict = "supports" if tracks and mqa["speedup_vs_mha"] > gqa8["speedup_vs_mha"] else "partly"
    return Outcome(verdict, summary, columns, tuple(rows), plots, params,
                   notes=("grouped_decode is plain torch (matmul, softmax, matmul): at small caches "
                          "(MQA) its fixed launch cost, not bytes, bounds the step.",))
