"""Grade nbgrader's own material with stock ``nbgrader autograde`` and with ``dlcourse grade``.

The material ships inside the installed nbgrader package, as a migrating
instructor would find it: the documentation's example course (``ps1``, the
students ``bitdiddle`` and ``hacker``) and the notebooks nbgrader's autograde
tests use (``submitted-*``, hidden tests, autotests), plus one notebook of
ours with the remaining patterns (a cell value as partial credit, output on
stderr, manually graded code and markdown answers, a task cell).

One course holds every assignment. After ``generate_assignment`` it is
copied: stock autograde grades one copy, ``dlcourse grade`` the other, and
the two gradebooks are read back per submission (score, maximum, and the
cells left for manual grading). Run it to print the side-by-side table::

    .venv/bin/python tests/nbgrader_parity.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import nbgrader

from dlcourse.coursedir import Course, init_course
from dlcourse.nbgrader_ops import run_nbgrader, tool_env
from dlcourse_graders.autograde_guard import STOCK_AUTOGRADE
from dlcourse_graders.executors import Executor, LocalExecutor
from dlcourse_graders.grade import grade_assignment
from dlcourse_graders.gradebook import open_gradebook

NBGRADER = Path(nbgrader.__file__).resolve().parent
DOCS = NBGRADER / "docs" / "source" / "user_guide"
FILES = NBGRADER / "tests" / "apps" / "files"

#: assignment -> (source notebook, {student: submitted notebook}) for nbgrader's test notebooks;
#: "release" and "source" stand for the untouched release and the source notebook itself.
TEST_NOTEBOOKS: dict[str, tuple[str, dict[str, str]]] = {
    "changed": ("submitted-unchanged.ipynb", {
        "unchanged": "submitted-unchanged.ipynb", "changed": "submitted-changed.ipynb",
        "cheat": "submitted-cheat-attempt.ipynb", "cheat-alt": "submitted-cheat-attempt-alternative.ipynb",
        "grade-cell-changed": "submitted-grade-cell-changed.ipynb",
        "locked-cell-changed": "submitted-locked-cell-changed.ipynb"}),
    # its solution region is empty and the answers hard-code the visible tests' values
    "hidden": ("test-hidden-tests.ipynb", {"release": "release", "hardcoded": "source"}),
    "autosimple": ("autotest-simple.ipynb", {
        "unchanged": "autotest-simple-unchanged.ipynb", "changed": "autotest-simple-changed.ipynb"}),
    "autohashed": ("autotest-hashed.ipynb", {
        "unchanged": "autotest-hashed-unchanged.ipynb", "changed": "autotest-hashed-changed.ipynb"}),
    "automulti": ("autotest-multi.ipynb", {
        "unchanged": "autotest-multi-unchanged.ipynb", "changed": "autotest-multi-changed.ipynb"}),
    "autohidden": ("autotest-hidden.ipynb", {
        "unchanged": "autotest-hidden-unchanged.ipynb", "wrong": "autotest-hidden-changed-wrong.ipynb",
        "right": "autotest-hidden-changed-right.ipynb"}),
}
#: Submissions that try to cheat; the others are honest and must score exactly as under nbgrader.
ATTEMPTS = {("hidden", "hardcoded"), ("changed", "cheat"), ("changed", "cheat-alt"), ("changed", "grade-cell-changed"),
            ("changed", "locked-cell-changed")}


@dataclass(frozen=True)
class Outcome:
    """One submission's result in one gradebook."""

    score: float | None
    max_score: float
    manual: tuple[str, ...]  # the cells left for manual grading (nbgrader's needs_manual_grade)


def _cell(kind: str, source: str, grade_id: str | None = None, *, grade: bool = False, solution: bool = False,
          locked: bool = False, task: bool = False, points: float | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if grade_id:
        meta = {"grade": grade, "solution": solution, "locked": locked, "task": task, "grade_id": grade_id,
                "schema_version": 3}
        if points is not None:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    return cell


def patterns_notebook() -> nbformat.NotebookNode:
    """Our own plain nbgrader notebook: the classic patterns the test notebooks lack."""
    cells = [
        _cell("code", "import sys\nimport numpy as np", "setup", locked=True),
        _cell("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "double",
              solution=True),
        _cell("code", "assert double(2) == 4\n### BEGIN HIDDEN TESTS\nassert double(5) == 10\n"
                      "### END HIDDEN TESTS", "test_double", grade=True, points=1),
        _cell("code", "# partial credit: the value of this cell\nfloat(sum(double(i) == 2 * i for i in range(4))) / 2",
              "partial_double", grade=True, points=2),
        _cell("code", "if not np.allclose(double(np.arange(3.0)), [0.0, 2.0, 4.0]):\n"
                      "    print('double is wrong on arrays', file=sys.stderr)", "stderr_double", grade=True, points=1),
        _cell("code", "def explain():\n    ### BEGIN SOLUTION\n    return 'doubling'\n    ### END SOLUTION",
              "explain", grade=True, solution=True, points=2),
        _cell("markdown", "Why double?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", "why", grade=True,
              solution=True, points=1),
        _cell("markdown", "Plot `double` on [0, 1] (graded by hand).", "task_plot", locked=True, task=True, points=1),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def _answered(release: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    notebook = copy.deepcopy(release)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


def build_course(root: Path) -> tuple[Course, dict[str, list[str]]]:
    """The course with every assignment released and every submission in place;
    returns it and the students of each assignment."""
    course = init_course(root / "course", "parity")
    shutil.copy(FILES / "autotests.yml", course.root / "autotests.yml")
    students: dict[str, list[str]] = {}
    # the documentation's example course, as it ships
    shutil.copytree(DOCS / "source" / "ps1", course.source_dir("ps1"))
    for student_dir in sorted((DOCS / "submitted").iterdir()):
        shutil.copytree(student_dir / "ps1", course.submitted_dir(student_dir.name, "ps1"))
    students["ps1"] = sorted(p.name for p in (DOCS / "submitted").iterdir())
    for assignment, (source, _) in TEST_NOTEBOOKS.items():
        course.source_dir(assignment).mkdir(parents=True)
        shutil.copy(FILES / source, course.source_dir(assignment) / "p1.ipynb")
    course.source_dir("patterns").mkdir(parents=True)
    nbformat.write(patterns_notebook(), course.source_dir("patterns") / "p1.ipynb")
    run_nbgrader(course, ["generate_assignment", "*", "--force"], timeout=600)  # every assignment at once
    for assignment, (source, submissions) in TEST_NOTEBOOKS.items():
        for student, name in submissions.items():
            folder = course.submitted_dir(student, assignment)
            folder.mkdir(parents=True)
            origin = {"release": course.release_dir(assignment) / "p1.ipynb",
                      "source": course.source_dir(assignment) / "p1.ipynb"}.get(name, FILES / name)
            shutil.copy(origin, folder / "p1.ipynb")
        students[assignment] = sorted(submissions)
    release = nbformat.read(course.release_dir("patterns") / "p1.ipynb", as_version=4)
    submissions = {
        "release": release,
        "solution": nbformat.read(course.source_dir("patterns") / "p1.ipynb", as_version=4),
        "half": _answered(release, {"double": "def double(x):\n    return x * x",
                                    "explain": "def explain():\n    return 'squaring'",
                                    "why": "Because it squares."}),
        "noisy": _answered(release, {"double": "import warnings\ndef double(x):\n"
                                               "    warnings.warn('doubling')\n    return 2 * x"}),
    }
    for student, notebook in submissions.items():
        folder = course.submitted_dir(student, "patterns")
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / "p1.ipynb")
    students["patterns"] = sorted(submissions)
    return course, students


def copy_course(course: Course, target: Path) -> Course:
    """A second copy of the released course (its own gradebook)."""
    shutil.copytree(course.root, target)
    return Course(target)


def stock_autograde(course: Course, assignment: str = "*", check: bool = True) -> str:
    """nbgrader's own autograde, deliberately (the course config refuses it otherwise);
    ``*``: every assignment in one run; ``check=False``: a submission may break it."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force", STOCK_AUTOGRADE],
                          cwd=course.root, env=tool_env(), capture_output=True, text=True, timeout=1800)
    if check and done.returncode != 0:
        raise RuntimeError(f"nbgrader autograde {assignment} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout + done.stderr


def dlcourse_grade(course: Course, assignment: str, executor: Executor | None = None) -> None:
    """What ``dlcourse grade ASSIGNMENT`` runs (its Python API), on ``executor`` if given."""
    grade_assignment(course, assignment, executor=executor)


def outcomes(course: Course, assignment: str, students: list[str]) -> dict[str, Outcome]:
    """Each student's score, maximum and manual cells, read from the course's gradebook."""
    found = {}
    with open_gradebook(course) as gb:
        for student in students:
            submission = gb.find_submission(assignment, student)
            manual = tuple(sorted(f"{nb.name}:{grade.name}" for nb in submission.notebooks for grade in nb.grades
                                  if grade.needs_manual_grade))
            found[student] = Outcome(None if submission.score is None else round(float(submission.score), 4),
                                     float(submission.max_score), manual)
    return found


def compare(root: Path) -> tuple[list[tuple[str, str, Outcome, Outcome]], str]:
    """Build, grade both ways, and return (assignment, student, stock, dlcourse) rows
    and stock nbgrader's log."""
    course, students = build_course(root)
    stock = copy_course(course, root / "stock")
    log = stock_autograde(stock)
    executor = LocalExecutor(2)  # warm workers shared by every assignment
    try:
        for assignment in students:
            dlcourse_grade(course, assignment, executor)
    finally:
        executor.close()
    rows = []
    for assignment, names in students.items():
        ours, theirs = outcomes(course, assignment, names), outcomes(stock, assignment, names)
        rows += [(assignment, name, theirs[name], ours[name]) for name in names]
    return rows, log


def table(rows: list[tuple[str, str, Outcome, Outcome]]) -> str:
    """The side-by-side table (Markdown)."""
    lines = ["| assignment | student | honest | nbgrader | dlcourse | cells left for manual grading (both) |",
             "|---|---|---|---|---|---|"]
    for assignment, student, stock, ours in rows:
        manual = ", ".join(ours.manual) if ours.manual == stock.manual else \
            f"nbgrader: {', '.join(stock.manual)}; dlcourse: {', '.join(ours.manual)}"
        lines.append(f"| {assignment} | {student} | {'no' if (assignment, student) in ATTEMPTS else 'yes'} | "
                     f"{stock.score:g}/{stock.max_score:g} | {ours.score:g}/{ours.max_score:g} | {manual or '-'} |")
    return "\n".join(lines)


@contextlib.contextmanager
def scratch_folder(description: str, prefix: str) -> Iterator[Path]:
    """The folder a comparison script builds its courses in: ``--keep DIR`` keeps them there,
    otherwise a temporary folder removed afterwards."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--keep", type=Path, help="build the courses here and keep them")
    keep = parser.parse_args().keep
    root = keep or Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    with scratch_folder(__doc__.splitlines()[0], "dlcourse-parity-") as root:
        rows, _ = compare(root)
    print(table(rows))
    differ = [(a, s) for a, s, stock, ours in rows if (a, s) not in ATTEMPTS and stock != ours]
    print(f"\n{len(rows)} submissions; honest ones that differ: {differ or 'none'}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
