"""The exercise checkers accept right answers, reject wrong ones, and say why."""

import math

import pytest
import torch

from gfteach.exercises import check_order, check_stability_limit, check_stability_polynomial, check_stable_step

A = torch.tensor([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]], dtype=torch.float64)
LIMIT = 2 / (2 + math.sqrt(2))


def test_check_stable_step_accepts_just_below_the_limit(capsys):
    assert check_stable_step(A, 0.99 * LIMIT) is True
    out = capsys.readouterr().out
    assert out.startswith("✓") and "0.585786" in out


def test_check_stable_step_rejects_just_above_with_the_growth_factor(capsys):
    assert check_stable_step(A, 1.01 * LIMIT) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ too big by 1%: gradient descent diverges")
    assert f"{abs(1 - 1.01 * LIMIT * (2 + math.sqrt(2))):.4g}" in out  # |1 - eta*lambda_max| = 1.02


def test_check_stable_step_boundary_and_too_small(capsys):
    assert check_stable_step(A, LIMIT) is False
    assert "boundary" in capsys.readouterr().out
    assert check_stable_step(A, 0.5 * LIMIT) is False
    out = capsys.readouterr().out
    assert "too small" in out and "100% larger" in out
    assert check_stable_step(A, 0.96 * LIMIT, tol=0.05) is True
    assert check_stable_step(A, 0.94 * LIMIT, tol=0.05) is False


@pytest.mark.parametrize("bad", [-0.1, 0.0, float("nan"), "big", None])
def test_check_stable_step_rejects_non_answers(bad, capsys):
    assert check_stable_step(A, bad) is False
    assert capsys.readouterr().out.startswith("✗ expected a positive step size")


def test_check_order(capsys):
    assert check_order("midpoint", 2.009) is True
    assert check_order("rk4", 3.5) is False
    assert "too low" in capsys.readouterr().out.splitlines()[-1]
    assert check_order("euler", 1.5) is False
    assert "too high" in capsys.readouterr().out
    assert check_order("heun", float("inf")) is False


def test_check_stability_limit(capsys):
    assert check_stability_limit("heun", 2.0) is True
    assert check_stability_limit("rk4", 2.7853) is True
    assert check_stability_limit("rk4", 2.9) is False
    assert "too large" in capsys.readouterr().out
    assert check_stability_limit("dopri5", 3.0) is False
    assert "too small" in capsys.readouterr().out


def test_check_stability_polynomial_names_the_wrong_coefficient(capsys):
    assert check_stability_polynomial("heun", [1, 1, 0.5]) is True
    assert check_stability_polynomial("heun", [1, 1, 0.5, 0.0]) is True  # trailing zeros are fine
    assert check_stability_polynomial("heun", [1, 1, 1]) is False
    assert "coefficient of z^2 should be 0.5, not 1" in capsys.readouterr().out
    assert check_stability_polynomial("rk4", [1, 1, 0.5, 1 / 6]) is False
    assert "z^4 should be 0.0416667" in capsys.readouterr().out
    assert check_stability_polynomial("euler", "one plus z") is False
