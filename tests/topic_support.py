"""Helpers for the topic test modules: run a notebook source's cells, make its release, judge messages."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path
from typing import Iterable

from dlcourse.types import CaseResult, Check

#: A solution region as nbgrader marks it in a solution cell.
SOLUTION_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n?", re.S | re.M)
#: What a student-facing message must not contain: long decimals, long integers, printed arrays or tensors.
LEAK = re.compile(r"\d\.\d{4,}|\d{5,}|array\(|tensor\(|\[\s*-?\d")


def exec_cells(sources: Iterable[str], namespace: dict | None = None) -> dict:
    """Run cell sources in ``namespace`` (a new one by default), quietly, and return it."""
    namespace = {} if namespace is None else namespace
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # plt.show() under Agg
        for source in sources:
            exec(compile(source, "<notebook cell>", "exec"), namespace)
    return namespace


def release_source(source: str) -> str:
    """What nbgrader leaves of a solution cell in the student's release."""
    def stub(match: re.Match[str]) -> str:
        indent = match.group(1)
        return f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()\n"

    return SOLUTION_REGION.sub(stub, source)


def with_source(namespace: dict, source: str) -> dict:
    """A copy of ``namespace`` in which ``source`` (a wrong version) is executed."""
    changed = dict(namespace)
    exec(source, changed)
    return changed


def assert_student_safe(cases: Iterable[CaseResult]) -> None:
    """No message may reveal expected values."""
    for case in cases:
        assert not LEAK.search(case.message), f"message may reveal values: {case.message!r}"


def assert_wrong_version_loses_points(check: Check, namespace: dict, source: str, hint: str) -> None:
    """Running ``check`` on ``namespace`` with ``source`` (a plausible mistake) executed in it must lose
    points, name ``hint`` in a failed case's message and reveal no expected values."""
    from dlcourse.checking import InKernelStudent, run_check, score_cases

    cases = run_check(check, InKernelStudent(with_source(namespace, source)))
    assert score_cases(cases) < 1, source
    messages = " | ".join(case.message for case in cases if not case.passed)
    assert hint in messages, messages
    assert_student_safe(cases)


def assert_reference_passes(check: Check, solution: dict, min_cases: int = 3, salt: str | None = None) -> None:
    """The reference ``solution`` passes every case of ``check``; there are at least ``min_cases``
    of them, and no message reveals expected values."""
    from dlcourse.checking import InKernelStudent, run_check

    cases = run_check(check, InKernelStudent(solution), salt=salt)
    failed = [case.message for case in cases if not case.passed]
    assert not failed, failed
    assert len(cases) >= min_cases, "each check should have several cases"
    assert_student_safe(cases)


def assert_missing_function_scores_zero(check: Check, solution: dict, name: str) -> None:
    """Without the student's ``name``, ``check`` gives nothing and every failed case says it is not defined."""
    from dlcourse.checking import InKernelStudent, run_check, score_cases

    namespace = dict(solution)
    del namespace[name]
    cases = run_check(check, InKernelStudent(namespace))
    assert score_cases(cases) == 0
    messages = [case.message for case in cases if not case.passed]
    assert messages and all("not defined" in message for message in messages), messages
    assert_student_safe(cases)


def code_cells(path: Path, *, tests: bool = False) -> list:
    """The code cells of a jupytext notebook source; its public test cells only with ``tests``."""
    import jupytext

    return [cell for cell in jupytext.read(path).cells
            if cell.cell_type == "code" and (tests or cell.metadata.get("nbgrader") != "tests")]


def assert_public_tests_need_the_exercises(path: Path, release: dict) -> None:
    """Every public test cell of ``path`` raises NotImplementedError in the untouched ``release``."""
    import pytest

    cells = [cell for cell in code_cells(path, tests=True) if cell.metadata.get("nbgrader") == "tests"]
    assert cells, f"{path} has no public test cells"
    for cell in cells:
        with pytest.raises(NotImplementedError), contextlib.redirect_stdout(io.StringIO()):
            exec(cell.source, dict(release))
