"""Keep nbgrader's own autograde from grading a dlcourse course by accident.

Stock autograde runs the hidden tests inside the student's kernel, where the
student's code can tamper with them (see DESIGN §6). Formgrader's "Autograde"
button runs it in formgrader's process, so a course's ``nbgrader_config.py``
names :class:`SandboxOnlyAutograde` as the ``Autograde`` exporter: nbgrader
builds the exporter before it touches any file, and this one refuses with a
message that says how to grade instead. Stock autograde stays available on
purpose, for comparisons and ``dlcourse grade --engine nbgrader``: pass
:data:`STOCK_AUTOGRADE` on its command line.
"""

from __future__ import annotations

from typing import Any

from nbconvert.exporters import Exporter
from nbgrader.converters.base import NbGraderException

#: The command-line override that asks for nbgrader's in-kernel autograde deliberately.
STOCK_AUTOGRADE = "--Autograde.exporter_class=nbconvert.exporters.NotebookExporter"

MESSAGE = (
    "nbgrader's own autograde is turned off in this course: it would run the hidden tests inside the "
    "student's kernel, outside dlcourse's sandbox. Autograde this course with "
    "`dlcourse grade ASSIGNMENT --student S` (or `dlcourse grade ASSIGNMENT` for every submission); "
    "its scores then show in formgrader."
)


class SandboxOnlyAutograde(Exporter):
    """An exporter that refuses to be built, so that stock autograde stops before it starts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # parent is nbgrader's Autograde converter: its log is what formgrader shows
        self.log.error(MESSAGE)
        raise NbGraderException(MESSAGE)
