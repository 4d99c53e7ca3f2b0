"""What feedback is made of, for ``dlcourse feedback`` and for formgrader alike.

A course's ``nbgrader_config.py`` (written by ``dlcourse init``) names
:data:`FEEDBACK_PREPROCESSORS` and :class:`OfflineFeedbackExporter` for
nbgrader's ``GenerateFeedback``, so that formgrader's "Generate Feedback"
button, which runs stock ``nbgrader generate_feedback`` inside formgrader,
writes the same safe pages as ``dlcourse feedback``.
"""

from __future__ import annotations

from pathlib import Path

from nbconvert.exporters import HTMLExporter
from traitlets import default

#: Hidden regions and grade-cell tracebacks out, LaTeX to MathML, then nbconvert's CSS.
FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "dlcourse_graders.feedback_filters.ShortenGradeCellTracebacks",
    "dlcourse_graders.feedback_math.MathToMathML",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
#: The exporter for GenerateFeedback, by import name (for configuration).
FEEDBACK_EXPORTER = "dlcourse_graders.feedback_config.OfflineFeedbackExporter"

OFFLINE_TEMPLATES = Path(__file__).resolve().parent / "templates" / "offline"


class OfflineFeedbackExporter(HTMLExporter):
    """nbgrader's feedback HTML, without the script that loads MathJax from a CDN.

    nbgrader's ``feedback`` template calls nbconvert's ``mathjax()`` macro with
    its CDN default, whatever ``mathjax_url`` says. This exporter puts
    ``templates/offline/mathjax.html.j2`` (a macro that writes nothing) first on
    the template path; formulas are MathML by then (:mod:`dlcourse_graders.feedback_math`).
    A subclass, not ``HTMLExporter`` settings, so that formgrader's own pages
    and its template settings are left as they are.
    """

    @default("template_paths")
    def _template_paths(self, prune: bool = True, root_dirs: list[str] | None = None) -> list[str]:
        return [str(OFFLINE_TEMPLATES), *super()._template_paths(prune, root_dirs)]
