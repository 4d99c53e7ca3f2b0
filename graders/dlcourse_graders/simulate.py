"""A simulated class: submissions whose right grade is known in advance.

Used by ``dlcourse demo`` and the end-to-end tests. Each student is derived
from the assignment's source (solutions) and release notebooks, and carries
the status and score a correct grader must give it.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Callable

import nbformat
from nbformat import NotebookNode

from dlcourse.coursedir import Course

from dlcourse_graders.results import Status

CRASH_CODE = "import os\nos._exit(1)  # the kernel dies here"
LOOP_CODE = "while True:  # never ends\n    pass"


@dataclass(frozen=True)
class SimulatedStudent:
    """A student id, how to make the submission, and the expected outcome.

    ``expected_score`` counts partial credit earned before a crash or timeout.
    """

    student: str
    description: str
    expected_status: Status
    expected_score: float


def _grade_cells(notebook: NotebookNode) -> list[tuple[int, float]]:
    return [(i, float(c.metadata["nbgrader"].get("points", 0))) for i, c in enumerate(notebook.cells)
            if c.metadata.get("nbgrader", {}).get("grade")]


def _solution_cells(notebook: NotebookNode) -> list[int]:
    return [i for i, c in enumerate(notebook.cells)
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]


def _partly_wrong(source: NotebookNode, release: NotebookNode) -> tuple[NotebookNode, float]:
    """The solution with its last answer cell left as released: the tests after it fail."""
    wrong = copy.deepcopy(source)
    last = _solution_cells(source)[-1]
    grade_id = source.cells[last].metadata["nbgrader"]["grade_id"]
    released = next(c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    wrong.cells[last] = copy.deepcopy(released)
    earned = sum(points for index, points in _grade_cells(source) if index < last)
    return wrong, earned


def _with_cell_after_first_test(source: NotebookNode, code: str) -> NotebookNode:
    changed = copy.deepcopy(source)
    first_test = _grade_cells(source)[0][0]
    changed.cells.insert(first_test + 1, nbformat.v4.new_code_cell(code))
    return changed


def simulate_class(course: Course, assignment: str) -> list[SimulatedStudent]:
    """Write five submissions of ``assignment`` into ``COURSE/submitted``.

    perfect (full marks), untouched release (0), partly wrong (the points of
    the tests before its missing answer), a kernel crash and an endless loop
    right after the first grade cell (which keep that cell's points).
    Only the first notebook of a multi-notebook assignment carries the crash.
    """
    students = []
    sources = sorted(course.source_dir(assignment).glob("*.ipynb"))
    makers: dict[str, tuple[str, Callable[[NotebookNode, NotebookNode, bool], tuple[NotebookNode, float]]]] = {
        "perfect": ("the reference solution", lambda s, r, last: (s, _points(s))),
        "untouched": ("the release as handed out", lambda s, r, last: (r, 0.0)),
        "partial": ("last answer left unanswered", lambda s, r, last: _partly_wrong(s, r) if last else (s, _points(s))),
        "crasher": ("kills its kernel after the first test",
                    lambda s, r, last: (_with_cell_after_first_test(s, CRASH_CODE), _first_test_points(s))),
        "looper": ("loops forever after the first test",
                   lambda s, r, last: (_with_cell_after_first_test(s, LOOP_CODE), _first_test_points(s))),
    }
    for student, (description, make) in makers.items():
        expected = 0.0
        folder = course.submitted_dir(student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        for position, path in enumerate(sources):
            source = nbformat.read(path, as_version=4)
            release = nbformat.read(course.release_dir(assignment) / path.name, as_version=4)
            notebook, earned = make(source, release, position == len(sources) - 1)
            if position > 0 and student in ("crasher", "looper"):
                notebook, earned = source, 0.0  # complete, but nothing after the crash runs
            expected += earned
            nbformat.write(notebook, folder / path.name)
        # what nbgrader's exchange writes on submit; release_feedback needs it
        (folder / "timestamp.txt").write_text(
            dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f %Z"), encoding="utf-8")
        status = {"crasher": Status.CRASHED, "looper": Status.TIMED_OUT}.get(student, Status.GRADED)
        students.append(SimulatedStudent(student, description, status, expected))
    return students


def _first_test_points(notebook: NotebookNode) -> float:
    return _grade_cells(notebook)[0][1]


def _points(notebook: NotebookNode) -> float:
    return sum(points for _, points in _grade_cells(notebook))

