"""nbgrader's own scoring rules, for grade cells that name no dlcourse check.

Such a cell is a plain nbgrader test or a manually graded answer. Its score
is decided exactly as stock ``nbgrader autograde`` decides it, by calling
nbgrader's :func:`nbgrader.utils.determine_grade` on the cell as it ran in the
sandbox: an error or any output on stderr gives 0, a numeric value gives
partial credit, anything else full points; an answer the student left as
released gives 0, any other answer stays for manual grading (``None``).
"""

from __future__ import annotations

import copy
from typing import Any, Iterable

import nbformat
from nbformat import NotebookNode


def names_checks(cell: NotebookNode) -> bool:
    """Whether ``cell`` names dlcourse checks (graded outside the sandbox)."""
    return bool(cell.get("metadata", {}).get("dlcourse", {}).get("checks"))


def _nbgrader(cell: NotebookNode) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_plain_grade(cell: NotebookNode) -> bool:
    """A grade cell that names no dlcourse check: nbgrader decides its score."""
    return bool(_nbgrader(cell).get("grade")) and not names_checks(cell)


def is_plain_test(cell: NotebookNode) -> bool:
    """A plain nbgrader test: an autograded code cell that names no dlcourse check."""
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution") \
        and not names_checks(cell)


def is_manual(cell: NotebookNode) -> bool:
    """A manually graded answer (nbgrader: a grade cell that is also a solution cell)."""
    meta = _nbgrader(cell)
    return bool(meta.get("grade")) and bool(meta.get("solution"))


def max_points(notebooks: Iterable[NotebookNode]) -> float:
    """The maximum nbgrader counts: grade cells and task cells."""
    total = 0.0
    for notebook in notebooks:
        for cell in notebook.cells:
            meta = _nbgrader(cell)
            if meta.get("grade") or meta.get("task"):
                total += float(meta.get("points") or 0)
    return total


def value_text(value: dict[str, Any] | None) -> str | None:
    """The ``text/plain`` a Jupyter kernel would show for a cell's value, from the
    sandbox's description of it (``sandbox_child.describe_value``); None: no value."""
    if not isinstance(value, dict):
        return None
    from dlcourse_graders.sandbox_child import ChannelError, decode_value

    try:
        if value.get("kind") == "python":
            return repr(decode_value(value.get("value")))
        if value.get("kind") == "numpy":
            import numpy as np

            scalar = getattr(np, str(value.get("type")), None)
            if isinstance(scalar, type) and issubclass(scalar, np.generic):
                return repr(scalar(decode_value(value.get("value"))))
    except (ChannelError, TypeError, ValueError, OverflowError):
        pass
    return f"<{str(value.get('type', 'object'))[:100]} object>"  # not a number: nbgrader gives full points


def execute_result(value: dict[str, Any] | None) -> NotebookNode | None:
    """The ``execute_result`` output a kernel would have produced, or None."""
    text = value_text(value)
    if text is None:
        return None
    return nbformat.v4.new_output("execute_result", data={"text/plain": text}, execution_count=None)


def nbgrader_score(cell: NotebookNode, outputs: list[NotebookNode]) -> tuple[float | None, str]:
    """``(auto score, note)`` of a plain grade cell that ran with ``outputs``, by nbgrader's rule.

    ``None`` means the cell waits for manual grading. A value above the
    cell's points makes stock nbgrader stop with an error; here the cell
    gets 0 and the note says why.
    """
    from nbgrader.utils import determine_grade

    graded = copy.deepcopy(cell)
    if graded.cell_type == "code":
        graded.outputs = list(outputs)
    try:
        score, _ = determine_grade(graded)
    except ValueError as error:
        return 0.0, f"the cell's value is not a valid partial credit ({error})"
    if score is None:
        return None, "graded by hand"
    return float(score), ""
