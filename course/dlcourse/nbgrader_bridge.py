"""nbgrader plugins that forward to dlcourse hooks.

Configure them in ``nbgrader_config.py`` so plain nbgrader commands honour
the course's plugins::

    c.AssignLatePenalties.plugin_class = "dlcourse.nbgrader_bridge.LatePenalty"
    c.ExportApp.plugin_class = "dlcourse.nbgrader_bridge.StatusExportPlugin"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook
from nbgrader.plugins import ExportPlugin, LateSubmissionPlugin

from dlcourse.manager import Hooks


class LatePenalty(LateSubmissionPlugin):
    """Late penalties from the ``dlcourse_late_penalty`` hook."""

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        return Hooks.load().late_penalty(student_id, score, total_seconds_late)


class StatusExportPlugin(ExportPlugin):
    """``nbgrader export`` with dlcourse's status column (failed is not zero)."""

    def export(self, gradebook: Gradebook) -> None:
        from dlcourse_graders.export import grade_rows

        rows: list[dict[str, Any]] = grade_rows(gradebook, assignments=self.assignment or None,
                                                students=self.student or None)
        destination = Path(self.to or "grades.csv")
        Hooks.load().export_grades(rows, destination, "csv")
        self.log.info("Wrote %d rows to %s", len(rows), destination)
