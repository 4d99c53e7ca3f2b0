"""Grade one submission with nbgrader's own autograde, under a wall limit.

This engine keeps nbgrader's behaviour (the hidden checks run in the kernel)
and adds what nbgrader lacks: a wall limit per submission rather than per
cell, every process killed afterwards, and a status that tells a crash or a
timeout from a real zero.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from dlcourse.course_secret import course_secret
from dlcourse.coursedir import Course
from dlcourse.nbgrader_ops import tool_env

from dlcourse_graders import gradebook
from dlcourse_graders.autograde_guard import STOCK_AUTOGRADE
from dlcourse_graders.engine import check_salt
from dlcourse_graders.proctree import kill_tree
from dlcourse_graders.results import Status, SubmissionResult

_CRASH_MARKERS = ("DeadKernelError", "Kernel died", "kernel died", "KernelDied")


class NbgraderAutogradeEngine:
    """Runs ``nbgrader autograde ASSIGNMENT --student STUDENT`` for each submission."""

    def __init__(self, wall_limit: float | None = None) -> None:
        self.wall_limit = wall_limit

    def limit_for(self, course: Course, assignment: str) -> float:
        if self.wall_limit is not None:
            return self.wall_limit
        from dlcourse_graders.sandbox_engine import assignment_limits

        return assignment_limits(course, assignment).wall_seconds

    def grade(self, course: Course, assignment: str, student: str) -> SubmissionResult:
        started = time.monotonic()
        max_score = gradebook.max_score(course, assignment)
        problem = _check_submission(course, assignment, student)
        if problem:
            return SubmissionResult(assignment, student, Status.INVALID, None, max_score, problem)
        limit = self.limit_for(course, assignment)
        # the in-kernel checks draw their inputs from this (dlcourse.checking.check_rng): the same for every
        # student; stock nbgrader lets the kernel read it, one more reason it is the weaker engine
        env = tool_env({"DLCOURSE_GRADING_SEED": check_salt(assignment, course_secret(course.root))})
        # STOCK_AUTOGRADE: this engine is nbgrader's in-kernel autograde by choice, which the course config refuses
        command = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--student", student, "--force",
                   f"--Execute.timeout={int(limit)}", STOCK_AUTOGRADE]
        process = subprocess.Popen(command, cwd=course.root, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            log, _ = process.communicate(timeout=limit)
            timed_out = False
        except subprocess.TimeoutExpired:
            kill_tree(process.pid)
            log, _ = process.communicate()
            timed_out = True
        finally:
            kill_tree(process.pid)
        seconds = time.monotonic() - started
        score = gradebook.submission_score(course, assignment, student)
        status, message = _classify(process.returncode, log or "", timed_out, limit)
        if status is Status.GRADED:
            crashed = _dead_kernel_in_autograded(course, assignment, student)
            if crashed:
                status, message = Status.CRASHED, crashed
        return SubmissionResult(assignment, student, status, score, max_score, message, seconds)


def _check_submission(course: Course, assignment: str, student: str) -> str:
    """A student-safe reason why a submission cannot be graded at all, or ''."""
    folder = course.submitted_dir(student, assignment)
    expected = sorted(p.name for p in course.source_dir(assignment).glob("*.ipynb"))
    present = {p.name for p in folder.glob("*.ipynb")}
    missing = [name for name in expected if name not in present]
    if missing:
        return f"{folder}: missing notebook(s) {', '.join(missing)}"
    import nbformat

    for name in expected:
        try:
            nbformat.read(folder / name, as_version=4)
        except Exception as error:  # noqa: BLE001 - any unreadable file is reported, not raised
            return f"{folder / name}: not a readable notebook ({type(error).__name__})"
    return ""


def _classify(returncode: int | None, log: str, timed_out: bool, limit: float) -> tuple[Status, str]:
    if timed_out:
        return Status.TIMED_OUT, f"stopped after the {limit:.0f} s wall limit for this submission"
    if any(marker in log for marker in _CRASH_MARKERS):
        return Status.CRASHED, "the kernel died while running the notebook"
    if returncode != 0:
        lines = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
        return Status.INVALID, (lines[-1].strip() if lines else f"autograde failed (exit {returncode})")[:300]
    return Status.GRADED, ""


def _dead_kernel_in_autograded(course: Course, assignment: str, student: str) -> str:
    import nbformat

    for path in sorted(Path(course.autograded_dir(student, assignment)).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and any(
                    m in output.get("ename", "") + output.get("evalue", "") for m in _CRASH_MARKERS
                ):
                    return "the kernel died while running the notebook"
    return ""
