"""Convolution counts against torch (FlopCounterMode, module parameters, conv2d) and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from deckforge_snippets import convolution as cv

torch = pytest.importorskip("torch")
F = torch.nn.functional


def torch_flops(fn, *args) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_total_flops()


@pytest.mark.parametrize("b,c,m,k,h,stride,pad", [(2, 3, 4, 3, 9, 1, 1), (1, 5, 2, 5, 12, 2, 0),
                                                 (3, 2, 6, 1, 7, 1, 0), (1, 4, 4, 3, 10, 3, 0)])
def test_conv_macs_match_torch_flop_counter(b, c, m, k, h, stride, pad):
    x, w = torch.randn(b, c, h, h), torch.randn(m, c, k, k)
    e = cv.conv_output_size(h, k, stride, pad)
    macs = cv.conv_macs(b, m, c, k, e, e)
    assert torch_flops(F.conv2d, x, w, None, stride, pad) == 2 * macs  # torch counts mul + add


def test_conv_macs_match_brute_force_loop():
    b, c, m, k, h = 1, 2, 3, 3, 5
    x, w = np.random.default_rng(0).normal(size=(b, c, h, h)), np.ones((m, c, k, k))
    e = cv.conv_output_size(h, k)
    count, out = 0, np.zeros((b, m, e, e))
    for n, f, i, j, ch, di, dj in itertools.product(range(b), range(m), range(e), range(e),
                                                    range(c), range(k), range(k)):
        out[n, f, i, j] += w[f, ch, di, dj] * x[n, ch, i + di, j + dj]
        count += 1
    assert count == cv.conv_macs(b, m, c, k, e, e)
    assert np.allclose(out, F.conv2d(torch.tensor(x), torch.tensor(w)).numpy())


def test_conv_storage_counts_weight_input_output():
    b, c, m, k, h = 2, 3, 8, 3, 16
    x, w = torch.randn(b, c, h, h), torch.randn(m, c, k, k)
    y = F.conv2d(x, w, padding=1)
    e, f = y.shape[-2:]
    bits = 8 * 4 * (x.numel() + w.numel() + y.numel())  # float32 tensors, 8 bits per byte
    assert cv.conv_storage_bits(b, m, c, k, h, h, e, f) == bits


@pytest.mark.parametrize("h,k,s,p,d", [(32, 3, 1, 1, 1), (32, 3, 2, 1, 1), (31, 5, 3, 2, 1),
                                       (17, 3, 2, 0, 2), (7, 7, 1, 0, 1)])
def test_output_size_matches_torch(h, k, s, p, d):
    y = F.conv2d(torch.zeros(1, 1, h, h), torch.zeros(1, 1, k, k), stride=s, padding=p,
                 dilation=d)
    assert y.shape[-1] == cv.conv_output_size(h, k, s, p, d)


def test_stride_ops_ratio():
    # Quiz 1 Q2a/b: a 3×3 conv over a large h×w input, stride 3 → 2. Measured with torch:
    h = w = 3001
    ratio = cv.stride_ops_ratio(h, w, 3, 3, 2)
    x, wt = torch.zeros(1, 1, h, w), torch.zeros(1, 1, 3, 3)
    measured = torch_flops(F.conv2d, x, wt, None, 2) / torch_flops(F.conv2d, x, wt, None, 3)
    assert ratio == pytest.approx(measured)
    assert ratio == pytest.approx(2.25, rel=1e-3)  # (3/2)² — neither exactly 2× nor 1.5×
    assert cv.conv_output_size(h, 3, 2) / cv.conv_output_size(h, 3, 3) == pytest.approx(1.5, rel=1e-3)  # 1-D: 3/2


@pytest.mark.parametrize("c,m,g", [(4, 8, 2), (6, 6, 3), (8, 4, 4)])
def test_group_conv_counts_match_torch(c, m, g):
    conv = torch.nn.Conv2d(c, m, 3, padding=1, groups=g, bias=False)
    x = torch.randn(1, c, 10, 10)
    assert sum(p.numel() for p in conv.parameters()) == cv.group_conv_params(c, m, 3, g)
    with torch.no_grad():
        flops = torch_flops(conv, x)
    assert flops == 2 * cv.group_conv_macs(10, 10, 3, c, m, g)
    assert cv.group_conv_macs(10, 10, 3, c, m, g) * g == cv.conv_macs(1, m, c, 3, 10, 10)


@pytest.mark.parametrize("b,c,m,k,h,s,p", [(2, 3, 4, 3, 8, 1, 1), (1, 2, 5, 5, 11, 2, 2),
                                           (1, 4, 3, 1, 6, 1, 0)])
def test_im2col_matmul_equals_conv2d(b, c, m, k, h, s, p):
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(b, c, h, h)), rng.normal(size=(m, c, k, k))
    ours = cv.conv2d_im2col(x, w, s, p)
    ref = F.conv2d(torch.tensor(x), torch.tensor(w), stride=s, padding=p).numpy()
    assert np.allclose(ours, ref)
    unfold = F.unfold(torch.tensor(x), k, stride=s, padding=p).numpy()  # torch's own im2col
    assert np.allclose(cv.im2col(x, k, s, p), unfold)


def dsc_modules(c: int, m: int, k: int):
    depthwise = torch.nn.Conv2d(c, c, k, padding=k // 2, groups=c, bias=False)
    pointwise = torch.nn.Conv2d(c, m, 1, bias=False)
    return depthwise, pointwise


@pytest.mark.parametrize("c,m,k", [(3, 16, 3), (32, 64, 3), (16, 8, 5)])
def test_dsc_params_match_torch_modules(c, m, k):
    depthwise, pointwise = dsc_modules(c, m, k)
    standard = torch.nn.Conv2d(c, m, k, bias=False)
    n_dsc = sum(p.numel() for mod in (depthwise, pointwise) for p in mod.parameters())
    n_std = sum(p.numel() for p in standard.parameters())
    assert cv.dsc_params(c, m, k) == n_dsc
    assert cv.standard_conv_params(c, m, k) == n_std
    assert cv.dsc_ratio(m, k) == pytest.approx(n_dsc / n_std)
    assert cv.dsc_savings(c, m, k)["fraction"] == pytest.approx(1 - n_dsc / n_std)


def test_dsc_macs_match_torch_flop_counter():
    c, m, k, h = 8, 16, 3, 12
    depthwise, pointwise = dsc_modules(c, m, k)
    x = torch.randn(2, c, h, h)
    with torch.no_grad():
        flops = torch_flops(lambda t: pointwise(depthwise(t)), x)
    assert flops == 2 * cv.dsc_macs(c, m, k, h, h, batch=2)


def test_dsc_storage_counts_tensors():
    c, m, k, h = 4, 6, 3, 10
    depthwise, pointwise = dsc_modules(c, m, k)
    x = torch.randn(1, c, h, h)
    mid = depthwise(x)
    y = pointwise(mid)
    elements = x.numel() + depthwise.weight.numel() + mid.numel() + pointwise.weight.numel() \
        + y.numel()
    assert cv.dsc_storage_bits(c, m, k, h, h, h, h) == 32 * elements


def test_dsc_savings_trends():
    """Quiz 4 Q2 (N k×k×M filters): saving vs input channels, number of filters, kernel size."""
    base = cv.dsc_savings(channels=32, filters=64, kernel=3)
    more_channels = cv.dsc_savings(channels=256, filters=64, kernel=3)
    more_filters = cv.dsc_savings(channels=32, filters=512, kernel=3)
    bigger_kernel = cv.dsc_savings(channels=32, filters=64, kernel=7)
    # the fraction saved does not depend on the input channels (they cancel) ...
    assert more_channels["fraction"] == pytest.approx(base["fraction"])
    assert more_channels["absolute"] > base["absolute"]  # ... the absolute count grows with them
    assert more_filters["fraction"] > base["fraction"]  # more filters N ⇒ larger saving
    assert more_filters["absolute"] > base["absolute"]
    assert bigger_kernel["fraction"] > base["fraction"]  # larger k ⇒ larger saving
    assert base["fraction"] == pytest.approx(1 - 1 / 64 - 1 / 9)
