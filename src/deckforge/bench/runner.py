"""The runner behind `deckforge bench`: run the cases of `snippets/bench/`, one JSON each.

Each case module declares `CASE` (a CaseInfo) and `run(ctx) -> Outcome`. A case that raises
is recorded as `not-run` with the error, and the suite goes on: one broken backend must not
cost the other cases' results (GPU time is scarce). `--bundle` also writes every result so
far into one file after each case, so a remote run killed half-way still returns what it
measured, in one file.
"""

from __future__ import annotations

import gc
import importlib
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deckforge.bench.harness import Timer, Timing
from deckforge.bench.result import CaseInfo, Outcome, dumps, make_result
from deckforge.bench.roofline import Peaks, peaks_for, perf
from deckforge.fsutil import atomic_write_text
from deckforge.registry import BUILTIN, builtin_folder

SIZES = ("tiny", "full")


@dataclass
class BenchContext:
    """What a case gets: the device, the size class, a timer and the device's peaks."""

    device: str
    size: str
    timer: Timer
    peaks: Peaks
    notes: list[str] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return self.size == "full"

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def pick(self, tiny, full):
        """The tiny value on CPU / in tests, the full one on the GPU."""
        return full if self.full else tiny

    def time(self, fn: Callable) -> Timing:
        return self.timer.time(fn)

    def time_many(self, fns: dict[str, Callable]) -> dict[str, Timing]:
        """Interleaved repetitions of several variants (see Timer.time_many)."""
        return self.timer.time_many(fns)

    def peak_memory(self, fn: Callable) -> int | None:
        return self.timer.peak_memory_bytes(fn)

    def perf(self, flops: float, nbytes: float, ms: float, dtype: str = "bf16") -> dict:
        return perf(flops, nbytes, ms, self.peaks, dtype)

    def synchronize(self) -> None:
        self.timer.synchronize()


# The cases live in the built-in registry (snippets/bench/ in the repository), imported under
# the registry's own name wherever deckforge runs.
CASES_PACKAGE = f"{BUILTIN}.bench"


def case_names(snippets_pkg: str = CASES_PACKAGE) -> list[str]:
    builtin_folder()  # a source checkout registers its snippets/ under the built-in name
    return list(importlib.import_module(snippets_pkg).CASES)


def make_context(device: str, size: str | None = None) -> BenchContext:
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda: no CUDA device is visible (use --device cpu)")
    size = size or ("full" if device.startswith("cuda") else "tiny")
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu"
    # CPU runs prove the code correct: few repetitions, no long warm-up.
    timer = Timer(device=device) if device.startswith("cuda") else Timer(
        device=device, warmup_ms=1.0, rep_ms=5.0, min_reps=2, max_reps=5)
    return BenchContext(device=device, size=size, timer=timer, peaks=peaks_for(name))


def run_case(name: str, ctx: BenchContext, environment: dict,
             snippets_pkg: str = CASES_PACKAGE) -> dict:
    module = importlib.import_module(f"{snippets_pkg}.{name.replace('-', '_')}")
    info: CaseInfo = module.CASE
    ctx.notes = []
    error = None
    try:
        outcome: Outcome = module.run(ctx)
    except Exception as err:  # noqa: BLE001 - recorded in the result, the suite goes on
        error = "".join(traceback.format_exception_only(type(err), err)).strip()
        trace = traceback.format_exc()
        print(trace, file=sys.stderr)
        outcome = Outcome(verdict="not-run", summary=f"The case failed on {environment['device']}: "
                          f"{error.splitlines()[0][:200]}")
    finally:
        _release(ctx)
    if ctx.notes:
        outcome = Outcome(**{**outcome.__dict__, "notes": tuple(outcome.notes) + tuple(ctx.notes)})
    harness = {"timer": "CUDA events per repetition" if ctx.is_cuda else "time.perf_counter",
               "l2_flush_bytes": 256 * 2**20 if ctx.is_cuda else 0,
               "warmup_ms": ctx.timer.warmup_ms, "rep_ms": ctx.timer.rep_ms,
               "statistic": "median; spread as q1/q3 (IQR), min, max"}
    return make_result(info, outcome, environment, size=ctx.size, peaks=ctx.peaks.to_json(),
                       harness=harness, error=error)


def _release(ctx: BenchContext) -> None:
    gc.collect()
    if ctx.device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
        torch.cuda.empty_cache()


def run_suite(device: str, out: Path, only: Sequence[str] = (), size: str | None = None,
              bundle: Path | None = None, root: Path | None = None,
              progress: Callable[[str], None] = print) -> list[dict]:
    """Run the selected cases and write `<out>/<case>.json` for each; return the results."""
    from deckforge.bench.env import capture_environment

    names = case_names()
    unknown = [n for n in only if n not in names]
    if unknown:
        raise ValueError(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(names)}")
    ctx = make_context(device, size)
    environment = capture_environment(device)
    progress(f"deckforge bench on {environment['device']} ({ctx.size} sizes): "
             f"torch {environment['torch']}, triton {environment['triton']}")
    results = []
    for name in (n for n in names if not only or n in only):
        start = time.perf_counter()
        result = run_case(name, ctx, environment)
        results.append(result)
        atomic_write_text(Path(out) / f"{name}.json", dumps(result))
        if bundle is not None:
            atomic_write_text(bundle, dumps({"schema": "deckforge.bench-bundle/1",
                                             "results": results}))
        progress(f"  {name:<22} {result['verdict']:<12} {time.perf_counter() - start:6.1f}s  "
                 f"{result['summary']}")
    return results


def split_bundle(bundle: Path, out: Path) -> list[Path]:
    """Write each result of a bundle (from a remote run) to `<out>/<case>.json`."""
    import json

    data = json.loads(Path(bundle).read_text("utf-8"))
    paths = []
    for result in data["results"]:
        paths.append(atomic_write_text(Path(out) / f"{result['case']}.json", dumps(result)))
    return paths
