"""Reading scores from nbgrader's gradebook."""

from __future__ import annotations

from nbgrader.api import Gradebook, MissingEntry

from dlcourse.coursedir import Course


def open_gradebook(course: Course) -> Gradebook:
    """nbgrader's gradebook of ``course`` (its configured URL)."""
    from dlcourse.nbgrader_ops import course_config

    settings = course_config(course)
    return Gradebook(settings.db_url, course_id=settings.course_id)


def max_score(course: Course, assignment: str) -> float:
    """The assignment's maximum score (0 when nbgrader does not know it yet)."""
    with open_gradebook(course) as gb:
        try:
            return float(gb.find_assignment(assignment).max_score)
        except MissingEntry:
            return 0.0


def submission_score(course: Course, assignment: str, student: str) -> float | None:
    """The submission's score in the gradebook, or ``None`` if it has none."""
    with open_gradebook(course) as gb:
        try:
            return float(gb.find_submission(assignment, student).score)
        except MissingEntry:
            return None
