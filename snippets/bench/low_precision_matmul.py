"""bf16 vs int8 (torch._int_mm) vs fp8 e4m3 (torch._scaled_mm) matrix multiplication.

Counts (registry `uniform-quantization`): x_q = round(x / s) with s = max|x| / 127 (int8) or
max|x| / 448 (fp8 e4m3); the product is rescaled by s_a s_b. Both halve the bytes of bf16 and
Hopper's tensor cores run them at twice the bf16 peak (about 1979 TOP/s dense).
"""

from __future__ import annotations

from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import randn, rel_err

CASE = CaseInfo(
    id="low-precision-matmul",
    title="bf16 vs int8 vs fp8 matrix multiplication",
    formulas=("uniform-quantization",),
    concepts=("uniform-quantization",),
    claim="Uniform quantization to 8 bits shrinks tensors 2x against bf16 and speeds up matrix "
          "multiplication on hardware with 8-bit tensor cores, at a small accuracy cost.",
    measures=(),
    claim_terms=(
        ("int8", "8-bit", "8 bit", "fp8"),
        ("speed", "faster", "throughput", "matmul", "matrix multipl", "tensor core"),
    ),
)


def quantize_int8(x):
    """Symmetric per-tensor uniform quantization: (int8 values, scale)."""
    import torch

    scale = x.float().abs().max().clamp(min=1e-12) / 127.0
    return torch.clamp(torch.round(x.float() / scale), -127, 127).to(torch.int8), scale


def quantize_fp8(x):
    import torch

    scale = x.float().abs().max().clamp(min=1e-12) / 448.0
    return (x.float() / scale).to(torch.float8_e4m3fn), scale


def scaled_mm(a8, b8_t, sa, sb):
    """a8 (M, K) row-major, b8_t (K, N) column-major; bf16 out. Handles the older tuple return."""
    import torch

    out = torch._scaled_mm(a8, b8_t, scale_a=sa, scale_b=sb, out_dtype=torch.bfloat16)
    return out[0] if isinstance(out, tuple) else out


def run(ctx) -> Outcome:
    import torch

    rows = []
    for size in ctx.pick((64, 128), (4096, 8192, 16384)):
        a = randn((size, size), device=ctx.device, seed=1)
        w = randn((size, size), device=ctx.device, seed=2)  # (N, K): the layer's weight
        ref = a.float() @ w.float().T
        flops = 2.0 * size ** 3
        row = {"size": size, "err_bf16": rel_err(a @ w.T, ref)}
        fns = {"bf16": lambda a=a, w=w: a @ w.T}
        a_q, sa = quantize_int8(a)
        w_q, sw = quantize_int8(w)
        try:
            row["err_int8"] = rel_err(torch._int_mm(a_q, w_q.T).float() * (sa * sw), ref)
            fns["int8"] = lambda a_q=a_q, w_q=w_q: torch._int_mm(a_q, w_q.T)
        except Exception as error:  # noqa: BLE001 - recorded, the other precisions go on
            ctx.notes.append(f"{size}: int8 not run ({str(error).splitlines()[0][:140]})")
        a8, sa8 = quantize_fp8(a)
        w8, sw8 = quantize_fp8(w)
        try:
            row["err_fp8"] = rel_err(scaled_mm(a8, w8.T, sa8, sw8), ref)
            fns["fp8"] = lambda a8=a8, w8=w8, sa8=sa8, sw8=sw8: scaled_mm(a8, w8.T, sa8, sw8)
        except Exception as error:  # noqa: BLE001 - recorded, the other precisions go on
            ctx.notes.append(f"{size}: fp8 not run ({str(error).splitlines()[0][:140]})")
        times = ctx.time_many(fns)  # interleaved: all precisions see the same clocks
        t_bf16 = times["bf16"].median_ms
        for name, t in times.items():
            elem = 2 if name == "bf16" else 1
            p = ctx.perf(flops, 3.0 * elem * size * size, t.median_ms, name)
            row.update({f"ms_{name}": t.median_ms, f"tflops_{name}": p["tflops"],
                        f"frac_peak_{name}": p["frac_peak"]})
            if name != "bf16":
                row[f"speedup_{name}"] = t_bf16 / t.median_ms
        rows.append(row)
        del a, w, ref
    columns = (Column("size", "M = N = K"), Column("ms_bf16", "bf16", "ms"),
               Column("tflops_bf16", "bf16 throughput", "TFLOP/s"), Column("frac_peak_bf16", "bf16 fraction of peak"),
               Column("err_bf16", "bf16 vs fp32 (rel. error)"),
               Column("ms_int8", "int8 (_int_mm)", "ms"), Column("tflops_int8", "int8 throughput", "TOP/s"),
               Column("frac_peak_int8", "int8 fraction of peak"), Column("speedup_int8", "bf16 / int8", "x"),
               Column("err_int8", "int8 vs fp32 (rel. error)"),
               Column("ms_fp8", "fp8 e4m3 (_scaled_mm)", "ms"), Column("tflops_fp8", "fp8 throughput", "TFLOP/s"),
               Column("frac_peak_fp8", "fp8 fraction of peak"), Column("speedup_fp8", "bf16 / fp8", "x"),
               Column("err_fp8", "fp8 vs fp32 (rel. error)"))
    hl = tuple((ctx.peaks.tflops[k], f"{k} peak") for k in ("bf16", "fp8") if k in ctx.peaks.tflops)
    plots = (Plot("Matmul throughput by precision", "size", ("tflops_bf16", "tflops_int8", "tflops_fp8"),
                  "M = N = K", "TFLOP/s (TOP/s for int8)", logx=True, hlines=hl),)
    params = {"quantization": "symmetric per-tensor", "fp8": "float8_e4m3fn, bf16 output"}
    done = [r for r in rows if r.get("speedup_int8") or r.get("speedup_fp8")]
    if not ctx.is_cuda or not done:
        return Outcome("not-run", "Tiny CPU run: quantize/dequantize paths ran; the 8-bit tensor-core "
                       "kernels need CUDA.", columns, tuple(rows), plots, params)
    mid = next((r for r in rows if r["size"] == 8192), rows[-1])
    s8, sf8 = mid.get("speedup_int8") or 0, mid.get("speedup_fp8") or 0
    verdict = "supports" if min(s8, sf8) > 1.3 else ("partly" if max(s8, sf8) > 1.1 else "contradicts")
    summary = (f"At {mid['size']}^3, bf16 ran at {mid['tflops_bf16']:.0f} TFLOP/s, int8 _int_mm at "
               f"{mid.get('tflops_int8') or 0:.0f} TOP/s ({s8:.2f}x) and fp8 _scaled_mm at "
               f"{mid.get('tflops_fp8') or 0:.0f} TFLOP/s ({sf8:.2f}x), with relative errors "
               f"{mid.get('err_int8') or 0:.1e} (int8) and {mid.get('err_fp8') or 0:.1e} (fp8) against fp32.")
    return Outcome(verdict, summary, columns, tuple(rows), plots, params)
