"""A grading job is a pure function: submission bytes and assignment spec in, result out.

:func:`run_job` touches no course directory, so any process that has the
grader installed can run it: the coordinator itself, a local worker pool or a
Dask worker on another machine. Only the coordinator writes the gradebook
(:mod:`dlcourse_graders.sandbox_engine`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

import nbformat
from nbformat import NotebookNode

from dlcourse.build import without_hidden_region
from dlcourse.checking import format_cases, run_check, score_cases
from dlcourse.manager import Hooks
from dlcourse.types import Check, Topic

from dlcourse_graders.gpu import device_env
from dlcourse_graders.nbgrader_rules import (execute_result, is_manual, is_plain_test, max_points, names_checks,
                                             nbgrader_score)
from dlcourse_graders.results import Status
from dlcourse_graders.sandbox import Sandbox, SandboxCrash, SandboxLimits
from dlcourse_graders.sanitize import InvalidSubmission, PreparedNotebook, is_protected, prepare, read_submission

NOTEBOOK_OUTPUT_CAP = 1024 * 1024
Files = tuple[tuple[str, bytes], ...]

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


@dataclass(frozen=True)
class GradingJob:
    """Everything needed to grade one submission, as plain bytes."""

    assignment: str
    student: str
    sources: Files
    submission: Files
    public: Files
    limits: SandboxLimits
    seed: int  # the run's seed (Python, NumPy, torch): from the assignment and the course secret
    hide: tuple[str, ...] = ()
    preload: tuple[str, ...] = ("numpy",)
    device: str = "auto"  # "auto": a GPU slot when the worker has a GPU; "cpu": never
    gpu_slots: int = 1  # submissions sharing one GPU at once
    topics: tuple[str, ...] | None = None  # whose checks the grade cells name; None: every topic
    #: the instructor accepted the weaker sandbox where the worker cannot give the allow-list filesystem
    weak_sandbox: bool = False
    check_salt: str = ""  # what the hidden inputs are drawn from; never seen inside the sandbox

    @functools.cached_property
    def fingerprint(self) -> str:
        """Changes when the submission, the assignment, the limits or the checks change."""
        digest = hashlib.sha256()
        for name, data in (*self.sources, *self.submission, *self.public):
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        # threads only share out the cores: they do not change what is graded
        digest.update(repr((replace(self.limits, threads=0), self.seed, self.check_salt, self.preload)).encode())
        digest.update(checks_version(self.topics).encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class JobResult:
    """What :func:`run_job` found; the coordinator records it."""

    assignment: str
    student: str
    status: Status
    score: float | None
    max_score: float
    message: str
    seconds: float
    cell_scores: tuple[tuple[str, str, float | None], ...] = ()  # None: left for manual grading
    notebooks: Files = ()
    exec_seconds: float = 0.0
    check_seconds: float = 0.0
    startup_seconds: float = 0.0
    worker: str = ""
    sandbox: str = ""  # which sandbox the notebook ran in: "allow-list" or "weak" ("" if it never ran)
    #: for the instructor only: each grade cell's checks, failing cases and any check's traceback
    log: str = ""

    @property
    def overhead_seconds(self) -> float:
        """Grading time not spent running the notebook's own cells or its checks."""
        return max(0.0, self.seconds - self.exec_seconds - self.check_seconds)


@dataclass
class CellScore:
    """The score of one grade cell and what the student is told about it."""

    notebook: str
    grade_id: str
    points: float
    earned: float | None = 0.0  # None: left for manual grading, as nbgrader leaves it
    report: list[str] = field(default_factory=list)
    #: what the instructor is told: per check, the failing cases and the traceback of a check's own bug
    log: list[str] = field(default_factory=list)


#: This worker's share of its machine's cores (0: not set, use them all).
_worker_threads = 0


def set_worker_threads(threads: int) -> None:
    """Record how many cores this worker may use (set once when the worker starts)."""
    global _worker_threads
    _worker_threads = max(1, int(threads))


def worker_threads() -> int:
    """This worker's share of the cores: what a job with ``limits.threads == 0`` gets.

    The worker decides, not the coordinator: a Dask worker on another machine
    knows its own cores and how many workers share them.
    """
    if _worker_threads:
        return _worker_threads
    from dlcourse_graders.executors import default_workers

    return default_workers()


@functools.cache
def worker_hooks() -> Hooks:
    """The plugin manager of this worker process, loaded once (warm)."""
    return Hooks.load()


def named_checks(notebooks: Iterable[NotebookNode]) -> tuple[str, ...]:
    """The check ids that the grade cells of ``notebooks`` name, in order of first use."""
    found: dict[str, None] = {}
    for notebook in notebooks:
        for cell in notebook.cells:
            found.update(dict.fromkeys(cell.metadata.get("dlcourse", {}).get("checks", [])))
    return tuple(found)


def topics_of_checks(check_ids: Iterable[str], hooks: Hooks) -> tuple[str, ...] | None:
    """The topics whose checks ``check_ids`` are, read from the ids' ``topic.`` prefix.

    ``None`` means every topic: it is the answer when an id does not start
    with an installed topic's slug, so that an unusual id costs speed, never
    a check.
    """
    known = {topic.slug for topic in hooks.topics()}
    topics = {check_id.split(".", 1)[0] for check_id in check_ids}
    return tuple(sorted(topics)) if topics <= known else None


def _chosen_topics(hooks: Hooks, topics: tuple[str, ...] | None) -> list[Topic]:
    return hooks.topics() if topics is None else [hooks.topic(slug) for slug in topics]


def checks_digest(hooks: Hooks, topics: tuple[str, ...] | None = None) -> str:
    """A digest of the files the checks of ``topics`` (``None``: all) are made of.

    Read from the files, not from imported checks, so the coordinator never
    imports the checks or their libraries.
    """
    digest = hashlib.sha256()
    for topic in _chosen_topics(hooks, topics):
        files = hooks.check_sources(topic)
        root = Path(os.path.commonpath([f.parent for f in files])) if files else Path()
        digest.update(f"[{topic.slug}]".encode())
        for path in files:
            content = hashlib.sha256(path.read_bytes()).digest()
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + content)
    return digest.hexdigest()


@functools.cache
def checks_version(topics: tuple[str, ...] | None = None) -> str:
    """:func:`checks_digest` of this process's installation: submissions are regraded when it changes."""
    return checks_digest(worker_hooks(), topics)


@functools.cache
def worker_checks(topics: tuple[str, ...] | None = None) -> dict[str, Check]:
    """The checks of ``topics`` (``None``: all) by id, imported once per worker process."""
    hooks = worker_hooks()
    return {check.id: check for topic in _chosen_topics(hooks, topics) for check in hooks.checks(topic)}


@functools.cache
def worker_secret_folders() -> tuple[Path, ...]:
    """:func:`secret_folders` of this worker's installation, computed once."""
    return tuple(secret_folders(worker_hooks()))


def secret_folders(hooks: Hooks) -> list[Path]:
    """What the sandbox must not see of this installation: hidden check code,
    notebook sources (they hold the solutions) and a source checkout's history."""
    folders = set()
    for topic in hooks.topics():
        folders |= {path.parent for path in hooks.check_sources(topic)}
        folders |= {source.path.resolve().parent for source in hooks.notebooks(topic)}
    package = Path(inspect.getsourcefile(Hooks) or ".").resolve()
    folders |= {parent / ".git" for parent in package.parents if (parent / ".git").exists()}
    return sorted(folders)


def notebook_imports(notebooks: Iterable[NotebookNode]) -> tuple[str, ...]:
    """Modules the (trusted) source notebooks import, plus numpy, numpy.testing and torch:
    what a warm zygote preloads so that no submission pays for these imports
    (numpy.testing: every child snapshots it for plain nbgrader tests, see
    :mod:`dlcourse_graders.pristine`)."""
    import ast
    import importlib.util

    found = ["numpy", "numpy.testing", "torch"]
    for notebook in notebooks:
        for cell in notebook.cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(to_python(without_hidden_region(cell.source)))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found += [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.append(node.module)
    wanted = []
    for name in dict.fromkeys(found):
        try:
            if importlib.util.find_spec(name) is not None:
                wanted.append(name)
        except (ImportError, ValueError):
            continue
    return tuple(wanted)


@functools.cache
def _transformer() -> Any:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


@functools.lru_cache(maxsize=4096)  # the locked cells are the same in every submission
def to_python(source: str) -> str:
    """Turn IPython syntax (magics, ``!commands``) into plain Python calls."""
    try:
        return _transformer().transform_cell(source)
    except Exception:  # noqa: BLE001 - leave it to the sandbox to report the syntax error
        return source


def run_job(job: GradingJob) -> JobResult:
    """Grade one submission: sanitise, run in a sandbox, check, score. Never raises for a bad submission."""
    import socket

    started = time.monotonic()
    sources = {name: nbformat.reads(data.decode("utf-8"), as_version=4) for name, data in job.sources}
    max_score = max_points(sources.values())  # grade and task cells, as nbgrader counts them
    base = dict(assignment=job.assignment, student=job.student, max_score=max_score, worker=socket.gethostname())
    submitted = dict(job.submission)
    try:
        prepared = [_prepare(submitted, name, source, job.assignment) for name, source in sources.items()]
    except InvalidSubmission as error:
        return JobResult(status=Status.INVALID, score=None, message=str(error),
                         seconds=time.monotonic() - started, **base)
    files = {**dict(job.public), **{k: v for k, v in submitted.items() if not k.endswith(".ipynb")}}
    hide = [Path(p) for p in job.hide if Path(p).exists()] + list(worker_secret_folders())
    timing = {"exec": 0.0, "check": 0.0, "startup": 0.0}
    sandbox: list[str] = []  # filled in by _execute once the sandbox has started
    checks = worker_checks(job.topics)
    if not set(named_checks(sources.values())) <= set(checks):  # an id outside its prefix's topic
        checks = worker_checks(None)
    scores, executed, failure = _execute(job, files, hide, prepared, checks, timing, sandbox)
    tampering = [t for p in prepared for t in p.tampering]
    notes = [n for p in prepared for n in p.notes]
    if failure is not None:
        status, message = failure
    elif tampering:
        status, message = Status.TAMPERED, "restored protected cells: " + "; ".join(tampering)
    else:
        status, message = Status.GRADED, ""
    message = "; ".join(filter(None, [message, *notes]))[:1000]
    notebooks = tuple((name, _autograded(sources[name], cells)) for name, cells in executed.items())
    elapsed = time.monotonic() - started
    return JobResult(status=status, score=round(sum(s.earned or 0.0 for s in scores), 4), message=message,
                     seconds=elapsed, cell_scores=tuple((s.notebook, s.grade_id, s.earned) for s in scores),
                     notebooks=notebooks, exec_seconds=timing["exec"], check_seconds=timing["check"],
                     startup_seconds=timing["startup"], sandbox="".join(sandbox),
                     log=instructor_log(scores, status, message), **base)


def instructor_log(scores: Iterable[CellScore], status: Status, message: str) -> str:
    """The per-submission log for the instructor: every grade cell by notebook and grade id, its
    score, and for each check the failing cases and the traceback of any bug in the check."""
    lines = [f"status: {status}" + (f" ({message})" if message else "")]
    for score in scores:
        earned = "left for manual grading" if score.earned is None else f"{score.earned:g}"
        lines.append(f"{score.notebook}.ipynb, cell {score.grade_id}: {earned}/{score.points:g}")
        lines += [f"    {line}" for entry in score.log for line in entry.splitlines()]
    return "\n".join(lines) + "\n"


def _prepare(submitted: dict[str, bytes], name: str, source: NotebookNode, assignment: str) -> PreparedNotebook:
    if name not in submitted:
        present = sorted(k for k in submitted if k.endswith(".ipynb"))
        raise InvalidSubmission(f"{name} is missing from the submission (found: {', '.join(present) or 'none'})")
    return prepare(source, read_submission(name, submitted[name]), name, assignment)


def _execute(job: GradingJob, files: dict[str, bytes], hide: list[Path], prepared: list[PreparedNotebook],
             checks: dict[str, Check], timing: dict[str, float], sandbox: list[str]):
    scores: list[CellScore] = []
    executed: dict[str, list[NotebookNode]] = {}
    failure: tuple[Status, str] | None = None
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(device_env(job.device, job.gpu_slots))
        limits = job.limits if job.limits.threads > 0 else replace(job.limits, threads=worker_threads())
        if env["DLCOURSE_DEVICE"] == "cuda":
            limits = replace(limits, address_space=0)
        box = stack.enter_context(Sandbox(files, limits=limits, seed=job.seed, preload=job.preload, hide=hide,
                                          env=env, allow_weak=job.weak_sandbox))
        timing["startup"] = box.startup_seconds
        sandbox.append(box.isolation)
        box.exec(PRELUDE, owner="instructor")
        for notebook in prepared:
            cells = executed.setdefault(notebook.name.removesuffix(".ipynb") + ".ipynb", [])
            for cell in notebook.cells:
                cells.append(cell)
                meta = cell.metadata.get("nbgrader", {})
                score = CellScore(notebook.name.removesuffix(".ipynb"), meta.get("grade_id", ""),
                                  float(meta.get("points", 0))) if meta.get("grade") else None
                if score and cell.cell_type != "code":  # a written answer: nbgrader's rule, nothing runs
                    _score_manual(cell, score)
                    scores.append(score)
                    continue
                if cell.cell_type != "code":
                    continue
                if box.failure is not None:
                    if score:
                        if is_manual(cell):
                            _score_manual(cell, score)
                        else:
                            score.report.append(f"not run: {box.failure}")
                        scores.append(score)
                    continue
                if cell.metadata.get("dlcourse", {}).get("skip_grading"):
                    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="(not run while grading)\n")]
                    continue
                # a plain nbgrader test runs whole (hidden tests included) and hardened; a cell naming
                # dlcourse checks runs only its public part, the checks run outside
                test = is_plain_test(cell)
                source = without_hidden_region(cell.source) if score and names_checks(cell) else cell.source
                began = time.monotonic()
                outcome = _exec(box, to_python(source), owner="instructor" if is_protected(cell) else "student",
                                test=test)
                timing["exec"] += time.monotonic() - began
                cell.outputs = _outputs(outcome)
                if score:
                    began = time.monotonic()
                    _score_cell(box, cell, score, outcome, checks, job.check_salt)
                    timing["check"] += time.monotonic() - began
                    cell.outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                               text="\n".join(score.report) + "\n"))
                    scores.append(score)
        if box.failure is not None:
            failure = (box.failure.status, str(box.failure))
    return scores, executed, failure


def _score_cell(box: Sandbox, cell: NotebookNode, score: CellScore, outcome: dict[str, Any],
                checks: dict[str, Check], salt: str) -> None:
    """Score a grade cell from its hidden checks alone, their inputs drawn from ``salt``.

    The public tests ran inside the sandbox, where the student could have
    tampered with them: they are shown as diagnostics but never decide a
    score. A cell that names no checks is a plain nbgrader cell: nbgrader's
    rules score what it did (its tests ran hardened, hidden tests included,
    see :mod:`dlcourse_graders.pristine`), and a manually graded answer is
    left for the grader.
    """
    if is_manual(cell):
        _score_manual(cell, score)
        return
    error = outcome.get("error")
    wanted = cell.metadata.get("dlcourse", {}).get("checks", [])
    if not wanted:  # a plain nbgrader test: nbgrader's own rule on what the cell did
        if error:
            score.report.append(f"tests failed: {error.get('ename')}: {error.get('evalue')}")
            score.log.append(f"nbgrader-style tests failed: {error.get('ename')}: {error.get('evalue')}")
        earned, note = nbgrader_score(cell, _outputs(outcome, with_value=True))
        score.earned = earned
        score.report += [note] if note else []
        score.report.append(f"points: {(earned or 0.0):g}/{score.points:g}")
        return
    if error:
        score.report.append(f"public tests failed: {error.get('ename')}: {error.get('evalue')}")
        score.log.append(f"public tests failed: {error.get('ename')}: {error.get('evalue')}")
    fractions = []
    for check_id in wanted:
        check = checks.get(check_id)
        if check is None:
            score.report.append(f"[hidden check {check_id}] is not installed: ask your instructor")
            score.log.append(f"check {check_id}: not installed on the grading worker")
            fractions.append(0.0)
            continue
        details: list[str] = []
        cases = run_check(check, box.student(), salt=salt, instructor_log=details)
        fractions.append(score_cases(cases))
        score.report.append(format_cases(check, cases))
        passed = sum(1 for case in cases if case.passed)
        score.log.append(f"check {check.id}: {passed}/{len(cases)} cases passed")
        score.log += [f"  failed: {case.message}" for case in cases if not case.passed]
        score.log += details
    score.earned = round(score.points * sum(fractions) / len(fractions), 4)
    score.report.append(f"points: {score.earned:g}/{score.points:g}")


def _score_manual(cell: NotebookNode, score: CellScore) -> None:
    """A manually graded answer: 0 if left as released, else left for the grader (nbgrader's rule)."""
    score.earned, note = nbgrader_score(cell, [])
    score.report.append(note or f"points: {score.earned:g}/{score.points:g} (no answer)")


def _exec(box: Sandbox, source: str, owner: str = "student", test: bool = False) -> dict[str, Any]:
    try:
        return box.exec(source, owner=owner, test=test, value=test)
    except SandboxCrash as crash:
        return {"stdout": "", "stderr": "", "error": {"ename": crash.status.name, "evalue": str(crash),
                                                      "traceback": str(crash)}}


def _outputs(outcome: dict[str, Any], with_value: bool = True) -> list[NotebookNode]:
    """The cell's outputs in a kernel's order: streams, then its value or its error."""
    outputs = []
    if outcome.get("stdout"):
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=outcome["stdout"]))
    if outcome.get("stderr"):
        outputs.append(nbformat.v4.new_output("stream", name="stderr", text=outcome["stderr"]))
    result = execute_result(outcome.get("value")) if with_value else None
    if result is not None:
        outputs.append(result)
    error = outcome.get("error")
    if error:
        traceback = error.get("traceback") or ""
        outputs.append(nbformat.v4.new_output("error", ename=str(error.get("ename")), evalue=str(error.get("evalue")),
                                              traceback=traceback.splitlines() if isinstance(traceback, str)
                                              else list(traceback)))
    return outputs


def _autograded(source: NotebookNode, cells: Iterable[NotebookNode]) -> bytes:
    notebook = nbformat.v4.new_notebook(metadata=source.metadata, cells=list(cells))
    cap_outputs(notebook)
    return nbformat.writes(notebook).encode("utf-8")


def cap_outputs(notebook: NotebookNode) -> None:
    """Keep the whole notebook's outputs under a cap, dropping the largest first."""
    def size(cell: NotebookNode) -> int:  # the cell's outputs as JSON: close to what they add to the file
        return len(json.dumps(cell.get("outputs", []))) if cell.cell_type == "code" else 0

    total = sum(size(c) for c in notebook.cells)
    for cell in sorted((c for c in notebook.cells if c.cell_type == "code"), key=size, reverse=True):
        if total <= NOTEBOOK_OUTPUT_CAP:
            break
        before = size(cell)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="[output removed: over the size cap]\n")]
        total -= before - size(cell)
