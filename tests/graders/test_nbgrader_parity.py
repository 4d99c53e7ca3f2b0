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
