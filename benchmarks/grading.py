"""Grading speed: stock nbgrader against dlcourse (local pool, Dask with 1 and 2 workers).

    .venv/bin/python benchmarks/grading.py --topic perceptron --submissions 40

builds the topic's assignment in a scratch course, simulates N submissions
(cycling perfect, partly wrong, crashing), and grades identical copies of
that course with each method, side by side in one run. It checks that the
scores agree, prints each method's time and the ratios, and the fixed
overhead per submission of dlcourse (grading time minus the time spent
running the notebook's own cells and its checks), read from the
per-submission logs, with the allow-list (bubblewrap) sandbox and, side by
side, with the weaker sandbox that has no filesystem allow list
(``--weak-sandbox`` with bwrap switched off): the difference is what the
allow list costs.

The machine's speed can drift during a run (shared hosts): ``--rounds N``
times each dlcourse method N times, reversing the order every other round,
and keeps the best time of each, as ``timeit`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from dlcourse.build import build_course
from dlcourse.coursedir import Course, init_course
from dlcourse.nbgrader_ops import generate_assignment, tool_env
from dlcourse_graders.autograde_guard import STOCK_AUTOGRADE
from dlcourse_graders.gradebook import open_gradebook
from dlcourse_graders.sandbox_fs import BWRAP_SETTING
from dlcourse_graders.simulate import simulate_class

KINDS = ("perfect", "partial", "crasher")


def burn_cell(seconds: float) -> str:
    """A code cell doing about ``seconds`` of single-core work (a fixed amount, calibrated here once)."""
    started, rounds = time.perf_counter(), 0
    while time.perf_counter() - started < 0.2:
        sum(i * i for i in range(100_000))
        rounds += 1
    total = max(1, int(rounds * seconds / 0.2))
    return f"_burn = sum(sum(i * i for i in range(100_000)) for _ in range({total}))  # compute-bound work"


def make_class(root: Path, topic: str, count: int, extra_compute: float = 0.0) -> Course:
    """A course with ``count`` submissions cycling over KINDS (s000, s001, ...).

    ``extra_compute`` adds that many seconds of CPU work at the top of every
    submission, to model a compute-bound assignment.
    """
    course = init_course(root / "course", "bench")
    build_course(course, [topic])
    generate_assignment(course, topic)
    simulate_class(course, topic)  # writes one submission of each kind
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        shutil.copytree(course.submitted_dir(kind, topic), course.submitted_dir(f"s{index:03d}", topic))
    for kind in ("perfect", "untouched", "partial", "crasher", "looper"):
        shutil.rmtree(course.root / "submitted" / kind)
    if extra_compute > 0:
        cell = burn_cell(extra_compute)
        for path in (course.root / "submitted").glob(f"*/{topic}/*.ipynb"):
            notebook = nbformat.read(path, as_version=4)
            notebook.cells.insert(0, nbformat.v4.new_code_cell(cell))
            nbformat.write(notebook, path)
    return course


def copy_course(course: Course, target: Path) -> Course:
    shutil.copytree(course.root, target / "course")
    return Course(target / "course")


def scores(course: Course, assignment: str) -> dict[str, float | None]:
    with open_gradebook(course) as gb:
        found: dict[str, float | None] = {}
        for student in sorted(p.name for p in (course.root / "submitted").iterdir()):
            try:
                found[student] = gb.find_submission(assignment, student).score
            except Exception:  # noqa: BLE001 - not in the gradebook: no score
                found[student] = None
        return found


def timed(command: list[str], cwd: Path, env: dict[str, str], must_succeed: bool = True) -> float:
    started = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if done.returncode != 0 and must_succeed:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"failed: {' '.join(command)}")
    return elapsed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalDaskCluster:
    """A real scheduler and N single-threaded worker processes on 127.0.0.1."""

    def __init__(self, workers: int, env: dict[str, str]) -> None:
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        dask = str(Path(sys.executable).parent / "dask")
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True, "env": env}
        self.processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                            "--no-dashboard"], **quiet)]
        self.processes += [subprocess.Popen([dask, "worker", self.address, "--nthreads", "1", "--host", "127.0.0.1",
                                             "--no-dashboard"], **quiet) for _ in range(workers)]
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)

    def close(self) -> None:
        for process in self.processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=30)


def overheads(course: Course, assignment: str) -> list[float]:
    logs = sorted((course.root / "logs" / assignment).glob("*.log"))
    return [json.loads(p.read_text())["overhead_seconds"] for p in logs]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topic", default="perceptron")
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--skip-nbgrader", action="store_true", help="leave out stock nbgrader (slowest)")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="local pool size (1 measures the fixed overhead without workers competing for cores)")
    parser.add_argument("--skip-weak", action="store_true",
                        help="leave out the weaker sandbox (no bwrap) that shows what the allow list costs")
    parser.add_argument("--rounds", type=int, default=1, metavar="N",
                        help="time each dlcourse method N times, alternating the order, and keep the best")
    parser.add_argument("--extra-compute", type=float, default=0.0, metavar="SECONDS",
                        help="add this much CPU work to every submission (a compute-bound assignment)")
    args = parser.parse_args()
    env = tool_env()
    root = Path(tempfile.mkdtemp(prefix="dlcourse-bench-"))
    try:
        base = make_class(root / "base", args.topic, args.submissions, args.extra_compute)
        notebook = next(base.source_dir(args.topic).glob("*.ipynb"))
        print(f"{args.topic}: {args.submissions} submissions ({', '.join(KINDS)} in turn), "
              f"{len(nbformat.read(notebook, as_version=4).cells)} cells, {os.cpu_count()} cores"
              + (f", plus about {args.extra_compute:g} s of CPU work each" if args.extra_compute else ""))
        rows: list[tuple[str, float, dict[str, float | None]]] = []
        dlcourse = [sys.executable, "-m", "dlcourse.cli", "grade", args.topic, "--course"]
        if not args.skip_nbgrader:
            course = copy_course(base, root / "nbgrader")
            # nbgrader exits non-zero when a submission crashed; it has graded the rest
            seconds = timed([sys.executable, "-m", "nbgrader", "autograde", args.topic, "--force", STOCK_AUTOGRADE],
                            course.root, env, must_succeed=False)
            rows.append(("stock nbgrader autograde", seconds, scores(course, args.topic)))
        local = f"dlcourse grade, local pool ({args.workers} workers)"
        pool = ["--workers", str(args.workers)]
        weak = "dlcourse grade, local, weaker sandbox"
        methods = [local] + ([] if args.skip_weak else [weak])
        if not args.skip_dask:
            methods += ["dlcourse grade, Dask 1 worker", "dlcourse grade, Dask 2 workers"]
        times: dict[str, list[float]] = {name: [] for name in methods}
        scored: dict[str, dict[str, float | None]] = {}
        unstable: list[str] = []
        local_overheads: dict[str, list[float]] = {name: [] for name in methods if "local" in name}
        for round_ in range(args.rounds):
            # every other round in reverse order, so that a machine getting slower or faster favours no method
            for name in methods if round_ % 2 == 0 else methods[::-1]:
                course = copy_course(base, root / f"run{round_}-{methods.index(name)}")
                workers = 0 if "local" in name else int(name.split("Dask ")[1].split()[0])
                if workers:
                    cluster = LocalDaskCluster(workers, env)
                    try:
                        seconds = timed([*dlcourse, str(course.root), "--scheduler", cluster.address], course.root,
                                        env)
                    finally:
                        cluster.close()
                elif name == weak:
                    seconds = timed([*dlcourse, str(course.root), *pool, "--weak-sandbox"], course.root,
                                    {**env, BWRAP_SETTING: ""})
                    local_overheads[name] += overheads(course, args.topic)
                else:
                    seconds = timed([*dlcourse, str(course.root), *pool], course.root, env)
                    local_overheads[name] += overheads(course, args.topic)
                times[name].append(seconds)
                result = scores(course, args.topic)
                if scored.setdefault(name, result) != result:
                    unstable.append(f"{name}, round {round_ + 1}")
                shutil.rmtree(course.root, ignore_errors=True)
        rows += [(name, min(times[name]), scored[name]) for name in methods]
        reference = rows[-1][2]
        print(f"\n{'method':<44} {'seconds':>8} {'per sub':>8} {'speed-up':>9}")
        slowest = rows[0][1]
        for name, seconds, _ in rows:
            print(f"{name:<44} {seconds:>8.1f} {seconds / args.submissions:>8.2f} {slowest / seconds:>8.1f}x")
        dask = {name: seconds for name, seconds, _ in rows if "Dask" in name}
        if len(dask) == 2:
            one, two = dask.values()
            print(f"Dask 2 workers vs 1: {one / two:.2f}x")
        if args.rounds > 1:
            print(f"dlcourse times are the best of {args.rounds} rounds in alternating order; all rounds: "
                  + "; ".join(f"{name.removeprefix('dlcourse grade, ')} "
                              + ", ".join(f"{t:.1f}" for t in times[name]) for name in methods))
        for name, found in local_overheads.items():
            print(f"fixed overhead per submission, {name.removeprefix('dlcourse grade, ')}: median "
                  f"{statistics.median(found):.3f} s, max {max(found):.3f} s "
                  "(grading time minus the notebook's cells and its checks)")
        agree = not unstable
        for run in unstable:
            print(f"{run}: scores differ from this method's first round")
        for name, _, found in rows:
            differ = {s: (found[s], reference[s]) for s in reference if found.get(s) != reference[s]}
            if differ:
                crashed = [s for s in differ if int(s[1:]) % len(KINDS) == KINDS.index("crasher")]
                print(f"{name}: {len(differ)} score(s) differ from dlcourse"
                      + (f" ({len(crashed)} crashed submissions: stock nbgrader drops the credit earned before"
                         " a crash)" if crashed else ""))
                agree = agree and len(crashed) == len(differ) and "stock" in name
            else:
                print(f"{name}: all {len(found)} scores identical")
        return 0 if agree else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
