"""``dlcourse grade``: every submission of an assignment, whatever happens to each.

The coordinator builds one job per submission, skips submissions graded
before with the same content, checks and limits (unless forced), hands the
rest to an executor, and records each result as it arrives: scores into
nbgrader's gradebook, a status beside them, a log file per submission. Only
one run per assignment records at a time (see :mod:`dlcourse_graders.locks`), so two runs at once
never interleave their writes, on one machine or on several sharing a
PostgreSQL gradebook.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable, Sequence, TextIO

from dlcourse.coursedir import Course, CourseError
from dlcourse.manager import Hooks
from dlcourse.permissions import secure_course

from dlcourse_graders.engine import Engine
from dlcourse_graders.executors import Executor, executor_for
from dlcourse_graders.jobs import GradingJob, JobResult
from dlcourse_graders.locks import run_lock
from dlcourse_graders.results import Status, SubmissionResult
from dlcourse_graders.sandbox import SandboxLimits
from dlcourse_graders.statusdb import StatusStore

Progress = Callable[[int, int, SubmissionResult], None]


def choose_students(course: Course, assignment: str, students: Sequence[str] | None) -> list[str]:
    """The students to grade; :class:`CourseError` names any without a submission."""
    course.require_assignment(assignment)
    available = course.students_with_submissions(assignment)
    chosen = list(students) if students else available
    unknown = [s for s in chosen if s not in available]
    if unknown:
        raise CourseError(f"{course.root / 'submitted'}: no submission of {assignment!r} for {', '.join(unknown)}")
    if not chosen:
        raise CourseError(f"{course.root / 'submitted'}: no submissions of {assignment!r} to grade")
    return chosen


def grade_assignment(
    course: Course,
    assignment: str,
    students: Sequence[str] | None = None,
    *,
    engine: Engine | None = None,
    executor: Executor | None = None,
    limits: SandboxLimits | None = None,
    wall_limit: float | None = None,
    force: bool = False,
    device: str = "auto",
    gpu_slots: int = 1,
    hooks: Hooks | None = None,
    progress: Progress | None = None,
    weak_sandbox: bool = False,
) -> list[SubmissionResult]:
    """Grade ``COURSE/submitted/*/ASSIGNMENT`` (or only ``students``).

    With an ``engine`` (e.g. plain nbgrader) submissions are graded one by one
    through it; otherwise as sandboxed jobs on ``executor`` (default: a local
    pool, one worker per core). ``device="auto"`` grades on a worker's GPU
    when it has one, ``gpu_slots`` submissions at a time per GPU; ``"cpu"``
    never does. A broken submission becomes a status and a message, never an
    aborted batch.

    Sandboxed grading refuses to start (:class:`~dlcourse_graders.sandbox.SandboxUnavailable`)
    where this machine cannot give student code the allow-list filesystem,
    unless ``weak_sandbox`` accepts the weaker one; a Dask worker that cannot
    fails each of its jobs the same way. Each result records its sandbox.
    """
    from dlcourse.nbgrader_ops import course_config

    from dlcourse_graders.executors import DaskExecutor
    from dlcourse_graders.sandbox import require_allow_list

    if engine is None and not weak_sandbox and not isinstance(executor, DaskExecutor):
        require_allow_list()  # before any lock or database: nothing is graded, nothing recorded
    chosen = choose_students(course, assignment, students)
    from dlcourse_graders.gradebook_sources import require_released

    require_released(course, assignment)  # one line in nbgrader's words, not a traceback after grading
    hooks = hooks or Hooks.load(course)
    db_url = course_config(course).db_url
    results: list[SubmissionResult] = []
    with run_lock(course, assignment, db_url):
        # inside the lock: on an empty database the first run creates the tables, and two runs must not race
        store = StatusStore(db_url)
        try:
            if engine is not None:
                for index, student in enumerate(chosen, start=1):
                    result = engine.grade(course, assignment, student)
                    store.record(result)
                    write_log(course, result, None)
                    results.append(result)
                    if progress:
                        progress(index, len(chosen), result)
            else:
                results = _grade_jobs(course, assignment, chosen, executor, limits, wall_limit, force, hooks,
                                      store, progress, device, gpu_slots, weak_sandbox)
        finally:
            store.close()
            # the gradebook, autograded/ and logs/ are instructor-only, and stay the instructor's when root grades
            secure_course(course.root, [assignment])
    hooks.grading_finished(results, course)
    return results


def _grade_jobs(course: Course, assignment: str, students: list[str], executor: Executor | None,
                limits: SandboxLimits | None, wall_limit: float | None, force: bool, hooks: Hooks,
                store: StatusStore, progress: Progress | None, device: str = "auto",
                gpu_slots: int = 1, weak_sandbox: bool = False) -> list[SubmissionResult]:
    from dataclasses import replace

    from dlcourse_graders.executors import default_workers
    from dlcourse_graders.sandbox_engine import load_assignment, make_job, record_result

    spec = load_assignment(course, assignment, limits, wall_limit, hooks=hooks)
    # threads=0: each worker gives its jobs its own share of its machine's cores
    spec = replace(spec, limits=replace(spec.limits, threads=0))
    jobs: list[GradingJob] = []
    results: list[SubmissionResult] = []
    for student in students:
        job = make_job(course, spec, student, device=device, gpu_slots=gpu_slots, weak_sandbox=weak_sandbox)
        previous = store.get(assignment, student)
        if not force and previous and previous.get("fingerprint") == job.fingerprint:
            results.append(StatusStore.as_result(previous, unchanged=True))
        else:
            jobs.append(job)
    if progress:
        for index, result in enumerate(results, start=1):
            progress(index, len(students), result)
    if not jobs:
        return results
    fingerprints = {job.student: job.fingerprint for job in jobs}
    runner = executor or executor_for(min(default_workers(), len(jobs)))
    try:
        runner.warm(spec.topics, spec.preload)
        for job_result in runner.run(jobs):
            result = record_result(course, job_result, hooks)
            store.record(result, fingerprints[result.student])
            write_log(course, result, job_result)
            results.append(result)
            if progress:
                progress(len(results), len(students), result)
    finally:
        if executor is None:
            runner.close()
    return results


def write_log(course: Course, result: SubmissionResult, job: JobResult | None) -> Path:
    """``COURSE/logs/<assignment>/<student>.log``: what happened to one submission (instructor-only)."""
    folder = course.root / "logs" / result.assignment
    folder.mkdir(parents=True, exist_ok=True)
    record = {**result.as_row(), "notebooks": list(result.notebooks)}
    if job is not None:
        record.update(worker=job.worker, exec_seconds=round(job.exec_seconds, 3),
                      check_seconds=round(job.check_seconds, 3), startup_seconds=round(job.startup_seconds, 3),
                      overhead_seconds=round(job.overhead_seconds, 3),
                      cells=[{"notebook": nb, "grade_id": gid, "earned": earned} for nb, gid, earned in job.cell_scores],
                      # per cell and check: the failing cases, and the traceback of a check that broke
                      checks=job.log.splitlines())
    path = folder / f"{result.student}.log"
    path.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def print_progress(stream: TextIO = sys.stdout) -> Progress:
    """A progress callback: a bar on a terminal, one line per submission otherwise."""
    import time

    from dlcourse_graders.progress import ProgressReporter

    reporter: ProgressReporter | None = None
    started = time.monotonic()  # the rate counts from the start of the run, not the first result

    def report(index: int, total: int, result: SubmissionResult) -> None:
        nonlocal reporter
        reporter = reporter or ProgressReporter(total, stream, started=started)
        reporter(index, total, result)

    return report


def make_engine(name: str, course: Course, wall_limit: float | None = None) -> Engine | None:
    """The per-submission engine called ``name``: ``nbgrader``, or None for sandboxed jobs."""
    if name == "nbgrader":
        from dlcourse_graders.nbgrader_engine import NbgraderAutogradeEngine

        return NbgraderAutogradeEngine(wall_limit=wall_limit)
    return None


def summary_table(results: Sequence[SubmissionResult], slowest: int = 3) -> str:
    """A plain-text table of statuses, the slowest submissions, and the problems at the end."""
    lines = [f"{'student':<20} {'status':<15} {'score':>12} {'seconds':>8} {'sandbox':<10}  message"]
    for r in results:
        score = "-" if r.score is None else f"{r.score:g}/{r.max_score:g}"
        lines.append(f"{r.student:<20} {str(r.status):<15} {score:>12} {r.seconds:>8.1f} {r.sandbox or '-':<10}"
                     f"  {r.message}")
    counts: dict[str, int] = {}
    for r in results:
        counts[str(r.status)] = counts.get(str(r.status), 0) + 1
    lines.append("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    ranked = sorted(results, key=lambda r: r.seconds, reverse=True)[:slowest]
    lines.append("slowest: " + ", ".join(f"{r.student} ({r.seconds:.1f} s)" for r in ranked))
    weak = [r.student for r in results if r.sandbox == "weak"]
    if weak:
        lines.append(f"{len(weak)} submission(s) ran in the weaker sandbox (no allow-list filesystem): "
                     + ", ".join(weak))
    problems = [r for r in results if r.status is not Status.GRADED]
    if problems:
        lines.append(f"{len(problems)} submission(s) need attention: "
                     + ", ".join(f"{r.student} ({r.status})" for r in problems))
    return "\n".join(lines)
