"""snippets/lr_schedule.py against the branch algebra and torch's schedulers."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import lr_schedule as S

torch = pytest.importorskip("torch")


def test_peak_is_at_warmup_where_the_branches_meet():
    d, w = 512, 4000
    steps = np.arange(1, 40001)
    lr = S.transformer_lrate(steps, d, w)
    assert steps[np.argmax(lr)] == w
    assert lr.max() == pytest.approx(S.peak_lrate(d, w))
    # The two branches are equal exactly at warmup.
    assert w**-0.5 == pytest.approx(w * w**-1.5)
    # Linear before warmup, inverse square root after.
    assert lr[999] / lr[499] == pytest.approx(2.0)
    assert lr[4 * w - 1] / lr[w - 1] == pytest.approx(0.5)
    assert S.peak_lrate(512, 4000) == pytest.approx(6.988e-4, rel=1e-3)


def test_matches_torch_lambdalr():
    d, w = 256, 100
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: d**-0.5 * min((s + 1) ** -0.5, (s + 1) * w**-1.5)
    )
    seen = []
    for _ in range(300):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(seen, S.transformer_lrate(np.arange(1, 301), d, w), rtol=1e-12)


def test_multistep_matches_torch():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[30, 80], gamma=0.1)
    for step in range(100):
        assert opt.param_groups[0]["lr"] == pytest.approx(S.multistep_lr(step, 0.1, [30, 80]))
        opt.step()
        sched.step()
