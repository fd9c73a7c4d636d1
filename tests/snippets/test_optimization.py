"""Training math against torch autograd and torch.optim."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import optimization as op

torch = pytest.importorskip("torch")


def test_gd_step_matches_torch_sgd():
    rng = np.random.default_rng(0)
    w0, target = rng.normal(size=5), rng.normal(size=5)
    w = torch.tensor(w0, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    loss = ((w - torch.tensor(target)) ** 2).sum()
    loss.backward()
    grad = w.grad.numpy().copy()
    opt.step()
    assert np.allclose(op.gd_step(w0, grad, 0.1), w.detach().numpy())


def test_gd_converges_on_quadratic():
    w = np.array([3.0, -2.0])
    for _ in range(200):
        w = op.gd_step(w, 2 * w, 0.1)  # L = |w|², ∇L = 2w
    assert np.allclose(w, 0.0, atol=1e-12)
    assert np.all(op.gd_step([1.0], [2.0], 0.1) < 1.0)  # minus sign: moves downhill


def grad_of(fn, x: np.ndarray) -> np.ndarray:
    t = torch.tensor(x, requires_grad=True)
    fn(t).sum().backward()
    return t.grad.numpy()


def test_sigmoid_derivative_matches_autograd():
    x = np.linspace(-8, 8, 101)
    assert np.allclose(op.sigmoid_derivative(x), grad_of(torch.sigmoid, x))
    assert op.sigmoid_derivative(0.0) == pytest.approx(0.25)


def test_relu_derivative_matches_autograd():
    x = np.array([-2.0, -1e-9, 0.0, 1e-9, 3.0])
    assert np.array_equal(op.relu_derivative(x), grad_of(torch.relu, x))


def test_chain_rule_matches_autograd():
    x = np.linspace(-2, 2, 41)
    ours = op.chain_rule(np.cos, lambda v: v**3, lambda v: 3 * v**2, x)  # d/dx sin(x³)
    assert np.allclose(ours, grad_of(lambda t: torch.sin(t**3), x))


def test_linear_backward_matches_autograd():
    rng = np.random.default_rng(1)
    w, a, gz = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=(4, 5))
    tw, ta = torch.tensor(w, requires_grad=True), torch.tensor(a, requires_grad=True)
    (tw @ ta).backward(torch.tensor(gz))
    dw, da = op.linear_backward(gz, w, a)
    assert np.allclose(dw, tw.grad.numpy()) and np.allclose(da, ta.grad.numpy())


def test_early_activations_are_kept_longest():
    """Record when autograd stores and frees each layer's saved input in a real MLP."""
    n = 4
    layers = [torch.nn.Linear(3, 3, bias=False) for _ in range(n)]
    clock, events = [0], []

    def pack(t):
        clock[0] += 1
        events.append(("pack", id(t), clock[0]))
        return t

    def unpack(t):
        clock[0] += 1
        events.append(("unpack", id(t), clock[0]))
        return t

    x = torch.randn(2, 3, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        h = x
        inputs = []
        for layer in layers:
            inputs.append(id(h))
            h = layer(h)
    h.sum().backward()
    born = {i: t for kind, i, t in events if kind == "pack" and i in inputs}
    used = {i: t for kind, i, t in events if kind == "unpack" and i in inputs}
    measured = [used[i] - born[i] for i in inputs]
    assert measured == sorted(measured, reverse=True)  # earlier layers live longer
    lifetimes = op.activation_lifetimes(n)
    assert lifetimes == sorted(lifetimes, reverse=True) and lifetimes[-1] == 1
