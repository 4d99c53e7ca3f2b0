"""Grade rows for export: nbgrader's scores joined with dlcourse's statuses."""

from __future__ import annotations

from typing import Any, Iterable

from nbgrader.api import Gradebook, MissingEntry

from dlcourse_graders.results import Status
from dlcourse_graders.statusdb import StatusStore


def grade_rows(
    gradebook: Gradebook, assignments: Iterable[str] | None = None, students: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """One row per (assignment, student) known to the gradebook.

    ``status`` is ``missing`` for no submission and ``ungraded`` for a
    submission never graded by dlcourse, so an empty score never passes for a
    real zero; ``sandbox`` says which sandbox the notebook ran in
    (``allow-list`` or ``weak``; empty when not graded in one).
    """
    store = StatusStore(gradebook.engine.url.render_as_string(hide_password=False))
    try:
        statuses = store.all()
    finally:
        store.close()
    wanted_assignments = set(assignments) if assignments else None
    wanted_students = set(students) if students else None
    rows = []
    for assignment in gradebook.assignments:
        if wanted_assignments and assignment.name not in wanted_assignments:
            continue
        for student in gradebook.students:
            if wanted_students and student.id not in wanted_students:
                continue
            rows.append(_row(gradebook, assignment, student.id, statuses.get((assignment.name, student.id))))
    return rows


def _row(gradebook: Gradebook, assignment: Any, student: str, status: dict[str, Any] | None) -> dict[str, Any]:
    base = {"assignment": assignment.name, "student": student, "max_score": assignment.max_score}
    try:
        submission = gradebook.find_submission(assignment.name, student)
    except MissingEntry:
        return {**base, "score": None, "status": str(Status.MISSING), "message": "no submission", "sandbox": ""}
    if status is None:
        return {**base, "score": submission.score, "status": "ungraded",
                "message": "not graded by dlcourse", "sandbox": ""}
    return {**base, "score": submission.score, "status": status["status"], "message": status["message"],
            "sandbox": status.get("sandbox") or ""}
