"""Formgrader's buttons run stock nbgrader with the course's configuration: its
"Generate Feedback" must write dlcourse's safe feedback, and its "Autograde" must
not grade outside the sandbox."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pytest

from dlcourse.build import HIDDEN_BEGIN
from dlcourse.nbgrader_ops import generate_assignment, tool_env
from dlcourse_graders.autograde_guard import MESSAGE
from dlcourse_graders.grade import grade_assignment
from dlcourse_graders.results import Status

pytestmark = pytest.mark.slow

# What formgrader does: the course's config, plus formgrader's own HTMLExporter settings
# (its extension sets them for its pages), then NbGraderAPI's buttons.
FORMGRADER = """
import json, os
import nbgrader
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader
config = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()
config.HTMLExporter.template_name = 'formgrade'
config.HTMLExporter.extra_template_basedirs = [
    os.path.join(os.path.dirname(nbgrader.__file__), 'server_extensions', 'formgrader', 'templates')]
api = NbGraderAPI(CourseDirectory(config=config), config=config)
feedback = api.generate_feedback('toy', 'ann')
autograde = api.autograde('toy', 'ann')
print(json.dumps({'feedback': feedback, 'autograde': autograde}))
"""


def test_formgrader_feedback_is_filtered_and_its_autograde_refuses(toy_course):
    source = toy_course.source_dir("toy") / "toy.ipynb"
    notebook = nbformat.read(source, as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(r"Recall $$\sigma(z) = \frac{1}{1 + e^{-z}}$$"))
    nbformat.write(notebook, source)
    generate_assignment(toy_course, "toy")
    submitted = toy_course.submitted_dir("ann", "toy")
    submitted.mkdir(parents=True)
    (submitted / "toy.ipynb").write_bytes(source.read_bytes())
    [result] = grade_assignment(toy_course, "toy")
    assert result.status is Status.GRADED and result.score == 5
    graded = toy_course.autograded_dir("ann", "toy") / "toy.ipynb"
    graded_bytes = graded.read_bytes()
    hidden_ids = sorted(set(re.findall(r'"(toy\.\w+)"', source.read_text())))
    assert hidden_ids == ["toy.double", "toy.relu"]

    done = subprocess.run([sys.executable, "-c", FORMGRADER], cwd=toy_course.root, env=tool_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    buttons = json.loads(done.stdout.strip().splitlines()[-1])

    assert buttons["feedback"]["success"], buttons["feedback"]
    page = (toy_course.feedback_dir("ann", "toy") / "toy.html").read_text(encoding="utf-8")
    assert "toy (Score: 5.0 / 5.0)" in page
    for hidden in (HIDDEN_BEGIN, "HIDDEN TESTS", "run_hidden_checks", *hidden_ids):
        assert hidden not in page, hidden
    assert '<math display="block">' in page and r"\frac" not in page
    assert not re.search(r"<script[^>]*\bsrc=", page) and "x-mathjax-config" not in page

    autograde = buttons["autograde"]
    assert not autograde["success"] and MESSAGE in autograde["log"]
    assert graded.read_bytes() == graded_bytes, "the refusal comes before nbgrader touches autograded/"

    # The command line refuses the same way; a deliberate stock run says so (see autograde_guard).
    stock = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", "toy", "--student", "ann", "--force"],
                           cwd=toy_course.root, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert stock.returncode == 1 and "dlcourse grade ASSIGNMENT --student S" in stock.stdout + stock.stderr
    assert graded.read_bytes() == graded_bytes
