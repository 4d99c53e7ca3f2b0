"""dlcourse's grading engine: statuses, gradebook, feedback and export.

The seam is :func:`dlcourse_graders.grade.grade_assignment`: it grades every
submission of an assignment with an :class:`~dlcourse_graders.engine.Engine`
and records status and score next to nbgrader's own tables.
"""

import sys

__all__: list[str] = []


def _skip_iri_grammar() -> None:
    """Keep jsonschema from compiling its optional IRI grammar in grading processes.

    Where ``rfc3987_syntax`` is installed, importing jsonschema (through
    nbformat) builds a parser for the ``iri`` formats: about 1.2 s, paid by the
    coordinator and again by every worker. Notebook schemas use no ``format``
    at all, so grading loses nothing; jsonschema simply leaves those two
    format checks out, as it does when the library is absent.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]


_skip_iri_grammar()


def _quiet_missing_cell_ids() -> None:
    """Notebooks written before nbformat 4.5 (most existing nbgrader courses) have no cell
    ids; nbformat warns about each one on every read. Grading never uses cell ids
    (nbgrader's grade_id names the cells), so the warning says nothing to act on."""
    import warnings

    warnings.filterwarnings("ignore", message=".*[Cc]ell is missing an id field.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="nbformat")
    try:
        from nbformat.warnings import MissingIDFieldWarning
    except ImportError:  # an nbformat without the class: the message filter above suffices
        return
    warnings.filterwarnings("ignore", category=MissingIDFieldWarning)


_quiet_missing_cell_ids()
