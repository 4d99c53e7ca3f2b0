"""An existing nbgrader course grades under dlcourse exactly as under nbgrader.

The material is nbgrader's own (see tests/nbgrader_parity.py): the
documentation's example course and the notebooks of nbgrader's autograde
tests, plus one notebook of ours with the remaining patterns. Every
submission is graded by stock ``nbgrader autograde`` and by ``dlcourse
grade``; honest submissions must get the same score, the same maximum and
the same cells left for manual grading, and no cheating attempt may get more.
"""

from __future__ import annotations

import json
import shutil

import pytest

from nbgrader_parity import ATTEMPTS, compare, table

#: submissions whose protected cells really differ from this course's release: bitdiddle commented out
#: the tests (nbgrader's documentation shows it), the hashed autotest files were released with another salt
FOREIGN = {("ps1", "bitdiddle"), ("autohashed", "changed"), ("autohashed", "unchanged"),
           ("changed", "grade-cell-changed"), ("changed", "locked-cell-changed")}


@pytest.mark.slow
def test_nbgraders_own_material_grades_as_under_stock_nbgrader(tmp_path):
    rows, stock_log = compare(tmp_path)
    print(table(rows))
    # stock nbgrader reads the config `dlcourse init` wrote without a complaint
    assert "not recognized" not in stock_log and "allow_errors" not in stock_log, stock_log[-2000:]
    assert len(rows) == 23
    for assignment, student, stock, ours in rows:
        assert ours.max_score == stock.max_score, (assignment, student)
        if (assignment, student) in ATTEMPTS:
            assert (ours.score or 0) <= (stock.score or 0), (assignment, student, stock, ours)
        else:
            assert ours == stock, f"{assignment}/{student}: nbgrader {stock}, dlcourse {ours}"
    graded = {(a, s): ours for a, s, _, ours in rows}
    # the comparison exercises every rule: hidden tests ran (the visible asserts alone give 3 of 3),
    # manual answers and task cells wait for a grader, a cell's value gave partial credit (1 of 2)
    assert graded[("hidden", "hardcoded")].score == 1.5
    assert graded[("patterns", "solution")].manual == ("p1:explain", "p1:task_plot", "p1:why")
    assert graded[("patterns", "half")].score == 1.0
    assert graded[("ps1", "hacker")].max_score == 13  # task cells count in the maximum
    for assignment, student, _, _ in rows:  # honest submissions are not flagged; foreign cells are
        log = json.loads((tmp_path / "course" / "logs" / assignment / f"{student}.log").read_text())
        expected = "tampered" if (assignment, student) in FOREIGN else "graded"
        assert log["status"] == expected, (assignment, student, log["message"])


def test_grading_an_assignment_never_released_says_so_in_one_line(tmp_path):
    from conftest import run_cli
    from nbgrader_parity import DOCS

    from dlcourse.coursedir import init_course

    course = init_course(tmp_path / "course")
    shutil.copytree(DOCS / "source" / "ps1", course.source_dir("ps1"))
    shutil.copytree(DOCS / "submitted" / "hacker" / "ps1", course.submitted_dir("hacker", "ps1"))
    done = run_cli("grade", "ps1", cwd=course.root)
    assert done.returncode != 0
    assert "No assignment with ID 'ps1' exists in the database" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_an_assignment_mixing_dlcourse_checks_and_plain_nbgrader_cells(toy_course):
    """dlcourse checks keep grading their cells; the plain cells added beside them follow
    nbgrader's rules; both engines agree on honest submissions, and the maximum counts all."""
    import nbformat

    from dlcourse.nbgrader_ops import generate_assignment
    from dlcourse_graders.nbgrader_engine import NbgraderAutogradeEngine
    from dlcourse_graders.results import Status
    from dlcourse_graders.sandbox_engine import SandboxEngine
    from dlcourse_graders.simulate import simulate_class
    from nbgrader_parity import _cell

    path = toy_course.source_dir("toy") / "toy.ipynb"
    notebook = nbformat.read(path, as_version=4)
    at = 1 + next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "relu")
    notebook.cells[at:at] = [
        _cell("code", "assert relu(np.array([1.0]))[0] == 1.0\n### BEGIN HIDDEN TESTS\n"
                      "assert relu(np.array([-2.0]))[0] == 0.0\n### END HIDDEN TESTS", "plain_relu", grade=True,
              points=1),
        _cell("markdown", "Why relu?\n### BEGIN SOLUTION\nIt is cheap.\n### END SOLUTION", "why_relu",
              grade=True, solution=True, points=2),
    ]
    nbformat.write(notebook, path)
    generate_assignment(toy_course, "toy")
    simulate_class(toy_course, "toy")
    for student in ("perfect", "untouched", "partial"):
        sandboxed = SandboxEngine(wall_limit=20).grade(toy_course, "toy", student)
        stock = NbgraderAutogradeEngine(wall_limit=60).grade(toy_course, "toy", student)
        assert (sandboxed.score, sandboxed.max_score) == (stock.score, stock.max_score), student
        assert sandboxed.status is Status.GRADED, (student, sandboxed.message)
    assert sandboxed.max_score == 2 + 3 + 1 + 2


@pytest.mark.slow
def test_validate_explains_a_plain_assignment_with_autotests_and_manual_cells(tmp_path):
    import nbformat

    from conftest import run_cli
    from nbgrader_parity import FILES, patterns_notebook

    from dlcourse.coursedir import init_course

    course = init_course(tmp_path / "course")
    shutil.copy(FILES / "autotests.yml", course.root / "autotests.yml")
    course.source_dir("mixed").mkdir(parents=True)
    shutil.copy(FILES / "autotest-hashed.ipynb", course.source_dir("mixed") / "p1.ipynb")
    nbformat.write(patterns_notebook(), course.source_dir("mixed") / "p2.ipynb")
    done = run_cli("validate", "mixed", cwd=course.root)
    report = done.stdout
    assert done.returncode == 0 and "PASSED" in report, report + done.stderr[-2000:]
    assert "[ok] solution earns every automatic point: graded, 5.0/5 automatic points (of 9)" in report
    assert "p1.ipynb:test_hashed (1 pt): nbgrader-style tests in the sandbox (hardened" in report
    assert "p2.ipynb:why (1 pt): by hand" in report and "p2.ipynb:task_plot (1 pt): by hand" in report
    assert "Traceback" not in report + done.stderr
