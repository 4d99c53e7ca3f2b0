"""The grading benchmark keeps working: a tiny class, graded side by side, gives identical scores."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_the_benchmark_grades_a_small_class_and_compares_scores():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "grading.py"), "--topic", "perceptron",
                           "--submissions", "3", "--skip-nbgrader", "--skip-dask", "--rounds", "2", "--workers", "2"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "dlcourse grade, local pool" in done.stdout
    assert "all 3 scores identical" in done.stdout
    assert "best of 2 rounds" in done.stdout
    assert "fixed overhead per submission, local pool (2 workers): median" in done.stdout
    # the weaker sandbox runs side by side, so the note can say what the allow list costs
    assert "fixed overhead per submission, local, weaker sandbox: median" in done.stdout
    assert "dlcourse grade, local, weaker sandbox: all 3 scores identical" in done.stdout
