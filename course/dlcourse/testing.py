"""The test kit of a topic: what every topic must meet, as plain assertions for pytest.

It ships with dlcourse (no hidden material in it), so a third-party topic's
tests use the same assertions as the built-in topics::

    from dlcourse.testing import assert_topic_contract, assert_wrong_versions

    def test_contract():
        assert_topic_contract("mytopic")

:func:`assert_topic_contract` runs every generic promise on an installed
topic: its hidden checks are found without importing them, the reference
solution earns full marks, the untouched release earns nothing and leaks no
solution, a notebook without the exercises' functions earns nothing, and no
message reveals an expected value. What only the author knows, the wrong
versions of each exercise, goes through :func:`assert_wrong_versions`.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from dlcourse.types import CaseResult, Check, NotebookSource

if TYPE_CHECKING:  # pragma: no cover
    from dlcourse.manager import Hooks

#: A solution region as nbgrader marks it in a solution cell.
SOLUTION_REGION = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION\n?", re.S | re.M)
#: What a student-facing message must not contain: long decimals, long integers, printed arrays or tensors.
LEAK = re.compile(r"\d\.\d{4,}|\d{5,}|array\(|tensor\(|\[\s*-?\d")


# ------------------------------------------------------- notebook sources


def exec_cells(sources: Iterable[str], namespace: dict | None = None, *,
               tolerate: tuple[type[BaseException], ...] = ()) -> dict:
    """Run cell sources in ``namespace`` (a new one by default), quietly, and return it.

    A cell that raises one of ``tolerate`` is left, as Run All goes on after a
    cell tagged ``raises-exception`` (a release's stubs raise NotImplementedError).
    """
    namespace = {} if namespace is None else namespace
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # plt.show() under Agg
        for source in sources:
            try:
                exec(compile(source, "<notebook cell>", "exec"), namespace)
            except tolerate:
                continue
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


def code_cells(path: Path, *, tests: bool = False, skipped: bool = True) -> list:
    """The code cells of a jupytext notebook source; its public test cells only with ``tests``,
    its ``skip_grading`` cells (widgets) unless ``skipped`` is false."""
    import jupytext

    return [cell for cell in jupytext.read(path).cells
            if cell.cell_type == "code" and (tests or cell.metadata.get("nbgrader") != "tests")
            and (skipped or not cell.metadata.get("skip_grading"))]


def solution_namespace(path: Path) -> dict:
    """The namespace of a notebook source's reference solution, run as grading runs it: every code
    cell, public tests included (they may train what a check measures), ``skip_grading`` cells left out."""
    return exec_cells(cell.source for cell in code_cells(path, tests=True, skipped=False))


def release_namespace(path: Path) -> dict:
    """The namespace of the untouched release, run as grading runs it: every solution region replaced by
    nbgrader's stub, and a cell that raises left behind (grading runs with ``allow_errors``)."""
    return exec_cells((release_source(cell.source) for cell in code_cells(path, tests=True, skipped=False)),
                      tolerate=(Exception,))


def without_exercises_namespace(path: Path) -> dict:
    """The namespace of a notebook whose solution cells were never written: every other code cell run
    as grading runs it (a cell that raises left behind), so nothing the exercises would make exists."""
    cells = [cell for cell in code_cells(path, tests=True, skipped=False)
             if cell.metadata.get("nbgrader") != "solution"]
    return exec_cells((cell.source for cell in cells), tolerate=(Exception,))


def defined_functions(path: Path) -> set[str]:
    """The functions and classes that a notebook source's solution cells define (the exercises)."""
    import ast

    import jupytext

    names: set[str] = set()
    for cell in jupytext.read(path).cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader") == "solution":
            names |= {node.name for node in ast.parse(cell.source).body
                      if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return names


# ---------------------------------------------------------- single checks


def _cases(check: Check, namespace: Mapping[str, Any], salt: str | None = None) -> list[CaseResult]:
    from dlcourse.checking import InKernelStudent, run_check

    return run_check(check, InKernelStudent(namespace), salt=salt)


def assert_student_safe(cases: Iterable[CaseResult]) -> None:
    """No message may reveal expected values."""
    for case in cases:
        assert not LEAK.search(case.message), f"message may reveal values: {case.message!r}"


def assert_wrong_version_loses_points(check: Check, namespace: dict, source: str, hint: str) -> None:
    """Running ``check`` on ``namespace`` with ``source`` (a plausible mistake) executed in it must lose
    points, name ``hint`` in a failed case's message and reveal no expected values."""
    from dlcourse.checking import score_cases

    cases = _cases(check, with_source(namespace, source))
    assert score_cases(cases) < 1, f"{check.id}: this wrong version keeps full marks:\n{source}"
    messages = " | ".join(case.message for case in cases if not case.passed)
    assert hint in messages, f"{check.id}: expected the hint {hint!r}, got: {messages}"
    assert_student_safe(cases)


def assert_wrong_versions(checks: Iterable[Check], namespace: dict,
                          wrong: Mapping[str, Sequence[tuple[str, str]]]) -> None:
    """Every check has at least one wrong version in ``wrong`` (``{check id: [(source, hint), ...]}``),
    and each of them loses points with its hint."""
    checks = list(checks)
    without = sorted(check.id for check in checks if not wrong.get(check.id))
    assert not without, f"checks without a wrong version: {without}"
    for check in checks:
        for source, hint in wrong[check.id]:
            assert_wrong_version_loses_points(check, namespace, source, hint)


def assert_reference_passes(check: Check, solution: dict, min_cases: int = 3, salt: str | None = None) -> None:
    """The reference ``solution`` passes every case of ``check``; there are at least ``min_cases``
    of them, and no message reveals expected values."""
    cases = _cases(check, solution, salt=salt)
    failed = [case.message for case in cases if not case.passed]
    assert not failed, f"{check.id}: the reference fails {failed}"
    assert len(cases) >= min_cases, f"{check.id}: each check should have several cases"
    assert_student_safe(cases)


def assert_missing_function_scores_zero(check: Check, solution: dict, name: str) -> None:
    """Without the student's ``name``, ``check`` gives nothing and every failed case says it is not defined."""
    from dlcourse.checking import score_cases

    namespace = dict(solution)
    del namespace[name]
    cases = _cases(check, namespace)
    assert score_cases(cases) == 0, f"{check.id}: gives points without `{name}`"
    messages = [case.message for case in cases if not case.passed]
    assert messages and all("not defined" in message for message in messages), messages
    assert_student_safe(cases)


def assert_public_tests_need_the_exercises(path: Path, release: dict) -> None:
    """Every public test cell of ``path`` raises NotImplementedError in the untouched ``release``."""
    import pytest

    cells = [cell for cell in code_cells(path, tests=True) if cell.metadata.get("nbgrader") == "tests"]
    assert cells, f"{path} has no public test cells"
    for cell in cells:
        with pytest.raises(NotImplementedError), contextlib.redirect_stdout(io.StringIO()):
            exec(cell.source, dict(release))


# ---------------------------------------------------- the topic contract


def assert_check_sources_found_without_import(slug: str) -> list[Path]:
    """The topic answers ``dlcourse_check_sources`` with files under its hidden folder, and
    answering imports none of its check modules (checked in a fresh interpreter; finding a
    module imports its parent packages, so ``hidden/__init__.py`` may run, but nothing below it)."""
    probe = (
        "import json, sys\n"
        "from dlcourse.manager import Hooks\n"
        "hooks = Hooks.load()\n"
        f"paths = [str(p) for p in hooks.pm.hook.dlcourse_check_sources(course=None, topic=hooks.topic({slug!r}))"
        " for p in (p or [])]\n"
        "hidden = sorted(m for m in sys.modules if '.hidden.' in m)\n"
        "print(json.dumps({'paths': paths, 'imported': hidden}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["paths"], f"topic {slug!r} does not answer dlcourse_check_sources"
    assert not found["imported"], f"finding the check sources imported {found['imported']}"
    paths = [Path(p) for p in found["paths"]]
    assert all("hidden" in p.parts and p.is_file() for p in paths), paths
    return paths


def assert_topic_contract(slug: str, hooks: Hooks | None = None, *, min_cases: int = 1) -> None:
    """Every generic promise of an installed topic, on each of its assignment notebooks.

    - its checks are found, without importing them, in its ``hidden/`` folder;
    - its checks load, and every one is named by a grade cell of an assignment;
    - the reference solution passes every case of the checks its notebook names
      (with the ``"0"`` salt and another), with at least ``min_cases`` cases each;
    - the untouched release scores 0 on them, and the built notebook, released,
      keeps no solution line or hidden test;
    - a notebook without its solution cells (no exercise written) scores 0 on them;
    - no message reveals an expected value.
    """
    from dlcourse.manager import Hooks

    hooks = hooks or Hooks.load()
    topic = hooks.topic(slug)
    assert_check_sources_found_without_import(slug)
    checks = {check.id: check for check in hooks.checks(topic)}
    assert checks, f"topic {slug!r} has no hidden checks"
    sources = [s for s in hooks.notebooks(topic) if s.kind == "assignment"]
    assert sources, f"topic {slug!r} registers no assignment notebook"
    named: set[str] = set()
    for source in sources:
        named |= _assert_notebook_contract(source, hooks, checks, min_cases)
    unused = sorted(set(checks) - named)
    assert not unused, f"checks that no grade cell names: {unused}"


def _assert_notebook_contract(source: NotebookSource, hooks: Hooks, checks: Mapping[str, Check],
                              min_cases: int) -> set[str]:
    """The contract on one assignment notebook; returns the ids of the checks it names."""
    import nbformat

    from dlcourse.build import build_notebook, without_hidden_region
    from dlcourse.checking import score_cases
    from dlcourse_graders.validate import find_leaks

    built = build_notebook(source, hooks.topic(source.topic), hooks)
    named = {c for cell in built.cells for c in cell.metadata.get("dlcourse", {}).get("checks", [])}
    mine = [checks[check_id] for check_id in sorted(named)]

    solution = solution_namespace(source.path)
    for check in mine:
        for salt in ("0", "contract"):
            assert_reference_passes(check, solution, min_cases=min_cases, salt=salt)

    release = release_namespace(source.path)
    for check in mine:
        cases = _cases(check, release)
        assert score_cases(cases) == 0, f"{check.id}: the untouched release earns points"
        assert_student_safe(cases)
    released = json.loads(json.dumps(built))  # a copy, then what nbgrader's release leaves of each cell
    for cell in released["cells"]:
        cell["source"] = without_hidden_region(release_source(cell["source"]))
    leaks = find_leaks(built, nbformat.from_dict(released))
    assert not leaks, f"{source.path.name}: the release keeps solution lines: {leaks[:3]}"

    if mine:
        assert defined_functions(source.path), f"{source.path}: no solution cell defines a function"
    missing = without_exercises_namespace(source.path)
    for check in mine:
        cases = _cases(check, missing)
        assert score_cases(cases) == 0, f"{check.id}: earns points without the exercises' functions"
        assert_student_safe(cases)
    return named
