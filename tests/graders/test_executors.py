"""Executors, idempotence, resume after SIGKILL and concurrent runs, with real processes."""

from __future__ import annotations

import io
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import DLCOURSE, run_cli
from dlcourse.nbgrader_ops import generate_assignment
from dlcourse_graders.executors import DaskExecutor, InlineExecutor, LocalExecutor, dask_core_shares, default_workers
from dlcourse_graders.grade import grade_assignment, summary_table
from dlcourse_graders.jobs import worker_threads
from dlcourse_graders.progress import ProgressReporter
from dlcourse_graders.results import Status, SubmissionResult
from dlcourse_graders.simulate import simulate_class

pytestmark = pytest.mark.slow
EXPECTED = {"perfect": (Status.GRADED, 5.0), "untouched": (Status.GRADED, 0.0), "partial": (Status.GRADED, 2.0),
            "crasher": (Status.CRASHED, 2.0), "looper": (Status.TIMED_OUT, 2.0)}


def _class(course):
    generate_assignment(course, "toy")
    simulate_class(course, "toy")
    return course


def _outcomes(results):
    return {r.student: (r.status, r.score) for r in results}


def test_local_pool_and_inline_executor_agree(toy_course):
    _class(toy_course)
    pool = LocalExecutor(workers=2)
    try:
        pooled = grade_assignment(toy_course, "toy", executor=pool, wall_limit=6)
    finally:
        pool.close()
    inline = grade_assignment(toy_course, "toy", executor=InlineExecutor(), wall_limit=6, force=True)
    assert _outcomes(pooled) == _outcomes(inline) == EXPECTED
    logs = sorted(p.name for p in (toy_course.root / "logs" / "toy").glob("*.log"))
    assert logs == sorted(f"{s}.log" for s in EXPECTED)


def test_unchanged_submissions_are_not_regraded(toy_course):
    _class(toy_course)
    grade_assignment(toy_course, "toy", executor=InlineExecutor(), wall_limit=6)
    again = grade_assignment(toy_course, "toy", executor=InlineExecutor(), wall_limit=6)
    assert all("unchanged since last grading" in r.message for r in again)
    assert _outcomes(again) == EXPECTED
    changed = toy_course.submitted_dir("untouched", "toy") / "toy.ipynb"
    changed.write_bytes((toy_course.source_dir("toy") / "toy.ipynb").read_bytes())
    third = {r.student: r for r in grade_assignment(toy_course, "toy", executor=InlineExecutor(), wall_limit=6)}
    assert third["untouched"].score == 5.0 and "unchanged" not in third["untouched"].message
    assert "unchanged" in third["perfect"].message
    forced = grade_assignment(toy_course, "toy", ["perfect"], executor=InlineExecutor(), force=True)
    assert "unchanged" not in forced[0].message


def _status_rows(course) -> dict[str, str]:
    with sqlite3.connect(course.root / "gradebook.db", timeout=30) as db:
        try:
            return dict(db.execute("select student, status from dlcourse_submission_status"))
        except sqlite3.OperationalError:
            return {}


def test_a_killed_run_resumes_without_losing_or_doubling(toy_course, toy_env):
    _class(toy_course)
    for extra in range(4):  # more honest students, so the run is still busy when killed
        folder = toy_course.submitted_dir(f"extra{extra}", "toy")
        folder.mkdir(parents=True)
        (folder / "toy.ipynb").write_bytes((toy_course.source_dir("toy") / "toy.ipynb").read_bytes())
    command = [*DLCOURSE, "grade", "toy", "--course", str(toy_course.root), "--workers", "1", "--wall-limit", "6"]
    run = subprocess.Popen(command, env=toy_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_status_rows(toy_course)) < 2 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    before = _status_rows(toy_course)
    assert 2 <= len(before) < 9, before
    resumed = run_cli("grade", "toy", "--course", str(toy_course.root), "--workers", "2", "--wall-limit", "6",
                      env=toy_env)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.count("unchanged since last grading") == len(before)
    after = _status_rows(toy_course)
    assert len(after) == 9 and {s: after[s] for s in EXPECTED} == {s: str(v[0]) for s, v in EXPECTED.items()}


def test_two_runs_at_once_do_not_corrupt_the_gradebook(toy_course, toy_env):
    _class(toy_course)
    command = [*DLCOURSE, "grade", "toy", "--course", str(toy_course.root), "--wall-limit", "6"]
    runs = [subprocess.Popen(command, env=toy_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert any("waiting for it" in err for _, err in outputs)
    assert _status_rows(toy_course) == {s: str(v[0]) for s, v in EXPECTED.items()}
    exported = run_cli("export", "--course", str(toy_course.root), env=toy_env)
    assert exported.returncode == 0
    text = (toy_course.root / "grades.csv").read_text()
    assert "toy,perfect,5,5,graded" in text and "toy,looper,2,5,timed out" in text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dask_cluster(toy_env):
    """A real scheduler and two single-threaded workers on 127.0.0.1."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = os.path.dirname(sys.executable)
    scheduler = subprocess.Popen([f"{bin_dir}/dask", "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], env=toy_env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
    workers = [subprocess.Popen([f"{bin_dir}/dask", "worker", address, "--nthreads", "1", "--nworkers", "1",
                                 "--no-dashboard", "--host", "127.0.0.1"], env=toy_env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True) for _ in range(2)]
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in [*workers, scheduler]:
            os.killpg(process.pid, signal.SIGTERM)
        for process in [*workers, scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_dask_executor_grades_the_same(toy_course, dask_cluster):
    _class(toy_course)
    executor = DaskExecutor(dask_cluster)
    try:
        assert executor.workers == 2
        # both workers run on this machine: each job slot gets half of its cores
        shares = executor.client.run(worker_threads)
        assert sorted(shares.values()) == [max(1, default_workers() // 2)] * 2
        results = grade_assignment(toy_course, "toy", executor=executor, wall_limit=6)
    finally:
        executor.close()
    assert _outcomes(results) == EXPECTED


def test_dask_core_shares_divide_each_machine_among_its_slots():
    nthreads = {"tcp://10.0.0.1:4001": 1, "tcp://10.0.0.1:4002": 1, "tcp://10.0.0.2:4001": 4,
                "tcp://[fe80::1]:4001": 2}
    cores = {"tcp://10.0.0.1:4001": 16, "tcp://10.0.0.1:4002": 16, "tcp://10.0.0.2:4001": 2,
             "tcp://[fe80::1]:4001": 8}
    assert dask_core_shares(nthreads, cores) == {"tcp://10.0.0.1:4001": 8, "tcp://10.0.0.1:4002": 8,
                                                 "tcp://10.0.0.2:4001": 1, "tcp://[fe80::1]:4001": 4}


def test_progress_bar_and_summary():
    result = SubmissionResult("toy", "ann", Status.GRADED, 5.0, 5.0, "", 1.5)
    slow = SubmissionResult("toy", "bob", Status.TIMED_OUT, 2.0, 5.0, "stopped", 9.0)
    tty = io.StringIO()
    reporter = ProgressReporter(2, tty, tty=True)
    reporter(1, 2, result)
    reporter(2, 2, slow)
    assert tty.getvalue().count("\r") == 2 and "2/2" in tty.getvalue() and "ETA" in tty.getvalue()
    plain = io.StringIO()
    ProgressReporter(2, plain, tty=False)(1, 2, result)
    assert plain.getvalue().startswith("[1/2] ann: graded 5/5") and "\r" not in plain.getvalue()
    table = summary_table([result, slow])
    assert "slowest: bob (9.0 s), ann (1.5 s)" in table and "bob (timed out)" in table
