"""Rebuild a submitted notebook around the instructor's protected cells.

nbgrader's rule, made strict: the student owns only the answer cells and any
cells they added; every locked or graded cell (tests, setup, instructions)
comes from the course's source notebook, in its place, whatever the student
did to it. Outputs and metadata from the submission are never trusted.
What was changed is reported so the instructor can see tampering.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

from dlcourse.build import without_hidden_region


class InvalidSubmission(Exception):
    """The file cannot be graded as this notebook; the message says why (student-safe)."""


@dataclass
class PreparedNotebook:
    """The cells to run, with nbgrader metadata from the source, and what was repaired.

    ``tampering`` lists changes to protected cells or grading metadata (the
    submission is graded on the restored cells and flagged); ``notes`` lists
    harmless oddities (a missing or retyped answer).
    """

    name: str
    cells: list[NotebookNode]
    tampering: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _nbgrader(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell: NotebookNode) -> str | None:
    grade_id = _nbgrader(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def _grading_flags(cell: NotebookNode) -> tuple:
    """What decides how a cell is graded (nbgrader adds other keys on release)."""
    meta = _nbgrader(cell)
    return (bool(meta.get("grade")), bool(meta.get("solution")), bool(meta.get("locked")),
            float(meta.get("points") or 0) if isinstance(meta.get("points") or 0, (int, float)) else -1.0)


def is_protected(cell: NotebookNode) -> bool:
    """Cells the student may not change: graded tests, locked cells."""
    meta = _nbgrader(cell)
    return bool(meta.get("grade") or meta.get("locked")) and not meta.get("solution")


def is_answer(cell: NotebookNode) -> bool:
    return bool(_nbgrader(cell).get("solution"))


def read_submission(name: str, data: bytes) -> NotebookNode:
    """Read a submitted file's bytes as a notebook, or raise :class:`InvalidSubmission`."""
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable file becomes a status
        raise InvalidSubmission(f"{name}: not a readable notebook ({type(error).__name__})") from None
    if not isinstance(notebook.get("cells"), list):
        raise InvalidSubmission(f"{name}: not a notebook (no cells)")
    return notebook


@functools.cache
def _hidden_tests_remover():  # noqa: ANN202 - nbgrader's ClearHiddenTests preprocessor
    from nbgrader.preprocessors import ClearHiddenTests

    return ClearHiddenTests()


def _public(source: object) -> str:
    """What a student sees of a protected cell: the release drops hidden regions,
    line by line, with nbgrader's own ClearHiddenTests."""
    text = source if isinstance(source, str) else "".join(source) if isinstance(source, list) else ""
    cell = nbformat.v4.new_code_cell(text.replace("\r\n", "\n"))
    try:
        _hidden_tests_remover()._remove_hidden_test_region(cell)
    except RuntimeError:  # unbalanced markers: nbgrader would refuse to release it
        return without_hidden_region(cell.source).strip()
    return cell.source.strip()


def _plain(cell: NotebookNode) -> NotebookNode:
    """A student cell, stripped of everything but its type and source."""
    if cell.get("cell_type") == "code":
        return nbformat.v4.new_code_cell(str(cell.get("source", "")))
    if cell.get("cell_type") == "markdown":
        return nbformat.v4.new_markdown_cell(str(cell.get("source", "")))
    return nbformat.v4.new_raw_cell(str(cell.get("source", "")))


def _fresh(cell: NotebookNode) -> NotebookNode:
    """A copy of a source cell with no outputs."""
    copied = copy.deepcopy(cell)
    if copied.cell_type == "code":
        copied.outputs, copied.execution_count = [], None
    return copied


def prepare(source: NotebookNode, submitted: NotebookNode, name: str, assignment: str) -> PreparedNotebook:
    """Merge the student's answers into the source's protected skeleton."""
    claimed = submitted.get("metadata", {}).get("dlcourse", {}).get("assignment")
    if isinstance(claimed, str) and claimed != assignment:
        raise InvalidSubmission(f"{name}: this notebook belongs to assignment {claimed!r}, not {assignment!r}")
    by_id = {_grade_id(c): c for c in source.cells if _grade_id(c)}
    if by_id and not any(_grade_id(c) in by_id for c in submitted.cells):
        raise InvalidSubmission(f"{name}: none of this assignment's cells are in the file (wrong notebook?)")
    prepared = PreparedNotebook(name, [])
    used: set[str] = set()
    for cell in submitted.cells:
        grade_id = _grade_id(cell)
        original = by_id.get(grade_id) if grade_id else None
        if original is None:
            if grade_id:
                prepared.tampering.append(f"cell with unknown id {grade_id!r} kept as an ordinary cell")
            prepared.cells.append(_plain(cell))
        elif grade_id in used:
            (prepared.notes if is_answer(original) else prepared.tampering).append(
                f"duplicate of cell {grade_id!r} removed")
            if is_answer(original) and cell.get("cell_type") == "code":
                prepared.cells.append(_plain(cell))  # a copied answer still runs, as the student's own code
        elif is_protected(original):
            used.add(grade_id)
            if _public(cell.get("source")) != _public(original.source) or cell.get("cell_type") != original.cell_type:
                prepared.tampering.append(f"protected cell {grade_id!r} was changed; restored")
            prepared.cells.append(_fresh(original))
        else:
            used.add(grade_id)
            answer = _fresh(original)
            if cell.get("cell_type") != original.cell_type:
                prepared.notes.append(f"answer cell {grade_id!r} changed type; left unanswered")
                answer.source = ""
            else:
                answer.source = str(cell.get("source", ""))
            if _grading_flags(cell) != _grading_flags(original):
                prepared.tampering.append(f"grading metadata of cell {grade_id!r} was changed; restored")
            prepared.cells.append(answer)
    _restore_missing(source, prepared, used)
    return prepared


def _restore_missing(source: NotebookNode, prepared: PreparedNotebook, used: set[str]) -> None:
    """Put back deleted protected cells after the cell that precedes them in the source."""
    for position, cell in enumerate(source.cells):
        grade_id = _grade_id(cell)
        if not grade_id or grade_id in used or not is_protected(cell):
            continue
        anchor = next((_grade_id(c) for c in reversed(source.cells[:position]) if _grade_id(c) in used), None)
        index = 0
        if anchor is not None:
            index = 1 + max(i for i, c in enumerate(prepared.cells) if _grade_id(c) == anchor)
        prepared.cells.insert(index, _fresh(cell))
        used.add(grade_id)
        prepared.tampering.append(f"protected cell {grade_id!r} was missing; restored")
    for cell in source.cells:
        if is_answer(cell) and _grade_id(cell) not in used:
            prepared.notes.append(f"answer cell {_grade_id(cell)!r} is missing")
