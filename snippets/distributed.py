"""Distributed training: ring all-reduce traffic, DDP gradient averaging, Megatron tensor
parallelism for the MLP, and ZeRO's partitioned memory.

torch is imported only inside the functions that need it (the registry import stays light).
"""

from __future__ import annotations

import numpy as np

from deckforge.model import Concept, Formula

MODULE = "snippets/distributed.py"
TESTS = "tests/snippets/test_distributed.py"

CONCEPTS = [
    Concept(
        id="ring-allreduce",
        name="Ring all-reduce",
        aliases=("ring all-reduce", "ring allreduce", "allreduce", "all-reduce"),
        definition=(
            "All-reduce leaves the sum (or mean) of every worker's tensor on every worker. The "
            "ring algorithm splits the tensor into $N$ chunks and runs two phases of $N-1$ steps "
            "around a ring: reduce-scatter (each step a worker sends one chunk to its neighbour, "
            "which adds it to its own) and all-gather (the finished chunks travel once more "
            "around). Each worker sends $2(N-1)/N$ times the tensor size in total, almost "
            "independent of $N$, so bandwidth, not the number of GPUs, sets the cost. No worker "
            "receives $N-1$ full copies from the others."
        ),
        formulas=("ring-allreduce-traffic",),
        related=("ddp",),
    ),
    Concept(
        id="ddp",
        name="Distributed data parallel (DDP)",
        aliases=("distributed data parallel", "ddp", "data parallel", "data parallelism"),
        definition=(
            "In distributed data parallel training every GPU holds a full copy of the model, "
            "processes its own shard of the global batch, and all-reduces the gradients so that "
            "every replica applies the same averaged gradient. With equal shard sizes and a mean "
            "loss, the averaged gradient equals the gradient of one large batch, so the replicas "
            "stay identical without ever exchanging weights. Shards should be different samples "
            "from the same distribution."
        ),
        formulas=("ddp-gradient-averaging",),
        related=("ring-allreduce", "zero", "tensor-parallelism"),
    ),
    Concept(
        id="tensor-parallelism",
        name="Tensor (model) parallelism, Megatron-LM",
        aliases=("tensor parallelism", "megatron", "megatron-lm"),
        definition=(
            "Megatron-LM splits each Transformer MLP across GPUs: the first weight $A$ by columns, "
            "so every GPU computes $\\operatorname{GeLU}(XA_i)$ on its own with no communication, "
            "and the second weight $B$ by rows, so the partial products $Y_iB_i$ are summed by "
            "one all-reduce. Splitting $A$ by rows instead would give partial sums $X_iA_i$ that "
            "must be added before the non-linear GeLU, i.e. a synchronisation in the middle of the "
            "layer."
        ),
        formulas=("tensor-parallel-mlp",),
        related=("ddp", "zero"),
    ),
    Concept(
        id="zero",
        name="ZeRO (DeepSpeed)",
        aliases=("zero redundancy optimizer", "deepspeed zero", "zero-dp"),
        definition=(
            "ZeRO removes the memory redundancy of data parallelism by partitioning model state "
            "across the $N_d$ data-parallel GPUs instead of replicating it: stage 1 shards the "
            "optimizer states, stage 2 also the gradients, stage 3 also the parameters (each "
            "GPU holds $\\Psi/N_d$ of them and gathers the rest on demand). With mixed-precision "
            "Adam ($K=12$ bytes of optimizer state per parameter) memory per GPU falls from "
            "$16\\Psi$ bytes to $16\\Psi/N_d$."
        ),
        formulas=("zero-memory",),
        related=("ddp", "resource-accounting"),
    ),
]

FORMULAS = [
    Formula(
        id="ring-allreduce-traffic",
        counts=("bytes",),
        name="Ring all-reduce traffic per GPU",
        latex=r"\text{bytes sent per GPU}=2\cdot\frac{N-1}{N}\cdot\text{size}\quad(\text{reduce-scatter }+\text{ all-gather, }N-1\text{ steps each})",
        concept="ring-allreduce",
        aliases=(
            "ring all-reduce",
            "ring allreduce",
            "allreduce",
            "all-reduce",
            "receive gradients from all other gpus",
        ),
        module=MODULE,
        section="ring_allreduce",
        tests=(f"{TESTS}::test_ring_allreduce_simulation",),
        symbols=(
            ("N", "number of GPUs (workers) in the ring"),
            (r"\text{size}", "size of the buffer being reduced (bytes)"),
        ),
    ),
    Formula(
        id="ddp-gradient-averaging",
        name="DDP gradient averaging equals one large batch",
        latex=(
            r"\nabla_\theta\,\frac{1}{B}\sum_{i=1}^{B}\ell(x_i;\theta)=\frac{1}{N}\sum_{r=1}^{N}\nabla_\theta\,"
            r"\frac{1}{B/N}\sum_{i\in\text{shard}_r}\ell(x_i;\theta)"
        ),
        concept="ddp",
        aliases=(
            "distributed data parallel",
            "ddp",
            "full weights or just gradients",
            "multiple gpus use copies of the same model",
        ),
        module=MODULE,
        section="ddp_gradient_averaging",
        tests=(f"{TESTS}::test_ddp_on_gloo_equals_one_big_batch",),
        symbols=(
            ("B", "global batch size"),
            ("N", "number of GPUs (workers)"),
            (r"\theta", "model parameters"),
            (r"\ell", "per-example loss"),
            ("x_i", "example i"),
        ),
    ),
    Formula(
        id="tensor-parallel-mlp",
        name="Megatron MLP split: columns of A, rows of B",
        latex=(
            r"Z=\operatorname{GeLU}(XA)B=\sum_{i}\operatorname{GeLU}(XA_i)\,B_i,\quad A=[A_1,A_2],\ "
            r"B=\begin{bmatrix}B_1\\ B_2\end{bmatrix};\qquad \operatorname{GeLU}(X_1A_1+X_2A_2)\neq\operatorname{GeLU}(X_1A_1)+\operatorname{GeLU}(X_2A_2)"
        ),
        concept="tensor-parallelism",
        aliases=("megatron", "megatron-lm splits", "why not compute y as"),
        module=MODULE,
        section="tensor_parallel_mlp",
        tests=(f"{TESTS}::test_megatron_column_split_is_exact_and_row_split_needs_sync",),
        symbols=(
            ("X", "input activations"),
            ("A", "first MLP weight (split by columns)"),
            ("B", "second MLP weight (split by rows)"),
            ("Z", "MLP output"),
        ),
    ),
    Formula(
        id="zero-memory",
        counts=("bytes",),
        name="ZeRO memory per GPU by stage",
        latex=(
            r"\text{DP: }(2+2+K)\Psi,\quad P_{os}: 4\Psi+\frac{K\Psi}{N_d},\quad "
            r"P_{os+g}: 2\Psi+\frac{(2+K)\Psi}{N_d},\quad P_{os+g+p}: \frac{(2+2+K)\Psi}{N_d}\quad(K=12)"
        ),
        concept="zero",
        aliases=("deepspeed zero", "zero would partition parameters", "zero redundancy optimizer"),
        module=MODULE,
        section="zero_memory",
        tests=(f"{TESTS}::test_zero_memory_and_partition",),
        symbols=(
            (r"\Psi", "number of parameters"),
            ("K", "optimizer-state bytes per parameter"),
            ("N_d", "data-parallel degree (number of GPUs)"),
        ),
    ),
]


# --8<-- [start:ring_allreduce]
def ring_allreduce(tensors: list[np.ndarray]):
    """Simulate ring all-reduce over N workers; returns (results, elements sent per worker).

    Worker r sends to worker (r + 1) % N. Reduce-scatter: at step s worker r sends chunk
    (r - s) % N, which the receiver adds to its copy; after N - 1 steps worker r owns the full
    sum of chunk (r + 1) % N. All-gather: N - 1 more steps pass the finished chunks around.
    """
    n = len(tensors)
    chunks = [np.array_split(t.astype(np.float64), n) for t in tensors]
    sent = [0] * n
    for s in range(n - 1):  # reduce-scatter
        msgs = [(r, (r - s) % n, chunks[r][(r - s) % n].copy()) for r in range(n)]
        for r, c, payload in msgs:
            chunks[(r + 1) % n][c] += payload
            sent[r] += payload.size
    for s in range(n - 1):  # all-gather
        msgs = [(r, (r + 1 - s) % n, chunks[r][(r + 1 - s) % n].copy()) for r in range(n)]
        for r, c, payload in msgs:
            chunks[(r + 1) % n][c] = payload
            sent[r] += payload.size
    return [np.concatenate(c) for c in chunks], sent


def ring_allreduce_traffic(n_workers: int, size: float) -> float:
    return 2 * (n_workers - 1) / n_workers * size
# --8<-- [end:ring_allreduce]


# --8<-- [start:ddp_gradient_averaging]
def average_gradients(model) -> None:
    """After backward: all-reduce (sum) every gradient, then divide by the world size."""
    import torch.distributed as dist

    world = dist.get_world_size()
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= world


def ddp_worker(rank: int, world: int, port: int, x, y, state: dict, out_path: str) -> None:
    """One process of a CPU (gloo) DDP step on shard `rank` of (x, y); saves its gradients.

    Runs both the hand-written average_gradients and torch's DistributedDataParallel.
    """
    from datetime import timedelta

    import torch
    import torch.distributed as dist

    # A peer that never arrives fails the run after a minute instead of hanging it.
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world, timeout=timedelta(seconds=60))
    try:
        shard = slice(rank * len(x) // world, (rank + 1) * len(x) // world)
        grads = {}
        for mode in ("manual", "torch-ddp"):
            model = torch.nn.Linear(x.shape[1], y.shape[1])
            model.load_state_dict(state)
            net = torch.nn.parallel.DistributedDataParallel(model) if mode == "torch-ddp" else model
            loss = torch.nn.functional.mse_loss(net(x[shard]), y[shard])
            loss.backward()
            if mode == "manual":
                average_gradients(model)
            grads[mode] = {k: p.grad.clone() for k, p in model.named_parameters()}
        torch.save(grads, out_path.format(rank=rank))
    finally:
        dist.destroy_process_group()
# --8<-- [end:ddp_gradient_averaging]


# --8<-- [start:tensor_parallel_mlp]
def gelu(x):
    """tanh approximation of GeLU (as in GPT-2 / Megatron)."""
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def megatron_mlp(x, a, b, n_parts: int):
    """Z = GeLU(X A) B with A split by columns and B by rows; the sum is the one all-reduce."""
    a_parts = np.array_split(a, n_parts, axis=1)
    b_parts = np.array_split(b, n_parts, axis=0)
    return sum(gelu(x @ a_i) @ b_i for a_i, b_i in zip(a_parts, b_parts, strict=True))
# --8<-- [end:tensor_parallel_mlp]


# --8<-- [start:zero_memory]
def zero_bytes_per_gpu(psi: float, n_d: int, stage: int, k: int = 12) -> float:
    """Model-state bytes per GPU: fp16 params (2), fp16 grads (2), optimizer state (K)."""
    params, grads, opt = 2 * psi, 2 * psi, k * psi
    if stage >= 1:
        opt /= n_d
    if stage >= 2:
        grads /= n_d
    if stage >= 3:
        params /= n_d
    return params + grads + opt


def zero_partition(n_params: int, n_d: int) -> list[range]:
    """Stage 3: rank r owns a contiguous 1/N_d slice of the flattened parameters."""
    bounds = np.linspace(0, n_params, n_d + 1).astype(int)
    return [range(bounds[r], bounds[r + 1]) for r in range(n_d)]
# --8<-- [end:zero_memory]
