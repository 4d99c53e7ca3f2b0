"""Every hook is documented with its exact signature, in code and in the docs."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from dlcourse import hookspecs

ROOT = Path(__file__).resolve().parents[2]
SPECS = {name: fn for name, fn in vars(hookspecs).items() if name.startswith("dlcourse_") and callable(fn)}
FIRSTRESULT = {"dlcourse_kernel_name", "dlcourse_late_penalty", "dlcourse_export_grades"}


def test_the_hook_set_is_the_designed_one():
    assert set(SPECS) == {
        "dlcourse_configure", "dlcourse_register_topics", "dlcourse_register_notebooks",
        "dlcourse_register_visualisers", "dlcourse_register_checks", "dlcourse_check_sources",
        "dlcourse_register_datasets",
        "dlcourse_modify_notebook", "dlcourse_kernel_name", "dlcourse_late_penalty",
        "dlcourse_grading_finished", "dlcourse_export_grades",
    }


@pytest.mark.parametrize("name", sorted(SPECS))
def test_docstring_names_every_parameter_and_caller(name):
    spec = SPECS[name]
    doc = inspect.getdoc(spec) or ""
    for parameter in inspect.signature(spec).parameters:
        assert f":param {parameter}:" in doc, f"{name}: {parameter} undocumented"
    assert "Called by:" in doc
    options = spec.dlcourse_spec
    assert options["firstresult"] == (name in FIRSTRESULT)
    if name in FIRSTRESULT:
        assert "Stops at first non-None result" in doc


@pytest.mark.parametrize("name", sorted(SPECS))
def test_topic_author_guide_shows_the_exact_signature(name):
    guide = (ROOT / "docs" / "writing_a_topic.md").read_text(encoding="utf-8")
    parameters = ", ".join(inspect.signature(SPECS[name]).parameters)
    assert f"{name}({parameters})" in guide, f"docs/writing_a_topic.md lacks {name}({parameters})"
