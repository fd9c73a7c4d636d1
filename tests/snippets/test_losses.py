"""snippets/losses.py against torch's losses and independent loop implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deckforge_snippets import losses as L

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _t(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def test_softmax_matches_torch():
    z = np.random.default_rng(0).normal(size=(4, 7)) * 10
    np.testing.assert_allclose(L.softmax(z), torch.softmax(_t(z), -1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(L.log_softmax(z), F.log_softmax(_t(z), -1).numpy(), rtol=1e-12, atol=1e-15)  # log-softmax near 0: 2e-16 absolute rounding
    assert np.isfinite(L.softmax(np.array([1e4, 0.0]))).all()


def test_cross_entropy_matches_torch():
    rng = np.random.default_rng(1)
    logits, y = rng.normal(size=(6, 5)), rng.integers(0, 5, size=6)
    assert L.cross_entropy(logits, y) == pytest.approx(F.cross_entropy(_t(logits), _t(y)).item())
    p = L.softmax(rng.normal(size=(6, 5)))
    assert L.soft_cross_entropy(p, logits) == pytest.approx(F.cross_entropy(_t(logits), _t(p)).item())


def test_kl_matches_torch_and_is_zero_only_at_equality():
    rng = np.random.default_rng(2)
    p, q = L.softmax(rng.normal(size=8)), L.softmax(rng.normal(size=8))
    ref = F.kl_div(_t(np.log(q)), _t(p), reduction="sum").item()  # torch: input=log Q, target=P
    assert L.kl_divergence(p, q) == pytest.approx(ref)
    assert L.kl_divergence(p, q) > 0 and L.kl_divergence(p, p) == pytest.approx(0.0)
    assert L.kl_divergence(p, q) != pytest.approx(L.kl_divergence(q, p))  # not symmetric
    # H(P, Q) - H(P)
    assert L.kl_divergence(p, q) == pytest.approx(-(p * np.log(q)).sum() + (p * np.log(p)).sum())


def test_label_smoothing_matches_torch():
    rng = np.random.default_rng(3)
    logits, y = rng.normal(size=(5, 10)), rng.integers(0, 10, size=5)
    ref = F.cross_entropy(_t(logits), _t(y), label_smoothing=0.1).item()
    assert L.label_smoothing_loss(logits, y, 0.1) == pytest.approx(ref)
    assert L.smooth_labels(y, 10, 0.1).sum(axis=1) == pytest.approx(np.ones(5))


def test_next_token_loss_and_perplexity():
    rng = np.random.default_rng(4)
    vocab, t = 11, 9
    logits, tokens = rng.normal(size=(t, vocab)), rng.integers(0, vocab, size=t)
    ref = F.cross_entropy(_t(logits[:-1]), _t(tokens[1:])).item()
    assert L.next_token_loss(logits, tokens) == pytest.approx(ref)
    # Product rule: log p(x_2:T | x_1) is the sum of the per-step log-probabilities.
    logp = sum(math.log(L.softmax(logits[i])[tokens[i + 1]]) for i in range(t - 1))
    assert -logp / (t - 1) == pytest.approx(ref)
    # A uniform model over V tokens has perplexity V.
    assert L.perplexity(L.next_token_loss(np.zeros((t, vocab)), tokens)) == pytest.approx(vocab)


def test_bilm_loss_is_forward_plus_backward_nll():
    rng = np.random.default_rng(5)
    vocab, t = 7, 6
    fwd, bwd, tokens = rng.normal(size=(t, vocab)), rng.normal(size=(t, vocab)), rng.integers(0, vocab, t)
    f = F.cross_entropy(_t(fwd[:-1]), _t(tokens[1:]), reduction="sum")
    b = F.cross_entropy(_t(bwd[1:]), _t(tokens[:-1]), reduction="sum")
    assert L.bilm_loss(fwd, bwd, tokens) == pytest.approx((f + b).item())


def _nt_xent_loop(z, tau):
    """SimCLR Algorithm 1, written out with explicit loops."""
    n2 = len(z)

    def sim(u, v):
        return sum(a * b for a, b in zip(u, v, strict=True)) / (
            math.sqrt(sum(a * a for a in u)) * math.sqrt(sum(b * b for b in v))
        )

    def ell(i, j):
        num = math.exp(sim(z[i], z[j]) / tau)
        den = sum(math.exp(sim(z[i], z[k]) / tau) for k in range(n2) if k != i)
        return -math.log(num / den)

    return sum(ell(2 * k, 2 * k + 1) + ell(2 * k + 1, 2 * k) for k in range(n2 // 2)) / n2


@pytest.mark.parametrize("tau", [0.1, 0.5, 1.0])
def test_nt_xent_matches_loop(tau):
    z = np.random.default_rng(6).normal(size=(8, 5))
    assert L.nt_xent(z, tau) == pytest.approx(_nt_xent_loop(z.tolist(), tau), rel=1e-10)


def test_nt_xent_is_cross_entropy_over_the_batch():
    z = np.random.default_rng(7).normal(size=(6, 4))
    zt = F.normalize(_t(z), dim=1)
    sim = zt @ zt.T / 0.5
    sim.fill_diagonal_(float("-inf"))
    ref = F.cross_entropy(sim, torch.arange(6) ^ 1).item()
    assert L.nt_xent(z, 0.5) == pytest.approx(ref)
    # Two identical views and orthogonal negatives: lower loss than random embeddings.
    aligned = np.repeat(np.eye(3) * 3, 2, axis=0)
    assert L.nt_xent(aligned, 0.5) < L.nt_xent(z, 0.5)


def test_clip_loss_matches_torch_cross_entropy():
    rng = np.random.default_rng(8)
    img, txt = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    v, t = F.normalize(_t(img), dim=-1), F.normalize(_t(txt), dim=-1)
    logits = v @ t.T / 0.07
    labels = torch.arange(5)
    ref = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2
    assert L.clip_loss(img, txt, 0.07) == pytest.approx(ref.item())
    # The one-directional InfoNCE of the notes is only the text->image half.
    one_way = F.cross_entropy(logits.T, labels).item()
    assert L.clip_loss(img, txt, 0.07) != pytest.approx(one_way)


def test_zero_shot_picks_the_most_similar_class():
    rng = np.random.default_rng(9)
    classes = rng.normal(size=(4, 8))
    images = classes[[2, 0, 3]] * 5 + rng.normal(size=(3, 8)) * 0.1
    assert L.zero_shot_predict(images, classes).tolist() == [2, 0, 3]
    ref = F.cosine_similarity(_t(images)[:, None], _t(classes)[None], dim=-1).argmax(-1)
    assert L.zero_shot_predict(images, classes).tolist() == ref.tolist()


def test_dino_loss_matches_torch_soft_cross_entropy():
    rng = np.random.default_rng(10)
    s, t, c = rng.normal(size=(4, 16)), rng.normal(size=(4, 16)), rng.normal(size=16) * 0.1
    p_t = torch.softmax((_t(t) - _t(c)) / 0.04, dim=-1)
    ref = torch.sum(-p_t * F.log_softmax(_t(s) / 0.1, dim=-1), dim=-1).mean().item()
    assert L.dino_loss(s, t, c) == pytest.approx(ref)


def test_ema_teacher_matches_torch_lerp():
    rng = np.random.default_rng(11)
    teacher, student = [rng.normal(size=3), rng.normal(size=(2, 2))], [rng.normal(size=3), rng.normal(size=(2, 2))]
    ours = L.ema_update(teacher, student, 0.9)
    for o, t, s in zip(ours, teacher, student, strict=True):
        np.testing.assert_allclose(o, torch.lerp(_t(t), _t(s), 0.1).numpy())
