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
from dlcourse.nbgrader_ops import NbgraderError, course_config, run_nbgrader

from dlcourse_graders.feedback_config import FEEDBACK_EXPORTER, FEEDBACK_PREPROCESSORS

#: Text that only hidden regions contain; none of it may appear in feedback.
LEAK_MARKERS = (HIDDEN_BEGIN, HIDDEN_END, "_dlcourse_run_hidden_checks", "run_hidden_checks")


class FeedbackLeakError(CourseError):
    """A feedback file contains hidden-check text; it was deleted."""


class FeedbackReleaseError(CourseError):
    """Feedback was written but could not be handed back through the exchange."""

#: What nbgrader's release_feedback needs beside each student's HTML.
RELEASE_FILES = ("timestamp.txt", "submission_secret.txt")


def generate_feedback(course: Course, assignment: str, students: list[str] | None = None,
                      release: bool = True) -> list[Path]:
    """Write ``COURSE/feedback/<student>/<assignment>/*.html``; return the files. With
    ``release`` and an exchange, also hand them back (see :func:`release_feedback`)."""
    course.require_assignment(assignment)
    args = ["generate_feedback", assignment, "--force",
            f"--GenerateFeedback.preprocessors={FEEDBACK_PREPROCESSORS!r}",
            f"--GenerateFeedback.exporter_class={FEEDBACK_EXPORTER}"]
    if students:
        for student in students:
            run_nbgrader(course, [*args, "--student", student])
    else:
        run_nbgrader(course, args)
    _status_pages(course, assignment, students)
    files = sorted((course.root / "feedback").glob(f"*/{assignment}/*.html"))
    assert_no_leak(course, files)
    if release:
        release_feedback(course, assignment, students)
    return files


def release_feedback(course: Course, assignment: str, students: list[str] | None = None) -> list[str]:
    """Hand written feedback back through the exchange with nbgrader's release_feedback;
    return the students it was released to (none without an exchange).

    Only submissions that came through the exchange (their ``submitted/`` folder holds
    nbgrader's ``submission_secret.txt``) can be handed back; feedback of the others
    stays in ``feedback/``. :class:`FeedbackReleaseError` names every student whose
    feedback could not be released, and why, after releasing all the others.
    """
    if course_config(course).exchange_root is None:
        return []
    released: list[str] = []
    problems: list[str] = []
    for student in students or course.students_with_submissions(assignment):
        if not (course.submitted_dir(student, assignment) / "submission_secret.txt").is_file():
            continue
        folder = course.feedback_dir(student, assignment)
        if not any(folder.glob("*.html")):
            continue  # nothing written for this submission (not graded yet)
        missing = [name for name in RELEASE_FILES if not (folder / name).is_file()]
        if missing:
            problems.append(f"{student} ({folder} has no {' or '.join(missing)}; grade the submission again "
                            f"with `dlcourse grade {assignment} --student {student} --force`, then rerun "
                            f"`dlcourse feedback {assignment}`)")
            continue
        try:
            run_nbgrader(course, ["release_feedback", assignment, "--student", student])
        except NbgraderError as error:
            problems.append(f"{student} ({_last_error_line(str(error))})")
            continue
        released.append(student)
    if problems:
        raise FeedbackReleaseError(
            f"feedback of {assignment!r} is written under {course.root / 'feedback'}, but nbgrader's "
            f"release_feedback could not hand it back to {len(problems)} student(s): {'; '.join(problems)}. "
            f"{len(released)} other student(s) got theirs.")
    return released


def _last_error_line(message: str) -> str:
    """The line of an nbgrader log that says what went wrong (its last error, else its last line)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or "error" in line.split(":", 1)[0].lower()]
    return (errors or lines or ["release_feedback failed"])[-1][:300]


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
            text = (
                "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head><body>"
                f"<h1>{html.escape(assignment)}: not graded</h1>"
                f"<p>Status: <strong>{html.escape(str(row['status']))}</strong></p>"
                f"<p>{html.escape(str(row['message']))}</p>"
                "<p>Your notebook must run from top to bottom on a fresh kernel. "
                "Ask your instructor if you think this is wrong.</p></body></html>"
            )
            for page in _status_page_paths(course, assignment, student):
                page.write_text(text, encoding="utf-8")
                written.append(page)
    finally:
        store.close()
    return written


def _status_page_paths(course: Course, assignment: str, student: str) -> list[Path]:
    """Where a status page goes: ``<assignment>-status.html``, or, for a submission that
    came through the exchange, one page named after each notebook the student submitted,
    with the exchange's timestamp and secret beside it, so that nbgrader's
    release_feedback hands it back and the student's fetch_feedback finds it."""
    folder = course.feedback_dir(student, assignment)
    submitted = course.submitted_dir(student, assignment)
    notebooks = sorted(submitted.glob("*.ipynb"))
    if not notebooks or not all((submitted / name).is_file() for name in RELEASE_FILES):
        return [folder / f"{assignment}-status.html"]
    for name in RELEASE_FILES:
        (folder / name).write_bytes((submitted / name).read_bytes())
    return [folder / f"{path.stem}.html" for path in notebooks]


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
