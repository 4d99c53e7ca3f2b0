"""``dlcourse build``: metadata, hidden regions, kernelspec, and clear errors."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from dlcourse.build import BuildError, build_course, build_notebook
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
