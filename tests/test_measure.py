"""Numerical truths about gfteach.measure: slopes of exact power laws, integrals of piecewise-linear curves."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import cumulative_trapezoid as scipy_cumulative_trapezoid

from gfteach import ODESolution, odeint
from gfteach.measure import cumulative_trapezoid, integral_at, loglog_slope

f64 = torch.float64


@settings(max_examples=30, deadline=None)
@given(
    p=st.floats(-4, 4),
    c=st.floats(-3, 3),
    xs=st.lists(st.floats(1e-3, 1e3), min_size=2, max_size=8, unique=True),
)
def test_slope_of_an_exact_power_law(p, c, xs):
    x = np.array(xs)
    if np.ptp(np.log(x)) < 1e-3:
        return
    assert loglog_slope(x, np.exp(c) * x**p) == pytest.approx(p, abs=1e-9)


def test_slope_measures_the_order_of_euler_and_rk4():
    # y' = -y from 1: global error at t = 1 is O(h) for Euler and O(h^4) for RK4
    steps = [0.1, 0.05, 0.025, 0.0125]
    for method, order in (("euler", 1), ("rk4", 4)):
        errors = []
        for h in steps:
            sol: ODESolution = odeint(lambda t, y: -y, torch.ones(1, dtype=f64), [0.0, 1.0], method, step=h)
            errors.append(abs(float(sol.y[-1, 0]) - np.exp(-1)))
        assert abs(loglog_slope(steps, errors) - order) < 0.1


@settings(max_examples=30, deadline=None)
@given(
    gaps=st.lists(st.floats(0.01, 3.0), min_size=1, max_size=10),
    values=st.lists(st.floats(-5, 5), min_size=11, max_size=11),
    start=st.floats(-10, 10),
)
def test_cumulative_trapezoid_matches_scipy(gaps, values, start):
    t = start + np.concatenate([[0.0], np.cumsum(gaps)])
    v = np.array(values[: len(t)])
    ours = cumulative_trapezoid(t, v)
    np.testing.assert_allclose(ours.numpy(), scipy_cumulative_trapezoid(v, t, initial=0.0), rtol=1e-12, atol=1e-12)
    assert ours.dtype == f64 and ours[0] == 0.0


def test_integrals_of_a_line_are_exact_everywhere():
    # v(s) = 2 s + 1 sampled at uneven times: its interpolant is the line, int_0^a v = a^2 + a
    t = torch.tensor([0.0, 0.3, 1.0, 2.5], dtype=f64)
    v = 2 * t + 1
    at = torch.tensor([0.0, 0.1, 0.3, 0.77, 2.5], dtype=f64)
    torch.testing.assert_close(integral_at(t, v, at), at**2 + at, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(cumulative_trapezoid(t, v), t**2 + t, rtol=1e-14, atol=1e-14)


def test_integral_outside_the_samples_continues_the_end_values():
    t, v = [0.0, 1.0, 2.0], [1.0, 3.0, -1.0]
    total = float(cumulative_trapezoid(t, v)[-1])  # 2 + 1 = 3
    assert total == pytest.approx(3.0)
    assert float(integral_at(t, v, 4.0)) == pytest.approx(total - 1.0 * 2)  # the last value, -1, for 2 more
    assert float(integral_at(t, v, -1.0)) == pytest.approx(-1.0)  # the first value, 1, backwards for 1


@pytest.mark.parametrize("at", [1.5, np.float32(1.5), np.float64(1.5), np.array(1.5), torch.tensor(1.5), 3 / 2])
def test_a_scalar_time_in_any_numeric_form_gives_a_scalar(at):
    out = integral_at([0.0, 1.0, 2.0], [1.0, 1.0, 1.0], at)
    assert out.shape == () and float(out) == pytest.approx(1.5)


def test_a_single_sample_is_a_constant_curve():
    assert float(integral_at([2.0], [3.0], 5.0)) == pytest.approx(9.0)
    assert cumulative_trapezoid([2.0], [3.0]).tolist() == [0.0]
