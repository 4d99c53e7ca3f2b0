"""Executors run grading jobs: in this process, on a local worker pool, or on Dask.

Each yields results as jobs complete, so the coordinator records every
submission the moment it is graded (a killed run loses only what was in
flight). Workers are warm: numpy, torch, the plugins and the checks are
imported once per worker, and each submission gets a fresh sandboxed child.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator, Protocol

from dlcourse_graders.jobs import GradingJob, JobResult, run_job, set_worker_threads
from dlcourse_graders.results import Status


class Executor(Protocol):
    """Runs jobs and yields their results in completion order."""

    workers: int

    def warm(self, topics: tuple[str, ...] | None, preload: tuple[str, ...]) -> None:
        """Get workers ready for jobs that use the checks of ``topics`` and import ``preload``."""

    def run(self, jobs: Iterable[GradingJob]) -> Iterator[JobResult]:
        """Run ``jobs``; never raises for one job's failure."""

    def close(self) -> None:
        """Release workers and connections."""


def failed(job: GradingJob, error: BaseException) -> JobResult:
    """A grader-side failure on one job, reported (never a silent zero)."""
    detail = "".join(traceback.format_exception_only(type(error), error)).strip()[:300]
    return JobResult(job.assignment, job.student, Status.CRASHED, None, 0.0,
                     f"the grader failed on this submission ({detail}); ask your instructor to regrade", 0.0)


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def warm_worker(torch_threads: int, topics: tuple[str, ...] | None = None,
                preload: tuple[str, ...] = ()) -> None:
    """Import what the coming jobs need once per worker.

    ``torch_threads`` is this worker's share of the cores, for torch here and
    for the numeric libraries of the jobs' sandboxes; ``topics`` are the
    topics whose checks the jobs use (``None``: every topic) and ``preload``
    what their notebooks import. The sandbox zygote for ``preload`` starts
    first, so that it imports in parallel with this worker.
    """
    from dlcourse_graders.jobs import set_worker_threads, worker_checks, worker_secret_folders

    topics = None if topics is None else tuple(topics)  # Dask may hand over a list; the caches want a tuple
    set_worker_threads(torch_threads)
    if preload:
        from dlcourse_graders.zygote import zygote_for

        zygote_for(preload, torch_threads)
    import numpy  # noqa: F401 - imported to be warm

    try:
        import torch

        torch.set_num_threads(torch_threads)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    for module in preload:  # the checks mostly use what the notebooks use (data generators, libraries)
        with contextlib.suppress(Exception):
            warm = getattr(importlib.import_module(module), "dlcourse_zygote_warm", None)
            if callable(warm):  # public data the checks load too
                warm()
    worker_checks(topics)
    worker_secret_folders()


def _pool_worker(torch_threads: int, topics: tuple[str, ...] | None, preload: tuple[str, ...]) -> None:
    """A local pool worker: warm, and quick to exit.

    A worker's results have all been handed back by the time it exits, yet
    tearing down an interpreter with torch and scikit-learn loaded takes
    about 0.6 s. Registered last, this exit runs first at interpreter exit,
    after multiprocessing's own clean-up, and skips that teardown.
    """
    import atexit

    _die_with_parent()
    warm_worker(torch_threads, topics, preload)
    atexit.register(_exit_now)


def _die_with_parent() -> None:
    """End this worker when its coordinator dies, even by SIGKILL (Linux).

    A killed coordinator cannot shut its pool down, and an idle worker never
    notices: it holds both ends of its job queue. A long-running ``dlcourse
    serve`` restarted after a SIGKILL would otherwise leave warm workers (and
    their sandbox zygotes, which end with them) behind.
    """
    import multiprocessing
    import signal
    import sys

    if not sys.platform.startswith("linux"):  # pragma: no cover
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:  # it died before prctl took effect
        os._exit(1)


def _exit_now() -> None:
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class InlineExecutor:
    """Runs jobs one after another in this process."""

    workers = 1

    def warm(self, topics: tuple[str, ...] | None, preload: tuple[str, ...]) -> None:
        # now rather than on the first job: a long-running `dlcourse serve --workers 1` warms at its
        # start, so its first submission's latency has no imports in it
        warm_worker(default_workers(), topics, preload)

    def run(self, jobs: Iterable[GradingJob]) -> Iterator[JobResult]:
        for job in jobs:
            try:
                yield run_job(job)
            except Exception as error:  # noqa: BLE001 - one job's failure is its own
                yield failed(job, error)

    def close(self) -> None:
        pass


class LocalExecutor:
    """A pool of warm worker processes on this machine (default: one per core).

    The processes start at :meth:`warm` (or the first :meth:`run`), so that a
    run with nothing to grade starts none.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self.threads = max(1, default_workers() // self.workers)
        self.pool: ProcessPoolExecutor | None = None

    def warm(self, topics: tuple[str, ...] | None, preload: tuple[str, ...]) -> None:
        if self.pool is not None:
            return
        import multiprocessing

        # spawn: workers start clean, not with copies of the coordinator's database connections
        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_pool_worker, initargs=(self.threads, topics, preload))
        for _ in range(self.workers):  # each submission while none is idle starts one more process
            self.pool.submit(os.getpid)

    def run(self, jobs: Iterable[GradingJob]) -> Iterator[JobResult]:
        self.warm(None, ())
        assert self.pool is not None
        yield from _as_completed(self.pool.submit, jobs, 2 * self.workers)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Jobs on a Dask cluster (``tcp://host:port``); workers need only the grader installed."""

    def __init__(self, scheduler: str) -> None:
        from distributed import Client

        self.client = Client(scheduler, timeout=30)
        nthreads = self.client.nthreads()
        self.workers = max(1, sum(nthreads.values()))
        self.shares = dask_core_shares(nthreads, self.client.run(default_workers))
        self.client.run(_share_dask_cores, self.shares)

    def warm(self, topics: tuple[str, ...] | None, preload: tuple[str, ...]) -> None:
        self.client.run(_warm_dask_worker, self.shares, topics, preload)  # every worker at once

    def run(self, jobs: Iterable[GradingJob]) -> Iterator[JobResult]:
        from distributed import as_completed

        queue = iter(jobs)
        pending = {}
        flow = as_completed()

        def feed() -> None:
            job = next(queue, None)
            if job is not None:
                future = self.client.submit(run_job, job, pure=False,
                                            key=f"grade-{job.assignment}-{job.student}-{job.fingerprint[:12]}")
                pending[future] = job
                flow.add(future)

        for _ in range(2 * self.workers):
            feed()
        for future in flow:
            yield _outcome(future, pending.pop(future))
            feed()

    def close(self) -> None:
        self.client.close()


def _share_dask_cores(shares: dict[str, int], dask_worker: Any = None) -> None:
    """Give this Dask worker its share of its machine's cores (Dask passes ``dask_worker``)."""
    set_worker_threads(shares.get(dask_worker.address, 1))


def _warm_dask_worker(shares: dict[str, int], topics: tuple[str, ...] | None, preload: tuple[str, ...],
                      dask_worker: Any = None) -> None:
    """:func:`warm_worker` on this Dask worker, with its share of the cores."""
    warm_worker(shares.get(dask_worker.address, 1), topics, preload)


def dask_core_shares(nthreads: dict[str, int], cores: dict[str, int]) -> dict[str, int]:
    """Cores per job slot for each Dask worker: its machine's cores over the slots on that machine.

    ``nthreads`` and ``cores`` map worker addresses (``tcp://host:port``) to
    the worker's thread count and to the cores its machine lets it use.
    """
    def host(address: str) -> str:
        return address.split("://", 1)[-1].rsplit(":", 1)[0]

    slots: dict[str, int] = {}
    for address, count in nthreads.items():
        slots[host(address)] = slots.get(host(address), 0) + count
    return {address: max(1, cores.get(address, 1) // max(1, slots[host(address)])) for address in nthreads}


def _as_completed(submit: Callable[..., Future], jobs: Iterable[GradingJob], window: int) -> Iterator[JobResult]:
    """Keep ``window`` jobs in flight; yield each result as it arrives."""
    pending: dict[Future, GradingJob] = {}
    queue = iter(jobs)
    exhausted = False
    while pending or not exhausted:
        while not exhausted and len(pending) < window:
            job = next(queue, None)
            if job is None:
                exhausted = True
            else:
                pending[submit(run_job, job)] = job
        if not pending:
            break
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in done:
            yield _outcome(future, pending.pop(future))


def _outcome(future: Future, job: GradingJob) -> JobResult:
    """A finished future's result; a lost worker or a grader bug fails only its own job."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001
        return failed(job, error)


def executor_for(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor a command line asks for."""
    if scheduler:
        return DaskExecutor(scheduler)
    if workers == 1:
        return InlineExecutor()
    return LocalExecutor(workers)

