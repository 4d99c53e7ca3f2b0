"""``dlcourse build``: metadata, hidden regions, kernelspec, and clear errors."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from dlcourse.build import RAISES_TAG, BuildError, build_course, build_notebook, tag_cells_that_may_raise
from dlcourse.coursedir import CourseError, init_course
from dlcourse.manager import Hooks
from dlcourse.types import NotebookSource


def test_toy_build_writes_nbgrader_metadata_and_hidden_regions(toy_course):
    notebook = nbformat.read(toy_course.source_dir("toy") / "toy.ipynb", as_version=4)
    assert notebook.metadata.kernelspec.name == "dlcourse-py3"
    assert notebook.metadata.kernelspec.display_name == "Deep Learning (PyTorch)"
    assert notebook.metadata.dlcourse == {"topic": "toy", "assignment": "toy", "kind": "assignment",
                                          "time_limit": 20}
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in notebook.cells if "nbgrader" in c.metadata}
    assert cells["double"].metadata.nbgrader == {"grade": False, "solution": True, "locked": False,
                                                 "grade_id": "double", "schema_version": 3}
    tests = cells["relu_tests"]
    assert tests.metadata.nbgrader["grade"] and tests.metadata.nbgrader["points"] == 3.0
    assert tests.metadata.dlcourse == {"checks": ["toy.relu"]}
    assert tests.source.rstrip().endswith("### END HIDDEN TESTS")
    assert '_dlcourse_run_hidden_checks(["toy.relu"], globals(), points=3.0)' in tests.source
    assert cells["setup"].metadata.nbgrader["locked"]
    assert cells["explore"].metadata.dlcourse == {"skip_grading": True}
    for cell in notebook.cells:  # source-only keys never reach the notebook
        assert not {"checks", "points", "grade_id", "nbgrader"} & set(cell.metadata) - {"nbgrader"}


def test_perceptron_builds_its_assignment_and_lesson(tmp_path):
    course = init_course(tmp_path / "c")
    written = build_course(course, ["perceptron"])
    names = {p.relative_to(course.root).as_posix() for p in written}
    assert "source/perceptron/perceptron.ipynb" in names
    assert any(n.startswith("source/perceptron_lesson/") for n in names)


def _write_source(tmp_path: Path, text: str) -> NotebookSource:
    path = tmp_path / "bad.py"
    path.write_text(text, encoding="utf-8")
    return NotebookSource("toy", path, "toy", "bad")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('# %% nbgrader="solution" grade_id="a"\nx = 1\n', "BEGIN SOLUTION"),
        ('# %% nbgrader="tests" grade_id="t"\nassert True\n', "points > 0"),
        ('# %% nbgrader="tests" grade_id="t" points=1 checks=["toy.nope"]\nassert True\n', "unknown hidden checks"),
        ('# %% nbgrader="readonly" grade_id="a"\nx=1\n\n# %% nbgrader="readonly" grade_id="a"\ny=2\n', "duplicate"),
        ('# %% nbgrader="solutions" grade_id="a"\nx = 1\n', "expected one of"),
        ('# %% nbgrader="solution"\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n', "needs a grade_id"),
        ('# %% nbgrader="tests" grade_id="t" points=1 skip_grading=true\nassert True\n', "only readonly cells"),
    ],
)
def test_malformed_sources_name_file_and_problem(tmp_path, toy_env, text, problem):
    hooks = Hooks.load()
    source = _write_source(tmp_path, text)
    with pytest.raises(BuildError) as error:
        build_notebook(source, hooks.topic("toy"), hooks)
    assert str(source.path) in str(error.value) and problem in str(error.value)


def test_unknown_topic_is_a_clear_course_error(tmp_path):
    course = init_course(tmp_path / "c")
    with pytest.raises(CourseError, match="unknown topic 'nope'"):
        build_course(course, ["nope"])


def test_modify_notebook_hook_runs_on_every_build(toy_course, monkeypatch, tmp_path):
    monkeypatch.setenv("DLCOURSE_PLUGINS", "dlcourse_toytopic,dlcourse_recorder")
    build_course(toy_course, ["toy"])
    notebook = nbformat.read(toy_course.source_dir("toy") / "toy.ipynb", as_version=4)
    assert notebook.metadata["recorded_by"] == "dlcourse_recorder"


def _notebook(*cells: tuple[str, dict | None]) -> nbformat.NotebookNode:
    """A notebook of code cells, each given as (source, nbgrader metadata or None)."""
    notebook = nbformat.v4.new_notebook()
    for source, nbgrader in cells:
        cell = nbformat.v4.new_code_cell(source)
        if nbgrader is not None:
            cell.metadata["nbgrader"] = nbgrader
        notebook.cells.append(cell)
    return notebook


SOLUTION = {"grade": False, "solution": True, "locked": False}
TESTS = {"grade": True, "solution": False, "locked": True, "points": 1.0}


def test_cells_that_raise_in_a_release_are_tagged():
    notebook = _notebook(
        ("import numpy as np\nX = np.zeros(3)", None),                                        # 0 setup
        ("def relu(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", SOLUTION),  # 1 a stub
        ("assert relu(X).shape == (3,), 'shape?'", TESTS),  # 2 public test
        ("def twice(x):\n    return 2 * relu(x)", None),  # 3 only defines: runs fine
        ("print(X.sum())", None),                          # 4 never touches student code
        ("y = twice(X)", None),                            # 5 calls a stub through a helper
        ("print(y)", None),                                # 6 y is undefined when 5 raised
        ("### BEGIN SOLUTION\nmodel = relu\n### END SOLUTION", SOLUTION),  # 7 a top-level stub
        ("widget = show(model)", None),                    # 8 model is undefined
    )
    assert tag_cells_that_may_raise(notebook) == [2, 5, 6, 7, 8]
    untagged = notebook.cells[:2] + notebook.cells[3:5]
    assert all(RAISES_TAG not in cell.metadata.get("tags", []) for cell in untagged)
    assert tag_cells_that_may_raise(notebook) == [2, 5, 6, 7, 8]  # idempotent: one tag, not two
    assert notebook.cells[2].metadata.tags == [RAISES_TAG]
    assert notebook.cells[2].metadata.nbgrader == TESTS  # grading metadata untouched


def test_built_assignments_tag_their_public_tests_and_widget_cells(tmp_path):
    course = init_course(tmp_path / "c")
    build_course(course, ["perceptron"])
    assignment = nbformat.read(course.source_dir("perceptron") / "perceptron.ipynb", as_version=4)
    for cell in assignment.cells:
        nbgrader = cell.metadata.get("nbgrader", {})
        if nbgrader.get("grade") or cell.metadata.get("dlcourse", {}).get("skip_grading"):
            assert RAISES_TAG in cell.metadata.get("tags", []), nbgrader.get("grade_id")
        if nbgrader.get("solution"):  # a solution cell that only defines functions runs fine
            assert RAISES_TAG not in cell.metadata.get("tags", []), nbgrader.get("grade_id")
    lesson = nbformat.read(course.source_dir("perceptron_lesson") / "lesson.ipynb", as_version=4)
    assert not any(RAISES_TAG in cell.metadata.get("tags", []) for cell in lesson.cells)
