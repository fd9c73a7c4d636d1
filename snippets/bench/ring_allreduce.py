"""All-reduce bus bandwidth on 2 GPUs (NCCL ring): recorded as not run on one GPU.

Counts (registry `ring-allreduce-traffic`): a ring all-reduce of S bytes over p GPUs sends
2 (p - 1) / p x S bytes per GPU; bus bandwidth = that over the time. The run needs two GPUs
of one host (the `nvidia-h200-x2` kind), which were not lent in the session that measured the
other cases, so the result holds the formula's prediction only and the verdict `not-run`.
"""

from __future__ import annotations

from deckforge.bench.result import CaseInfo, Column, Outcome, Plot

CASE = CaseInfo(
    id="ring-allreduce",
    title="All-reduce bus bandwidth on 2 GPUs (not run)",
    formulas=("ring-allreduce-traffic", "ddp-gradient-averaging"),
    concepts=("ring-allreduce", "ddp"),
    claim="A ring all-reduce sends 2(p-1)/p times the buffer per GPU, independent of p for large "
          "p, so its time is bandwidth-bound.",
)


def ring_traffic_bytes(size_bytes: float, p: int) -> float:
    return 2.0 * (p - 1) / p * size_bytes


def run(ctx) -> Outcome:
    import torch

    gpus = torch.cuda.device_count() if ctx.is_cuda else 0
    rows = tuple({"mib": mib, "p": p, "predicted_mib_sent_per_gpu": ring_traffic_bytes(mib, p)}
                 for mib in (64, 256, 1024) for p in (2, 4, 8))
    columns = (Column("mib", "buffer", "MiB"), Column("p", "GPUs"),
               Column("predicted_mib_sent_per_gpu", "predicted traffic per GPU (formula, not measured)", "MiB"))
    plots = (Plot("Predicted ring all-reduce traffic per GPU", "p", ("predicted_mib_sent_per_gpu",), "GPUs",
                  "MiB sent per GPU", series_by="mib"),)
    reason = (f"not run: {gpus} GPU(s) visible; the 2-GPU machine kind (nvidia-h200-x2) was withheld "
              "in this session, so NCCL all-reduce bus bandwidth could not be measured.")
    return Outcome("not-run", f"Not measured: {reason.removeprefix('not run: ')} The table holds the "
                   "formula's predicted traffic only.", columns, rows, plots,
                   params={"gpus_visible": gpus}, notes=(reason,))
