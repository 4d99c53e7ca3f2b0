"""``dlcourse build``: jupytext sources → nbgrader source notebooks.

Authors write percent-format sources whose cell headers say what nbgrader
needs (``nbgrader="solution"``, ``"tests"``, ``"readonly"``, ``grade_id``,
``points``, ``checks``). The build turns those into nbgrader's cell metadata,
appends to every tests cell the hidden region that runs its checks, tags the
cells that raise in an untouched release (so Run All reaches the widgets), pins
the kernelspec and lets plugins modify the notebook.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from nbformat import NotebookNode

from dlcourse.coursedir import Course, CourseError
from dlcourse.manager import Hooks
from dlcourse.permissions import secure_course
from dlcourse.types import NotebookSource, Topic

NBGRADER_SCHEMA = 3
SOURCE_KEYS = ("nbgrader", "grade_id", "points", "checks", "skip_grading", "lines_to_next_cell")
CELL_ROLES = ("solution", "tests", "readonly", "manual")
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
SOLUTION_BEGIN = "### BEGIN SOLUTION"
#: The cell tag after which JupyterLab's Run All and nbclient go on when the cell raises.
RAISES_TAG = "raises-exception"
#: What an assignment may override of the grading sandbox (see SandboxLimits).
SANDBOX_LIMIT_KEYS = frozenset({"address_space", "cpu_seconds", "max_processes", "max_file_bytes",
                                "wall_seconds", "threads"})


class BuildError(CourseError):
    """A notebook source is malformed; the message names the file and the cell."""


_HIDDEN_REGION = re.compile(re.escape(HIDDEN_BEGIN) + r".*?" + re.escape(HIDDEN_END) + r"\n?", re.DOTALL)


def without_hidden_region(source: str) -> str:
    """A grade cell's public part: its source with the hidden region removed."""
    return _HIDDEN_REGION.sub("", source)


def hidden_region(check_ids: list[str], points: float) -> str:
    """The code that a grade cell runs after its public tests.

    Under stock nbgrader it runs the checks in the kernel and its value (the
    points earned) is nbgrader's partial credit; ``dlcourse grade`` reads the
    check ids from the cell metadata and runs them outside the kernel.
    """
    return "\n".join(
        [
            HIDDEN_BEGIN,
            "from dlcourse.checking import run_hidden_checks as _dlcourse_run_hidden_checks",
            f"_dlcourse_run_hidden_checks({json.dumps(check_ids)}, globals(), points={points!r})",
            HIDDEN_END,
        ]
    )


def _nbgrader_metadata(role: str, grade_id: str, points: float | None, cell_type: str) -> dict[str, Any]:
    return {
        "grade": role in ("tests", "manual"),
        "solution": role in ("solution", "manual"),
        "locked": role in ("tests", "readonly"),
        "grade_id": grade_id,
        "schema_version": NBGRADER_SCHEMA,
        **({"points": points} if role in ("tests", "manual") else {}),
    }


def convert_cell(cell: NotebookNode, where: str, known_checks: set[str] | None) -> None:
    """Translate one source cell's metadata to nbgrader's, in place."""
    meta = cell.metadata
    role = meta.get("nbgrader")
    grade_id, points, checks = meta.get("grade_id"), meta.get("points"), meta.get("checks") or []
    skip = bool(meta.get("skip_grading"))
    for key in SOURCE_KEYS:
        meta.pop(key, None)
    if role is None:
        if grade_id or points or checks or skip:
            raise BuildError(f"{where}: grade_id/points/checks/skip_grading given without nbgrader=...")
        return
    if role not in CELL_ROLES:
        raise BuildError(f"{where}: nbgrader={role!r}; expected one of {', '.join(CELL_ROLES)}")
    if not grade_id:
        raise BuildError(f"{where}: nbgrader={role!r} needs a grade_id")
    if role in ("tests", "manual") and not (isinstance(points, (int, float)) and points > 0):
        raise BuildError(f"{where} ({grade_id}): a {role} cell needs points > 0")
    if role == "solution" and cell.cell_type == "code" and SOLUTION_BEGIN not in cell.source:
        raise BuildError(f"{where} ({grade_id}): a solution cell needs a '{SOLUTION_BEGIN}' region")
    if checks and role != "tests":
        raise BuildError(f"{where} ({grade_id}): only tests cells name checks")
    if skip and role != "readonly":
        raise BuildError(f"{where} ({grade_id}): only readonly cells may be skipped while grading")
    unknown = [c for c in checks if known_checks is not None and c not in known_checks]
    if unknown:
        raise BuildError(f"{where} ({grade_id}): unknown hidden checks {unknown}")
    meta["nbgrader"] = _nbgrader_metadata(role, grade_id, float(points) if points else None, cell.cell_type)
    if skip:  # e.g. a widget: pointless headless, and it is the course's cell, not the student's
        meta["dlcourse"] = {"skip_grading": True}
    if checks:
        meta["dlcourse"] = {"checks": list(checks)}
        cell.source = cell.source.rstrip() + "\n" + hidden_region(list(checks), float(points))


_TOP_LEVEL_SOLUTION = re.compile(r"^" + re.escape(SOLUTION_BEGIN), re.M)


def _bound_names(tree: ast.Module, *, definitions_only: bool) -> set[str]:
    """Names a cell binds at its top level (only its functions and classes with ``definitions_only``)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif not definitions_only:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, (ast.Store, ast.Del)):
                    names.add(inner.id)
                elif isinstance(inner, ast.alias):
                    names.add((inner.asname or inner.name).split(".")[0])
                elif isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.add(inner.name)
    return names


def _names_read(tree: ast.AST) -> set[str]:
    """Every name a cell reads, function bodies included."""
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _names_run_at_once(tree: ast.AST) -> set[str]:
    """Names a cell reads while it runs: function bodies are skipped, as they run only when called."""
    used: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            used.add(node.id)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            pending.extend([*node.decorator_list, *node.args.defaults, *filter(None, node.args.kw_defaults)])
        elif isinstance(node, ast.Lambda):
            pending.extend([*node.args.defaults, *filter(None, node.args.kw_defaults)])
        else:
            pending.extend(ast.iter_child_nodes(node))
    return used


def tag_cells_that_may_raise(notebook: NotebookNode) -> list[int]:
    """Tag ``raises-exception`` on the code cells that may raise in an untouched release; return them.

    The return value is the indexes of the tagged cells.

    In a release every solution region is a ``raise NotImplementedError()``
    stub, so Run All would stop at the first public test and never reach the
    widgets below it. A cell is tagged when it is a grade cell, when its solution
    region sits at the top level (the stub raises as the cell runs), or when it
    runs code that uses a name defined by a stubbed function, a helper calling
    one, or an earlier tagged cell (that name raises when called, or is
    undefined). Tagging only lets execution go on: the error still shows in the
    cell, and grading is unchanged, as nbgrader and dlcourse grade with
    ``allow_errors``.
    """
    tainted: set[str] = set()
    tagged = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        nbgrader = cell.metadata.get("nbgrader", {})
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # e.g. IPython magics: leave the cell as it is
            continue
        used = _names_run_at_once(tree)
        stubbed_here = bool(nbgrader.get("solution")) and bool(_TOP_LEVEL_SOLUTION.search(cell.source))
        if nbgrader.get("grade") or stubbed_here or used & tainted:
            tags = cell.metadata.setdefault("tags", [])
            if RAISES_TAG not in tags:
                tags.append(RAISES_TAG)
            tagged.append(index)
            # the cell may stop anywhere, so nothing it binds can be relied on
            tainted |= _bound_names(tree, definitions_only=False)
        elif nbgrader.get("solution") or _names_read(tree) & tainted:
            # stubs, and helpers that call them: defined, but they raise when called
            tainted |= _bound_names(tree, definitions_only=True)
    return tagged


def build_notebook(source: NotebookSource, topic: Topic, hooks: Hooks) -> NotebookNode:
    """Read ``source`` and return the nbgrader source notebook."""
    if not source.path.is_file():
        raise BuildError(f"{source.path}: notebook source not found (topic {topic.slug})")
    try:
        notebook = jupytext.read(source.path, fmt="py:percent")
    except Exception as error:  # noqa: BLE001 - any parse error is the author's to fix
        raise BuildError(f"{source.path}: cannot be read as a jupytext percent notebook ({error})") from error
    unknown_limits = set(source.limits) - SANDBOX_LIMIT_KEYS
    if unknown_limits:
        raise BuildError(f"{source.path}: unknown sandbox limits {sorted(unknown_limits)} "
                         f"(known: {', '.join(sorted(SANDBOX_LIMIT_KEYS))})")
    checks = hooks.checks(topic)
    known = {check.id for check in checks} if checks else None
    grade_ids: set[str] = set()
    for index, cell in enumerate(notebook.cells, start=1):
        convert_cell(cell, f"{source.path}: cell {index}", known)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in grade_ids:
            raise BuildError(f"{source.path}: cell {index}: duplicate grade_id {grade_id!r}")
        if grade_id:
            grade_ids.add(grade_id)
    if source.kind == "assignment":
        tag_cells_that_may_raise(notebook)
    kernel = hooks.kernel_name(topic, source)
    notebook.metadata = nbformat.from_dict(
        {
            "kernelspec": {"name": kernel, "display_name": _display_name(kernel), "language": "python"},
            "language_info": {"name": "python"},
            "dlcourse": {
                "topic": topic.slug,
                "assignment": source.assignment,
                "kind": source.kind,
                "time_limit": source.time_limit,
                **({"limits": dict(source.limits)} if source.limits else {}),
            },
        }
    )
    hooks.modify_notebook(notebook, source, "source")
    nbformat.validate(notebook)
    return notebook


def _display_name(kernel: str) -> str:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        return KernelSpecManager().get_kernel_spec(kernel).display_name
    except NoSuchKernel:
        return kernel


def build_course(course: Course, slugs: list[str] | None = None, hooks: Hooks | None = None) -> list[Path]:
    """Build every notebook of the chosen topics (all when ``slugs`` is empty)."""
    hooks = hooks or Hooks.load(course)
    try:
        topics = [hooks.topic(slug) for slug in slugs] if slugs else hooks.topics()
    except KeyError as error:
        raise CourseError(str(error.args[0])) from None
    written: list[Path] = []
    try:
        for topic in topics:
            sources = hooks.notebooks(topic)
            if not sources:
                raise BuildError(f"topic {topic.slug!r} registers no notebooks")
            for source in sources:
                notebook = build_notebook(source, topic, hooks)
                target = course.source_dir(source.assignment) / f"{source.name}.ipynb"
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(notebook, target)
                written.append(target)
    finally:  # source/ holds the solutions: private even when a later topic fails to build
        secure_course(course.root, {path.parent.name for path in written})
    return written


def time_limit(notebook_path: Path) -> float:
    """The wall-time budget a built notebook declares (60 s when absent)."""
    notebook = nbformat.read(notebook_path, as_version=4)
    return float(notebook.metadata.get("dlcourse", {}).get("time_limit", 60.0))
