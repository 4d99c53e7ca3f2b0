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


def grading_seed(assignment: str, secret: str) -> int:
    """The seed of a submission's run (Python, NumPy, torch in the sandbox).

    A function of the assignment and the course secret only: never of the
    student, the worker or the order of grading, so identical notebooks run
    identically and get identical scores, and a regrade reproduces them.
    """
    return int.from_bytes(_digest("run", assignment, secret)[:4], "little")


def check_salt(assignment: str, secret: str) -> str:
    """What the hidden checks' challenge inputs are drawn from (see :func:`dlcourse.checking.check_rng`).

    Derived apart from :func:`grading_seed`: the run's seed is visible inside
    the sandbox (a notebook can print it into its feedback), and must not
    tell anyone the check inputs.
    """
    return _digest("checks", assignment, secret).hex()[:32]


def _digest(purpose: str, assignment: str, secret: str) -> bytes:
    # the lengths make the encoding unambiguous whatever the assignment's name holds
    text = f"dlcourse-{purpose}:{len(secret)}:{secret}:{len(assignment)}:{assignment}"
    return hashlib.sha256(text.encode()).digest()
