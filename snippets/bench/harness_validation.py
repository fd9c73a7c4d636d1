"""Validate our timer against `triton.testing.do_bench` on the same kernels.

Both flush the L2 before every repetition and time with CUDA events; both report the median.
Agreement within 5% on a compute-bound, a memory-bound and a mixed kernel says the harness
measures the kernels rather than itself.
"""

from __future__ import annotations

import statistics

from deckforge.bench.harness import do_bench_ms
from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import randn
from .roofline import gemm_counts, gemv_counts

CASE = CaseInfo(
    id="harness-validation",
    title="Timing harness vs triton.testing.do_bench",
    formulas=("roofline", "arithmetic-intensity"),
    concepts=("roofline",),
    claim="Our harness (CUDA events, warm-up, L2 flush, median of repetitions) measures the same "
          "kernel time as triton.testing.do_bench, within 5%.",
    cite=False,  # checks our tooling, not a claim of the notes
)

COLUMNS = (
    Column("kernel", "kernel"), Column("ms", "harness (median)", "ms"),
    Column("q1_ms", "harness q1", "ms"), Column("q3_ms", "harness q3", "ms"),
    Column("ms_do_bench", "do_bench (median)", "ms"), Column("rel_diff", "|harness - do_bench| / do_bench", ""),
    Column("ours_round_spread", "harness: (max - min) / median over rounds"),
    Column("do_bench_round_spread", "do_bench: (max - min) / median over rounds"),
    Column("tflops", "achieved (harness)", "TFLOP/s"), Column("gbs", "achieved (harness)", "GB/s"),
)
TOLERANCE = 0.05
ROUNDS = 3


def _spread(values: list[float]) -> float:
    """(max - min) / median over the rounds: how much one timer disagrees with itself."""
    return (max(values) - min(values)) / statistics.median(values)


def kernels(ctx):
    """(name, flops, bytes, fn) for each validated kernel."""
    import torch
    import torch.nn.functional as F

    dev = ctx.device
    n = ctx.pick(128, 8192)
    a, b = randn((n, n), device=dev, seed=1), randn((n, n), device=dev, seed=2)
    nv = ctx.pick(256, 16384)
    mat, vec = randn((nv, nv), device=dev, seed=3), randn((nv,), device=dev, seed=4)
    numel = ctx.pick(1 << 16, 1 << 30)
    src = torch.empty(numel, dtype=torch.bfloat16, device=dev).normal_()
    dst = torch.empty_like(src)
    rows, width = ctx.pick((64, 128), (16384, 8192))
    x = randn((rows, width), device=dev, seed=5)
    w, bias = randn((width,), device=dev, seed=6), randn((width,), device=dev, seed=7)
    return [
        (f"bf16 GEMM {n}^3", *gemm_counts(n, n, n), lambda: a @ b),
        (f"bf16 GEMV {nv}^2", *gemv_counts(nv), lambda: mat @ vec),
        (f"copy {numel * 2 / 2**30:.3g} GiB", 0.0, 4.0 * numel, lambda: dst.copy_(src)),
        (f"LayerNorm {rows}x{width}", 0.0, 4.0 * rows * width,
         lambda: F.layer_norm(x, (width,), w, bias)),
        (f"softmax {rows}x{width}", 0.0, 4.0 * rows * width, lambda: torch.softmax(x, dim=-1)),
    ]


def run(ctx) -> Outcome:
    rows = []
    for name, flops, nbytes, fn in kernels(ctx):
        # alternate the two timers (ours, do_bench, ours, ...) so a drift of the clocks during
        # the measurement does not land on one of them only
        ours, theirs = [], []
        for _ in range(ROUNDS):
            ours.append(ctx.time(fn))
            theirs.append(do_bench_ms(fn) if ctx.is_cuda else None)
        t = sorted(ours, key=lambda x: x.median_ms)[len(ours) // 2]
        ref = statistics.median(theirs) if None not in theirs else None
        p = ctx.perf(flops, nbytes, t.median_ms)
        rows.append({"kernel": name, "ms": t.median_ms, "q1_ms": t.q1_ms, "q3_ms": t.q3_ms,
                     "ms_do_bench": ref,
                     "rel_diff": None if ref is None else abs(t.median_ms - ref) / ref,
                     "ours_round_spread": _spread([o.median_ms for o in ours]),
                     "do_bench_round_spread": None if ref is None else _spread(theirs),
                     "tflops": p["tflops"], "gbs": p["gbs"]})
    compared = [r for r in rows if r["rel_diff"] is not None]
    plots = (Plot("Harness vs do_bench", "kernel", ("ms", "ms_do_bench"), "kernel", "ms (median)",
                  logy=True),)
    if not compared:
        return Outcome("not-run", "do_bench needs Triton and a CUDA device; the harness ran "
                       f"{len(rows)} kernels on CPU only.", COLUMNS, tuple(rows), plots)
    agree = [r for r in compared if r["rel_diff"] <= TOLERANCE]
    worst = max(compared, key=lambda r: r["rel_diff"])
    verdict = "supports" if len(agree) >= 3 and len(agree) == len(compared) else (
        "partly" if len(agree) >= 3 else "contradicts")
    summary = (f"Our harness agreed with triton.testing.do_bench within {TOLERANCE:.0%} on "
               f"{len(agree)} of {len(compared)} kernels (largest difference {worst['rel_diff']:.1%}, "
               f"{worst['kernel']}: {worst['ms']:.4g} ms vs {worst['ms_do_bench']:.4g} ms).")
    return Outcome(verdict, summary, COLUMNS, tuple(rows), plots,
                   params={"tolerance": TOLERANCE, "rounds": ROUNDS,
                           "do_bench": "warmup=25 ms, rep=100 ms, median; median of the rounds",
                           "harness": "warmup=25 ms, rep=100 ms, median; median of the rounds"})
