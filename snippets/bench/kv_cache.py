"""KV-cache decoding vs recomputing K and V of the whole prefix, one attention layer.

Counts (registry `kv-cache-decode-cost`, `kv-cache-size`): one decode step at context t with a
cache projects one token (2 B 4 d^2 FLOP: Q, K, V, output) and attends over t cached keys
(4 B t d FLOP), reading the cache of 2 B t d x 2 bytes; without a cache it must project K and V
for all t tokens again (2 B t 2 d^2 FLOP more), so the step grows like t d^2 instead of t d.
"""

from __future__ import annotations

from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import randn

CASE = CaseInfo(
    id="kv-cache",
    title="KV-cache decoding vs recomputation (one attention layer)",
    formulas=("kv-cache-size", "kv-cache-decode-cost"),
    concepts=("kv-cache",),
    claim="Caching keys and values makes each decoding step cheap: a step reads the cache and "
          "projects one token instead of recomputing K and V for the whole prefix.",
    measures=("kv-cache-size", "kv-cache-decode-cost"),
    claim_terms=(
        ("kv cach", "kv-cach", "key-value cach", "cache k"),
        ("decod", "recomput", "per-token", "saves computation", "generat"),
    ),
)


def cache_bytes(b: int, t: int, heads: int, head_dim: int, elem: int = 2) -> int:
    """K and V for t tokens of one layer: 2 x b x t x heads x head_dim x bytes."""
    return 2 * b * t * heads * head_dim * elem


def step_flops(b: int, t: int, d: int, cached: bool) -> float:
    proj_one = 2.0 * b * 4 * d * d  # Q, K, V and output projections of the new token
    attend = 4.0 * b * t * d
    return proj_one + attend + (0.0 if cached else 2.0 * b * (t - 1) * 2 * d * d)


class Layer:
    """Weights of one attention layer and its two decode steps."""

    def __init__(self, d: int, heads: int, device: str):
        self.d, self.heads, self.hd = d, heads, d // heads
        self.w_qkv = randn((3 * d, d), device=device, seed=1, scale=d ** -0.5)
        self.w_o = randn((d, d), device=device, seed=2, scale=d ** -0.5)

    def _split(self, x):  # (B, T, 3d) -> 3 x (B, H, T, hd)
        b, t, _ = x.shape
        return x.view(b, t, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)

    def step_cached(self, x_new, k_cache, v_cache, t: int):
        """x_new (B, 1, d); caches (B, H, T_max, hd) hold t-1 tokens; returns (B, 1, d)."""
        import torch.nn.functional as F

        q, k, v = self._split(x_new @ self.w_qkv.T)
        k_cache[:, :, t - 1:t] = k
        v_cache[:, :, t - 1:t] = v
        out = F.scaled_dot_product_attention(q, k_cache[:, :, :t], v_cache[:, :, :t])
        return out.transpose(1, 2).reshape(x_new.shape) @ self.w_o.T

    def step_recompute(self, x_all):
        """x_all (B, t, d): K, V of every token projected again; attend with the last query."""
        import torch.nn.functional as F

        q, k, v = self._split(x_all @ self.w_qkv.T)
        out = F.scaled_dot_product_attention(q[:, :, -1:], k, v)
        b, _, d = x_all.shape
        return out.transpose(1, 2).reshape(b, 1, d) @ self.w_o.T


def run(ctx) -> Outcome:
    import torch

    b, d, heads = ctx.pick((2, 64, 4), (8, 4096, 32))
    layer = Layer(d, heads, ctx.device)
    rows = []
    for t in ctx.pick((16, 32, 64), (512, 1024, 2048, 4096, 8192, 16384)):
        x_all = randn((b, t, d), device=ctx.device, seed=3)
        k_cache = torch.zeros((b, heads, t, d // heads), dtype=torch.bfloat16, device=ctx.device)
        v_cache = torch.zeros_like(k_cache)
        # fill the cache with the prefix's K, V so both steps compute the same output
        _, k_all, v_all = layer._split(x_all @ layer.w_qkv.T)
        k_cache.copy_(k_all)
        v_cache.copy_(v_all)
        del k_all, v_all
        x_new = x_all[:, -1:].contiguous()
        out_c = layer.step_cached(x_new, k_cache, v_cache, t)
        out_r = layer.step_recompute(x_all)
        agree = (out_c.float() - out_r.float()).abs().max().item()
        t_c = ctx.time(lambda x_new=x_new, kc=k_cache, vc=v_cache, t=t: layer.step_cached(x_new, kc, vc, t))
        t_r = ctx.time(lambda x_all=x_all: layer.step_recompute(x_all))
        rows.append({"t": t, "ms_cached": t_c.median_ms, "ms_recompute": t_r.median_ms,
                     "speedup": t_r.median_ms / t_c.median_ms,
                     "gflop_cached": step_flops(b, t, d, True) / 1e9,
                     "gflop_recompute": step_flops(b, t, d, False) / 1e9,
                     "cache_mib": cache_bytes(b, t, heads, d // heads) / 2**20,
                     "cache_gbs": cache_bytes(b, t, heads, d // heads) / (t_c.median_ms / 1e3) / 1e9,
                     "max_abs_diff": agree})
        del x_all, k_cache, v_cache
    columns = (Column("t", "context length"), Column("ms_cached", "step with KV cache", "ms"),
               Column("ms_recompute", "step recomputing K, V", "ms"),
               Column("speedup", "recompute / cached", "x"),
               Column("gflop_cached", "FLOP per step, cached", "GFLOP"),
               Column("gflop_recompute", "FLOP per step, recompute", "GFLOP"),
               Column("cache_mib", "KV cache (one layer)", "MiB"),
               Column("cache_gbs", "cache read rate of the cached step", "GB/s"),
               Column("max_abs_diff", "max |cached - recompute| output"))
    plots = (Plot("Decode step time vs context", "t", ("ms_cached", "ms_recompute"), "context length",
                  "ms per step", logx=True, logy=True),)
    params = {"batch": b, "d_model": d, "heads": heads, "dtype": "bfloat16", "layers": 1}
    first, last = rows[0], rows[-1]
    if not ctx.is_cuda:
        return Outcome("not-run", f"Tiny CPU run: cached and recomputed steps agree to "
                       f"{max(r['max_abs_diff'] for r in rows):.1e}; timings need CUDA.",
                       columns, tuple(rows), plots, params)
    grows = last["speedup"] > first["speedup"] and last["speedup"] > 5
    summary = (f"With a KV cache a decode step at context {last['t']} took {last['ms_cached']:.3g} ms "
               f"against {last['ms_recompute']:.3g} ms recomputing K and V ({last['speedup']:.0f}x; "
               f"{first['speedup']:.1f}x at {first['t']}), reading its {last['cache_mib']:.0f} MiB cache "
               f"at {last['cache_gbs']:.0f} GB/s.")
    return Outcome("supports" if grows else "partly", summary, columns, tuple(rows), plots, params)
