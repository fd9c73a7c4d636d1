"""snippets/scaling_laws.py: the closed-form optimum vs brute force, power-law behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from deckforge_snippets import scaling_laws as S


@pytest.mark.parametrize("c", [1e20, 1e22, 5.76e23, 1e25])
def test_closed_form_optimum_matches_grid_search(c):
    n_grid = np.logspace(6, 14, 400_001)
    losses = S.chinchilla_loss(n_grid, c / (6 * n_grid))
    n_best = n_grid[np.argmin(losses)]
    n_opt, d_opt = S.chinchilla_optimum(c)
    assert n_opt == pytest.approx(n_best, rel=1e-3)
    assert 6 * n_opt * d_opt == pytest.approx(c)
    assert S.chinchilla_loss(n_opt, d_opt) <= losses.min() + 1e-12
    # Both grow close to sqrt(C): exponents 0.28/0.62 and 0.34/0.62.
    n2, d2 = S.chinchilla_optimum(100 * c)
    assert n2 / n_opt == pytest.approx(100 ** (0.28 / 0.62))
    assert d2 / d_opt == pytest.approx(100 ** (0.34 / 0.62))


def test_twenty_tokens_per_parameter_rule():
    # Chinchilla itself: 70B parameters on 1.4T tokens.
    n, d = S.twenty_tokens_rule(6 * 70e9 * 1.4e12)
    assert n == pytest.approx(70e9) and d == pytest.approx(1.4e12)
    assert d / n == pytest.approx(20.0)


def test_kaplan_power_laws_are_straight_lines_in_log_log():
    for which in ("N", "D", "C"):
        x = np.logspace(3, 12, 50)
        slope, _ = np.polyfit(np.log(x), np.log(S.kaplan_loss(x, which)), 1)
        assert slope == pytest.approx(-S.KAPLAN[which][1])
    # 10x more parameters: loss times 10^-0.076, about 16% lower.
    assert S.kaplan_loss(1e10) / S.kaplan_loss(1e9) == pytest.approx(10**-0.076)
