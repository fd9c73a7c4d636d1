"""Quantization formulas against torch's quantizers, brute-force grids and simulation."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from deckforge_snippets import quantization as qz

torch = pytest.importorskip("torch")


def test_uniform_quantization_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.3, 2.1, size=4096)
    scale, zp = qz.uq_params(-1.3, 2.1, 8)
    ours = qz.dequantize(qz.quantize(x, scale, zp, 8), scale, zp)
    ref = torch.fake_quantize_per_tensor_affine(torch.tensor(x, dtype=torch.float32), scale, zp,
                                                0, 255).double().numpy()
    close = np.isclose(ours, ref, atol=1e-6)
    assert close.mean() > 0.999  # float32 vs float64 may flip an exact tie
    assert np.abs(ours - ref).max() <= scale + 1e-6
    assert qz.quantize([-1.3, 2.1], scale, zp, 8).tolist() == [0, 255]


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_uniform_roundtrip_error_within_half_step(bits):
    x = np.linspace(-0.7, 3.0, 100_001)
    scale, zp = qz.uq_params(-0.7, 3.0, bits)
    xhat = qz.dequantize(qz.quantize(x, scale, zp, bits), scale, zp)
    # z is rounded, so levels shift by < s/2; allow that against the ideal grid
    assert np.abs(x - xhat).max() <= scale + 1e-12


@pytest.mark.parametrize("bits", [3, 5, 8])
def test_error_bound_is_tight_by_brute_force(bits):
    lo, hi = 0.0, 1.0  # z = 0 exactly, so the grid starts at lo
    x = np.linspace(lo, hi, 200_001)
    scale, zp = qz.uq_params(lo, hi, bits)
    err = np.abs(x - qz.dequantize(qz.quantize(x, scale, zp, bits), scale, zp)).max()
    bound = qz.max_quantization_error(lo, hi, bits)
    assert err <= bound + 1e-12
    assert err == pytest.approx(bound, rel=1e-2)  # attained at the interval midpoints


def measured_max_error(bits: int) -> float:
    x = np.linspace(0.0, 1.0, 400_001)
    scale, zp = qz.uq_params(0.0, 1.0, bits)
    return np.abs(x - qz.dequantize(qz.quantize(x, scale, zp, bits), scale, zp)).max()


def test_two_more_bits_quarter_the_error():
    # Quiz 3 Q2a claims +2 bits ⇒ max UQ error halves. Measured: it quarters.
    for bits in (4, 6, 8):
        ratio2 = measured_max_error(bits + 2) / measured_max_error(bits)
        ratio1 = measured_max_error(bits + 1) / measured_max_error(bits)
        assert ratio2 == pytest.approx(qz.error_bound_ratio(2, bits), rel=1e-2)
        assert ratio1 == pytest.approx(qz.error_bound_ratio(1, bits), rel=1e-2)
        assert 0.2 < ratio2 < 0.26 and 0.45 < ratio1 < 0.52
    assert qz.error_bound_ratio(2) == 0.25 and qz.error_bound_ratio(1) == 0.5


@pytest.mark.parametrize("bits", [4, 8])
def test_symmetric_quantization_levels(bits):
    clip = 2.5
    x = np.linspace(-4, 4, 10_001)
    x_int, x_q = qz.symmetric_quantize(x, clip, bits)
    s = qz.symmetric_scale(clip, bits)
    qmax = 2 ** (bits - 1) - 1
    assert set(np.unique(x_int)) == set(range(-qmax, qmax + 1))  # 2^b − 1 levels
    ref = torch.fake_quantize_per_tensor_affine(torch.tensor(np.clip(x, -clip, clip)), s, 0,
                                                -qmax, qmax).numpy()
    assert np.allclose(x_q, ref)
    assert x_q.max() == pytest.approx(clip)  # ±L are levels: 2L over 2^b − 2 steps


def test_log_quantization_relative_error_and_step_growth():
    rng = np.random.default_rng(1)
    x = rng.normal(size=5000) * 10.0 ** rng.uniform(-3, 3, size=5000)
    xhat = qz.log_quantize(x)
    # brute force: nearest power of two in the log domain among all candidates
    powers = 2.0 ** np.arange(-80, 81)
    idx = np.abs(np.log2(np.abs(x))[:, None] - np.log2(powers)[None, :]).argmin(1)
    assert np.allclose(np.abs(xhat), powers[idx]) and np.all(np.sign(xhat) == np.sign(x))
    ratio = np.abs(xhat / x)
    assert ratio.min() >= 2**-0.5 - 1e-12 and ratio.max() <= 2**0.5 + 1e-12
    assert qz.log_step(100.0) > qz.log_step(1.0) > qz.log_step(0.01)  # step grows with |x|
    assert qz.log_quantize([0.0]).tolist() == [0.0]


@pytest.mark.parametrize("value", [0.1, 0.5, 2.75, -1.3])
def test_stochastic_rounding_is_unbiased(value):
    rng = np.random.default_rng(2)
    n = 200_000
    draws = qz.stochastic_round(np.full(n, value), rng)
    frac = value - np.floor(value)
    assert set(np.unique(draws)) <= {np.floor(value), np.floor(value) + 1}
    sigma = np.sqrt(frac * (1 - frac) / n)
    assert abs(draws.mean() - value) < 5 * sigma + 1e-12
    assert (draws == np.floor(value) + 1).mean() == pytest.approx(qz.round_up_probability(value),
                                                                 abs=0.005)
    assert qz.nearest_round(value) != value  # nearest is biased by the rounding offset


def test_fast_stochastic_rounding_has_same_distribution():
    rng = np.random.default_rng(3)
    for value in (0.2, 0.8, -2.4):
        draws = qz.stochastic_round_fast(np.full(200_000, value), rng)
        assert abs(draws.mean() - value) < 0.005
        p_up = (draws == np.floor(value) + 1).mean()
        assert p_up == pytest.approx(value - np.floor(value), abs=0.005)


def test_nearest_rounding_loses_small_updates_stochastic_keeps_them():
    rng = np.random.default_rng(4)
    w_nr = w_sr = 0.0
    for _ in range(2000):  # a weight on an integer grid receiving +0.3 per step
        w_nr = float(qz.nearest_round(w_nr + 0.3))
        w_sr = float(qz.stochastic_round(np.array(w_sr + 0.3), rng))
    assert w_nr == 0.0
    assert w_sr == pytest.approx(600, rel=0.1)


def torch_running_sum(values, dtype) -> float:
    acc = torch.zeros((), dtype=dtype)
    for v in values:
        acc = acc + torch.tensor(v, dtype=dtype)
    return float(acc)


def test_low_precision_running_sum_stalls():
    ones = [1.0] * 3000
    assert torch_running_sum(ones, torch.float16) == qz.stall_point(11) == 2048
    assert torch_running_sum(ones, torch.bfloat16) == qz.stall_point(8) == 256
    assert torch_running_sum(ones, torch.float32) == 3000
    assert qz.running_sum(ones, "float16") == 2048
    assert qz.running_sum(ones, "bfloat16") == 256
    assert qz.running_sum(ones, "float32") == 3000


def test_swamping_rule_matches_hardware_rounding():
    rng = np.random.default_rng(5)
    a = rng.uniform(1, 1000, size=3000).astype(np.float16)
    b = (a * 2.0 ** rng.uniform(-14, 0, size=3000)).astype(np.float16)  # same sign, smaller
    for p, dtype in ((11, torch.float16), (8, torch.bfloat16)):
        ta, tb = torch.tensor(a.astype(np.float32)).to(dtype), torch.tensor(b.astype(np.float32)).to(dtype)
        hw = (ta + tb == ta).numpy()
        av, bv = ta.float().numpy(), tb.float().numpy()
        half_ulp = np.array([qz.ulp(x, p) / 2 for x in av])
        not_tie = bv != half_ulp
        rule = np.array([qz.is_swamped(x, y, p) for x, y in zip(av, bv, strict=True)])
        assert np.array_equal(rule[not_tie], hw[not_tie])
    x = rng.normal(size=1000).astype(np.float32)
    assert np.array_equal(qz.round_to_bfloat16(x),
                          torch.tensor(x).to(torch.bfloat16).float().numpy())


def test_more_mantissa_bits_swamp_less():
    # Quiz 3 Q3b says more mantissa bits do NOT reduce swamping; simulation says they do.
    rng = np.random.default_rng(6)
    a = torch.tensor(rng.uniform(1, 2, 20_000), dtype=torch.float32)
    b = torch.tensor(2.0 ** rng.uniform(-30, 0, 20_000), dtype=torch.float32)
    frac = {d: float(((a.to(d) + b.to(d)) == a.to(d)).float().mean())
            for d in (torch.bfloat16, torch.float16, torch.float32)}
    assert frac[torch.bfloat16] > frac[torch.float16] > frac[torch.float32]
    values = rng.uniform(0, 1, 4000)
    exact = values.sum()
    err = {d: abs(qz.running_sum(values, d) - exact) / exact
           for d in ("bfloat16", "float16", "float32")}
    assert err["bfloat16"] > err["float16"] > err["float32"]
    # similar exponents reduce swamping (Quiz 3 Q3a): 1 + 0.9 is never swamped
    assert not qz.is_swamped(1.0, 0.9, 8)


@pytest.mark.parametrize("x", [1.0, 0.15625, -3.75, 1e-3, 6.5e4, -123.456])
def test_fp_decomposition_matches_frexp_and_bits(x):
    sign, e, m = qz.fp_decompose(x)
    frac, exp = np.frexp(x)  # x = frac · 2^exp, |frac| ∈ [0.5, 1)
    assert e - 127 == exp - 1 and m == pytest.approx(2 * abs(frac) - 1)
    bits = struct.unpack(">I", struct.pack(">f", x))[0]
    assert sign == bits >> 31 and e == (bits >> 23) & 0xFF
    assert m == pytest.approx((bits & 0x7FFFFF) / 2**23, abs=2**-23)


def test_ste_gradient_is_identity():
    w = torch.tensor([0.12, -0.49, 0.77, 1.31], requires_grad=True)
    out = qz.ste_quantize(w, 0.25)
    assert torch.allclose(out, torch.tensor([0.0, -0.5, 0.75, 1.25]))
    (out * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert torch.equal(w.grad, torch.tensor([1.0, 2.0, 3.0, 4.0]))  # ∂W'/∂W = 1
    plain = w.detach().clone().requires_grad_(True)
    ((plain / 0.25).round() * 0.25).sum().backward()
    assert torch.count_nonzero(plain.grad) == 0  # without STE the staircase kills the gradient
