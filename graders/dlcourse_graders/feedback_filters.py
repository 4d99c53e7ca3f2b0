"""nbconvert preprocessors that make an autograded notebook safe to hand back."""

from __future__ import annotations

from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from traitlets import Bool


class ShortenGradeCellTracebacks(Preprocessor):
    """Cut grade-cell tracebacks down to ``ErrorName: message``.

    IPython tracebacks quote the lines around the failing one, so a failed
    public test would reveal the hidden region below it; the error name and
    the public assertion message are all a student needs.
    """

    enabled = Bool(True, help="on whenever it is listed").tag(config=True)

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any], index: int):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
