"""Handing graded feedback back through the exchange, for the service.

The same filters as ``dlcourse feedback`` (no hidden tests, no leaks; see
:mod:`dlcourse_graders.feedback`). One student at a time costs two nbgrader
runs; when many students are due at once and all of the assignment's graded
students may have theirs (policy ``immediate``, a due date passed, "release
to everyone"), one ``generate_feedback`` and one ``release_feedback`` serve them all.
"""

from __future__ import annotations

import datetime as dt

from dlcourse.coursedir import Course
from dlcourse.nbgrader_ops import run_nbgrader
from dlcourse.permissions import secure_course

from dlcourse_graders.feedback import RELEASE_FILES, generate_feedback


def release_one(course: Course, assignment: str, student: str) -> None:
    """Write and release ``student``'s feedback; a :class:`~dlcourse.coursedir.CourseError` says why it could not."""
    try:
        generate_feedback(course, assignment, [student], release=True)
    finally:
        secure_course(course.root, [assignment])


def release_everyone(course: Course, assignment: str) -> bool:
    """Write every graded student's feedback and release it all in one nbgrader run.

    Returns False, having released nothing, when some student's feedback could not go
    back in one run (a submission that did not come through the exchange, or a
    missing secret); the caller then releases student by student, which names them.
    """
    try:
        generate_feedback(course, assignment, None, release=False)
        for folder in (course.root / "feedback").glob(f"*/{assignment}"):
            student = folder.parent.name
            if not (course.submitted_dir(student, assignment) / "submission_secret.txt").is_file():
                return False
            if any(folder.glob("*.html")) and not all((folder / name).is_file() for name in RELEASE_FILES):
                return False
        run_nbgrader(course, ["release_feedback", assignment])
    finally:
        secure_course(course.root, [assignment])
    return True


def due_date(course: Course, assignment: str) -> dt.datetime | None:
    """nbgrader's due date of ``assignment`` in the gradebook (UTC), or None when it has none."""
    from nbgrader.api import MissingEntry

    from dlcourse_graders.gradebook import open_gradebook

    with open_gradebook(course) as gradebook:
        try:
            due = gradebook.find_assignment(assignment).duedate
        except MissingEntry:
            return None
    if due is None:
        return None
    return due.replace(tzinfo=dt.timezone.utc) if due.tzinfo is None else due  # nbgrader stores naive UTC

