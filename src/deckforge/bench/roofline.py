"""Device peaks and roofline arithmetic: achieved rates from a formula's own counts.

A case counts the floating-point operations and the fewest bytes its kernel must move (each
input read once, each output written once: the formula's counts, not a profiler's), and
`perf()` turns them and a time into TFLOP/s, GB/s, arithmetic intensity and fractions of the
device's ceilings. The roofline: attainable = min(peak compute, intensity x bandwidth); the
ridge point is peak compute / bandwidth (registry formulas `roofline`, `ridge-point`,
`arithmetic-intensity`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Peaks:
    """Datasheet ceilings of one device: dense TFLOP/s (TOP/s for int8) by dtype, HBM GB/s,
    and the GPU-to-GPU link's bandwidth in one direction (what a ring all-reduce's sends use)."""

    name: str
    tflops: dict[str, float] = field(default_factory=dict)
    hbm_gbs: float | None = None
    source: str = ""
    link_gbs: float | None = None

    def ridge(self, dtype: str = "bf16") -> float | None:
        """FLOP per byte above which a kernel of `dtype` is compute-bound."""
        peak = self.tflops.get(dtype)
        if peak is None or not self.hbm_gbs:
            return None
        return peak * 1e12 / (self.hbm_gbs * 1e9)

    def attainable_tflops(self, intensity: float | None, dtype: str = "bf16") -> float | None:
        peak = self.tflops.get(dtype)
        if peak is None or not self.hbm_gbs or intensity is None:
            return None
        return min(peak, intensity * self.hbm_gbs / 1e3)

    def to_json(self) -> dict:
        return {"name": self.name, "tflops": dict(self.tflops), "hbm_gbs": self.hbm_gbs,
                "ridge_bf16": self.ridge("bf16"), "link_gbs": self.link_gbs,
                "source": self.source}


# Hopper dense rates (no 2:4 sparsity) are the same for the H100 SXM and the H200; the H200's
# HBM3e is faster. Datasheet values: NVIDIA H100/H200 Tensor Core GPU datasheets. Both SXM parts
# have fourth-generation NVLink at 900 GB/s per GPU counting both directions: 450 GB/s each way.
_HOPPER_TFLOPS = {"fp64": 66.9, "fp32": 66.9, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4,
                  "fp8": 1978.9, "int8": 1978.9}
H200 = Peaks("NVIDIA H200 (SXM)", dict(_HOPPER_TFLOPS), 4800.0,
             "NVIDIA H200 datasheet: 989 TFLOP/s dense bf16, 4.8 TB/s HBM3e, NVLink 900 GB/s "
             "(both directions)", link_gbs=450.0)
H100 = Peaks("NVIDIA H100 (SXM)", dict(_HOPPER_TFLOPS), 3350.0,
             "NVIDIA H100 SXM datasheet: 989 TFLOP/s dense bf16, 3.35 TB/s HBM3, NVLink 900 GB/s "
             "(both directions)", link_gbs=450.0)
UNKNOWN = Peaks("unknown device", {}, None, "no datasheet peaks known: fractions are null")

_BY_NAME = (("H200", H200), ("H100", H100))


def peaks_for(device_name: str) -> Peaks:
    for marker, peaks in _BY_NAME:
        if marker in device_name:
            return peaks
    return UNKNOWN


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or not den:
        return None
    return num / den


def perf(flops: float, nbytes: float, ms: float, peaks: Peaks, dtype: str = "bf16") -> dict:
    """Achieved rates for one timed kernel, and where they sit under the device's ceilings."""
    seconds = ms / 1e3
    tflops = flops / seconds / 1e12 if flops else None
    gbs = nbytes / seconds / 1e9 if nbytes else None
    intensity = flops / nbytes if flops and nbytes else None
    roof = peaks.attainable_tflops(intensity, dtype)
    return {
        "tflops": tflops,
        "gbs": gbs,
        "ai": intensity,
        "roof_tflops": roof,
        "frac_peak": _ratio(tflops, peaks.tflops.get(dtype)),
        "frac_bw": _ratio(gbs, peaks.hbm_gbs),
        # the fraction of the roofline at this intensity (for pure copies: of the bandwidth)
        "frac_roofline": _ratio(tflops, roof) if flops else _ratio(gbs, peaks.hbm_gbs),
    }
