"""The multi-process launcher behind the distributed bench cases, on CPU with gloo.

The cases themselves (ring-allreduce, ddp-scaling, tensor-parallel-mlp) run end to end on 2
gloo workers in tests/test_bench.py::test_case_runs_on_cpu_and_is_valid; here: what the
workers inherit (NVLink multicast off, this repository's `snippets` even after another
project's registry was loaded), the deadline that turns a hung collective into an error, and
the arithmetic that turns times into NCCL's bandwidths and the formula's predictions.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from deckforge.bench.distributed import SAFE_ENV, launch

ROOT = Path(__file__).resolve().parents[1]
torch = pytest.importorskip("torch")


def test_workers_get_safe_env_and_this_repositorys_snippets(tmp_path, monkeypatch):
    from deckforge.registry import load_registry

    # Another project's registry first: its parent goes first on sys.path and its `snippets`
    # into sys.modules, both of which spawn hands to the children (stop 9's PicklingError).
    other = tmp_path / "other" / "snippets"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text('"""another project"""\n')
    monkeypatch.setenv("NCCL_NVLS_ENABLE", "1")  # must be overridden, in the workers only
    try:
        load_registry(other)
        out = launch("deckforge.bench.distributed:probe", 2, backend="gloo", root=ROOT,
                     payload={}, timeout_s=120)
    finally:
        load_registry(ROOT / "snippets")
    assert [r["sum"] for r in out] == [3.0, 3.0]  # 1 + 2 on both ranks
    for r in out:
        assert r["env"] == SAFE_ENV
        assert r["snippets"] == str((ROOT / "snippets" / "__init__.py").resolve())
        assert r["builtin"] == str((ROOT / "snippets").resolve())  # deckforge_snippets
    assert os.environ["NCCL_NVLS_ENABLE"] == "1"  # the parent's own environment is restored


def test_a_builtin_case_runs_in_workers_whatever_the_project_root(tmp_path):
    """A built-in case names its target under deckforge_snippets (what an installed deckforge
    has; a checkout has no such folder on sys.path): the workers load it like the registry."""
    from deckforge_snippets.bench import ring_allreduce

    target = f"{ring_allreduce.__name__}:measure_rank"
    assert target.startswith("deckforge_snippets.")
    out = launch(target, 2, backend="gloo", root=tmp_path, timeout_s=120,
                 payload={"worlds": [2], "sizes": [4096], "dtypes": ["float32"], "reps": 1})
    assert [row["correct"] for row in out[0]["rows"]] == [True]


def test_a_hung_worker_times_out_instead_of_hanging():
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="did not finish"):
        launch("deckforge.bench.distributed:probe", 2, backend="gloo", root=ROOT,
               payload={"sleep_rank": 1, "sleep_s": 300.0}, timeout_s=10)
    assert time.monotonic() - start < 60


def test_launch_rejects_more_nccl_workers_than_gpus():
    with pytest.raises((RuntimeError, ValueError)):
        launch("deckforge.bench.distributed:probe", 64, backend="nccl", root=ROOT, payload={})
    with pytest.raises(ValueError, match="backend"):
        launch("deckforge.bench.distributed:probe", 2, backend="mpi", root=ROOT, payload={})


def test_ring_bandwidths_follow_nccl_definitions():
    from deckforge_snippets.bench.ring_allreduce import derive

    mib = 2**20
    # p = 4: 1 GiB in 10 ms; 64 KiB in 20 us (latency)
    raw = [{"world": 4, "dtype": "float32", "bytes": 64 * 1024, "ms": 0.02, "q1_ms": 0.02,
            "q3_ms": 0.02, "correct": True},
           {"world": 4, "dtype": "float32", "bytes": 1024 * mib, "ms": 10.0, "q1_ms": 10.0,
            "q3_ms": 10.0, "correct": True}]
    rows, fits = derive(raw, link_gbs=450.0)
    big = rows[-1]
    assert big["algbw_gbs"] == pytest.approx(2**30 / 0.01 / 1e9)
    assert big["busbw_gbs"] == pytest.approx(big["algbw_gbs"] * 2 * 3 / 4)
    assert big["traffic_mib"] == pytest.approx(1.5 * 1024)  # 2(p-1)/p x S
    assert big["ideal_ms"] == pytest.approx(1.5 * 2**30 / 450e9 * 1e3)
    assert big["vs_ideal"] == pytest.approx(450.0 / big["busbw_gbs"])  # time ratio = bw ratio
    fit = fits["p=4 float32"]
    # crossover: alpha x beta / (2(p-1)/p), where the latency and bandwidth terms are equal
    assert fit["crossover_mib"] * mib == pytest.approx(20e-6 * big["busbw_gbs"] * 1e9 / 1.5)
    assert rows[0]["model_ms"] == pytest.approx(0.02 + 1.5 * 64 * 1024 / (big["busbw_gbs"] * 1e9) * 1e3)


def test_ddp_efficiency_and_predicted_allreduce():
    from deckforge_snippets.bench.ddp_scaling import derive

    raw = [{"world": 1, "step_ms": 100.0, "step_q1_ms": 1, "step_q3_ms": 1, "local_ms": 100.0,
            "grad_bytes": 800e6, "allreduce_ms": None, "identical": True},
           {"world": 4, "step_ms": 125.0, "step_q1_ms": 1, "step_q3_ms": 1, "local_ms": 101.0,
            "grad_bytes": 800e6, "allreduce_ms": 4.0, "identical": True}]
    one, four = derive(raw, tokens_per_gpu=1000, link_gbs=450.0)
    assert one["tokens_per_s"] == pytest.approx(10_000) and one["efficiency"] == 1.0
    assert four["tokens_per_s"] == pytest.approx(32_000) and four["efficiency"] == pytest.approx(0.8)
    assert four["predicted_allreduce_ms"] == pytest.approx(1.5 * 800e6 / 450e9 * 1e3)
    assert four["exposed_comm_ms"] == pytest.approx(24.0)


# --- the multi-GPU verdicts (never run in CI, where there is no GPU: checked on made-up rows) --

def _ring_raw(p: int, busbw_1g: float) -> list[dict]:
    big = 2**30
    ms = 2 * (p - 1) / p * big / (busbw_1g * 1e9) * 1e3
    return [{"world": p, "dtype": "bfloat16", "bytes": 2**16, "ms": 0.02, "q1_ms": 0.02,
             "q3_ms": 0.02, "correct": True},
            {"world": p, "dtype": "bfloat16", "bytes": big, "ms": ms, "q1_ms": ms, "q3_ms": ms,
             "correct": True}]


@pytest.mark.parametrize(("busbw_p2", "busbw_p4", "verdict"), [
    (360.0, 350.0, "supports"),  # within 2x of the 450 GB/s link, alike for p = 2 and 4
    (360.0, 240.0, "partly"),  # within 2x, but busbw depends on p (33% apart)
    (100.0, 60.0, "contradicts"),  # 4.5x and 7.5x slower than the link, and p-dependent
])
def test_ring_verdict_rules(busbw_p2, busbw_p4, verdict):
    from deckforge_snippets.bench.ring_allreduce import conclude, derive

    rows, fits = derive(_ring_raw(2, busbw_p2) + _ring_raw(4, busbw_p4), link_gbs=450.0)
    outcome = conclude(rows, fits, 450.0)
    assert outcome.verdict == verdict
    assert outcome.summary.startswith("A 1 GiB all-reduce: p=2 bfloat16: busbw")
    assert "MiB" in outcome.summary.split("latency stops dominating above about")[1]


@pytest.mark.parametrize(("step4_ms", "allreduce_ms", "verdict"), [
    (104.0, 3.0, "supports"), (125.0, 3.0, "partly"), (125.0, 30.0, "contradicts")])
def test_ddp_verdict_rules(step4_ms, allreduce_ms, verdict):
    from deckforge_snippets.bench.ddp_scaling import conclude, derive

    raw = [{"world": 1, "step_ms": 100.0, "step_q1_ms": 1, "step_q3_ms": 1, "local_ms": 100.0,
            "grad_bytes": 800e6, "allreduce_ms": None, "identical": True},
           {"world": 4, "step_ms": step4_ms, "step_q1_ms": 1, "step_q3_ms": 1, "local_ms": 100.0,
            "grad_bytes": 800e6, "allreduce_ms": allreduce_ms, "identical": True}]
    outcome = conclude(derive(raw, tokens_per_gpu=1000, link_gbs=450.0))
    assert outcome.verdict == verdict and "efficiency" in outcome.summary


@pytest.mark.parametrize(("allreduce_ms", "rel_err", "verdict"), [
    (0.5, 4e-3, "supports"), (5.0, 4e-3, "partly"), (5.0, 0.5, "contradicts")])
def test_tensor_parallel_verdict_rules(allreduce_ms, rel_err, verdict):
    from deckforge_snippets.bench.tensor_parallel_mlp import conclude, derive

    raw = [{"world": 1, "rel_err": 0.0, "out_bytes": 2**27, "layer_ms": 11.0, "local_ms": 11.0,
            "allreduce_ms": 0.01},
           {"world": 2, "rel_err": rel_err, "out_bytes": 2**27, "layer_ms": 6.0, "local_ms": 5.6,
            "allreduce_ms": allreduce_ms}]
    rows = derive(raw, tokens=8192, d=8192, link_gbs=450.0)
    assert rows[1]["predicted_allreduce_ms"] == pytest.approx(2**27 / 450e9 * 1e3)  # p=2: 1 x Z
    assert conclude(rows).verdict == verdict
