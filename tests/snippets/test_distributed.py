"""snippets/distributed.py: ring all-reduce simulation, a real 2-process gloo DDP step, Megatron
and ZeRO accounting."""

from __future__ import annotations

import importlib
import socket
from pathlib import Path

import numpy as np
import pytest

from snippets import distributed as D


@pytest.mark.parametrize(("n", "size"), [(2, 10), (4, 64), (5, 23), (8, 1000)])
def test_ring_allreduce_simulation(n, size):
    rng = np.random.default_rng(n)
    tensors = [rng.normal(size=size) for _ in range(n)]
    results, sent = D.ring_allreduce(tensors)
    total = np.sum(tensors, axis=0)
    for r in results:
        np.testing.assert_allclose(r, total)
    # Exact when size divides evenly; within one chunk otherwise.
    for s in sent:
        assert s == pytest.approx(D.ring_allreduce_traffic(n, size), abs=2 * (n - 1))
    if size % n == 0:
        assert sent == [D.ring_allreduce_traffic(n, size)] * n
    # Not N-1 full copies per worker (the naive all-to-all).
    assert max(sent) < (n - 1) * size or n == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_on_gloo_equals_one_big_batch(tmp_path):
    torch = pytest.importorskip("torch")
    import torch.multiprocessing as mp

    torch.manual_seed(0)
    x, y = torch.randn(16, 5), torch.randn(16, 3)
    model = torch.nn.Linear(5, 3)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.nn.functional.mse_loss(model(x), y).backward()
    big_batch = {k: p.grad for k, p in model.named_parameters()}

    out = str(tmp_path / "grads-{rank}.pt")
    # Spawned workers get the worker by reference (module + name), and import it by the
    # top-level name `snippets` (this repository's folder, on the test path): make `snippets`
    # this repository's package again (other tests load temporary projects' own `snippets`).
    from deckforge.registry import _import_package

    _import_package(Path(__file__).resolve().parents[2] / "snippets")
    worker = importlib.import_module("snippets.distributed").ddp_worker
    # spawn, not fork: this process already ran autograd (its threads hold locks), and a forked
    # child can deadlock on them; fork hung a CI rehearsal. Spawn pays a fresh torch import.
    mp.start_processes(
        worker, args=(2, _free_port(), x, y, state, out), nprocs=2, join=True, start_method="spawn"
    )
    for rank in range(2):
        grads = torch.load(out.format(rank=rank))
        for mode in ("manual", "torch-ddp"):
            for name, g in big_batch.items():
                torch.testing.assert_close(grads[mode][name], g, rtol=1e-5, atol=1e-6)


def test_megatron_column_split_is_exact_and_row_split_needs_sync():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, a, b = rng.normal(size=(4, 8)), rng.normal(size=(8, 12)), rng.normal(size=(12, 8))
    ref = (torch.nn.functional.gelu(torch.from_numpy(x @ a), approximate="tanh") @ torch.from_numpy(b)).numpy()
    for parts in (2, 3, 4):
        np.testing.assert_allclose(D.megatron_mlp(x, a, b, parts), ref, rtol=1e-10)
    # Split X by columns and A by rows: GeLU of a sum is not the sum of GeLUs.
    x1, x2, a1, a2 = x[:, :4], x[:, 4:], a[:4], a[4:]
    np.testing.assert_allclose(x1 @ a1 + x2 @ a2, x @ a)
    assert not np.allclose(D.gelu(x1 @ a1) + D.gelu(x2 @ a2), D.gelu(x @ a))


def test_zero_memory_and_partition():
    # ZeRO paper, Figure 1: Psi = 7.5B, N_d = 64, K = 12.
    psi, gb = 7.5e9, 1e9
    assert D.zero_bytes_per_gpu(psi, 64, 0) / gb == pytest.approx(120)
    assert D.zero_bytes_per_gpu(psi, 64, 1) / gb == pytest.approx(31.4, abs=0.05)
    assert D.zero_bytes_per_gpu(psi, 64, 2) / gb == pytest.approx(16.6, abs=0.05)
    assert D.zero_bytes_per_gpu(psi, 64, 3) / gb == pytest.approx(1.9, abs=0.05)
    shards = D.zero_partition(1000, 4)  # the quiz: N parameters over 4 GPUs, N/4 each
    assert [len(s) for s in shards] == [250] * 4
    assert sorted(i for s in shards for i in s) == list(range(1000))
