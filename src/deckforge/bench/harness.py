"""The timer: warm-up, L2 flush between repetitions, CUDA events, median and spread.

Method (METHOD.md of the device tool, and what `triton.testing.do_bench` does):
- one untimed call first, so compilation, module load and handle creation stay out;
- a warm-up of about `warmup_ms`, then as many repetitions as fit in about `rep_ms`
  (clamped to [min_reps, max_reps]);
- before every repetition a buffer larger than the L2 cache is overwritten, so no repetition
  reads its inputs from the cache the previous one left warm;
- on CUDA each repetition is bracketed by its own pair of events (device time, no host
  overhead of the flush in it); on CPU by `time.perf_counter` (no flush: CPU runs are for
  proving the code correct at tiny sizes, not for numbers anyone reports).
The summary is the median with the quartiles, minimum and maximum of the repetitions.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# 256 MiB: four times the H100/H200 L2 (50/60 MB), the size do_bench flushes with.
FLUSH_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Timing:
    """Milliseconds per call over `reps` timed repetitions."""

    median_ms: float
    q1_ms: float
    q3_ms: float
    min_ms: float
    max_ms: float
    reps: int

    @property
    def iqr_ms(self) -> float:
        return self.q3_ms - self.q1_ms

    def to_json(self) -> dict[str, float | int]:
        return {"ms": self.median_ms, "q1_ms": self.q1_ms, "q3_ms": self.q3_ms,
                "min_ms": self.min_ms, "max_ms": self.max_ms, "reps": self.reps}


def summarize(samples_ms: list[float]) -> Timing:
    """Median, quartiles (inclusive method: defined for 2+ samples), min and max."""
    if not samples_ms:
        raise ValueError("no samples")
    ordered = sorted(samples_ms)
    if len(ordered) == 1:
        q1 = q3 = ordered[0]
    else:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return Timing(statistics.median(ordered), q1, q3, ordered[0], ordered[-1], len(ordered))


@dataclass
class Timer:
    """Times callables on one device. Holds the flush buffer so it is allocated once."""

    device: str = "cuda"
    warmup_ms: float = 25.0
    rep_ms: float = 100.0
    min_reps: int = 5
    max_reps: int = 200
    flush: bool = True
    _flush_buf: Any = field(default=None, repr=False)

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def _flush_l2(self) -> None:
        if not (self.flush and self.is_cuda):
            return
        import torch

        if self._flush_buf is None:
            self._flush_buf = torch.empty(FLUSH_BYTES, dtype=torch.int8, device=self.device)
        self._flush_buf.zero_()

    def synchronize(self) -> None:
        if self.is_cuda:
            import torch

            torch.cuda.synchronize(self.device)

    def _one_call_ms(self, fn: Callable[[], Any]) -> float:
        """Rough time of one call (with the flush before it), to size warm-up and repetitions."""
        self.synchronize()
        start = time.perf_counter()
        for _ in range(3):
            self._flush_l2()
            fn()
        self.synchronize()
        return max((time.perf_counter() - start) * 1e3 / 3, 1e-4)

    def time(self, fn: Callable[[], Any], *, reps: int | None = None) -> Timing:
        fn()  # compile / autotune / create handles, untimed
        estimate = self._one_call_ms(fn)
        for _ in range(max(1, int(self.warmup_ms / estimate))):
            fn()
        if reps is None:
            reps = int(min(self.max_reps, max(self.min_reps, self.rep_ms / estimate)))
        return summarize(self._cuda_samples(fn, reps) if self.is_cuda else self._cpu_samples(fn, reps))

    def time_many(self, fns: dict[str, Callable[[], Any]], *, reps: int | None = None) -> dict[str, Timing]:
        """Time several variants with their repetitions interleaved (A B C A B C ...), each
        with its own flush and events: a drift of the GPU's clocks or temperature during the
        measurement then shifts every variant alike instead of favouring whichever ran first.
        Use it for comparisons whose claim is a small difference (merged vs base, 1.1x)."""
        estimates = {}
        for name, fn in fns.items():
            fn()
            estimates[name] = self._one_call_ms(fn)
        total = sum(estimates.values())
        for name, fn in fns.items():
            for _ in range(max(1, int(self.warmup_ms / estimates[name]))):
                fn()
        if reps is None:
            reps = int(min(self.max_reps, max(self.min_reps, len(fns) * self.rep_ms / total)))
        if not self.is_cuda:
            cpu: dict[str, list[float]] = {name: [] for name in fns}
            for _ in range(reps):
                for name, fn in fns.items():
                    cpu[name].extend(self._cpu_samples(fn, 1))
            return {name: summarize(values) for name, values in cpu.items()}
        import torch

        events = {name: [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                         for _ in range(reps)] for name in fns}
        for rep in range(reps):
            for name, fn in fns.items():
                start, end = events[name][rep]
                self._flush_l2()
                start.record()
                fn()
                end.record()
        torch.cuda.synchronize(self.device)
        return {name: summarize([s.elapsed_time(e) for s, e in pairs]) for name, pairs in events.items()}

    def _cuda_samples(self, fn: Callable[[], Any], reps: int) -> list[float]:
        import torch

        starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        for start, end in zip(starts, ends, strict=True):
            self._flush_l2()
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize(self.device)
        return [s.elapsed_time(e) for s, e in zip(starts, ends, strict=True)]

    def _cpu_samples(self, fn: Callable[[], Any], reps: int) -> list[float]:
        samples = []
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1e3)
        return samples

    def peak_memory_bytes(self, fn: Callable[[], Any]) -> int | None:
        """Device memory allocated by one call above what was allocated before it (CUDA only:
        `torch.cuda.max_memory_allocated`; None on CPU, where torch keeps no such counter)."""
        if not self.is_cuda:
            return None
        import torch

        self.synchronize()
        torch.cuda.empty_cache()
        base = torch.cuda.memory_allocated(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        out = fn()
        self.synchronize()
        peak = torch.cuda.max_memory_allocated(self.device) - base
        del out
        return int(peak)


def do_bench_ms(fn: Callable[[], Any]) -> float | None:
    """`triton.testing.do_bench` median in ms (its own warm-up, flush and events), or None
    where Triton or CUDA is missing. Used only to validate `Timer` against it."""
    try:
        import torch
        from triton.testing import do_bench
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return float(do_bench(fn, warmup=25, rep=100, return_mode="median"))
