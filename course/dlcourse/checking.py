"""What hidden checks see of a student, and how a grade cell runs them.

A check never touches the student's objects directly: it asks a
:class:`Student` to call a function (or run a driver) with challenge inputs
and gets back *plain data* (numbers, strings, NumPy arrays, lists, tuples and
dicts of those, each of exactly its type: see :func:`to_plain`), so the same check runs unchanged in the kernel (stock
nbgrader) or across a sandbox boundary (``dlcourse grade``).
"""

from __future__ import annotations

import collections
import contextlib
import copy
import hashlib
import importlib
import io
import logging
import os
import sys
import traceback
import warnings
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

import numpy as np

from dlcourse.plain_data import refusal
from dlcourse.types import CaseResult, Check

SEED_ENV = "DLCOURSE_GRADING_SEED"

#: Types that cross the student/grader boundary unchanged.
_SCALARS = (bool, int, float, complex, str, type(None))


class StudentError(Exception):
    """The student's code failed or returned something unusable.

    The message is student-safe: it says what went wrong in the student's
    code, never what the check expected.
    """


class Student(Protocol):
    """The student's notebook, as a hidden check may use it."""

    def has(self, name: str) -> bool:
        """Whether the notebook defines ``name``."""

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the student's ``name(*args, **kwargs)``; return plain data."""

    def run(self, driver: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``driver`` ("module:function", student-safe code shipped with
        the topic) as ``function(namespace, *args, **kwargs)``; return plain data."""


def to_plain(value: Any, *, _depth: int = 0) -> Any:
    """Convert ``value`` to plain data, or raise :class:`StudentError`.

    The same rule as the sandbox's channel: numbers, strings, ``None``,
    NumPy arrays of numeric or bool dtype, tensors, and lists, tuples and
    dicts of those, each of exactly its type. A subclass (of ``int``,
    ``list``, ``ndarray``, ``Tensor``...) or any other object could answer
    ``==``, ``bool()``, ``len()`` or ``in`` as it likes, so it is refused,
    and arrays come back as fresh copies: nothing the student defined rides
    into the check.
    """
    if _depth > 20:
        raise StudentError("returned a structure nested too deeply")
    kind = type(value)
    if value is None or kind in _SCALARS:
        return value
    if kind in _numpy_scalar_types():
        return value.item()
    if _is_tensor(value):
        value = value.detach().cpu().numpy()
        kind = type(value)
    if kind is np.ndarray:
        if value.dtype.kind not in "biufc":
            raise StudentError(f"returned an array of dtype {value.dtype}; expected numbers")
        return np.array(value, subok=False, copy=True)
    if kind is list or kind is tuple or _is_torch_size(value):
        items = [to_plain(item, _depth=_depth + 1) for item in (list.__iter__(value) if kind is list
                                                                 else tuple.__iter__(value))]
        return items if kind is list else tuple(items)
    if kind is dict or kind is collections.OrderedDict:
        return {_plain_key(k): to_plain(v, _depth=_depth + 1) for k, v in dict.items(value)}
    raise StudentError(f"returned {refusal(value)}")


def _plain_key(key: Any) -> str:
    if type(key) not in (str, int):  # str() of a student object runs its code
        raise StudentError(f"returned a dict with a key of type {type(key).__name__}; use strings")
    return str(key)


def _numpy_scalar_types() -> frozenset[type]:
    """NumPy's own scalar types (``np.float64``, ``np.bool_``, ...), not subclasses of them."""
    return frozenset(t for t in np.sctypeDict.values() if t.__module__ == "numpy")


def _is_tensor(value: Any) -> bool:
    """Exactly a torch tensor or parameter (torch is only looked at if it is loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and type(value) in (torch.Tensor, torch.nn.Parameter)


def _is_torch_size(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and type(value) is torch.Size


class InKernelStudent:
    """A :class:`Student` over a namespace in the same interpreter.

    Used when plain ``nbgrader autograde`` runs a grade cell: weaker than the
    sandbox (the student could tamper with it) but the same checks.
    """

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self._namespace = namespace

    def has(self, name: str) -> bool:
        return callable(self._namespace.get(name))

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        function = self._namespace.get(name)
        if not callable(function):
            raise StudentError(f"`{name}` is not defined as a function in your notebook")
        return self._guarded(name, function, *args, **kwargs)

    def run(self, driver: str, *args: Any, **kwargs: Any) -> Any:
        module_name, _, function_name = driver.partition(":")
        function = getattr(importlib.import_module(module_name), function_name)
        return self._guarded(function_name, function, *args, namespace=self._namespace, **kwargs)

    def _guarded(self, label: str, function: Callable[..., Any], *args: Any,
                 namespace: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        args, kwargs = copy.deepcopy((args, kwargs))  # the check keeps its own inputs
        if namespace is not None:  # a driver gets the live namespace (modules cannot be copied)
            args = (namespace, *args)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                result = function(*args, **kwargs)
        except NotImplementedError as error:
            raise StudentError(f"`{failing_function(error) or label}` is not implemented yet") from None
        except Exception as error:  # noqa: BLE001 - any student error becomes a message
            raise StudentError(f"`{failing_function(error) or label}` raised {type(error).__name__}: "
                               f"{_short(error)}") from None
        return to_plain(result)


def _is_notebook_code(filename: str) -> bool:
    """Whether a frame's file is a notebook cell (ipykernel's per-cell files, IPython's pseudo-files)."""
    return "ipykernel_" in filename or filename.startswith("<ipython-input") or filename.startswith("<cell")


def failing_function(error: BaseException) -> str | None:
    """The innermost function of the notebook's own code where ``error`` was raised, if any.

    Drivers call the student's functions for a check, and a student's function
    may call another: the message names the one that failed.
    """
    codes = [frame.f_code for frame, _ in traceback.walk_tb(error.__traceback__)]
    names = [code_name(code) for code in codes if _is_notebook_code(code.co_filename)]
    names = [name for name in names if not name.startswith("<")]
    return names[-1] if names else None


def code_name(code: Any) -> str:
    """``Class.method`` for methods, the plain name for nested functions."""
    qualified = getattr(code, "co_qualname", code.co_name)
    return code.co_name if "<" in qualified else qualified


def _short(error: BaseException, limit: int = 200) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text[:limit]


def check_rng(check_id: str, salt: int | str | None = None) -> np.random.Generator:
    """The RNG a check draws its challenge inputs from.

    Seeded from the check id and a ``salt`` that the grader derives from the
    assignment and the course secret (:func:`dlcourse_graders.engine.check_salt`;
    in a kernel it comes from ``DLCOURSE_GRADING_SEED``), never from the
    student: every submission of an assignment meets the same inputs, so
    identical notebooks get identical scores, and nobody without the secret
    can know them.
    """
    if salt is None:
        salt = os.environ.get(SEED_ENV, "0")
    digest = hashlib.sha256(f"{check_id}:{salt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


#: Where a bug inside a check is logged, with its traceback (students see only a neutral message).
log = logging.getLogger("dlcourse.checks")
log.addHandler(logging.NullHandler())  # a library: the application decides where logs go (no stderr fallback)


def run_check(check: Check, student: Student, salt: int | str | None = None,
              instructor_log: list[str] | None = None) -> list[CaseResult]:
    """Run one check; a student error or a crash becomes a failed case.

    Never raises: a check bug is reported as a failed case with a neutral
    message; its traceback goes to the ``dlcourse.checks`` logger and, when
    given, to ``instructor_log`` (the grader keeps one per submission).
    """
    try:
        cases = list(check.run(student, check_rng(check.id, salt)))
    except StudentError as error:
        return [CaseResult(False, f"{check.title}: {error}")]
    except Exception as error:  # noqa: BLE001 - a broken check must not crash grading
        detail = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        log.error("hidden check %s raised %s:\n%s", check.id, type(error).__name__, detail)
        if instructor_log is not None:
            instructor_log.append(f"hidden check {check.id} raised an exception (a bug in the check):\n{detail}")
        return [CaseResult(False, f"{check.title}: could not be checked ({type(error).__name__})")]
    return cases or [CaseResult(False, f"{check.title}: no cases ran")]


def score_cases(cases: Sequence[CaseResult]) -> float:
    """Fraction of case weight that passed, in [0, 1]."""
    total = sum(case.weight for case in cases)
    return sum(case.weight for case in cases if case.passed) / total if total > 0 else 0.0


def run_hidden_checks(check_ids: Iterable[str], namespace: Mapping[str, Any], points: float) -> float:
    """Run checks in the kernel and return the points earned (nbgrader partial credit).

    This is what a grade cell's hidden region calls under stock nbgrader.
    Messages go to stdout (student-safe); nothing goes to stderr, since
    nbgrader gives 0 to a grade cell that writes there.
    """
    ids = list(check_ids)
    # In the student's kernel a check's traceback has no instructor to go to, and stderr would zero the cell.
    was_disabled, log.disabled = log.disabled, True
    try:
        return _run_hidden_checks(ids, namespace, points)
    finally:
        log.disabled = was_disabled


def _run_hidden_checks(ids: list[str], namespace: Mapping[str, Any], points: float) -> float:
    from dlcourse.manager import Hooks

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        known: dict[str, Check] = {}
        try:
            hooks = Hooks.load()
            topics = hooks.topics()
        except Exception as error:  # noqa: BLE001 - a broken install is reported, not raised
            print(f"hidden checks could not be loaded ({type(error).__name__}): ask your instructor")
            topics = []
        for topic in topics:  # one topic's broken hidden/ must not cost the others their checks
            try:
                known |= {check.id: check for check in hooks.checks(topic)}
            except Exception as error:  # noqa: BLE001
                if any(check_id.startswith(f"{topic.slug}.") for check_id in ids):
                    print(f"hidden checks of {topic.slug} could not be loaded ({type(error).__name__}): "
                          "ask your instructor")
        student = InKernelStudent(namespace)
        fractions = []
        for check_id in ids:
            check = known.get(check_id)
            if check is None:
                print(f"[hidden check {check_id}] is not installed: ask your instructor")
                fractions.append(0.0)
                continue
            cases = run_check(check, student)
            fractions.append(score_cases(cases))
            print(format_cases(check, cases))
    earned = points * (sum(fractions) / len(fractions) if fractions else 0.0)
    return round(earned, 4)


def format_cases(check: Check, cases: Sequence[CaseResult]) -> str:
    """A short student-facing report of one check."""
    passed = sum(1 for case in cases if case.passed)
    lines = [f"{check.title}: {passed}/{len(cases)} hidden cases passed"]
    lines += [f"  - {case.message}" for case in cases if not case.passed]
    return "\n".join(lines)


# ------------------------------------------------- helpers for check authors


def rel_error(a: Any, b: Any) -> float:
    """``max|a-b| / max(1e-8, |a|+|b|)`` elementwise, the usual gradient-check measure."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))) if a.size else 0.0


def compare_array(
    label: str, got: Any, expected: np.ndarray, *, atol: float = 1e-8, rtol: float = 1e-6, hint: str = ""
) -> CaseResult:
    """Compare ``got`` with ``expected``; the message names shapes, never values.

    ``hint`` (what is probably wrong) follows a wrong shape, NaN/inf or wrong values.
    """
    expected = np.asarray(expected)
    try:
        got_array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return CaseResult(False, f"{label}: returned {type(got).__name__}, expected an array")
    suffix = f" ({hint})" if hint else ""  # the hint helps whatever went wrong, not only the values
    if got_array.shape != expected.shape:
        return CaseResult(False, f"{label}: shape {got_array.shape}, expected {expected.shape}{suffix}")
    if not np.all(np.isfinite(got_array)):
        return CaseResult(False, f"{label}: result contains NaN or inf{suffix}")
    if not np.allclose(got_array, expected, atol=atol, rtol=rtol):
        err = rel_error(got_array, expected)
        return CaseResult(False, f"{label}: wrong values, relative error {err:.1e}{suffix}")
    return CaseResult(True, f"{label}: ok")


# ------------------------------------------------ small helpers for check authors


def case_failed(label: str, error: str, weight: float = 1.0) -> CaseResult:
    """A failed case whose message is ``label: error``."""
    return CaseResult(False, f"{label}: {error}", weight)


def case_verdict(ok: bool, label: str, good: str, bad: str, weight: float = 1.0) -> CaseResult:
    """A case that passes when ``ok``, saying ``good`` or ``bad`` after the label."""
    return CaseResult(bool(ok), f"{label}: {good if ok else bad}", weight)


def case_reweighted(result: CaseResult, weight: float) -> CaseResult:
    """``result`` with another weight."""
    return CaseResult(result.passed, result.message, weight)


def float64_tensor(array: Any, grad: bool = False) -> Any:
    """``array`` as a float64 torch tensor, the precision oracles compare in."""
    import torch

    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64, requires_grad=grad)
