"""The checker contract's pieces: every numeric form is read, junk never raises, rounding is honoured."""

import math
from fractions import Fraction

import numpy as np
import pytest
import sympy
import torch

from gfteach.course.checkers import AnswerError, Feedback, agrees, as_number, as_vector, checker, verdict

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
