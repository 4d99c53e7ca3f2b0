"""The cells nbgrader's autograde would run, read from the gradebook.

``nbgrader generate_assignment`` expands autotests, then saves every locked
or graded cell into the gradebook (hidden tests included), and only then
clears the hidden tests from the release. Its autograde puts those saved
cells back into each submission (``OverwriteCells``). dlcourse does the same
for every cell that names no dlcourse check, so a plain nbgrader assignment
runs its hidden tests and its expanded autotests exactly as nbgrader would;
cells that name dlcourse checks keep the source notebook's text.
"""

from __future__ import annotations

import copy

from nbformat import NotebookNode
from nbgrader.api import MissingEntry

from dlcourse.coursedir import Course, CourseError

from dlcourse_graders.gradebook import open_gradebook
from dlcourse_graders.nbgrader_rules import is_plain_grade, names_checks


def missing_assignment(assignment: str) -> str:
    """nbgrader's own words for an assignment the gradebook does not know, and the way out."""
    return (f"No assignment with ID '{assignment}' exists in the database: release it first "
            f"(`dlcourse release {assignment}`, or `nbgrader generate_assignment {assignment}`)")


def require_released(course: Course, assignment: str) -> None:
    """:class:`CourseError` in nbgrader's words unless generate_assignment has run for ``assignment``."""
    from dlcourse.nbgrader_ops import use_environment_scripts

    use_environment_scripts()
    with open_gradebook(course) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(missing_assignment(assignment)) from None


def with_gradebook_cells(course: Course, assignment: str,
                         notebooks: dict[str, NotebookNode]) -> dict[str, NotebookNode]:
    """Copies of ``notebooks`` (file name -> source notebook) in which each locked cell that
    names no dlcourse check has the source generate_assignment saved, and every
    nbgrader cell the saved checksum (what tells an untouched answer).

    An assignment whose every grade cell names dlcourse checks is returned as
    it is: its cells need nothing from the gradebook.

    :class:`CourseError` when the gradebook does not know the assignment or a notebook.
    """
    from dlcourse.nbgrader_ops import use_environment_scripts

    if not any(is_plain_grade(cell) for notebook in notebooks.values() for cell in notebook.cells):
        return dict(notebooks)
    use_environment_scripts()  # nbgrader's gradebook runs `alembic` by name
    result: dict[str, NotebookNode] = {}
    with open_gradebook(course) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(missing_assignment(assignment)) from None
        for name, notebook in notebooks.items():
            stem = name.removesuffix(".ipynb")
            try:
                saved = {cell.name: (cell.source, cell.checksum, bool(cell.locked))
                         for cell in gb.find_notebook(stem, assignment).source_cells}
            except MissingEntry:
                raise CourseError(f"notebook '{stem}' of assignment '{assignment}' is not in the database: "
                                  f"release the assignment again (`dlcourse release {assignment}`)") from None
            copied = copy.deepcopy(notebook)
            for cell in copied.cells:
                meta = cell.get("metadata", {}).get("nbgrader")
                entry = saved.get(meta.get("grade_id")) if isinstance(meta, dict) else None
                if entry is None:
                    continue
                source, checksum, locked = entry
                meta["checksum"] = checksum
                if locked and not names_checks(cell):
                    cell.source = source
                    meta["locked"] = True  # generate_assignment locks grade cells; the gradebook says so
            result[name] = copied
    return result
