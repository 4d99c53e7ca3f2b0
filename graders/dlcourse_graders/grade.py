"""``dlcourse grade``: every submission of an assignment, whatever happens to each."""

from __future__ import annotations

import sys
from typing import Callable, Sequence, TextIO

from dlcourse.coursedir import Course, CourseError
from dlcourse.manager import Hooks

from dlcourse_graders.engine import Engine
from dlcourse_graders.results import Status, SubmissionResult
from dlcourse_graders.statusdb import StatusStore

Progress = Callable[[int, int, SubmissionResult], None]


def grade_assignment(
    course: Course,
    assignment: str,
    students: Sequence[str] | None = None,
    *,
    engine: Engine | None = None,
    hooks: Hooks | None = None,
    progress: Progress | None = None,
) -> list[SubmissionResult]:
    """Grade ``COURSE/submitted/*/ASSIGNMENT`` (or only ``students``).

    Each submission's status goes into the gradebook database; a broken
    submission becomes a status and a message, never an aborted batch.
    """
    from dlcourse.nbgrader_ops import course_config
    from dlcourse_graders.sandbox_engine import SandboxEngine

    course.require_assignment(assignment)
    available = course.students_with_submissions(assignment)
    chosen = list(students) if students else available
    unknown = [s for s in chosen if s not in available]
    if unknown:
        raise CourseError(f"{course.root / 'submitted'}: no submission of {assignment!r} for {', '.join(unknown)}")
    if not chosen:
        raise CourseError(f"{course.root / 'submitted'}: no submissions of {assignment!r} to grade")
    hooks = hooks or Hooks.load(course)
    engine = engine or SandboxEngine(hooks=hooks)
    store = StatusStore(course_config(course).db_url)
    results = []
    try:
        for index, student in enumerate(chosen, start=1):
            result = engine.grade(course, assignment, student)
            store.record(result)
            results.append(result)
            if progress:
                progress(index, len(chosen), result)
    finally:
        store.close()
    hooks.grading_finished(results, course)
    return results


def make_engine(name: str, course: Course, wall_limit: float | None = None) -> Engine:
    """The engine called ``name``: ``sandbox`` (default) or ``nbgrader``."""
    if name == "nbgrader":
        from dlcourse_graders.nbgrader_engine import NbgraderAutogradeEngine

        return NbgraderAutogradeEngine(wall_limit=wall_limit)
    from dlcourse_graders.sandbox_engine import SandboxEngine

    return SandboxEngine(wall_limit=wall_limit, hooks=Hooks.load(course))


def print_progress(stream: TextIO = sys.stdout) -> Progress:
    """A progress callback that prints one line per submission."""

    def report(index: int, total: int, result: SubmissionResult) -> None:
        score = "-" if result.score is None else f"{result.score:g}"
        print(f"[{index}/{total}] {result.student}: {result.status} {score}/{result.max_score:g} "
              f"({result.seconds:.1f} s)", file=stream, flush=True)

    return report


def summary_table(results: Sequence[SubmissionResult]) -> str:
    """A plain-text table of statuses, with the problems listed at the end."""
    lines = [f"{'student':<20} {'status':<15} {'score':>12}  message"]
    for r in results:
        score = "-" if r.score is None else f"{r.score:g}/{r.max_score:g}"
        lines.append(f"{r.student:<20} {str(r.status):<15} {score:>12}  {r.message}")
    counts: dict[str, int] = {}
    for r in results:
        counts[str(r.status)] = counts.get(str(r.status), 0) + 1
    lines.append("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    problems = [r for r in results if r.status is not Status.GRADED]
    if problems:
        lines.append(f"{len(problems)} submission(s) need attention: "
                     + ", ".join(f"{r.student} ({r.status})" for r in problems))
    return "\n".join(lines)
