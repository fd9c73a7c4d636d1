"""Run one benchmark function on N processes, one per GPU (NCCL) or N CPU workers (gloo).

`launch()` starts the workers with `torch.multiprocessing` *spawn* and joins them under a
deadline; each worker joins a `torch.distributed` process group, calls the case's
`module:function` with (rank, world, device, **payload), and writes what it returns as JSON.
The collectives are torch.distributed's (NCCL on GPUs, gloo on CPU), never our own transport.

Why spawn and not fork: the parent has usually run autograd or initialised CUDA already, and a
forked child inherits locks held by those threads; a forked DDP worker deadlocked a CI
rehearsal on a futex (stop 9). Spawn pickles the worker by reference, so the worker here lives
in `deckforge` (a package no registry load swaps), and it puts the case's own project root first
on `sys.path` before importing the case (another project's `snippets` may be first in the
parent's path, which spawn copies). A case of the built-in registry names its target under
`deckforge_snippets` (its module's own `__name__`), which the worker loads like the registry
does, so an installed deckforge runs them too.

NVLink multicast stays off (the device notes: a program using it can put a shared host's GPUs
out of service): `SAFE_ENV` is forced in the parent's environment while the workers start, so
it is what they inherit, and again inside each worker before the process group exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from deckforge.registry import BUILTIN, builtin_folder

SAFE_ENV = {
    "NCCL_NVLS_ENABLE": "0",
    "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1",
    "NVSHMEM_DISABLE_NVLS": "1",
}


@contextlib.contextmanager
def safe_environment():
    """SAFE_ENV in os.environ for the duration (restored after: the bench process goes on)."""
    saved = {k: os.environ.get(k) for k in SAFE_ENV}
    os.environ.update(SAFE_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def gpu_topology() -> list[str] | None:
    """`nvidia-smi topo -m` (how the GPUs are linked: NV# = NVLink, PIX/SYS = PCIe), for the
    result's record; None where nvidia-smi is missing."""
    import subprocess

    try:
        out = subprocess.run(["nvidia-smi", "topo", "-m"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [line.rstrip() for line in out.splitlines() if line.strip()][:16]


def launch(target: str, world: int, *, backend: str, root: Path, payload: dict,
           timeout_s: float = 600.0, init_timeout_s: float = 120.0) -> list[dict]:
    """Run `target` ("package.module:function") on `world` spawned processes; return what
    each rank's function returned (JSON-able dicts), in rank order.

    A worker that raises fails the launch (torch terminates the others); a launch still
    running after `timeout_s` has its workers killed and raises TimeoutError, so a hung
    collective costs a bounded time, never the whole run.
    """
    import torch.multiprocessing as mp

    if backend not in ("nccl", "gloo"):
        raise ValueError(f"backend {backend!r}: use nccl (GPUs) or gloo (CPU)")
    if backend == "nccl" and gpu_count() < world:
        raise RuntimeError(f"{world} NCCL workers need {world} GPUs; {gpu_count()} visible")
    with tempfile.TemporaryDirectory(prefix="deckforge-dist-") as tmp:
        out = str(Path(tmp) / "rank-{rank}.json")
        args = (world, backend, free_port(), target, str(Path(root).resolve()), payload, out,
                init_timeout_s)
        with safe_environment():
            ctx = mp.start_processes(_worker, args=args, nprocs=world, join=False,
                                     start_method="spawn")
        deadline = time.monotonic() + timeout_s
        try:
            while not ctx.join(timeout=1.0):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{target} on {world} {backend} workers did not finish "
                                       f"in {timeout_s:.0f} s; workers killed")
        finally:
            for proc in ctx.processes:  # only ours: the processes this launch started
                if proc.is_alive():
                    proc.kill()
                    proc.join(5)
        return [json.loads(Path(out.format(rank=r)).read_text("utf-8")) for r in range(world)]


def _worker(rank: int, world: int, backend: str, port: int, target: str, root: str,
            payload: dict, out: str, init_timeout_s: float) -> None:
    import importlib
    from datetime import timedelta

    os.environ.update(SAFE_ENV)
    if root in sys.path:
        sys.path.remove(root)
    sys.path.insert(0, root)
    if target.split(".", 1)[0] == BUILTIN:
        # The built-in registry is not on sys.path in a source checkout (the registry loads
        # its folder by location): load it the same way here, installed or not.
        builtin_folder()
    import torch
    import torch.distributed as dist

    if backend == "nccl":
        torch.cuda.set_device(rank)
        device = f"cuda:{rank}"
    else:
        torch.set_num_threads(1)  # N workers on a few shared cores: no oversubscription
        device = "cpu"
    # A peer that never arrives (or a collective that never completes) fails the run after
    # init_timeout_s instead of hanging it.
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world, timeout=timedelta(seconds=init_timeout_s),
                            device_id=torch.device(device) if backend == "nccl" else None)
    try:
        module, name = target.split(":")
        result = getattr(importlib.import_module(module), name)(
            rank=rank, world=world, device=device, **payload)
        tmp = out.format(rank=rank) + ".tmp"
        Path(tmp).write_text(json.dumps(result), "utf-8")
        os.replace(tmp, out.format(rank=rank))
    finally:
        dist.destroy_process_group()


# --- helpers the case functions share (they run inside the workers) ----------------------

def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)


def time_steps(fn, *, device: str, group, reps: int, inner: int = 1, warmup: int = 3,
               before=None) -> list[float]:
    """Milliseconds per call of `fn` over `reps` repetitions of `inner` back-to-back calls,
    the slowest rank's per repetition (a collective step is as slow as its slowest member).

    Every rank of `group` must call this with the same reps/inner (they run collectives).
    Each repetition starts after a barrier, so ranks enter it together; on CUDA one event pair
    brackets the `inner` calls (device time), on CPU `time.perf_counter` does. `before()` runs
    untimed ahead of each repetition (and of the warm-up), e.g. to refill a buffer.
    """
    import torch
    import torch.distributed as dist

    cuda = device.startswith("cuda")
    before = before or (lambda: None)
    before()
    for _ in range(warmup):
        fn()
    sync(device)
    samples = []
    for _ in range(reps):
        before()
        dist.barrier(group=group)
        sync(device)
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(inner):
                fn()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end) / inner)
        else:
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            samples.append((time.perf_counter() - t0) * 1e3 / inner)
    slowest = torch.tensor(samples, dtype=torch.float64, device=device)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX, group=group)
    return slowest.tolist()


def case_root(module_file: str) -> Path:
    """The project root of a case module `<root>/snippets/bench/<case>.py`."""
    return Path(module_file).resolve().parents[2]


def probe(*, rank: int, world: int, device: str, sleep_rank: int | None = None,
          sleep_s: float = 0.0) -> dict:
    """A launch's self-check (tests, and the first thing to run on a new machine): what the
    worker sees of SAFE_ENV, which `snippets` it imports, and one all-reduce's sum.
    `sleep_rank` stalls one rank before the collective (the deadline test)."""
    import importlib

    import torch
    import torch.distributed as dist

    if rank == sleep_rank:
        time.sleep(sleep_s)
    value = torch.tensor([float(rank + 1)], device=device)
    dist.all_reduce(value)
    return {"env": {k: os.environ.get(k) for k in SAFE_ENV}, "sum": value.item(),
            "snippets": str(Path(importlib.import_module("snippets").__file__).resolve()),
            "builtin": str(builtin_folder())}


def unrun_reason(gpus: int, unrun: str, ran: str = "") -> str:
    """Why a distributed case records `not-run`, and what remains unrun (its summary is
    'Not measured: ' + this). `ran` says what did run (a p = 1 baseline)."""
    where = "no GPU is visible" if gpus == 0 else f"{gpus} GPU visible"
    return (f"{where}; the case needs 2 or more GPUs of one host. {ran + ' ' if ran else ''}"
            f"Unrun: {unrun}.")
