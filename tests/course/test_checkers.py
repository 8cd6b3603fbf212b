"""The checker contract's pieces: every numeric form is read, junk never raises, rounding is honoured."""

import math
import re
from fractions import Fraction

import numpy as np
import pytest
import sympy
import torch

from gfteach.course.checkers import (
    AnswerError,
    Feedback,
    agrees,
    array_parameter,
    as_array,
    as_number,
    as_vector,
    attempt,
    checker,
    diagnose,
    exp,
    parameters,
    verdict,
)

RIGHT_FORMS = [0.5, 1 / 2, np.float32(0.5), np.float64(0.5), np.array(0.5), np.array([0.5]), torch.tensor(0.5),
               torch.tensor([0.5], dtype=torch.float32), sympy.Rational(1, 2), Fraction(1, 2), [0.5],
               (0.5,)]  # fmt: skip
JUNK = [
    "0.5",
    None,
    True,
    float("nan"),
    math.inf,
    [0.5, 0.5],
    np.zeros(3),
    {"a": 1},
    complex(0.5, 1),
    sympy.Symbol("x"),
]


@pytest.mark.parametrize("value", RIGHT_FORMS, ids=repr)
def test_as_number_reads_every_numeric_form(value):
    assert as_number(value) == 0.5


@pytest.mark.parametrize("value", JUNK, ids=repr)
def test_as_number_names_junk(value):
    with pytest.raises(AnswerError, match="the step"):
        as_number(value, "the step")


def test_as_vector():
    assert as_vector(torch.tensor([1.0, 2.0]), length=2).tolist() == [1.0, 2.0]
    assert as_vector([sympy.Integer(1), np.float32(2)]).tolist() == [1.0, 2.0]
    for junk in ("12", None, 3.0, [1.0, float("nan")]):
        with pytest.raises(AnswerError):
            as_vector(junk)
    with pytest.raises(AnswerError, match="3 entries"):
        as_vector([1, 2], length=3)


def test_agrees_accepts_the_rounded_value_and_nothing_coarser():
    target = 2 - math.sqrt(2)  # 0.585786...
    assert agrees(0.5858, target) and agrees(target, target)
    assert not agrees(0.5857, target) and not agrees(0.586, target)
    assert agrees(0.586, target, digits=3)
    assert agrees(1e-13, 0.0) and not agrees(0.01, 0.0)


def test_verdict_prints_one_line_and_displays_nothing_more(capsys):
    fb = verdict(False, "too large: the iterates oscillate")
    assert capsys.readouterr().out == "✗ too large: the iterates oscillate\n"
    assert isinstance(fb, Feedback) and not fb and fb._ipython_display_() is None


def test_checker_turns_junk_into_a_cross(capsys):
    @checker
    def check_half(value):
        return verdict(as_number(value, "your step") == 0.5, "checked")

    assert not check_half("half")
    assert "your step should be a number" in capsys.readouterr().out
    assert check_half(np.float32(0.5))


def test_as_number_names_an_integer_too_large_for_a_float():
    with pytest.raises(AnswerError, match="too large"):
        as_number(10**400, "the depth")


# -- issue 15: shapes are never flattened, agrees and the parameter helpers are strict -----------------------


@pytest.mark.parametrize(
    "value",
    [[1.0, 2.0, 3.0], (1, 2, 3), np.array([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 3.0], requires_grad=True),
     [torch.tensor(1.0), np.float32(2), sympy.Integer(3)], range(1, 4), torch.tensor([1, 2, 3]),
     torch.tensor([1.0, 2.0, 3.0], dtype=torch.bfloat16), np.array([1, 2, 3], dtype=object)],
    ids=repr,
)  # fmt: skip
def test_as_vector_reads_every_flat_form(value):
    assert as_vector(value, length=3).tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    "value, message",
    [
        (np.zeros((2, 2)), "shape (2, 2)"),  # audit 70: was flattened to 4 numbers
        ([[1.0, 2.0, 3.0]], "shape (1, 3)"),  # audit 88
        (np.array([[1.0], [2.0], [3.0]]), "shape (3, 1)"),  # audit 89
        (torch.ones(3, 1), "shape (3, 1)"),
        ([torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([3.0])], "shape (3, 1)"),
        (np.array(5.0), "flat list"),
        ([[1.0, 2.0], [3.0]], "ragged"),
        (torch.tensor([1.0, 2.0, 3.0]) + 1j, "real number"),  # audit 85: the imaginary part was dropped
        (np.array(["1", "2", "3"]), "should be a number"),  # audit 86: strings were parsed
        (np.array([True, False, True]), "should be a number"),
        ((v for v in [1.0, 2.0, 3.0]), "flat list"),
        ({"a": 1}, "flat list"),
        ([1.0, float("nan"), 3.0], "finite"),
        (torch.empty(3, device="meta"), "should be numbers"),
    ],
    ids=repr,
)
def test_as_vector_names_the_expected_shape_and_never_flattens(value, message):
    with pytest.raises(AnswerError, match=re.escape(message)):
        as_vector(value, "lams", length=3)


def test_as_array_checks_the_whole_shape():
    assert as_array([[1, 2], [3, 4]], shape=(2, 2)).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert as_array(torch.eye(2, dtype=torch.float32), shape=(None, 2)).shape == (2, 2)
    junks = [(np.zeros((2, 3)), "shape (2, 2), got (2, 3)"), (np.zeros(4), "shape (2, 2)"),
             (torch.eye(2) * 1j, "real number"), (np.full((2, 2), "0.5"), "should be a number")]  # fmt: skip
    for junk, message in junks:
        with pytest.raises(AnswerError, match=re.escape(message)):
            as_array(junk, "the product", shape=(2, 2))


@pytest.mark.parametrize(
    "x, target, error, name",
    [
        (1.0, float("nan"), ValueError, "target"),  # audit 71
        (1.0, float("inf"), ValueError, "target"),  # audit 72
        ("1", 1.0, TypeError, "x"),  # audit 73
        (float("nan"), 1.0, ValueError, "x"),
        (1.0, None, TypeError, "target"),
        (True, 1.0, TypeError, "x"),
    ],
)
def test_agrees_refuses_what_is_not_a_finite_real_number(x, target, error, name):
    with pytest.raises(error, match=rf"^{name} must"):
        agrees(x, target)


def test_agrees_reads_numpy_and_torch_scalars():
    assert agrees(np.float32(0.5858), torch.tensor(2 - math.sqrt(2))) and agrees(np.int64(2), 2.0)


def test_diagnose_skips_values_that_overflowed():
    slips = [(math.inf, "overflowed"), (math.nan, "undefined"), (2.0, "doubled"), (2.0, "second")]
    assert diagnose(2.0, slips) == "doubled" and diagnose(3.0, slips) is None
    assert diagnose(math.inf * 0 + 1.0, [(math.inf, "x")]) is None


def test_attempt_and_exp_leave_the_float_range_without_raising():
    assert math.isnan(attempt(lambda: 2.0**5000)) and math.isnan(attempt(math.sqrt, -1.0))
    assert attempt(math.sqrt, 4.0) == 2.0
    assert exp(1.0) == math.exp(1.0) and exp(1000.0) == math.inf


def test_parameters_name_the_bad_one():
    assert parameters(a=np.float32(0.5), b=torch.tensor(2), c=3) == [0.5, 2.0, 3.0]
    for values, error, name in [
        ({"lam": None}, TypeError, "lam"),
        ({"lam": "2"}, TypeError, "lam"),
        ({"lam": True}, TypeError, "lam"),
        ({"lam": float("nan")}, ValueError, "lam"),
        ({"lam": 1.0, "eta": 0.0}, ValueError, "eta"),
    ]:
        with pytest.raises(error, match=rf"^{name} must"):
            parameters(**values, positive=["eta"])
    assert parameters(t=-1.0, positive="eta") == [-1.0]  # a name, not the letters of a name


def test_array_parameter_reads_arrays_and_names_junk():
    for value in (
        [[2.0, 1.0], [1.0, 2.0]],
        np.eye(2),
        torch.eye(2, dtype=torch.float32),
        torch.eye(2, dtype=torch.int64),
    ):
        A = array_parameter("A", value)
        assert A.dtype == torch.float64 and A.shape == (2, 2)
    for junk, error in [(None, TypeError), ("A", TypeError), ([[1, 2], [3]], TypeError), (torch.eye(2) * 1j, TypeError),
                        (torch.eye(2, dtype=torch.bool), TypeError), ([[1.0, float("nan")]], ValueError)]:  # fmt: skip
        with pytest.raises(error, match="^A must"):
            array_parameter("A", junk)
