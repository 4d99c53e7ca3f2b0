"""The coordinator side of sandboxed grading: jobs from the course, results into it.

:func:`make_job` reads one submission and its assignment into a
:class:`~dlcourse_graders.jobs.GradingJob` (plain bytes), any executor runs
:func:`~dlcourse_graders.jobs.run_job` on it, and :func:`record_result`
writes what came back: scores into nbgrader's gradebook, the executed
notebook into ``autograded/``. Only the coordinator touches the course.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from dlcourse.course_secret import course_secret
from dlcourse.coursedir import Course
from dlcourse.manager import Hooks

from dlcourse_graders.engine import check_salt, grading_seed
from dlcourse_graders.gradebook_writer import read_timestamp, record_scores
from dlcourse_graders.jobs import (GradingJob, JobResult, named_checks, notebook_imports, run_job,
                                   topics_of_checks, worker_hooks)
from dlcourse_graders.results import Status, SubmissionResult
from dlcourse_graders.sandbox import SandboxLimits

STARTUP_ALLOWANCE = 30.0
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")


def _source_notebooks(course: Course, assignment: str) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(course.source_dir(assignment).glob("*.ipynb"))]


def assignment_limits(course: Course, assignment: str,
                      notebooks: list[NotebookNode] | None = None) -> SandboxLimits:
    """The sandbox limits of ``assignment``: defaults, its own overrides, and a wall
    limit of the notebooks' time budgets plus a start-up allowance (``notebooks``:
    its source notebooks, where the caller has read them already)."""
    if notebooks is None:
        notebooks = [nbformat.reads(data.decode("utf-8"), as_version=4)
                     for _, data in _source_notebooks(course, assignment)]
    metadata = [notebook.metadata.get("dlcourse", {}) for notebook in notebooks]
    overrides: dict[str, float] = {}
    for meta in metadata:
        for key, value in meta.get("limits", {}).items():
            overrides[key] = max(float(value), overrides.get(key, 0.0))
    wall = sum(float(m.get("time_limit", 60.0)) for m in metadata) + STARTUP_ALLOWANCE
    defaults = SandboxLimits(wall_seconds=wall)
    return replace(defaults, **{k: type(getattr(defaults, k))(v) for k, v in overrides.items()})


def chosen_limits(course: Course, assignment: str, limits: SandboxLimits | None = None,
                  wall_limit: float | None = None, notebooks: list[NotebookNode] | None = None) -> SandboxLimits:
    """``limits`` or the assignment's own; ``wall_limit`` wins over both."""
    base = limits if limits is not None else assignment_limits(course, assignment, notebooks)
    return base if wall_limit is None else replace(base, wall_seconds=wall_limit)


def _files(root: Path, *, notebooks: bool) -> tuple[tuple[str, bytes], ...]:
    if not root.is_dir():
        return ()
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.name not in EXCHANGE_FILES \
                and (notebooks or path.suffix != ".ipynb"):
            found.append((path.relative_to(root).as_posix(), path.read_bytes()))
    return tuple(found)


@dataclass(frozen=True)
class AssignmentSpec:
    """What every job of one assignment shares, read once per run."""

    assignment: str
    sources: tuple[tuple[str, bytes], ...]
    public: tuple[tuple[str, bytes], ...]
    preload: tuple[str, ...]
    limits: SandboxLimits
    topics: tuple[str, ...] | None = None  # whose checks its grade cells name; None: every topic
    seed: int = 0  # the run's seed, the same for every submission (see engine.grading_seed)
    check_salt: str = ""  # what hidden inputs are drawn from, the same for every submission


def load_assignment(course: Course, assignment: str, limits: SandboxLimits | None = None,
                    wall_limit: float | None = None, preload: tuple[str, ...] | None = None,
                    hooks: Hooks | None = None) -> AssignmentSpec:
    """The assignment's notebooks, public files, preloads (what its notebooks
    import, by default), limits (``limits`` or the assignment's own;
    ``wall_limit`` wins over both), the topics whose checks it uses, and its
    seeds: from the assignment and the course secret, never from a student."""
    from dlcourse_graders.gradebook_sources import with_gradebook_cells

    read = {name: nbformat.reads(data.decode("utf-8"), as_version=4)
            for name, data in _source_notebooks(course, assignment)}
    # the cells nbgrader's autograde would run: hidden tests in, autotests expanded (CourseError if never released)
    graded = with_gradebook_cells(course, assignment, read)
    sources = [(name, nbformat.writes(notebook).encode("utf-8")) for name, notebook in graded.items()]
    notebooks = list(read.values())
    if preload is None:
        preload = notebook_imports(notebooks)
    topics = topics_of_checks(named_checks(notebooks), hooks or worker_hooks())
    secret = course_secret(course.root)
    return AssignmentSpec(assignment, tuple(sources), _files(course.release_dir(assignment), notebooks=False),
                          preload, chosen_limits(course, assignment, limits, wall_limit, notebooks), topics,
                          seed=grading_seed(assignment, secret), check_salt=check_salt(assignment, secret))


def make_job(course: Course, spec: AssignmentSpec, student: str, device: str = "auto",
             gpu_slots: int = 1, weak_sandbox: bool = False) -> GradingJob:
    """One student's submission, with the shared assignment spec, as a self-contained job."""
    return GradingJob(
        assignment=spec.assignment, student=student, sources=spec.sources,
        submission=_files(course.submitted_dir(student, spec.assignment), notebooks=True),
        public=spec.public, limits=spec.limits, seed=spec.seed, check_salt=spec.check_salt,
        hide=(str(course.root),), preload=spec.preload, device=device, gpu_slots=gpu_slots, topics=spec.topics,
        weak_sandbox=weak_sandbox,
    )


def record_result(course: Course, result: JobResult, hooks: Hooks) -> SubmissionResult:
    """Write a job's result into the course: gradebook scores, autograded notebooks."""
    folder = course.submitted_dir(result.student, result.assignment)
    if result.status is not Status.INVALID:
        record_scores(course, result.assignment, result.student,
                      {(nb, grade_id): earned for nb, grade_id, earned in result.cell_scores},
                      read_timestamp(folder), hooks)
        target = course.autograded_dir(result.student, result.assignment)
        target.mkdir(parents=True, exist_ok=True)
        for name, data in result.notebooks:
            (target / Path(name).name).write_bytes(data)
        carry_files(course, result.assignment, result.student, target)
    return SubmissionResult(result.assignment, result.student, result.status, result.score, result.max_score,
                            result.message, result.seconds, tuple(name for name, _ in result.notebooks),
                            result.sandbox)


def _plain_files(root: Path, ignore: list[str]) -> list[Path]:
    """Regular files under ``root`` except notebooks and nbgrader's ignore patterns
    (symlinks are skipped: a link in a submission may point anywhere on the host)."""
    from nbgrader.utils import find_all_files

    if not root.is_dir():
        return []
    return [Path(name) for name in find_all_files(str(root), [*ignore, "*.ipynb"])
            if Path(name).is_file() and not Path(name).is_symlink()]


def carry_files(course: Course, assignment: str, student: str, target: Path) -> list[Path]:
    """Copy into ``target`` (``autograded/<student>/<assignment>``) the files nbgrader's own
    autograde would: every non-notebook file of the submission, the exchange's
    ``timestamp.txt`` and ``submission_secret.txt`` included (release_feedback needs the
    secret), then the source folder's non-notebook files over them, as the master copies."""
    from nbgrader.coursedir import CourseDirectory

    ignore = list(CourseDirectory().ignore)  # nbgrader's default patterns (checkpoints, caches)
    copied = []
    for root in (course.submitted_dir(student, assignment), course.source_dir(assignment)):
        for path in _plain_files(root, ignore):
            dest = target / path.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.unlink(missing_ok=True)
            dest.write_bytes(path.read_bytes())
            copied.append(dest)
    return copied


@dataclass
class SandboxEngine:
    """The tamper-proof engine behind ``dlcourse grade``, one submission at a time in this process."""

    limits: SandboxLimits | None = None
    wall_limit: float | None = None
    hooks: Hooks | None = None
    preload: tuple[str, ...] | None = None
    weak_sandbox: bool = False  # accept the weaker sandbox where the allow-list filesystem is unavailable

    def limits_for(self, course: Course, assignment: str) -> SandboxLimits:
        """Engine limits if given, else the assignment's; ``wall_limit`` wins over both."""
        return chosen_limits(course, assignment, self.limits, self.wall_limit)

    def job(self, course: Course, assignment: str, student: str) -> GradingJob:
        spec = load_assignment(course, assignment, self.limits, self.wall_limit, self.preload, self.hooks)
        return make_job(course, spec, student, weak_sandbox=self.weak_sandbox)

    def grade(self, course: Course, assignment: str, student: str) -> SubmissionResult:
        result = run_job(self.job(course, assignment, student))
        return record_result(course, result, self.hooks or Hooks.load(course))
