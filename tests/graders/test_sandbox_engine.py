"""The sandboxed engine on the toy topic: limits, reproducibility, gradebook, agreement."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import nbformat
import pytest

from dlcourse.build import BuildError, build_notebook
from dlcourse.manager import Hooks
from dlcourse.nbgrader_ops import generate_assignment
from dlcourse.types import NotebookSource
from dlcourse_graders.gradebook import open_gradebook
from dlcourse_graders.nbgrader_engine import NbgraderAutogradeEngine
from dlcourse_graders.results import Status
from dlcourse_graders.sandbox import GiB, SandboxLimits
from dlcourse_graders.sandbox_engine import SandboxEngine
from dlcourse_graders.simulate import simulate_class

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_assignment_limits_reach_the_sandbox(toy_course, toy_env):
    hooks = Hooks.load()
    topic = hooks.topic("toy")
    source = NotebookSource("toy", FIXTURES / "toy_notebooks" / "toy.py", "toy", "toy", time_limit=5,
                            limits={"address_space": 2 * GiB, "max_processes": 32})
    notebook = build_notebook(source, topic, hooks)
    assert notebook.metadata.dlcourse["limits"] == {"address_space": 2 * GiB, "max_processes": 32}
    nbformat.write(notebook, toy_course.source_dir("toy") / "toy.ipynb")
    limits = SandboxEngine().limits_for(toy_course, "toy")
    assert (limits.address_space, limits.max_processes, limits.wall_seconds) == (2 * GiB, 32, 35.0)
    assert SandboxEngine(wall_limit=3).limits_for(toy_course, "toy").wall_seconds == 3
    fixed = SandboxLimits(wall_seconds=9)
    assert SandboxEngine(limits=fixed).limits_for(toy_course, "toy") == fixed
    bad = NotebookSource("toy", source.path, "toy", "toy", limits={"gpu_count": 1})
    with pytest.raises(BuildError, match="unknown sandbox limits"):
        build_notebook(bad, topic, hooks)


def test_regrading_is_reproducible_and_inputs_come_from_the_course_secret(toy_course):
    generate_assignment(toy_course, "toy")
    students = simulate_class(toy_course, "toy")
    engine = SandboxEngine(wall_limit=8)
    partial = next(s for s in students if s.student == "partial")
    first = engine.grade(toy_course, "toy", partial.student)
    first_nb = _content(toy_course.autograded_dir("partial", "toy") / "toy.ipynb")
    second = engine.grade(toy_course, "toy", partial.student)
    assert (first.score, first.status) == (second.score, second.status) == (2.0, Status.GRADED)
    assert _content(toy_course.autograded_dir("partial", "toy") / "toy.ipynb") == first_nb
    from dlcourse.course_secret import course_secret, secret_path
    from dlcourse_graders.engine import check_salt, grading_seed

    secret = course_secret(toy_course.root)
    assert secret_path(toy_course.root).stat().st_mode & 0o077 == 0, "only the instructor may read the secret"
    jobs = {s.student: engine.job(toy_course, "toy", s.student) for s in students}
    assert {(job.seed, job.check_salt) for job in jobs.values()} == {
        (grading_seed("toy", secret), check_salt("toy", secret))}, "seeds must not depend on the student"
    assert grading_seed("toy", secret) != grading_seed("toy", secret[::-1])
    assert check_salt("toy", secret) not in (check_salt("toy", secret[::-1]), check_salt("other", secret))
    assert str(grading_seed("toy", secret)) not in check_salt("toy", secret)


def _content(path: Path) -> list[tuple[str, str]]:
    """Sources and outputs of a notebook (cell ids aside)."""
    notebook = nbformat.read(path, as_version=4)
    return [(c.source, nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        outputs=c.get("outputs", []))])).split('"id"')[0]) for c in notebook.cells]


def test_both_engines_agree_on_honest_submissions(toy_course):
    generate_assignment(toy_course, "toy")
    simulate_class(toy_course, "toy")
    for student in ("perfect", "untouched", "partial"):
        sandboxed = SandboxEngine(wall_limit=10).grade(toy_course, "toy", student)
        stock = NbgraderAutogradeEngine(wall_limit=60).grade(toy_course, "toy", student)
        assert sandboxed.score == stock.score, student
        assert sandboxed.status is stock.status is Status.GRADED


def test_scores_land_in_the_gradebook_with_late_penalties(toy_course, monkeypatch):
    generate_assignment(toy_course, "toy")
    simulate_class(toy_course, "toy")
    with open_gradebook(toy_course) as gb:
        gb.update_or_create_assignment("toy", duedate=dt.datetime(2000, 1, 1))

    class HalfOff:
        @__import__("dlcourse").hookimpl
        def dlcourse_late_penalty(self, submission, score, seconds_late):
            return score / 2

    hooks = Hooks.load(toy_course)
    hooks.pm.register(HalfOff())
    result = SandboxEngine(wall_limit=10, hooks=hooks).grade(toy_course, "toy", "perfect")
    assert result.status is Status.GRADED and result.score == 5
    with open_gradebook(toy_course) as gb:
        submission = gb.find_submission("toy", "perfect")
        assert submission.total_seconds_late > 0
        assert submission.late_submission_penalty == 2.5 and submission.score == 5.0  # nbgrader subtracts on export
        grades = {g.name: g.auto_score for nb in submission.notebooks for g in nb.grades}
        assert grades == {"double_tests": 2.0, "relu_tests": 3.0}
    autograded = nbformat.read(toy_course.autograded_dir("perfect", "toy") / "toy.ipynb", as_version=4)
    reports = [o.text for c in autograded.cells if c.cell_type == "code" for o in c.outputs
               if o.get("name") == "stdout"]
    assert any("relu: 2/2 hidden cases passed" in r for r in reports)
    assert "(not run while grading)\n" in reports and not any("explorer widget" in r for r in reports)
    assert (toy_course.autograded_dir("perfect", "toy") / "timestamp.txt").is_file()
