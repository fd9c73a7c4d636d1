"""Helpers shared by the benchmark cases (torch imported inside functions)."""

from __future__ import annotations


def randn(shape, *, device: str, dtype=None, seed: int = 0, scale: float = 1.0):
    """Seeded normal data (never zeros: zeros run faster than real data and hide bugs)."""
    import torch

    gen = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn(shape, generator=gen, dtype=torch.float32) * scale
    return x.to(device=device, dtype=dtype or torch.bfloat16)


def rel_err(out, ref) -> float:
    """||out - ref|| / ||ref|| in float64 (METHOD.md's accuracy measure); inf on NaN."""
    import torch

    out64, ref64 = out.double(), ref.double()
    err = (torch.linalg.vector_norm(out64 - ref64) / torch.linalg.vector_norm(ref64)).item()
    return err if err == err else float("inf")


def mib(nbytes: int | None) -> float | None:
    return None if nbytes is None else nbytes / 2**20


def fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}g}"
