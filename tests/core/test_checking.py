"""The data-only boundary and the in-kernel check runner."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlcourse.checking import (
    InKernelStudent, StudentError, compare_array, rel_error, run_check, run_hidden_checks, score_cases, to_plain,
)
from dlcourse.types import CaseResult, Check


class Sneaky(np.ndarray):
    def __eq__(self, other):  # an array that claims to equal anything
        return True


def test_to_plain_keeps_data_and_refuses_behaviour():
    plain = to_plain({"a": np.arange(3.0), "b": (1, 2.5, "x"), "t": torch.ones(2, dtype=torch.float64),
                      "s": torch.zeros(2, 3).shape, "p": torch.nn.Parameter(torch.ones(1))})
    assert type(plain["a"]) is np.ndarray and plain["b"] == (1, 2.5, "x") and plain["s"] == (2, 3)
    assert type(plain["t"]) is np.ndarray and plain["t"].dtype == np.float64
    with pytest.raises(StudentError, match="object of type function"):
        to_plain(lambda: 1)
    with pytest.raises(StudentError, match="dtype object"):
        to_plain(np.array([object()]))


class _Yes(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class _Empty(list):
    def __len__(self):
        return 0


@pytest.mark.parametrize("value, kind", [
    (np.arange(3.0).view(Sneaky), "a subclass of ndarray"),
    (torch.ones(2).as_subclass(type("Odd", (torch.Tensor,), {})), "a subclass of Tensor"),
    (_Yes(1), "a subclass of int"),
    ([1, _Empty([2])], "a subclass of list"),
    ({"k": type("Always", (), {"__eq__": lambda self, other: True, "__hash__": object.__hash__})()},
     "object of type Always"),
    ({_Yes(1): 2}, "key of type _Yes"),
])
def test_to_plain_refuses_subclasses_and_custom_objects_anywhere(value, kind):
    with pytest.raises(StudentError, match=kind):
        to_plain(value)


def test_in_kernel_student_reports_student_errors_safely():
    def broken(x):
        raise ValueError("shapes do not match")

    def unfinished(x):
        raise NotImplementedError()

    student = InKernelStudent({"broken": broken, "unfinished": unfinished, "value": 3})
    with pytest.raises(StudentError, match="`missing` is not defined"):
        student.call("missing", 1)
    with pytest.raises(StudentError, match="`value` is not defined as a function"):
        student.call("value")
    with pytest.raises(StudentError, match="raised ValueError: shapes do not match"):
        student.call("broken", 1)
    with pytest.raises(StudentError, match="not implemented yet"):
        student.call("unfinished", 1)


def test_errors_name_the_notebook_function_that_failed():
    namespace: dict = {}
    code = ("def helper(x):\n    raise NotImplementedError()\n"
            "def outer(x):\n    return helper(x)\n"
            "def shaky(x):\n    return {}['missing']\n"
            "def mlp_forward(params, X):\n    raise NotImplementedError()\n"
            "class Adam:\n    def step(self):\n        raise NotImplementedError()\n"
            "def take_step():\n    Adam().step()\n")
    exec(compile(code, "/tmp/ipykernel_4242/123456.py", "exec"), namespace)  # as ipykernel names cells
    student = InKernelStudent(namespace)
    with pytest.raises(StudentError, match="^`helper` is not implemented yet$"):
        student.call("outer", 1)
    with pytest.raises(StudentError, match="^`mlp_forward` is not implemented yet$"):  # not the driver's name
        student.run("dlcourse_perceptron.drivers:mlp_forward_probs", {}, np.ones((2, 2)))
    with pytest.raises(StudentError, match="^`Adam.step` is not implemented yet$"):
        student.call("take_step")
    with pytest.raises(StudentError, match="^`shaky` raised KeyError"):
        student.call("shaky", 1)


def test_student_cannot_change_the_checks_inputs():
    def mutate(x):
        x[:] = 0
        return x

    x = np.ones(3)
    InKernelStudent({"mutate": mutate}).call("mutate", x)
    assert np.all(x == 1)


def test_run_check_turns_errors_into_failed_cases():
    def check_raises(student, rng):
        raise RuntimeError("bug in the check")
        yield  # pragma: no cover

    def check_student(student, rng):
        yield CaseResult(student.call("f") == 1, "f() should be 1")

    student = InKernelStudent({})
    cases = run_check(Check("t.bug", "t", "bug", check_raises), student)
    assert not cases[0].passed and "could not be checked" in cases[0].message
    assert "bug in the check" not in cases[0].message
    cases = run_check(Check("t.f", "t", "f", check_student), student)
    assert not cases[0].passed and "`f` is not defined" in cases[0].message


def test_score_cases_weights():
    cases = [CaseResult(True, "a", 1.0), CaseResult(False, "b", 3.0)]
    assert score_cases(cases) == 0.25
    assert score_cases([]) == 0.0


def test_compare_array_messages_name_shapes_not_values():
    expected = np.array([[1.2345678, 2.0]])
    wrong = compare_array("f", np.array([[9.0, 9.0]]), expected, hint="sign?")
    assert not wrong.passed and "sign?" in wrong.message and "1.23" not in wrong.message
    assert "shape (2,)" in compare_array("f", np.zeros(2), expected).message
    assert compare_array("f", expected.copy(), expected).passed
    assert "NaN" in compare_array("f", np.array([[np.nan, 1]]), expected).message


def test_rel_error_is_the_usual_measure():
    assert rel_error([1.0], [1.0]) == 0.0
    assert rel_error([1.0], [3.0]) == pytest.approx(0.5)


def test_run_hidden_checks_gives_partial_credit(toy_env, capsys):
    namespace = {"double": lambda x: 2 * np.asarray(x), "relu": lambda x: np.asarray(x)}
    assert run_hidden_checks(["toy.double"], namespace, points=2.0) == 2.0
    earned = run_hidden_checks(["toy.relu"], namespace, points=3.0)
    assert 0 <= earned < 3.0
    out = capsys.readouterr()
    assert "relu" in out.out and out.err == ""
    assert run_hidden_checks(["toy.unknown"], namespace, points=1.0) == 0.0


def test_a_check_bug_goes_to_the_instructor_log_and_the_logger_not_to_the_student(caplog):
    def check_raises(student, rng):
        yield CaseResult(True, "first case")
        raise KeyError("oracle_table")

    kept: list[str] = []
    with caplog.at_level("ERROR", logger="dlcourse.checks"):
        cases = run_check(Check("t.bug", "t", "bug", check_raises), InKernelStudent({}), instructor_log=kept)
    assert [case.message for case in cases] == ["bug: could not be checked (KeyError)"]
    assert len(kept) == 1 and "Traceback" in kept[0] and "oracle_table" in kept[0] and "check_raises" in kept[0]
    assert "t.bug" in caplog.text and "oracle_table" in caplog.text


def test_compare_array_gives_its_hint_for_shape_and_nan_too():
    expected = np.ones((2, 3))
    for got in (np.ones(3), np.full((2, 3), np.inf), np.full((2, 3), np.nan), np.zeros((2, 3))):
        result = compare_array("softmax", got, expected, hint="subtract the maximum first")
        assert not result.passed and result.message.endswith("(subtract the maximum first)"), result.message
