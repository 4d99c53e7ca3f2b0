"""What ``dlcourse validate`` prints: the findings, and where points were lost."""

from __future__ import annotations

from dlcourse.cli import build_parser
from dlcourse_graders.jobs import CellScore, instructor_log
from dlcourse_graders.results import Status
from dlcourse_graders.validate import ValidationReport


def _report(passed: bool) -> ValidationReport:
    cell = CellScore("softmax", "softmax_tests", 4.0, earned=3.0,
                     log=["check t.softmax: 3/4 cases passed",
                          "  failed: softmax on a (2, 3) array of scores near 1000: result contains NaN or inf"])
    report = ValidationReport("softmax")
    report.add("solution earns every automatic point", passed, "graded, 3.0/4 automatic points (of 4)")
    report.logs["solution"] = instructor_log([cell], Status.GRADED, "")
    return report


def test_a_failure_names_the_notebook_cell_check_and_failing_case():
    text = _report(passed=False).render()
    assert "softmax.ipynb, cell softmax_tests: 3/4" in text
    assert "check t.softmax: 3/4 cases passed" in text and "scores near 1000: result contains NaN" in text
    assert text.rstrip().endswith("FAILED")


def test_a_pass_is_short_unless_verbose():
    report = _report(passed=True)
    assert "cell softmax_tests" not in report.render()
    assert "cell softmax_tests" in report.render(verbose=True)
    assert build_parser().parse_args(["validate", "--verbose", "x"]).verbose
