"""No attack gains points on a plain nbgrader assignment graded by ``dlcourse grade``.

The assignment's tests run inside the student's process, as nbgrader's do;
the corpus (tests/plain_attacks.py) patches numpy, numpy.testing, torch,
torch.testing, math, builtins and unittest, rebinds the test's globals,
returns objects equal to everything and ndarray, tensor and float
subclasses, and re-patches from a thread, an audit hook, a finalizer, a
timer, a trace function, or the student function itself while the test
calls it. ``python tests/plain_attacks.py`` prints stock nbgrader beside it.
"""

from __future__ import annotations

import json

import pytest

from plain_attacks import ATTACKS, TESTS, grade_dlcourse


@pytest.mark.slow
def test_no_attack_gains_points_and_the_honest_answer_keeps_them(tmp_path):
    names, scores = grade_dlcourse(tmp_path)
    assert scores["honest-right"] == len(TESTS)
    assert scores["honest-wrong"] == 0
    assert len(names) == len(ATTACKS) + 2
    gained = {names[s]: scores[s] for s in names if not s.startswith("honest") and scores[s] != 0}
    assert not gained, f"attacks that gained points: {gained}"
    logs = tmp_path / "course" / "logs" / "plain"
    honest = json.loads((logs / "honest-right.log").read_text())
    assert honest["status"] == "graded" and honest["message"] == ""
