"""What the grading service's web pages show, read from the course's stores.

Three stores, each read-only here:

- the service's state table (``COURSE/.dlcourse/service/state.db``, written
  by the engine of ``dlcourse serve``): one row per submission and its
  progress (queued, grading, graded, feedback_released, rate_limited, failed);
- dlcourse's status table (:mod:`dlcourse_graders.statusdb`): how grading
  ended, its message and how long it took;
- nbgrader's gradebook: scores, and per grade cell (one check) the score
  each submission got.

The state table is read with plain :mod:`sqlite3` through a read-only URI so
that the pages never lock or create the engine's database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from dlcourse.coursedir import Course

STATES = ("queued", "grading", "graded", "feedback_released", "rate_limited", "failed")


@dataclass(frozen=True)
class StateRow:
    """One row of the engine's ``submissions`` table."""

    assignment: str
    student: str
    submitted_at: str
    state: str
    updated_at: str
    retry_after: str | None
    score: float | None
    max_score: float | None
    message: str


def read_states(course: Course, *, assignment: str | None = None, student: str | None = None) -> list[StateRow]:
    """Rows of the state table, newest submission first; none while the engine has not made it."""
    from dlcourse_graders.service.state import all_submissions, state_path, submitted_order

    if not state_path(course).is_file():
        return []
    rows = [StateRow(**{name: row[name] for name in StateRow.__dataclass_fields__} | {"message": row["message"] or ""})
            for row in all_submissions(course, assignment, student)]
    rows.sort(key=lambda row: (row.assignment, row.student))
    rows.sort(key=lambda row: submitted_order(row.submitted_at), reverse=True)
    return rows


def latest_per_student(rows: list[StateRow]) -> dict[tuple[str, str], StateRow]:
    """The newest submission of each (assignment, student) (``rows`` come newest first)."""
    latest: dict[tuple[str, str], StateRow] = {}
    for row in rows:
        latest.setdefault((row.assignment, row.student), row)
    return latest


@dataclass
class SubmissionView:
    """One student's latest submission of one assignment, as the dashboard lists it."""

    student: str
    submitted_at: str | None
    state: str | None  # the engine's state; None for a submission graded outside the service
    status: str | None  # how dlcourse's grading ended (graded, crashed, timed out, ...)
    score: float | None
    max_score: float | None
    seconds: float | None
    message: str


@dataclass
class CheckFailure:
    """One grade cell (a check) and how many graded submissions lost points on it."""

    notebook: str
    cell: str
    failed: int
    graded: int

    @property
    def share(self) -> float:
        return self.failed / self.graded if self.graded else 0.0


@dataclass
class AssignmentView:
    """Everything the dashboard page of one assignment shows."""

    name: str
    max_score: float | None
    submissions: list[SubmissionView] = field(default_factory=list)
    checks: list[CheckFailure] = field(default_factory=list)

    @property
    def scores(self) -> list[float]:
        """Scores of the submissions whose grading gave a verdict."""
        return [s.score for s in self.submissions if s.score is not None and s.status in (None, "graded")]

    @property
    def failed(self) -> list[SubmissionView]:
        """Submissions the engine could not grade, or whose grading ended without a verdict."""
        return [s for s in self.submissions
                if s.state == "failed" or (s.status is not None and s.status not in ("graded", "missing"))]

    def slowest(self, count: int = 5) -> list[SubmissionView]:
        """The submissions that took longest to grade."""
        timed = [s for s in self.submissions if s.seconds]
        return sorted(timed, key=lambda s: s.seconds or 0.0, reverse=True)[:count]

    def counts(self) -> dict[str, int]:
        """How many submissions are in each engine state (``outside the service`` for none)."""
        counts: dict[str, int] = {}
        for s in self.submissions:
            key = s.state or "outside the service"
            counts[key] = counts.get(key, 0) + 1
        return counts


def assignment_names(course: Course) -> list[str]:
    """Assignments built in the course, in the gradebook or in the state table."""
    names = set(course.assignments())
    names.update(row.assignment for row in read_states(course))
    gradebook = _gradebook(course)
    try:
        names.update(a.name for a in gradebook.assignments)
    finally:
        gradebook.close()
    return sorted(names)


def assignment_view(course: Course, assignment: str) -> AssignmentView:
    """The state table, the status table and the gradebook, joined for one assignment."""
    from nbgrader.api import MissingEntry

    from dlcourse_graders.statusdb import StatusStore

    latest = latest_per_student(read_states(course, assignment=assignment))
    gradebook = _gradebook(course)
    store = StatusStore(course.db_url)
    try:
        statuses = {student: row for (name, student), row in store.all().items() if name == assignment}
        try:
            nb_assignment = gradebook.find_assignment(assignment)
        except MissingEntry:
            nb_assignment = None
        view = AssignmentView(assignment, float(nb_assignment.max_score) if nb_assignment else None)
        scores: dict[str, float | None] = {}
        if nb_assignment is not None:
            for submission in nb_assignment.submissions:
                scores[submission.student.id] = submission.score
            view.checks = _check_failures(nb_assignment, statuses)
        for name in sorted({student for _, student in latest} | set(statuses) | set(scores)):
            view.submissions.append(_submission_view(name, latest.get((assignment, name)), statuses.get(name),
                                                     scores.get(name), view.max_score))
    finally:
        store.close()
        gradebook.close()
    return view


def _submission_view(student: str, state: StateRow | None, status: dict[str, Any] | None,
                     gradebook_score: float | None, max_score: float | None) -> SubmissionView:
    # The gradebook holds the score of record (formgrader and `dlcourse export` read it); the
    # state table's copy stands in while the gradebook has none (e.g. grading just failed).
    score = gradebook_score if gradebook_score is not None and status is not None else None
    if score is None and state is not None:
        score = state.score
    if status is not None and status["status"] != "graded":
        score = None  # a crash scores 0 in nbgrader; it is not a verdict
    message = (state.message if state is not None and state.message else "") or (status or {}).get("message") or ""
    return SubmissionView(
        student=student,
        submitted_at=state.submitted_at if state else None,
        state=state.state if state else None,
        status=str(status["status"]) if status else None,
        score=score,
        max_score=(state.max_score if state and state.max_score is not None else None)
        or (float(status["max_score"]) if status else None) or max_score,
        seconds=float(status["seconds"]) if status and status.get("seconds") else None,
        message=str(message),
    )


def _check_failures(nb_assignment: Any, statuses: dict[str, dict[str, Any]]) -> list[CheckFailure]:
    """Per grade cell: how many graded submissions scored below its maximum."""
    failures: dict[tuple[str, str], CheckFailure] = {}
    for notebook in nb_assignment.notebooks:
        for cell in notebook.grade_cells:
            failures[(notebook.name, cell.name)] = CheckFailure(notebook.name, cell.name, 0, 0)
    for submission in nb_assignment.submissions:
        status = statuses.get(submission.student.id)
        if status is not None and status["status"] != "graded":
            continue  # a crashed or timed-out run fails every check; that says nothing about one
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if grade.score is None or (grade.auto_score is None and grade.manual_score is None):
                    continue  # not graded yet
                entry = failures.setdefault((notebook.name, grade.name),
                                            CheckFailure(notebook.name, grade.name, 0, 0))
                entry.graded += 1
                if grade.score < grade.max_score:
                    entry.failed += 1
    return sorted(failures.values(), key=lambda c: (-c.share, c.notebook, c.cell))


def _gradebook(course: Course) -> Any:
    from dlcourse_graders.gradebook import open_gradebook

    return open_gradebook(course)


def student_rows(course: Course, student: str) -> list[StateRow]:
    """Every submission of ``student`` in the state table, newest first, and nobody else's."""
    return read_states(course, student=student)


def parse_time(value: str | None) -> dt.datetime | None:
    """An ISO timestamp from the state table (UTC when it names no zone), or ``None``."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
