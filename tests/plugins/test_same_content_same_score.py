"""Same content, same score; returned values are data: every topic, real submissions graded end to end.

For each topic one course is built and its assignment graded once, by two
workers: a partial, a crashing and a wrong-in-one-function submission, each
under five student names, plus one submission per trick object. Copies must
get identical scores and statuses, and a forced regrade of one copy of each
kind by a single worker, in another order, must reproduce them; tricks must
earn nothing.

Cost: the submissions answer only the first exercises (about a second each),
and the two executors are shared by every topic a test process grades, so
their workers import torch and start sandbox zygotes once, not per grading
run. ``pytest -n 2 --dist loadgroup`` gives each topic its own group.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from dlcourse.build import build_course
from dlcourse.coursedir import Course, init_course
from dlcourse.manager import Hooks
from dlcourse.nbgrader_ops import generate_assignment
from dlcourse_graders.executors import InlineExecutor, LocalExecutor
from dlcourse_graders.grade import grade_assignment
from dlcourse_graders.results import Status, SubmissionResult

import graded_submissions as make

TOPICS = ("perceptron", "cnn", "rnn", "optimizers", "regularisation", "autoencoders", "vae", "gan")
NAMES = ("ada", "bo-2", "Chloe", "d_k", "zz9")
KINDS = {"partial": make.partial, "crashing": make.crashing, "wrong": make.wrong_in_one_function}
TRICK_KINDS = ("always equal", "ndarray subclass", "tensor subclass", "len and bool")

pytestmark = pytest.mark.slow


@dataclass
class Graded:
    """One topic's course after its batch was graded twice."""

    course: Course
    assignment: str
    first: dict[str, SubmissionResult]
    again: dict[str, SubmissionResult]
    seconds: float


def _assignment(course: Course) -> tuple[str, Path]:
    """The topic's graded assignment and its (single) notebook."""
    for assignment in course.assignments():
        for path in sorted(course.source_dir(assignment).glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            if any(c.metadata.get("nbgrader", {}).get("grade") for c in notebook.cells):
                return assignment, path
    raise AssertionError(f"{course.root}: no graded assignment")


@dataclass
class Executors:
    two: LocalExecutor
    one: InlineExecutor


@pytest.fixture(scope="session")
def executors():
    """A two-worker pool and an in-process executor, warm for every topic this test process grades."""
    two = LocalExecutor(2)
    try:
        yield Executors(two, InlineExecutor())
    finally:
        two.close()


@pytest.fixture(scope="module", params=[pytest.param(t, marks=pytest.mark.xdist_group(f"same-score-{t}"))
                                        for t in TOPICS])
def graded(request, tmp_path_factory, executors) -> Graded:
    topic = request.param
    started = time.monotonic()
    course = init_course(tmp_path_factory.mktemp(topic) / "course", f"{topic}-course")
    build_course(course, [topic])
    assignment, source_path = _assignment(course)
    generate_assignment(course, assignment)
    source = nbformat.read(source_path, as_version=4)
    release = nbformat.read(course.release_dir(assignment) / source_path.name, as_version=4)
    copies = []
    for kind, builder in KINDS.items():
        notebook = builder(source, release)
        for name in NAMES:
            student = f"{kind}-{name}"
            make.write(notebook, course.submitted_dir(student, assignment), source_path.name)
            copies.append(student)
    for index, kind in enumerate(TRICK_KINDS):
        make.write(make.tricks(release, kind), course.submitted_dir(f"trick{index}", assignment), source_path.name)
    hooks = Hooks.load(course)
    first = {r.student: r for r in grade_assignment(course, assignment, executor=executors.two, hooks=hooks)}
    # one copy of each kind (a different name each time) regraded, forced, by one worker instead of two,
    # in reverse order
    regraded = [f"{kind}-{NAMES[(1 + 2 * index) % len(NAMES)]}" for index, kind in enumerate(KINDS)]
    again = {r.student: r for r in grade_assignment(course, assignment, list(reversed(regraded)), force=True,
                                                    executor=executors.one, hooks=hooks)}
    return Graded(course, assignment, first, again, time.monotonic() - started)


def test_copies_get_identical_scores_and_statuses_on_any_number_of_workers(graded):
    outcomes = {}
    for kind in KINDS:
        found = {(graded.first[f"{kind}-{n}"].score, graded.first[f"{kind}-{n}"].status) for n in NAMES}
        again = [r for student, r in graded.again.items() if student.startswith(f"{kind}-")]
        assert again, f"{kind}: no copy was regraded"
        found |= {(r.score, r.status) for r in again}
        assert len(found) == 1, f"{kind}: copies differ: {sorted(found, key=str)}"
        outcomes[kind] = found.pop()
    (partial, partial_status), (wrong, wrong_status), (crashed, crash_status) = (
        outcomes["partial"], outcomes["wrong"], outcomes["crashing"])
    assert partial_status is Status.GRADED and wrong_status is Status.GRADED
    assert crash_status is Status.CRASHED
    assert partial > 0, "the partial submission answers exercises: it must earn something"
    assert wrong < partial, "the wrong function must cost points, or this test shows nothing"
    assert crashed <= partial


def test_trick_objects_earn_nothing(graded):
    for index, kind in enumerate(TRICK_KINDS):
        result = graded.first[f"trick{index}"]
        assert result.score == 0, f"{kind}: earned {result.score} ({result.message})"
        outputs = (graded.course.autograded_dir(f"trick{index}", graded.assignment)).glob("*.ipynb")
        text = "".join(path.read_text() for path in outputs)
        if kind in ("ndarray subclass", "tensor subclass"):
            assert "a subclass of" in text, f"{kind}: the feedback should say why the value was refused"
