"""Data-parallel scaling: a stack of Transformer blocks trained with DDP on 1, 2, 4 GPUs.

Counts (registry `ddp-gradient-averaging`, `ring-allreduce-traffic`): every GPU holds the whole
model and its own shard of the batch (weak scaling: a fixed local batch per GPU), and each step
all-reduces the gradients, G bytes (fp32 gradients of the fp32 master weights under bf16
autocast), so every GPU sends 2 (p - 1) / p x G bytes. At the link's one-way peak that takes
2 (p - 1) / p x G / peak; DDP cuts the gradients into buckets (`bucket_cap_mb`) and all-reduces
each as soon as backward has filled it, so most of that time hides behind the rest of backward.

Measured per p: the step time with DDP, the same step under `no_sync()` (no all-reduce: the
exposed communication is the difference), tokens/s, scaling efficiency tokens/s(p) /
(p x tokens/s(1)), and a plain all-reduce of G bytes on the same GPUs against the formula.
After the synchronised steps the replicas must hold bit-identical weights (averaged gradients,
same update). One spawned process per GPU; p = 1, 2, 4 are subgroups of one launch.
"""

from __future__ import annotations

from deckforge.bench.distributed import case_root, gpu_count, launch, time_steps, unrun_reason
from deckforge.bench.harness import summarize
from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

from ._util import fmt

CASE = CaseInfo(
    id="ddp-scaling",
    title="DDP scaling of a Transformer training step (NCCL, gradient bucketing)",
    formulas=("ddp-gradient-averaging", "ring-allreduce-traffic"),
    concepts=("ddp", "ring-allreduce"),
    claim="With distributed data parallel every GPU keeps a full model copy and all-reduces the "
          "gradients each step, so throughput grows almost linearly with the number of GPUs.",
)

MIB = 2**20
UNRUN = ("DDP at p = 2 and 4 through NCCL (tokens/s, scaling efficiency, exposed communication) "
         "and the all-reduce of the gradient bytes against the formula")
# Rules for the verdict, each (name, threshold): all hold -> supports, some -> partly.
MIN_EFFICIENCY = 0.85  # tokens/s(p) / (p x tokens/s(1)) at every p > 1
ALLREDUCE_WITHIN = 2.0  # all-reduce of the gradient bytes within 2x of the formula at link peak


def make_model(d: int, heads: int, layers: int):
    """`layers` pre-norm Transformer blocks (causal SDPA attention, 4d GeLU MLP)."""
    import torch
    import torch.nn.functional as F

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
            self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
            self.up, self.down = torch.nn.Linear(d, 4 * d), torch.nn.Linear(4 * d, d)

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
            return x + self.down(F.gelu(self.up(self.ln2(x))))

    return torch.nn.Sequential(*(Block() for _ in range(layers)))


def measure_rank(*, rank: int, world: int, device: str, worlds: list[int], d: int, heads: int,
                 layers: int, seq: int, batch: int, bucket_mb: float, reps: int) -> dict:
    """Inside one worker: DDP on the first p ranks for every p; rank 0 returns the rows."""
    import torch.distributed as dist

    groups = {p: dist.new_group(list(range(p))) for p in worlds}  # every rank, same order
    rows = []
    for p in worlds:
        if rank < p:
            rows.append(_one(rank, p, device, groups[p], d, heads, layers, seq, batch,
                             bucket_mb, reps))
        dist.barrier()
    return {"rows": rows if rank == 0 else []}


def _one(rank, p, device, group, d, heads, layers, seq, batch, bucket_mb, reps) -> dict:
    import contextlib

    import torch
    import torch.distributed as dist
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel as DDP

    cuda = device.startswith("cuda")
    torch.manual_seed(0)
    model = make_model(d, heads, layers).to(device)
    ddp = DDP(model, device_ids=[rank] if cuda else None, process_group=group,
              bucket_cap_mb=bucket_mb)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=cuda)
    gen = torch.Generator(device=device).manual_seed(1000 + rank)  # each rank its own shard
    x = torch.randn((batch, seq, d), generator=gen, device=device)
    y = torch.randn((batch, seq, d), generator=gen, device=device)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else contextlib.nullcontext

    def step(sync: bool = True):
        with autocast(), (contextlib.nullcontext() if sync else ddp.no_sync()):
            loss = F.mse_loss(ddp(x).float(), y)
            loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    synced = summarize(time_steps(step, device=device, group=group, reps=reps, warmup=2))
    # Averaged gradients and the same update keep the replicas identical, bit for bit.
    flat = torch.nn.utils.parameters_to_vector(model.parameters()).detach()
    hi, lo = flat.clone(), flat.clone()
    dist.all_reduce(hi, op=dist.ReduceOp.MAX, group=group)
    dist.all_reduce(lo, op=dist.ReduceOp.MIN, group=group)
    identical = bool(torch.equal(hi, lo))
    local = summarize(time_steps(lambda: step(sync=False), device=device, group=group,
                                 reps=reps, warmup=1))
    grad_bytes = sum(q.numel() * q.element_size() for q in model.parameters())
    allreduce = None
    if p > 1:
        buf = torch.randn((grad_bytes // 4,), generator=gen, device=device)
        allreduce = summarize(time_steps(lambda: dist.all_reduce(buf, group=group), device=device,
                                         group=group, reps=reps, warmup=1,
                                         before=lambda: buf.normal_(generator=gen))).median_ms
    return {"world": p, "step_ms": synced.median_ms, "step_q1_ms": synced.q1_ms,
            "step_q3_ms": synced.q3_ms, "local_ms": local.median_ms, "grad_bytes": grad_bytes,
            "allreduce_ms": allreduce, "identical": identical,
            "params": sum(q.numel() for q in model.parameters())}


def derive(raw: list[dict], tokens_per_gpu: int, link_gbs: float | None) -> list[dict]:
    from ..distributed import ring_allreduce_traffic

    base = next(r for r in raw if r["world"] == 1)
    base_tps = tokens_per_gpu / (base["step_ms"] / 1e3)
    rows = []
    for r in sorted(raw, key=lambda r: r["world"]):
        p = r["world"]
        tps = p * tokens_per_gpu / (r["step_ms"] / 1e3)
        traffic = ring_allreduce_traffic(p, r["grad_bytes"])
        predicted = traffic / (link_gbs * 1e9) * 1e3 if link_gbs else None
        rows.append({
            "world": p, "tokens_per_step": p * tokens_per_gpu, "step_ms": r["step_ms"],
            "step_q1_ms": r["step_q1_ms"], "step_q3_ms": r["step_q3_ms"],
            "local_ms": r["local_ms"], "exposed_comm_ms": r["step_ms"] - r["local_ms"],
            "tokens_per_s": tps, "efficiency": tps / (p * base_tps),
            "grad_mib": r["grad_bytes"] / MIB, "traffic_mib": traffic / MIB,
            "allreduce_ms": r["allreduce_ms"], "predicted_allreduce_ms": predicted,
            "allreduce_vs_formula": (r["allreduce_ms"] / predicted
                                     if r["allreduce_ms"] and predicted else None),
            "identical": r["identical"]})
    return rows


COLUMNS = (
    Column("world", "GPUs (p)"), Column("tokens_per_step", "tokens per step (global)"),
    Column("step_ms", "DDP step (median)", "ms"), Column("step_q1_ms", "q1", "ms"),
    Column("step_q3_ms", "q3", "ms"), Column("local_ms", "step under no_sync()", "ms"),
    Column("exposed_comm_ms", "exposed communication", "ms"),
    Column("tokens_per_s", "throughput", "tokens/s"),
    Column("efficiency", "scaling efficiency tokens/s(p) / (p x tokens/s(1))"),
    Column("grad_mib", "gradient bytes G", "MiB"),
    Column("traffic_mib", "formula: sent per GPU 2(p-1)/p x G", "MiB"),
    Column("allreduce_ms", "all-reduce of G (measured)", "ms"),
    Column("predicted_allreduce_ms", "formula at link peak", "ms"),
    Column("allreduce_vs_formula", "measured / formula", "x"),
    Column("identical", "replicas bit-identical"),
)


def run(ctx) -> Outcome:
    cuda = ctx.is_cuda
    gpus = gpu_count() if cuda else 0
    worlds = [1, *(p for p in (2, 4, 8) if p <= gpus)] if cuda else [1, 2]
    if ctx.full and not cuda:  # a record of what could not run here, no numbers
        reason = unrun_reason(0, UNRUN + "; also the 1-GPU baseline")
        return Outcome("not-run", f"Not measured: {reason}", params={"gpus_visible": 0},
                       notes=(f"not run: {reason}",))
    shape = ctx.pick({"d": 32, "heads": 2, "layers": 1, "seq": 16, "batch": 2},
                     {"d": 2048, "heads": 16, "layers": 4, "seq": 1024, "batch": 8})
    payload = {"worlds": worlds, **shape, "bucket_mb": 25.0, "reps": ctx.pick(3, 20)}
    out = launch(f"{__name__}:measure_rank", max(worlds),
                 backend="nccl" if cuda else "gloo", root=case_root(__file__), payload=payload,
                 timeout_s=ctx.pick(180, 540))
    link = ctx.peaks.link_gbs if cuda else None
    tokens_per_gpu = shape["batch"] * shape["seq"]
    raw = out[0]["rows"]
    rows = derive(raw, tokens_per_gpu, link)
    params = {"backend": "nccl" if cuda else "gloo", "gpus_visible": gpus, "worlds": worlds,
              **shape, "parameters": raw[0]["params"], "tokens_per_gpu": tokens_per_gpu,
              "bucket_cap_mb": payload["bucket_mb"], "optimizer": "AdamW" + (" (fused)" if cuda else ""),
              "precision": "fp32 weights and gradients, bf16 autocast" if cuda else "fp32",
              "link_gbs_one_way": link, "scaling": "weak: a fixed local batch per GPU"}
    plots = (
        Plot("DDP throughput over GPUs", "world", ("tokens_per_s",), "GPUs", "tokens/s"),
        Plot("DDP step time: synchronised, local only, and the gradient all-reduce", "world",
             ("step_ms", "local_ms", "allreduce_ms", "predicted_allreduce_ms"), "GPUs", "ms"),
    )
    base = rows[0]
    if not all(r["identical"] for r in rows):
        return Outcome("contradicts", "After synchronised DDP steps the replicas' weights "
                       "differed.", COLUMNS, tuple(rows), plots, params)
    if not cuda:
        two = rows[-1]
        return Outcome("not-run", f"Tiny CPU run (gloo, p = 1 and {two['world']}): replicas "
                       f"bit-identical after the synchronised steps; efficiency "
                       f"{two['efficiency']:.2f} at p = {two['world']} on shared CPU cores (no "
                       "meaning); NCCL timings need 2+ GPUs.", COLUMNS, tuple(rows), plots, params)
    if len(rows) == 1:
        reason = unrun_reason(gpus, UNRUN, (
            f"Only the 1-GPU baseline ran, through NCCL at p = 1: {base['tokens_per_s']:.4g} "
            f"tokens/s ({base['step_ms']:.1f} ms a step of {base['tokens_per_step']} tokens, "
            f"{params['parameters'] / 1e6:.0f} M parameters); a baseline, not a scaling result."))
        return Outcome("not-run", f"Not measured: {reason}", COLUMNS, tuple(rows), plots, params,
                       (f"not run: {reason}",))
    return conclude(rows, plots, params)


def conclude(rows: list[dict], plots=(), params: dict | None = None) -> Outcome:
    """The verdict of a multi-GPU run (rows[0] is p = 1) by the named rules."""
    base, multi = rows[0], rows[1:]
    rules = [("efficiency", all(r["efficiency"] >= MIN_EFFICIENCY for r in multi)),
             ("allreduce-formula", all(r["allreduce_vs_formula"] is not None
                                       and r["allreduce_vs_formula"] <= ALLREDUCE_WITHIN
                                       for r in multi))]
    held = sum(ok for _name, ok in rules)
    verdict = "supports" if held == len(rules) else ("partly" if held else "contradicts")
    parts = "; ".join(
        f"p={r['world']}: {r['tokens_per_s']:.4g} tokens/s, efficiency {r['efficiency']:.2f}, "
        f"all-reduce of {r['grad_mib']:.0f} MiB {fmt(r['allreduce_ms'])} ms vs "
        f"{fmt(r['predicted_allreduce_ms'])} ms by the formula, {r['exposed_comm_ms']:.1f} ms "
        "exposed" for r in multi)
    summary = f"1 GPU: {base['tokens_per_s']:.4g} tokens/s; {parts}; replicas bit-identical."
    return Outcome(verdict, summary, COLUMNS, tuple(rows), tuple(plots),
                   {**(params or {}), "rules": {name: ok for name, ok in rules}})
