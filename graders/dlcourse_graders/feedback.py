"""``dlcourse feedback``: nbgrader's feedback without the hidden tests.

Stock ``nbgrader generate_feedback`` renders the autograded notebook, whose
grade cells were restored from the gradebook *with* their hidden regions. We
add nbgrader's own ClearHiddenTests preprocessor and cut grade-cell
tracebacks (which quote the hidden lines) before rendering, then scan
every feedback file for anything that must not reach a student.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from dlcourse.build import HIDDEN_BEGIN, HIDDEN_END
from dlcourse.coursedir import Course, CourseError
from dlcourse.nbgrader_ops import course_config, run_nbgrader

FEEDBACK_PREPROCESSORS = (
    "['nbgrader.preprocessors.GetGrades',"
    " 'nbgrader.preprocessors.ClearHiddenTests',"
    " 'dlcourse_graders.feedback_filters.ShortenGradeCellTracebacks',"
    " 'nbconvert.preprocessors.CSSHTMLHeaderPreprocessor']"
)
#: Text that only hidden regions contain; none of it may appear in feedback.
LEAK_MARKERS = (HIDDEN_BEGIN, HIDDEN_END, "_dlcourse_run_hidden_checks", "run_hidden_checks")


class FeedbackLeakError(CourseError):
    """A feedback file contains hidden-check text; it was deleted."""


def generate_feedback(course: Course, assignment: str, students: list[str] | None = None) -> list[Path]:
    """Write ``COURSE/feedback/<student>/<assignment>/*.html``; return the files."""
    course.require_assignment(assignment)
    args = ["generate_feedback", assignment, "--force",
            f"--GenerateFeedback.preprocessors={FEEDBACK_PREPROCESSORS}"]
    if students:
        for student in students:
            run_nbgrader(course, [*args, "--student", student])
    else:
        run_nbgrader(course, args)
    _status_pages(course, assignment, students)
    files = sorted((course.root / "feedback").glob(f"*/{assignment}/*.html"))
    assert_no_leak(course, files)
    if course_config(course).exchange_root is not None:
        # Only submissions that came through the exchange carry the secret
        # nbgrader needs to hand feedback back; the rest stay in feedback/.
        for student in students or course.students_with_submissions(assignment):
            if (course.submitted_dir(student, assignment) / "submission_secret.txt").is_file():
                run_nbgrader(course, ["release_feedback", assignment, "--student", student])
    return files


def _status_pages(course: Course, assignment: str, students: list[str] | None) -> list[Path]:
    """A short page for each submission nbgrader could not autograde (a crash, a
    timeout, an invalid file), so the student learns why instead of getting nothing."""
    from dlcourse_graders.statusdb import StatusStore

    store = StatusStore(course_config(course).db_url)
    written = []
    try:
        for student in students or course.students_with_submissions(assignment):
            folder = course.feedback_dir(student, assignment)
            row = store.get(assignment, student)
            if row is None or row["status"] == "graded" or any(folder.glob("*.html")):
                continue
            folder.mkdir(parents=True, exist_ok=True)
            page = folder / f"{assignment}-status.html"
            page.write_text(
                "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head><body>"
                f"<h1>{html.escape(assignment)}: not graded</h1>"
                f"<p>Status: <strong>{html.escape(str(row['status']))}</strong></p>"
                f"<p>{html.escape(str(row['message']))}</p>"
                "<p>Your notebook must run from top to bottom on a fresh kernel. "
                "Ask your instructor if you think this is wrong.</p></body></html>",
                encoding="utf-8",
            )
            written.append(page)
    finally:
        store.close()
    return written


def environment_secrets() -> tuple[str, ...]:
    """Values of the grader's environment variables that look like credentials."""
    words = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL")
    return tuple(value for name, value in os.environ.items()
                 if any(word in name.upper() for word in words) and len(value) >= 8)


def leaks_in(text: str, secrets: tuple[str, ...]) -> list[str]:
    """Which of ``secrets`` appear in ``text``."""
    return [secret for secret in secrets if secret and secret in text]


def assert_no_leak(course: Course, files: list[Path]) -> None:
    """Delete and report any feedback file that carries hidden text or instructor paths."""
    secrets = (*LEAK_MARKERS, str(course.root / "source"), *environment_secrets())
    leaking = []
    for path in files:
        found = leaks_in(path.read_text(encoding="utf-8", errors="replace"), secrets)
        if found:
            path.unlink()
            leaking.append(f"{path} ({', '.join(found)})")
    if leaking:
        raise FeedbackLeakError("feedback withheld, it would leak hidden tests: " + "; ".join(leaking))
