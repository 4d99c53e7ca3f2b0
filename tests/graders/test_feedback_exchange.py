"""Feedback goes back to a student through the exchange, the way a course's first week runs:
init with an exchange, build, release, a student fetches and submits with nbgrader's own
commands, collect, grade in the sandbox, `dlcourse feedback` releases, the student fetches it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, run_cli
from dlcourse.build import HIDDEN_BEGIN
from dlcourse.nbgrader_ops import tool_env

pytestmark = pytest.mark.slow

#: A formula of the perceptron assignment, shown in the toy notebook so that its feedback has LaTeX.
FORMULA = r"$\sigma(z) = 1 / (1 + e^{-z})$"


def fetches(page: str) -> list[str]:
    """URLs a browser would load for ``page``: script or stylesheet sources, images,
    CSS ``url()`` and ``@import`` (a URL in a CSS comment or a link loads nothing)."""
    attribute = r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"' >]+)"
    css = r"(?:url\(\s*[\"']?|@import\s+[\"']?)((?:https?:)?//[^\"') ]+)"
    return re.findall(attribute, page) + re.findall(css, page)


def _student(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader ARGS`` as the student does, in their home folder."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=home, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _cli(*args: str, env: dict[str, str]) -> str:
    done = run_cli(*args, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_feedback_reaches_the_student_through_the_exchange(tmp_path, toy_env):
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    _cli("init", str(course), "--course-id", "toycourse", "--exchange", str(exchange), env=toy_env)
    _cli("build", "--course", str(course), "toy", env=toy_env)
    assert FORMULA in (ROOT / "plugins/dlcourse_perceptron/notebooks/perceptron.py").read_text()
    source = course / "source" / "toy" / "toy.ipynb"
    notebook = nbformat.read(source, as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(f"The sigmoid {FORMULA} squashes a logit."))
    nbformat.write(notebook, source)
    hidden_ids = sorted(set(re.findall(r'"(toy\.\w+)"', source.read_text())))
    assert hidden_ids == ["toy.double", "toy.relu"], "the grade cells' hidden regions name their checks"
    _cli("release", "toy", "--course", str(course), env=toy_env)

    # The student: nbgrader takes the student id from the login (pwd, not $USER) unless
    # CourseDirectory.student_id names one, as here; HOME holds their exchange cache.
    home = tmp_path / "alice"
    home.mkdir()
    (home / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'toycourse'\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        "c.CourseDirectory.student_id = 'alice'\n")
    env = tool_env({"HOME": str(home)})
    _student(home, env, "fetch_assignment", "toy")
    fetched = home / "toy" / "toy.ipynb"
    answer = nbformat.read(fetched, as_version=4)
    solution = nbformat.read(source, as_version=4)
    for index, cell in enumerate(answer.cells):  # the student answers the first exercise only
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "double":
            answer.cells[index] = solution.cells[index]
    nbformat.write(answer, fetched)
    _student(home, env, "submit", "toy")

    assert "alice" in _cli("collect", "toy", "--course", str(course), env=toy_env)
    assert "alice: graded 2/5" in _cli("grade", "toy", "--course", str(course), env=toy_env)
    autograded = course / "autograded" / "alice" / "toy"
    submitted = course / "submitted" / "alice" / "toy"
    for name in ("timestamp.txt", "submission_secret.txt"):  # what nbgrader's autograde would carry
        assert (autograded / name).read_bytes() == (submitted / name).read_bytes()

    given = _cli("feedback", "toy", "--course", str(course), env=toy_env)
    assert "released feedback to the exchange for 1 student(s): alice" in given
    _student(home, env, "fetch_feedback", "toy")
    pages = sorted((home / "toy" / "feedback").glob("*/toy.html"))
    assert len(pages) == 1, sorted(p.relative_to(home) for p in (home / "toy").rglob("*"))
    page = pages[0].read_text(encoding="utf-8")
    assert "toy (Score: 2.0 / 5.0)" in page
    for hidden in (HIDDEN_BEGIN, "HIDDEN TESTS", "run_hidden_checks", *hidden_ids):
        assert hidden not in page, hidden
    # LaTeX is MathML, drawn by the browser; nothing is loaded from anywhere
    assert '<math display="inline">' in page and "&sigma;" not in page and "σ" in page
    assert "e^{-z}" not in page
    assert not re.search(r"<script[^>]*\bsrc=", page) and "x-mathjax-config" not in page
    assert not fetches(page) and "cdn" not in page.lower()

    # A submission graded before grading kept the secret: the release fails in one clear paragraph.
    (autograded / "submission_secret.txt").unlink()
    (course / "feedback" / "alice" / "toy" / "submission_secret.txt").unlink()
    failed = run_cli("feedback", "toy", "--course", str(course), env=toy_env)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr
    message = failed.stderr.strip()
    assert "\n" not in message and message.startswith("dlcourse feedback: error:")
    assert "alice" in message and "submission_secret.txt" in message and "--student alice --force" in message
