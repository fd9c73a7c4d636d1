"""Megatron tensor-parallel MLP on p GPUs: A split by columns, B by rows, one all-reduce.

Counts (registry `tensor-parallel-mlp`, `ring-allreduce-traffic`): Z = GeLU(X A) B with
A (d x 4d) split by columns and B (4d x d) by rows; GPU i computes GeLU(X A_i) B_i on its own
(2 x 2 x n x d x 4d / p FLOP, no communication before the GeLU) and one all-reduce sums the
partial outputs: n x d values, so each GPU sends 2 (p - 1) / p x n x d x 2 bytes (bf16). At the
link's one-way peak that takes traffic / peak; the compute shrinks as 1/p, the all-reduce does
not, so its share of the layer grows with p.

Measured per p: the layer (matmuls + all-reduce), the matmuls alone, the all-reduce alone
against the formula, and the result against the unsplit layer. One spawned process per GPU;
p = 1, 2, 4 are subgroups of one launch.
"""

from __future__ import annotations

from deckforge.bench.distributed import case_root, gpu_count, launch, time_steps, unrun_reason
from deckforge.bench.harness import summarize
from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import fmt

CASE = CaseInfo(
    id="tensor-parallel-mlp",
    title="Megatron tensor-parallel MLP: column- then row-parallel, one all-reduce (NCCL)",
    formulas=("tensor-parallel-mlp", "ring-allreduce-traffic"),
    concepts=("tensor-parallelism",),
    claim="Splitting the MLP's first weight by columns and the second by rows needs one "
          "all-reduce of the output and no synchronisation before the GeLU.",
)

MIB = 2**20
UNRUN = "the split layer and its all-reduce at p = 2 and 4 through NCCL, against the formula"
# Rules for the verdict, each (name, threshold): all hold -> supports, some -> partly.
MAX_REL_ERR = 2e-2  # the split layer equals the unsplit one (bf16 operands: 1e-3..1e-2)
ALLREDUCE_WITHIN = 2.0  # the output all-reduce within 2x of the formula at link peak


def measure_rank(*, rank: int, world: int, device: str, worlds: list[int], tokens: int, d: int,
                 reps: int) -> dict:
    import torch.distributed as dist

    groups = {p: dist.new_group(list(range(p))) for p in worlds}  # every rank, same order
    rows = []
    for p in worlds:
        if rank < p:
            rows.append(_one(rank, p, device, groups[p], tokens, d, reps))
        dist.barrier()
    return {"rows": rows if rank == 0 else []}


def _one(rank, p, device, group, tokens, d, reps) -> dict:
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F

    from ._util import randn, rel_err

    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    # The same full weights and input on every rank (same seeds); each keeps its shard.
    x = randn((tokens, d), device=device, dtype=dtype, seed=1)
    a = randn((d, 4 * d), device=device, dtype=dtype, seed=2, scale=d**-0.5)
    b = randn((4 * d, d), device=device, dtype=dtype, seed=3, scale=(4 * d) ** -0.5)
    cols = slice(rank * 4 * d // p, (rank + 1) * 4 * d // p)
    a_i, b_i = a[:, cols].contiguous(), b[cols, :].contiguous()
    err = None
    if rank == 0:
        ref = F.gelu(x.float() @ a.float(), approximate="tanh") @ b.float()
    del a, b

    def partial():
        return F.gelu(x @ a_i, approximate="tanh") @ b_i

    z = partial()
    dist.all_reduce(z, group=group)
    if rank == 0:
        err = rel_err(z, ref)
        del ref

    def layer():
        out = partial()
        dist.all_reduce(out, group=group)

    times = {name: summarize(time_steps(fn, device=device, group=group, reps=reps, warmup=2))
             for name, fn in (("layer", layer), ("local", partial),
                              ("allreduce", lambda: dist.all_reduce(z, group=group)))}
    return {"world": p, "rel_err": err, "out_bytes": z.numel() * z.element_size(),
            **{f"{k}_ms": t.median_ms for k, t in times.items()}}


def derive(raw: list[dict], tokens: int, d: int, link_gbs: float | None) -> list[dict]:
    from ..distributed import ring_allreduce_traffic

    base = next(r for r in raw if r["world"] == 1)
    rows = []
    for r in sorted(raw, key=lambda r: r["world"]):
        p = r["world"]
        traffic = ring_allreduce_traffic(p, r["out_bytes"])
        predicted = traffic / (link_gbs * 1e9) * 1e3 if link_gbs else None
        flops = 2.0 * 2 * tokens * d * 4 * d / p  # two matmuls, one shard each
        rows.append({
            "world": p, "layer_ms": r["layer_ms"], "local_ms": r["local_ms"],
            "allreduce_ms": r["allreduce_ms"] if p > 1 else None,
            "out_mib": r["out_bytes"] / MIB, "traffic_mib": traffic / MIB,
            "predicted_allreduce_ms": predicted if p > 1 else None,
            "allreduce_vs_formula": r["allreduce_ms"] / predicted if predicted and p > 1 else None,
            "comm_share": (r["layer_ms"] - r["local_ms"]) / r["layer_ms"],
            "speedup": base["layer_ms"] / r["layer_ms"],
            "tflops_per_gpu": flops / (r["local_ms"] / 1e3) / 1e12, "rel_err": r["rel_err"]})
    return rows


COLUMNS = (
    Column("world", "GPUs (p)"), Column("layer_ms", "layer: shard matmuls + all-reduce", "ms"),
    Column("local_ms", "shard matmuls only", "ms"), Column("allreduce_ms", "all-reduce of Z", "ms"),
    Column("out_mib", "output Z", "MiB"),
    Column("traffic_mib", "formula: sent per GPU 2(p-1)/p x Z", "MiB"),
    Column("predicted_allreduce_ms", "formula at link peak", "ms"),
    Column("allreduce_vs_formula", "measured / formula", "x"),
    Column("comm_share", "share of the layer spent communicating"),
    Column("speedup", "layer time p=1 / p"),
    Column("tflops_per_gpu", "shard matmuls per GPU", "TFLOP/s"),
    Column("rel_err", "split vs unsplit layer (rel. error)"),
)


def run(ctx) -> Outcome:
    cuda = ctx.is_cuda
    gpus = gpu_count() if cuda else 0
    worlds = [1, *(p for p in (2, 4, 8) if p <= gpus)] if cuda else [1, 2]
    if ctx.full and not cuda:  # a record of what could not run here, no numbers
        reason = unrun_reason(0, UNRUN + "; also the 1-GPU layer")
        return Outcome("not-run", f"Not measured: {reason}", params={"gpus_visible": 0},
                       notes=(f"not run: {reason}",))
    shape = ctx.pick({"tokens": 16, "d": 32}, {"tokens": 8192, "d": 8192})
    payload = {"worlds": worlds, **shape, "reps": ctx.pick(3, 20)}
    out = launch(f"{__name__}:measure_rank", max(worlds),
                 backend="nccl" if cuda else "gloo", root=case_root(__file__), payload=payload,
                 timeout_s=ctx.pick(180, 540))
    link = ctx.peaks.link_gbs if cuda else None
    rows = derive(out[0]["rows"], shape["tokens"], shape["d"], link)
    params = {"backend": "nccl" if cuda else "gloo", "gpus_visible": gpus, "worlds": worlds,
              **shape, "hidden": 4 * shape["d"], "dtype": "bfloat16" if cuda else "float32",
              "gelu": "tanh approximation", "link_gbs_one_way": link}
    plots = (Plot("Tensor-parallel MLP time over GPUs", "world",
                  ("layer_ms", "local_ms", "allreduce_ms", "predicted_allreduce_ms"), "GPUs", "ms"),)
    worst = max(r["rel_err"] for r in rows)
    if worst > MAX_REL_ERR:
        return Outcome("contradicts", f"The split layer differs from the unsplit one by {worst:.2g} "
                       "(relative).", COLUMNS, tuple(rows), plots, params)
    if not cuda:
        return Outcome("not-run", f"Tiny CPU run (gloo, p = 1 and 2): the column/row split equals "
                       f"the unsplit layer to {worst:.1e}; NCCL timings need 2+ GPUs.",
                       COLUMNS, tuple(rows), plots, params)
    base = rows[0]
    if len(rows) == 1:
        reason = unrun_reason(gpus, UNRUN, (
            f"Only p = 1 ran, through NCCL: the layer took {base['layer_ms']:.2f} ms "
            f"({base['tflops_per_gpu']:.0f} TFLOP/s)."))
        return Outcome("not-run", f"Not measured: {reason}", COLUMNS, tuple(rows), plots, params,
                       (f"not run: {reason}",))
    return conclude(rows, plots, params)


def conclude(rows: list[dict], plots=(), params: dict | None = None) -> Outcome:
    """The verdict of a multi-GPU run (rows[0] is p = 1) by the named rules."""
    base, multi = rows[0], rows[1:]
    worst = max(r["rel_err"] for r in rows)
    rules = [("exact", worst <= MAX_REL_ERR),
             ("allreduce-formula", all(r["allreduce_vs_formula"] is not None
                                       and r["allreduce_vs_formula"] <= ALLREDUCE_WITHIN
                                       for r in multi))]
    held = sum(ok for _name, ok in rules)
    verdict = "supports" if held == len(rules) else ("partly" if held else "contradicts")
    parts = "; ".join(
        f"p={r['world']}: {r['layer_ms']:.2f} ms ({r['speedup']:.2f}x), all-reduce of "
        f"{r['out_mib']:.0f} MiB {fmt(r['allreduce_ms'])} ms vs {fmt(r['predicted_allreduce_ms'])} "
        f"ms by the formula, {100 * r['comm_share']:.0f}% of the layer" for r in multi)
    summary = (f"The split layer equals the unsplit one to {worst:.1e} with one all-reduce; "
               f"p=1: {base['layer_ms']:.2f} ms; {parts}.")
    return Outcome(verdict, summary, COLUMNS, tuple(rows), tuple(plots),
                   {**(params or {}), "rules": {name: ok for name, ok in rules}})
