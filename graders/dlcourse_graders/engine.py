"""The engine seam: anything that turns one submission into a result.

``dlcourse grade`` only needs :class:`Engine`; the engine that runs nbgrader's
autograde underneath (:mod:`dlcourse_graders.nbgrader_engine`) is the first
implementation, and a sandboxed engine can replace it without touching the
command, the gradebook code or the export.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from dlcourse.coursedir import Course

from dlcourse_graders.results import SubmissionResult


class Engine(Protocol):
    """Grades one submission and reports its status (never raises for a bad submission)."""

    def grade(self, course: Course, assignment: str, student: str) -> SubmissionResult:
        """Grade ``COURSE/submitted/STUDENT/ASSIGNMENT`` into the gradebook."""


def grading_seed(assignment: str, student: str) -> int:
    """The seed of a submission's run: reproducible, different per student."""
    digest = hashlib.sha256(f"{assignment}/{student}".encode()).digest()
    return int.from_bytes(digest[:4], "little")
