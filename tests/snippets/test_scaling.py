"""Value scaling against an independent torch computation and the quiz examples in the notes."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import scaling as sc

torch = pytest.importorskip("torch")

# cs242-systems-flashcards.txt:62-65, Quiz 1 Q1a–d (all marked "True ✅" in the notes)
QUIZ = {
    "Q1a": ([707, 359, 9], [0.414, -0.282, -0.982]),
    "Q1b": ([192, 835, 763], [-0.416, 0.372, 0.526]),
    "Q1c": ([684, 559, 629], [0.368, 0.138, 0.648]),
    "Q1d": ([723, 277, 754], [0.446, -0.446, 0.508]),
}


def test_scale_matches_torch_and_inverts():
    x = np.random.default_rng(0).uniform(-50, 250, size=1000)
    lo, hi = -50.0, 250.0
    # torch: the same map as an interpolation from [lo, hi] onto [-1, 1]
    ref = torch.lerp(torch.tensor(-1.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64),
                     (torch.tensor(x) - lo) / (hi - lo)).numpy()
    assert np.allclose(sc.scale_to_unit(x, lo, hi), ref)
    assert sc.scale_to_unit([lo, (lo + hi) / 2, hi], lo, hi).tolist() == [-1.0, 0.0, 1.0]
    assert np.allclose(sc.unscale_from_unit(sc.scale_to_unit(x, lo, hi), lo, hi), x)


def test_quiz_examples():
    verdict = {q: all(r["ok"] for r in sc.check_scaling_claim(x, y)) for q, (x, y) in QUIZ.items()}
    assert verdict == {"Q1a": True, "Q1b": False, "Q1c": False, "Q1d": True}
    wrong_b = [r for r in sc.check_scaling_claim(*QUIZ["Q1b"]) if not r["ok"]]
    assert [(r["x"], r["computed"]) for r in wrong_b] == [(192.0, -0.616), (835.0, 0.67)]
    wrong_c = [r for r in sc.check_scaling_claim(*QUIZ["Q1c"]) if not r["ok"]]
    assert [(r["x"], r["computed"]) for r in wrong_c] == [(559.0, 0.118), (629.0, 0.258)]


def test_infer_range_recovers_the_slide_range():
    lo, hi, resid = sc.infer_range(*QUIZ["Q1a"])
    assert (lo, hi) == (pytest.approx(0.0, abs=1e-6), pytest.approx(1000.0))
    assert resid < 1e-9
    # Q1b and Q1c are wrong under ANY range: their three pairs are not on one line
    for q in ("Q1b", "Q1c"):
        assert sc.infer_range(*QUIZ[q])[2] > 0.1
