"""Write one submission's scores into nbgrader's gradebook, as autograde would."""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path
from typing import Mapping

from nbgrader.api import MissingEntry, TaskCell
from nbgrader.utils import parse_utc

from dlcourse.coursedir import Course
from dlcourse.manager import Hooks

from dlcourse_graders.gradebook import open_gradebook


def read_timestamp(folder: Path) -> datetime | None:
    """The submission time nbgrader's exchange recorded, if any and readable."""
    path = folder / "timestamp.txt"
    try:
        text = path.read_text(encoding="utf-8").strip()
        return parse_utc(text) if text else None
    except (OSError, ValueError):
        return None


def record_scores(course: Course, assignment: str, student: str, scores: Mapping[tuple[str, str], float | None],
                  timestamp: datetime | None, hooks: Hooks) -> None:
    """Store ``scores[(notebook, grade_id)]`` as nbgrader auto scores, with late penalties.

    ``None`` leaves a cell for manual grading (nbgrader's manually graded
    answers). Code cells not in ``scores`` get 0, so a stale score from an
    earlier run never survives. Task cells are left alone, as nbgrader's
    autograde leaves them: they are graded by hand.
    """
    with warnings.catch_warnings(), open_gradebook(course) as gb:
        # nbgrader's own add_submission trips SQLAlchemy autoflush warnings
        warnings.simplefilter("ignore")
        gb.update_or_create_student(student)
        kwargs = {"timestamp": timestamp} if timestamp else {}
        try:
            gb.find_submission(assignment, student)
            submission = gb.update_or_create_submission(assignment, student, **kwargs)
        except MissingEntry:
            submission = gb.add_submission(assignment, student, **kwargs)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                if isinstance(grade.cell, TaskCell):
                    continue
                key = (notebook.name, grade.name)
                if key in scores:
                    earned = scores[key]
                    grade.auto_score = None if earned is None else float(earned)
                elif grade.cell.cell_type == "code" or grade.auto_score is not None:
                    grade.auto_score = 0.0
                # nbgrader's own rule (SaveAutoGrades): formgrader lists these for review
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            notebook.late_submission_penalty = None
        gb.db.commit()
        seconds_late = submission.total_seconds_late
        if seconds_late > 0:
            for notebook in submission.notebooks:
                penalty = hooks.late_penalty(student, notebook.score, seconds_late)
                notebook.late_submission_penalty = min(max(penalty, 0.0), notebook.score) if penalty else None
            gb.db.commit()
