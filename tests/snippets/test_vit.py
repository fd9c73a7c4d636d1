"""snippets/vit.py: patch embedding == Conv2d(kernel=P, stride=P); token count and widths."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import vit as V

torch = pytest.importorskip("torch")


def test_patch_embedding_equals_strided_conv():
    c, h, w, p, d = 3, 32, 48, 16, 10
    conv = torch.nn.Conv2d(c, d, kernel_size=p, stride=p, bias=False, dtype=torch.float64)
    image = np.random.default_rng(0).normal(size=(c, h, w))
    ref = conv(torch.from_numpy(image)[None]).flatten(2)[0].T.detach().numpy()  # (N, D)
    proj = conv.weight.detach().numpy().reshape(d, c * p * p).T  # (P^2 C, D)
    np.testing.assert_allclose(V.patchify(image, p) @ proj, ref, rtol=1e-10)


def test_token_count_and_cls_width():
    c, h, w, p, d = 3, 224, 224, 16, 8
    rng = np.random.default_rng(1)
    image = rng.normal(size=(c, h, w))
    n = h * w // p**2
    assert n == 196  # 14 x 14 patches: the paper's ViT-B/16 at 224 px
    tokens = V.vit_tokens(image, p, rng.normal(size=(p * p * c, d)), rng.normal(size=d), np.zeros((n + 1, d)))
    assert tokens.shape == (n + 1, d)  # the [class] token has the width of every patch token
