"""nbgrader's collect and feedback, in the service's own process, and releasing by policy.

A long-running service calls nbgrader through its Python API (``NbGraderAPI``,
what formgrader calls) instead of starting ``python -m nbgrader`` for each
step: an nbgrader process spends seconds importing before it does anything,
which would dominate a submission's latency. The feedback is filtered as
``dlcourse feedback`` filters it (no hidden tests, no leaks; see
:mod:`dlcourse_graders.feedback`). One student at a time costs two nbgrader
calls; when several are due at once, one ``generate_feedback`` and one
``release_feedback`` serve them all, every other student excluded (nbgrader's
``CourseDirectory.student_id_exclude``), so the cost follows the students
released, not the class.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from dlcourse.coursedir import Course
from dlcourse.nbgrader_ops import NbgraderError
from dlcourse.permissions import secure_course

from dlcourse_graders.feedback import RELEASE_FILES, FeedbackReleaseError, assert_no_leak
from dlcourse_graders.feedback import _status_pages as status_pages  # the pages of ungraded submissions
from dlcourse_graders.feedback_config import FEEDBACK_EXPORTER, FEEDBACK_PREPROCESSORS


class Nbgrader:
    """nbgrader's API on one course, configured by its ``nbgrader_config.py`` (read once)."""

    def __init__(self, course: Course) -> None:
        from nbgrader.apps.api import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader

        self.course = course
        config = PyFileConfigLoader(course.config_file.name, path=str(course.root)).load_config()
        # as `dlcourse feedback` does, whatever an older course's config says
        config.GenerateFeedback.preprocessors = list(FEEDBACK_PREPROCESSORS)
        config.GenerateFeedback.exporter_class = FEEDBACK_EXPORTER
        coursedir = CourseDirectory(config=config)
        coursedir.root = str(course.root)
        # warnings and errors only in the service's log (every copied file is news to no one)
        self.api = NbGraderAPI(coursedir, config=config, log_level=logging.WARNING)

    def call(self, name: str, *args: Any) -> str:
        """``NbGraderAPI.<name>(*args)``; its log, or :class:`NbgraderError` with the log's end."""
        result = getattr(self.api, name)(*args)
        if not result or not result.get("success"):
            text = "\n".join(filter(None, [(result or {}).get("log", ""), (result or {}).get("error", "")]))
            tail = "\n".join(text.strip().splitlines()[-15:])
            raise NbgraderError(f"nbgrader {name} {' '.join(map(str, args))} failed:\n{tail}")
        return str(result.get("log", ""))

    def collect(self, assignment: str) -> None:
        """``nbgrader collect ASSIGNMENT --update``: the latest submission of each student."""
        try:
            self.call("collect", assignment, True)
        finally:  # nbgrader copies the exchange's modes (submissions arrive as 0777)
            secure_course(self.course.root, [assignment])

    def release_one(self, assignment: str, student: str) -> None:
        """Write and release ``student``'s feedback; a :class:`~dlcourse.coursedir.CourseError` says why not."""
        try:
            self.call("generate_feedback", assignment, student, True)
            status_pages(self.course, assignment, [student])
            folder = self.course.feedback_dir(student, assignment)
            assert_no_leak(self.course, sorted(folder.glob("*.html")))
            missing = [name for name in RELEASE_FILES if not (folder / name).is_file()]
            if missing:
                raise FeedbackReleaseError(f"{folder} has no {' or '.join(missing)}; the submission did not come "
                                           "through the exchange, or was graded before its secret was kept")
            self.call("release_feedback", assignment, student)
        finally:
            secure_course(self.course.root, [assignment])

    def release_many(self, assignment: str, students: list[str]) -> bool:
        """Write and release the feedback of ``students`` in one ``generate_feedback`` and one
        ``release_feedback`` call (every other student excluded, so their feedback is neither
        rewritten nor released).

        Returns False, having released nothing, when some student's feedback could
        not go back this way (a submission that did not come through the exchange);
        the caller then releases student by student, which names them.
        """
        wanted = set(students)
        others = [s for s in self.course.students_with_submissions(assignment) if s not in wanted]
        coursedir = self.api.coursedir
        excluded = coursedir.student_id_exclude
        coursedir.student_id_exclude = ",".join(filter(None, [excluded, *others]))
        try:
            self.call("generate_feedback", assignment, None, True)
            status_pages(self.course, assignment, sorted(wanted))
            folders = [self.course.feedback_dir(student, assignment) for student in sorted(wanted)]
            assert_no_leak(self.course, sorted(page for folder in folders for page in folder.glob("*.html")))
            for folder in folders:
                if any(folder.glob("*.html")) and not all((folder / name).is_file() for name in RELEASE_FILES):
                    return False
            self.call("release_feedback", assignment, None)
        finally:
            coursedir.student_id_exclude = excluded
            secure_course(self.course.root, [assignment])
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
