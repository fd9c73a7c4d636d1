"""Roofline formulas against a tiny simulated machine and brute-force operation counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from deckforge_snippets import roofline as rf

PEAK, BW = 989e12, 4.8e12  # an H200-like machine: dense bf16 FLOP/s, HBM byte/s


def simulated_time(flops: float, nbytes: float, peak: float, bw: float) -> float:
    """A machine that overlaps compute and memory perfectly: the slower of the two dominates."""
    return max(flops / peak, nbytes / bw)


@pytest.mark.parametrize("intensity", [0.5, 10.0, 206.0, 1000.0, 1e5])
def test_roofline_matches_simulated_machine(intensity):
    nbytes = 1e9
    flops = intensity * nbytes
    achieved = flops / simulated_time(flops, nbytes, PEAK, BW)
    assert rf.attainable_throughput(intensity, PEAK, BW) == pytest.approx(achieved)


def test_roofline_is_continuous_at_ridge():
    ridge = rf.ridge_point(PEAK, BW)
    eps = 1e-9 * ridge
    left, at, right = rf.attainable_throughput([ridge - eps, ridge, ridge + eps], PEAK, BW)
    assert left == pytest.approx(PEAK) and at == pytest.approx(PEAK) and right == PEAK
    assert left < PEAK  # just left of the ridge the bandwidth roof binds


def test_ridge_point_is_where_roofs_meet():
    ridge = rf.ridge_point(PEAK, BW)
    assert ridge * BW == pytest.approx(PEAK)
    below, above = ridge / 2, ridge * 2
    assert rf.attainable_throughput(below, PEAK, BW) == pytest.approx(below * BW)  # memory-bound
    assert rf.attainable_throughput(above, PEAK, BW) == PEAK  # compute-bound


def test_ridge_moves_right_when_bandwidth_drops():
    # Quiz 2 Q1b: "Ridge moves right if I/O bandwidth decreases." The code says: it does.
    before = rf.ridge_point(PEAK, BW)
    after = rf.ridge_point(PEAK, BW / 2)
    assert after > before
    assert after / before == pytest.approx(rf.ridge_shift(0.5)) == pytest.approx(2.0)


def brute_force_gemm(m: int, n: int, k: int):
    """Naive triple loop counting every multiply and add, and every distinct element touched."""
    a, b = np.arange(m * k).reshape(m, k), np.arange(k * n).reshape(k, n)
    c = np.zeros((m, n))
    ops, touched = 0, set()
    for i, j in itertools.product(range(m), range(n)):
        acc = 0.0
        for p in range(k):
            acc += a[i, p] * b[p, j]
            ops += 2
            touched |= {("a", i, p), ("b", p, j)}
        c[i, j] = acc
        touched.add(("c", i, j))
    assert np.array_equal(c, a @ b)
    return ops, len(touched)


@pytest.mark.parametrize("m,n,k", [(3, 4, 5), (1, 6, 7), (6, 1, 4), (5, 5, 5)])
def test_gemm_counts_match_brute_force(m, n, k):
    ops, elements = brute_force_gemm(m, n, k)
    assert rf.gemm_flops(m, n, k) == ops
    assert rf.gemm_bytes(m, n, k, bytes_per_element=2) == 2 * elements
    if n == 1:
        assert rf.gemv_flops(m, k) == ops and rf.gemv_bytes(m, k, 2) == 2 * elements


def test_gemm_intensity_grows_linearly_gemv_stays_constant():
    sizes = [256, 1024, 4096, 16384]
    gemm = [rf.gemm_intensity(s, s, s, 2) for s in sizes]
    gemv = [rf.gemv_intensity(s, s, 2) for s in sizes]
    for s, a in zip(sizes, gemm, strict=True):
        assert a == pytest.approx(2 * s / (3 * 2))  # O(n): 2n / 3b
    assert all(0.99 < a < 1.0 for a in gemv[1:])  # → 2 / b = 1 FLOP/byte in bf16
    ridge = rf.ridge_point(PEAK, BW)
    assert gemm[-1] > ridge > gemv[-1]  # big MMM is compute-bound, MVM always memory-bound


def test_mfu_of_simulated_kernel():
    m = n = k = 8192
    seconds = simulated_time(rf.gemm_flops(m, n, k), rf.gemm_bytes(m, n, k), PEAK, BW) / 0.7
    achieved = rf.gemm_flops(m, n, k) / seconds
    assert rf.model_flops_utilization(achieved, PEAK) == pytest.approx(0.7)
