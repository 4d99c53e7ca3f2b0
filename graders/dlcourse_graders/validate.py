"""``dlcourse validate``: the instructor's pre-release check of one assignment.

In a scratch copy of the course (the real gradebook is never touched) it
releases the assignment, proves the release hides every solution and hidden
region, grades the reference solution (every automatic point expected; cells
graded by hand are left for the grader) and the untouched release (zero
expected, with a clean status) with the sandboxed engine, checks that plain
``nbgrader autograde`` gives the solution the same, times the solution
against the budget, and says how each grade cell is graded: by a dlcourse
check (tamper-proof), by nbgrader-style tests in the sandbox (hardened), or
by hand.

It refuses a built assignment older than its notebook sources, and a topic
whose hidden checks exist but do not import. Its report names, on failure
(or always with ``verbose``), each grade cell that lost points, its checks,
their failing cases and the traceback of any check that broke.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from dlcourse.build import time_limit
from dlcourse.coursedir import Course, CourseError, init_course
from dlcourse.manager import Hooks
from dlcourse.nbgrader_ops import course_config, generate_assignment

from dlcourse_graders.nbgrader_engine import NbgraderAutogradeEngine
from dlcourse_graders.jobs import run_job
from dlcourse_graders.nbgrader_rules import is_manual
from dlcourse_graders.results import Status, SubmissionResult
from dlcourse_graders.sandbox_engine import SandboxEngine, record_result

_REGIONS = {
    "solution": (re.compile(r"###\s*BEGIN SOLUTION"), re.compile(r"###\s*END SOLUTION")),
    "hidden": (re.compile(r"###\s*BEGIN HIDDEN TESTS"), re.compile(r"###\s*END HIDDEN TESTS")),
}
AUTOTESTS = "autotests.yml"
BY_CHECK = "dlcourse check (tamper-proof)"
BY_TESTS = "nbgrader-style tests in the sandbox (hardened, not tamper-proof)"
BY_HAND = "by hand (no automatic points)"
SOLUTION_STUDENT = "validate-solution"
RELEASE_STUDENT = "validate-release"


@dataclass
class Finding:
    """One line of the validation report."""

    name: str
    passed: bool
    detail: str


@dataclass
class ValidationReport:
    """Everything ``dlcourse validate`` found about one assignment."""

    assignment: str
    findings: list[Finding] = field(default_factory=list)
    solution_seconds: float = 0.0
    grading_seconds: float = 0.0
    #: the instructor's log of each graded notebook (solution, release): cells, checks, failing cases
    logs: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.findings)

    def add(self, name: str, passed: bool, detail: str) -> None:
        self.findings.append(Finding(name, passed, detail))

    def render(self, verbose: bool = False) -> str:
        """The report; with ``verbose``, or when it failed, the grading logs by notebook, cell and check."""
        lines = [f"validate {self.assignment}:"]
        lines += [f"  [{'ok' if f.passed else 'FAIL'}] {f.name}: {f.detail}" for f in self.findings]
        if verbose or not self.passed:
            for who, text in self.logs.items():
                lines.append(f"  {who}, as graded:")
                lines += [f"    {line}" for line in text.splitlines()]
        lines.append(f"  {'PASSED' if self.passed else 'FAILED'}")
        return "\n".join(lines)


class StaleBuildError(CourseError):
    """The built assignment is older than a notebook source it was built from."""


def require_current_build(course: Course, assignment: str, hooks: Hooks) -> None:
    """Refuse to validate what the sources no longer say.

    Raises :class:`StaleBuildError` when a source notebook registered for
    ``assignment`` is newer than its built copy in ``source/``, and lets a
    topic's :class:`~dlcourse.topic_plugin.BrokenChecksError` through when its
    hidden checks exist but do not import (else every cell would score 0).
    """
    for topic in hooks.topics():
        sources = [s for s in hooks.notebooks(topic) if s.assignment == assignment]
        if not sources:
            continue
        hooks.checks(topic)  # raises, with the traceback, if hidden/ is broken
        for source in sources:
            built = course.source_dir(assignment) / f"{source.name}.ipynb"
            if source.path.is_file() and built.is_file() and source.path.stat().st_mtime > built.stat().st_mtime:
                raise StaleBuildError(f"{built.relative_to(course.root)} is older than its source {source.path}: "
                                      f"run `dlcourse build {topic.slug}` first")


def region_lines(source: str, kind: str) -> tuple[list[str], list[str]]:
    """Split ``source`` into (lines inside ``kind`` regions, lines outside)."""
    begin, end = _REGIONS[kind]
    inside, outside, within = [], [], False
    for line in source.splitlines():
        if begin.search(line):
            within = True
        elif end.search(line):
            within = False
        elif line.strip():
            (inside if within else outside).append(line.strip())
    return inside, outside


def secret_lines(notebook: nbformat.NotebookNode) -> set[str]:
    """Lines of solution and hidden regions that appear nowhere else in the notebook."""
    secret: set[str] = set()
    public: set[str] = set()
    for cell in notebook.cells:
        for kind in _REGIONS:
            inside, outside = region_lines(cell.source, kind)
            secret.update(inside)
            public.update(outside)
    return {line for line in secret - public if len(line) > 3}


def find_leaks(source_nb: nbformat.NotebookNode, release_nb: nbformat.NotebookNode) -> list[str]:
    """Solution or hidden lines of ``source_nb`` that survive in ``release_nb``."""
    secrets = secret_lines(source_nb)
    leaks = []
    for cell in release_nb.cells:
        for line in cell.source.splitlines():
            stripped = line.strip()
            if stripped in secrets or any(rx.search(line) for pair in _REGIONS.values() for rx in pair):
                leaks.append(stripped)
    return leaks


def validate_assignment(course: Course, assignment: str, keep: Path | None = None,
                        hooks: Hooks | None = None) -> ValidationReport:
    """Run every pre-release check; never touches ``course``'s gradebook."""
    source_dir = course.require_assignment(assignment)
    hooks = hooks or Hooks.load(course)
    require_current_build(course, assignment, hooks)
    report = ValidationReport(assignment)
    scratch_root = Path(tempfile.mkdtemp(prefix="dlcourse-validate-")) if keep is None else keep
    try:
        scratch = init_course(scratch_root / "course", course_config(course).course_id)
        shutil.copytree(source_dir, scratch.source_dir(assignment))
        if (course.root / AUTOTESTS).is_file():  # generate_assignment reads it from the course root
            shutil.copy(course.root / AUTOTESTS, scratch.root / AUTOTESTS)
        release_dir = generate_assignment(scratch, assignment)
        _check_release(report, source_dir, release_dir)
        for student, folder in ((SOLUTION_STUDENT, source_dir), (RELEASE_STUDENT, release_dir)):
            shutil.copytree(folder, scratch.submitted_dir(student, assignment))
        _answer_release(release_dir, source_dir, scratch.submitted_dir(SOLUTION_STUDENT, assignment))
        budget = sum(time_limit(p) for p in sorted(source_dir.glob("*.ipynb")))
        report.solution_seconds = _execution_seconds(source_dir, budget)
        report.add("time budget", report.solution_seconds <= budget,
                   f"solution runs in {report.solution_seconds:.1f} s (budget {budget:.0f} s)")
        cells = grading_plan(source_dir)
        automatic = sum(c.points for c in cells if c.how != BY_HAND)
        engine = SandboxEngine(hooks=hooks)
        solution = _grade(engine, scratch, assignment, SOLUTION_STUDENT, report)
        report.grading_seconds = solution.seconds
        report.add("solution earns every automatic point", _earns(solution, automatic),
                   f"{solution.status}, {solution.score}/{automatic:g} automatic points "
                   f"(of {solution.max_score:g}) {solution.message}".strip())
        untouched = _grade(engine, scratch, assignment, RELEASE_STUDENT, report)
        report.add("untouched release scores 0", untouched.status is Status.GRADED and untouched.score == 0,
                   f"{untouched.status}, {untouched.score}/{untouched.max_score} {untouched.message}".strip())
        report.add("has points", solution.max_score > 0, f"max score {solution.max_score:g}")
        for cell in cells:
            report.add(f"{cell.notebook}:{cell.grade_id} ({cell.points:g} pt)", True, cell.how)
        stock = NbgraderAutogradeEngine().grade(scratch, assignment, SOLUTION_STUDENT)
        report.add("plain nbgrader autograde agrees", _earns(stock, automatic),
                   f"solution {stock.status}, {stock.score}/{automatic:g} automatic points with the tests in the kernel")
    finally:
        if keep is None:
            shutil.rmtree(scratch_root, ignore_errors=True)
    return report


def _grade(engine: SandboxEngine, course: Course, assignment: str, student: str,
           report: ValidationReport) -> SubmissionResult:
    """Grade one notebook of the scratch course and keep its instructor log in ``report``."""
    job = run_job(engine.job(course, assignment, student))
    who = "solution" if student == SOLUTION_STUDENT else "untouched release"
    report.logs[who] = job.log
    return record_result(course, job, engine.hooks or Hooks.load(course))


@dataclass(frozen=True)
class PlannedCell:
    """How one grade or task cell is graded."""

    notebook: str
    grade_id: str
    points: float
    how: str


def grading_plan(source_dir: Path) -> list[PlannedCell]:
    """Every grade and task cell of the assignment, and how it is graded."""
    plan = []
    for path in sorted(source_dir.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if not (meta.get("grade") or meta.get("task")):
                continue
            checks = cell.metadata.get("dlcourse", {}).get("checks", [])
            if checks:
                how = f"{BY_CHECK}: {', '.join(checks)}"
            elif meta.get("task") or is_manual(cell) or cell.cell_type != "code":
                how = BY_HAND
            else:
                how = BY_TESTS
            plan.append(PlannedCell(path.name, str(meta.get("grade_id")), float(meta.get("points") or 0), how))
    return plan


def _answer_release(release_dir: Path, source_dir: Path, target: Path) -> None:
    """The solution as a student would submit it: the release (autotests expanded, hidden
    tests cleared) with every answer cell holding the source's solution."""
    for release_path in sorted(release_dir.glob("*.ipynb")):
        source = nbformat.read(source_dir / release_path.name, as_version=4)
        answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                   if c.metadata.get("nbgrader", {}).get("solution") and c.metadata["nbgrader"].get("grade_id")}
        notebook = nbformat.read(release_path, as_version=4)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell.source = answers[grade_id]
        nbformat.write(notebook, target / release_path.name)


def _earns(result: SubmissionResult, automatic: float) -> bool:
    return result.status is Status.GRADED and result.score is not None and abs(result.score - automatic) < 1e-6


def _check_release(report: ValidationReport, source_dir: Path, release_dir: Path) -> None:
    for source_path in sorted(source_dir.glob("*.ipynb")):
        release_path = release_dir / source_path.name
        if not release_path.is_file():
            report.add(f"release {source_path.name}", False, "notebook missing from the release")
            continue
        leaks = find_leaks(nbformat.read(source_path, as_version=4), nbformat.read(release_path, as_version=4))
        report.add(f"release {source_path.name} hides solutions and hidden tests", not leaks,
                   f"{len(leaks)} leaked line(s)" + (f", e.g. {leaks[0]!r}" if leaks else ""))


def _execution_seconds(source_dir: Path, budget: float) -> float:
    """Run the solution notebooks once, as a student's kernel would, and time it."""
    from nbclient import NotebookClient

    total = 0.0
    for path in sorted(source_dir.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        client = NotebookClient(notebook, timeout=int(budget) + 30, allow_errors=True,
                                resources={"metadata": {"path": str(path.parent)}})
        started = time.monotonic()
        client.execute()
        total += time.monotonic() - started
    return total
