"""All-reduce bandwidth through torch.distributed (NCCL on 2-8 GPUs, gloo on CPU in CI).

Counts (registry `ring-allreduce-traffic`): a ring all-reduce of S bytes over p GPUs sends
2 (p - 1) / p x S bytes per GPU (reduce-scatter, then all-gather, p - 1 steps each). NCCL's
definitions (nccl-tests, PERFORMANCE.md): algorithm bandwidth algbw = S / t; bus bandwidth
busbw = algbw x 2 (p - 1) / p, i.e. exactly the formula's bytes sent per GPU over the time, so
busbw is comparable with the link's one-way peak whatever p is. The formula's time at the link
peak is traffic / peak; the measured time over it says within what factor the model holds.

Small buffers are latency-bound: the model t = alpha + traffic / beta, with alpha the time of
the smallest buffer and beta the bus bandwidth of the largest, crosses over (both terms equal)
at S* = alpha x beta x p / (2 (p - 1)); above S* bandwidth dominates.

One spawned process per GPU (deckforge.bench.distributed.launch); the 2- and 4-GPU rings are
subgroups of one launch. With one GPU there is no ring (2 (p - 1) / p = 0): the case then only
checks the NCCL path at p = 1 and records `not-run`.
"""

from __future__ import annotations

from deckforge.bench.distributed import (
    case_root,
    gpu_count,
    gpu_topology,
    launch,
    time_steps,
    unrun_reason,
)
from deckforge.bench.harness import summarize
from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

CASE = CaseInfo(
    id="ring-allreduce",
    title="All-reduce bus bandwidth over message size (NCCL ring, torch.distributed)",
    formulas=("ring-allreduce-traffic",),
    concepts=("ring-allreduce",),
    claim="A ring all-reduce sends 2(p-1)/p times the buffer per GPU, independent of p for large "
          "p, so its time is bandwidth-bound.",
)

MIB = 2**20
UNRUN = ("bus bandwidth of 64 KiB-4 GiB bf16 and fp32 all-reduces at p = 2 and 4 through NCCL, "
         "the formula's time at the link peak against it, and the latency-bandwidth crossover")
# Rules for the verdict, each (name, threshold): all hold -> supports, some -> partly.
WITHIN_LINK_FACTOR = 2.0  # measured time of >= 1 GiB within 2x of traffic / link peak
P_INDEPENDENT_SPREAD = 0.25  # busbw of >= 1 GiB alike (within 25%) for every p measured


def ring_traffic_bytes(size_bytes: float, p: int) -> float:
    from ..distributed import ring_allreduce_traffic

    return ring_allreduce_traffic(p, size_bytes)


def inner_calls(nbytes: int) -> int:
    """Back-to-back calls per timed repetition: small buffers take microseconds, so several
    share one event pair (a function of the size alone: every rank must agree)."""
    return int(min(20, max(1, 2**26 // nbytes)))


def measure_rank(*, rank: int, world: int, device: str, worlds: list[int], sizes: list[int],
                 dtypes: list[str], reps: int) -> dict:
    """Inside one worker: every (p, dtype, size); rank 0 returns the rows."""
    import torch
    import torch.distributed as dist

    groups = {p: dist.new_group(list(range(p))) for p in worlds}  # every rank, same order
    rows = []
    for p in worlds:
        for dtype_name in dtypes:
            dtype = getattr(torch, dtype_name)
            for nbytes in sizes:
                if rank < p:
                    rows.append(_one(rank, p, device, groups[p], dtype, dtype_name, nbytes, reps))
                dist.barrier()
    return {"rows": rows if rank == 0 else [], "nccl": _nccl_version(device)}


def _one(rank, p, device, group, dtype, dtype_name, nbytes, reps) -> dict:
    import torch
    import torch.distributed as dist

    numel = nbytes // dtype.itemsize
    x = torch.full((numel,), float(rank + 1), dtype=dtype, device=device)
    dist.all_reduce(x, group=group)
    correct = bool((x == p * (p + 1) / 2).all().item())  # small integers: exact in bf16 too
    gen = torch.Generator(device=device).manual_seed(rank)
    src = torch.randn((numel,), generator=gen, dtype=torch.float32, device=device).to(dtype)
    x.copy_(src)
    inner = inner_calls(nbytes)
    # In-place sums grow the values p-fold per call: refill before every repetition (untimed)
    # so they stay finite; at most 20 calls per repetition keep p^20 x |x| inside the range.
    samples = time_steps(lambda: dist.all_reduce(x, group=group), device=device, group=group,
                         reps=reps, inner=inner, warmup=1, before=lambda: x.copy_(src))
    t = summarize(samples)
    return {"world": p, "dtype": dtype_name, "bytes": nbytes, "correct": correct,
            "ms": t.median_ms, "q1_ms": t.q1_ms, "q3_ms": t.q3_ms, "reps": t.reps, "inner": inner}


def _nccl_version(device: str) -> str | None:
    if not device.startswith("cuda"):
        return None
    import torch

    version = torch.cuda.nccl.version()
    return ".".join(map(str, version)) if isinstance(version, tuple) else str(version)


def derive(raw: list[dict], link_gbs: float | None) -> tuple[list[dict], dict]:
    """Bandwidths, the formula's prediction and the latency-bandwidth fit per (p, dtype)."""
    rows, fits = [], {}
    for key in dict.fromkeys((r["world"], r["dtype"]) for r in raw):
        series = sorted((r for r in raw if (r["world"], r["dtype"]) == key), key=lambda r: r["bytes"])
        p = key[0]
        factor = 2 * (p - 1) / p
        alpha_ms = series[0]["ms"]
        big = series[-1]
        beta_gbs = ring_traffic_bytes(big["bytes"], p) / (big["ms"] / 1e3) / 1e9 if p > 1 else None
        crossover = alpha_ms / 1e3 * beta_gbs * 1e9 / factor if beta_gbs else None
        fits[f"p={p} {key[1]}"] = {"alpha_us": alpha_ms * 1e3, "beta_busbw_gbs": beta_gbs,
                                   "crossover_mib": crossover / MIB if crossover else None}
        for r in series:
            traffic = ring_traffic_bytes(r["bytes"], p)
            algbw = r["bytes"] / (r["ms"] / 1e3) / 1e9
            ideal = traffic / (link_gbs * 1e9) * 1e3 if link_gbs and p > 1 else None
            rows.append({
                "series": f"p={p} {r['dtype']}", "world": p, "dtype": r["dtype"],
                "mib": r["bytes"] / MIB, "ms": r["ms"], "q1_ms": r["q1_ms"], "q3_ms": r["q3_ms"],
                "algbw_gbs": algbw, "busbw_gbs": algbw * factor, "traffic_mib": traffic / MIB,
                "ideal_ms": ideal, "vs_ideal": r["ms"] / ideal if ideal else None,
                "model_ms": alpha_ms + traffic / (beta_gbs * 1e9) * 1e3 if beta_gbs else None,
                "correct": r["correct"]})
    return rows, fits


COLUMNS = (
    Column("series", "series"), Column("world", "GPUs (p)"), Column("dtype", "dtype"),
    Column("mib", "buffer S", "MiB"), Column("ms", "time (median)", "ms"),
    Column("q1_ms", "q1", "ms"), Column("q3_ms", "q3", "ms"),
    Column("algbw_gbs", "algbw = S / t", "GB/s"),
    Column("busbw_gbs", "busbw = algbw x 2(p-1)/p", "GB/s"),
    Column("traffic_mib", "formula: sent per GPU 2(p-1)/p x S", "MiB"),
    Column("ideal_ms", "formula at link peak", "ms"),
    Column("vs_ideal", "measured / formula at peak", "x"),
    Column("model_ms", "latency + bandwidth model", "ms"),
    Column("correct", "sum correct"),
)


def run(ctx) -> Outcome:
    cuda = ctx.is_cuda
    gpus = gpu_count() if cuda else 0
    worlds = [p for p in (2, 4, 8) if p <= gpus] if cuda else [2]
    launch_world = max(worlds, default=1)
    check_only = cuda and not worlds  # one GPU: the NCCL path at p = 1, no ring
    if ctx.full and not cuda:  # a record of what could not run here, no numbers
        reason = unrun_reason(0, UNRUN)
        return Outcome("not-run", f"Not measured: {reason}", params={"gpus_visible": 0},
                       notes=(f"not run: {reason}",))
    sizes = ctx.pick([2**12, 2**16, 2**20], [2**16 * 4**i for i in range(9)])  # to 4 GiB
    payload = {"worlds": worlds or [1], "sizes": sizes[:3] if check_only else sizes,
               "dtypes": ["bfloat16", "float32"], "reps": ctx.pick(3, 20)}
    out = launch(f"{__name__}:measure_rank", launch_world,
                 backend="nccl" if cuda else "gloo", root=case_root(__file__), payload=payload,
                 timeout_s=ctx.pick(180, 540))
    link = ctx.peaks.link_gbs if cuda else None
    rows, fits = derive(out[0]["rows"], link)
    params = {"backend": "nccl" if cuda else "gloo", "gpus_visible": gpus, "worlds": payload["worlds"],
              "nccl": out[0]["nccl"], "link_gbs_one_way": link, "fits": fits,
              "topology": gpu_topology() if gpus > 1 else None,
              "timing": "per repetition: barrier, then `inner` back-to-back in-place all-reduces "
                        f"between {'CUDA events' if cuda else 'perf_counter reads'}, the slowest "
                        "rank's time; median of the repetitions"}
    plots = (
        Plot("All-reduce bus bandwidth over message size", "mib", ("busbw_gbs",), "buffer (MiB)",
             "GB/s", logx=True, series_by="series",
             hlines=((link, "NVLink one-way peak"),) if link else ()),
        Plot("All-reduce time: measured and the formula at link peak", "mib", ("ms", "ideal_ms"),
             "buffer (MiB)", "ms", logx=True, logy=True, series_by="series"),
    )
    notes = ("NCCL's definitions: algbw = S / t, busbw = algbw x 2(p-1)/p (the formula's bytes "
             "sent per GPU over the time); the link peak is the datasheet's one-way NVLink "
             "bandwidth per GPU.",)
    wrong = [r for r in rows if not r["correct"]]
    if wrong:
        return Outcome("contradicts", f"The all-reduce returned wrong sums for {len(wrong)} of "
                       f"{len(rows)} buffers.", COLUMNS, tuple(rows), plots, params, notes)
    if not cuda:
        big = rows[-1]
        return Outcome("not-run", f"Tiny CPU run (gloo, {launch_world} processes): every sum "
                       f"correct; {big['mib']:.0f} MiB took {big['ms']:.3g} ms (busbw "
                       f"{big['busbw_gbs']:.3g} GB/s); NCCL timings need 2+ GPUs.",
                       COLUMNS, tuple(rows), plots, params, notes)
    if check_only:
        reason = unrun_reason(gpus, UNRUN, "At p = 1 there is no ring (the formula's traffic "
                              "2(p-1)/p x S is 0); the NCCL path (spawned worker, process group, "
                              "all-reduce) was checked there: sums correct.")
        return Outcome("not-run", f"Not measured: {reason}", COLUMNS, tuple(rows), plots,
                       params, (*notes, f"not run: {reason}"))
    return conclude(rows, fits, link, plots, params, notes)


def conclude(rows: list[dict], fits: dict, link: float | None, plots=(), params: dict | None = None,
             notes=()) -> Outcome:
    """The verdict of a multi-GPU run by the named rules (rows from `derive`)."""
    large = [r for r in rows if r["mib"] >= 1024]
    at_1g = [r for r in rows if r["mib"] == 1024]
    busbw = [r["busbw_gbs"] for r in large]
    spread = (max(busbw) - min(busbw)) / max(busbw)
    factor = max(r["vs_ideal"] for r in large) if link else None
    rules = [("within-link-factor", factor is not None and factor <= WITHIN_LINK_FACTOR)]
    if len({r["world"] for r in large}) > 1:
        rules.append(("p-independent", spread <= P_INDEPENDENT_SPREAD))
    held = sum(ok for _name, ok in rules)
    verdict = "supports" if held == len(rules) else ("partly" if held else "contradicts")
    one_g = "; ".join(f"p={r['world']} {r['dtype']}: busbw {r['busbw_gbs']:.0f} GB/s, "
                      f"{r['ms']:.2f} ms" for r in at_1g)
    cross = ", ".join(f"{k} {v['crossover_mib']:.2g} MiB" for k, v in fits.items()
                      if v["crossover_mib"])
    summary = (f"A 1 GiB all-reduce: {one_g}. The formula's time at the {link:.0f} GB/s link peak "
               f"predicts the measured time of >= 1 GiB within {factor:.2f}x; latency stops "
               f"dominating above about {cross}." if link else f"A 1 GiB all-reduce: {one_g}.")
    params = {**(params or {}), "rules": {name: ok for name, ok in rules},
              "busbw_spread_large": spread}
    return Outcome(verdict, summary, COLUMNS, tuple(rows), tuple(plots), params, tuple(notes))
