"""Grade one submission in a sandbox, with the verdicts computed outside it.

The student's cells run in a :class:`~dlcourse_graders.sandbox.Sandbox`
child; each grade cell's public tests run there too (diagnostics a student
could tamper with only to their own loss), and its hidden checks run here in
the grader, talking to the child through the data-only channel. Scores go
into nbgrader's gradebook and an autograded notebook is written for
formgrader and feedback.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from dlcourse.build import without_hidden_region
from dlcourse.checking import format_cases, run_check, score_cases
from dlcourse.coursedir import Course
from dlcourse.manager import Hooks
from dlcourse.types import Check

from dlcourse_graders.engine import grading_seed
from dlcourse_graders.gradebook_writer import read_timestamp, record_scores
from dlcourse_graders.results import Status, SubmissionResult
from dlcourse_graders.sandbox import Sandbox, SandboxLimits
from dlcourse_graders.sanitize import InvalidSubmission, PreparedNotebook, prepare, read_submission

STARTUP_ALLOWANCE = 30.0
NOTEBOOK_OUTPUT_CAP = 1024 * 1024

#: Runs first in every sandbox: no display, and IPython's magics become no-ops
#: (cells are plain Python there; there is no shell to tamper with).
PRELUDE = '''
import os as _os
_os.environ.setdefault("MPLBACKEND", "Agg")
del _os
class _GradingShell:
    """What a notebook sees of IPython while it is graded."""
    def run_line_magic(self, *args, **kwargs):
        return None
    def run_cell_magic(self, *args, **kwargs):
        return None
    def system(self, *args, **kwargs):
        return None
def get_ipython():
    return _GradingShell()
'''


def to_python(source: str) -> str:
    """Turn IPython syntax (magics, ``!commands``) into plain Python calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - leave it to the sandbox to report the syntax error
        return source


@dataclass
class CellScore:
    """The score of one grade cell and what the student is told about it."""

    notebook: str
    grade_id: str
    points: float
    earned: float = 0.0
    report: list[str] = field(default_factory=list)


@dataclass
class SandboxEngine:
    """The tamper-proof engine behind ``dlcourse grade``."""

    limits: SandboxLimits | None = None
    wall_limit: float | None = None
    hooks: Hooks | None = None
    preload: tuple[str, ...] = ("numpy",)

    def limits_for(self, course: Course, assignment: str) -> SandboxLimits:
        """Engine limits, else the assignment's own overrides on the defaults.

        The wall limit defaults to the notebooks' time budgets plus a start-up
        allowance.
        """
        if self.limits is not None:
            base = self.limits
        else:
            metadata = [nbformat.read(p, as_version=4).metadata.get("dlcourse", {})
                        for p in sorted(course.source_dir(assignment).glob("*.ipynb"))]
            overrides: dict[str, float] = {}
            for meta in metadata:
                for key, value in meta.get("limits", {}).items():
                    overrides[key] = max(float(value), overrides.get(key, 0.0))
            wall = sum(float(m.get("time_limit", 60.0)) for m in metadata) + STARTUP_ALLOWANCE
            base = replace(SandboxLimits(wall_seconds=wall),
                           **{k: type(getattr(SandboxLimits(), k))(v) for k, v in overrides.items()})
        return replace(base, wall_seconds=self.wall_limit) if self.wall_limit is not None else base

    def grade(self, course: Course, assignment: str, student: str) -> SubmissionResult:
        started = time.monotonic()
        hooks = self.hooks or Hooks.load(course)
        sources = {p.name: nbformat.read(p, as_version=4) for p in sorted(course.source_dir(assignment).glob("*.ipynb"))}
        max_score = sum(c.metadata["nbgrader"].get("points", 0) for nb in sources.values() for c in nb.cells
                        if c.metadata.get("nbgrader", {}).get("grade"))
        folder = course.submitted_dir(student, assignment)
        try:
            prepared = [self._prepare(folder, name, source, assignment) for name, source in sources.items()]
        except InvalidSubmission as error:
            return SubmissionResult(assignment, student, Status.INVALID, None, float(max_score), str(error),
                                    time.monotonic() - started)
        checks = hooks.all_checks()
        scores, executed, failure = self._run(course, assignment, student, folder, prepared, checks)
        earned = sum(s.earned for s in scores)
        record_scores(course, assignment, student, {(s.notebook.removesuffix(".ipynb"), s.grade_id): s.earned
                                                     for s in scores}, read_timestamp(folder), hooks)
        self._write_autograded(course, assignment, student, folder, executed)
        tampering = [t for p in prepared for t in p.tampering]
        notes = [n for p in prepared for n in p.notes]
        if failure is not None:
            status, message = failure
        elif tampering:
            status, message = Status.TAMPERED, "restored protected cells: " + "; ".join(tampering)
        else:
            status, message = Status.GRADED, ""
        if notes:
            message = "; ".join(filter(None, [message, *notes]))
        return SubmissionResult(assignment, student, status, round(earned, 4), float(max_score), message[:1000],
                                time.monotonic() - started, tuple(sources))

    @staticmethod
    def _prepare(folder: Path, name: str, source: NotebookNode, assignment: str) -> PreparedNotebook:
        path = folder / name
        if not path.is_file():
            present = sorted(p.name for p in folder.glob("*.ipynb"))
            raise InvalidSubmission(f"{name} is missing from the submission (found: {', '.join(present) or 'none'})")
        return prepare(source, read_submission(path), name, assignment)

    def _run(self, course: Course, assignment: str, student: str, folder: Path, prepared: list[PreparedNotebook],
             checks: dict[str, Check]) -> tuple[list[CellScore], dict[str, list[NotebookNode]], tuple[Status, str] | None]:
        scores: list[CellScore] = []
        executed: dict[str, list[NotebookNode]] = {}
        files = _public_files(course, assignment, folder)
        hide = [course.root, *_secret_folders(checks.values(), self.hooks or Hooks.load(course))]
        failure: tuple[Status, str] | None = None
        with Sandbox(files, limits=self.limits_for(course, assignment), seed=grading_seed(assignment, student),
                     preload=self.preload, hide=hide) as box:
            box.exec(PRELUDE)
            for notebook in prepared:
                cells = executed.setdefault(notebook.name, [])
                for cell in notebook.cells:
                    cells.append(cell)
                    if cell.cell_type != "code":
                        continue
                    meta = cell.metadata.get("nbgrader", {})
                    score = CellScore(notebook.name, meta.get("grade_id", ""), float(meta.get("points", 0))) \
                        if meta.get("grade") else None
                    if box.failure is not None:
                        if score:
                            score.report.append(f"not run: {box.failure}")
                            scores.append(score)
                        continue
                    source = without_hidden_region(cell.source) if score else cell.source
                    outcome = _exec(box, to_python(source))
                    cell.outputs = _outputs(outcome)
                    if score:
                        self._score_cell(box, cell, score, outcome, checks)
                        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                                   text="\n".join(score.report) + "\n"))
                        scores.append(score)
            if box.failure is not None:
                failure = (box.failure.status, str(box.failure))
        return scores, executed, failure

    @staticmethod
    def _score_cell(box: Sandbox, cell: NotebookNode, score: CellScore, outcome: dict[str, Any],
                    checks: dict[str, Check]) -> None:
        """Score a grade cell from its hidden checks alone.

        The public tests ran inside the sandbox, where the student could have
        tampered with them: they are shown as diagnostics but never decide a
        score. Only a cell that names no checks falls back on them (as weak as
        stock nbgrader; ``dlcourse validate`` warns about such cells).
        """
        error = outcome.get("error")
        if error:
            score.report.append(f"public tests failed: {error.get('ename')}: {error.get('evalue')}")
        wanted = cell.metadata.get("dlcourse", {}).get("checks", [])
        if not wanted:
            score.earned = 0.0 if error else score.points
            score.report.append(f"points (public tests only): {score.earned:g}/{score.points:g}")
            return
        fractions = []
        for check_id in wanted:
            check = checks.get(check_id)
            if check is None:
                score.report.append(f"[hidden check {check_id}] is not installed: ask your instructor")
                fractions.append(0.0)
                continue
            cases = run_check(check, box.student(), salt=box.seed)
            fractions.append(score_cases(cases))
            score.report.append(format_cases(check, cases))
        score.earned = round(score.points * sum(fractions) / len(fractions), 4)
        score.report.append(f"points: {score.earned:g}/{score.points:g}")

    @staticmethod
    def _write_autograded(course: Course, assignment: str, student: str, folder: Path,
                          executed: dict[str, list[NotebookNode]]) -> None:
        target = course.autograded_dir(student, assignment)
        target.mkdir(parents=True, exist_ok=True)
        sources = {p.name: nbformat.read(p, as_version=4) for p in course.source_dir(assignment).glob("*.ipynb")}
        for name, cells in executed.items():
            notebook = nbformat.v4.new_notebook(metadata=sources[name].metadata, cells=cells)
            _cap_outputs(notebook)
            nbformat.write(notebook, target / name)
        stamp = folder / "timestamp.txt"
        if stamp.is_file():
            (target / "timestamp.txt").write_bytes(stamp.read_bytes())


def _exec(box: Sandbox, source: str) -> dict[str, Any]:
    from dlcourse_graders.sandbox import SandboxCrash

    try:
        return box.exec(source)
    except SandboxCrash as crash:
        return {"stdout": "", "stderr": "", "error": {"ename": crash.status.name, "evalue": str(crash),
                                                      "traceback": str(crash)}}


def _outputs(outcome: dict[str, Any]) -> list[NotebookNode]:
    outputs = []
    if outcome.get("stdout"):
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=outcome["stdout"]))
    if outcome.get("stderr"):
        outputs.append(nbformat.v4.new_output("stream", name="stderr", text=outcome["stderr"]))
    error = outcome.get("error")
    if error:
        traceback = error.get("traceback") or ""
        outputs.append(nbformat.v4.new_output("error", ename=str(error.get("ename")), evalue=str(error.get("evalue")),
                                              traceback=traceback.splitlines() if isinstance(traceback, str)
                                              else list(traceback)))
    return outputs


def _cap_outputs(notebook: NotebookNode) -> None:
    """Keep the whole notebook's outputs under a cap, dropping the largest first."""
    def size(cell: NotebookNode) -> int:
        return len(nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))) if cell.cell_type == "code" else 0

    total = sum(size(c) for c in notebook.cells)
    for cell in sorted((c for c in notebook.cells if c.cell_type == "code"), key=size, reverse=True):
        if total <= NOTEBOOK_OUTPUT_CAP:
            break
        before = size(cell)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="[output removed: over the size cap]\n")]
        total -= before - size(cell)


def _public_files(course: Course, assignment: str, folder: Path) -> dict[str, Path]:
    """The student's own files and the assignment's public data (never notebooks of others)."""
    files: dict[str, Path] = {}
    for root in (course.release_dir(assignment), folder):
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb" and path.name not in (
                    "timestamp.txt", "submission_secret.txt"):
                files[path.relative_to(root).as_posix()] = path
    return files


def _secret_folders(checks: Any, hooks: Hooks) -> list[Path]:
    """What the sandbox must not see of the installation: hidden check code,
    notebook sources (they hold the solutions) and a source checkout's history."""
    folders = set()
    for check in checks:
        with_source = inspect.getsourcefile(check.run) if callable(check.run) else None
        if with_source:
            folders.add(Path(with_source).resolve().parent)
    for topic in hooks.topics():
        folders |= {source.path.resolve().parent for source in hooks.notebooks(topic)}
    package = Path(inspect.getsourcefile(Hooks) or ".").resolve()
    folders |= {parent / ".git" for parent in package.parents if (parent / ".git").exists()}
    return sorted(folders)
