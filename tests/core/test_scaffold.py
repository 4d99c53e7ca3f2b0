"""``dlcourse new-topic``'s files and its refusals (the round trip is in tests/authors/test_new_topic.py)."""

from __future__ import annotations

import ast
import tomllib

import jupytext
import pytest

from dlcourse.build import convert_cell
from dlcourse.scaffold import FILES, ScaffoldError, new_topic, topic_names


def test_the_project_is_complete_and_filled_in(tmp_path):
    project = new_topic("word_vectors", tmp_path)
    written = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert written == sorted(t.format(slug="word_vectors", package="dlcourse_word_vectors") for t in FILES.values())
    for path in project.rglob("*"):
        if path.is_file():
            assert "{{" not in path.read_text(), path
            if path.suffix == ".py" and "notebooks" not in path.parts:
                ast.parse(path.read_text())
    config = tomllib.loads((project / "pyproject.toml").read_text())
    assert config["project"]["entry-points"]["dlcourse"] == {"word_vectors": "dlcourse_word_vectors:plugin"}
    secrets = ["dlcourse_word_vectors/notebooks", "dlcourse_word_vectors/hidden"]
    assert config["tool"]["hatch"]["build"]["targets"]["wheel"]["exclude"] == secrets
    assert config["tool"]["hatch"]["build"]["targets"]["sdist"]["exclude"] == secrets


def test_the_assignment_shows_every_cell_header_and_builds(tmp_path):
    project = new_topic("demo_headers", tmp_path)
    notebook = jupytext.read(project / "dlcourse_demo_headers" / "notebooks" / "demo_headers.py")
    roles = {(c.metadata.get("nbgrader"), bool(c.metadata.get("checks")), bool(c.metadata.get("skip_grading")))
             for c in notebook.cells}
    assert {("readonly", False, False), ("solution", False, False), ("tests", True, False),
            ("readonly", False, True)} <= roles
    for index, cell in enumerate(notebook.cells):
        convert_cell(cell, f"cell {index}", {"demo_headers.softmax"})  # raises on any header error


@pytest.mark.parametrize("name", ["Embeddings", "2d", "with-dash", "", "x" * 41])
def test_bad_names_are_refused(name, tmp_path):
    with pytest.raises(ScaffoldError, match="not a topic name"):
        topic_names(name)


def test_it_never_overwrites_and_never_shadows_an_installed_topic(tmp_path):
    (tmp_path / "taken" / "notes.txt").parent.mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="not empty"):
        new_topic("taken", tmp_path)
    with pytest.raises(ScaffoldError, match="installed already"):
        new_topic("perceptron", tmp_path, installed={"perceptron"})
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
