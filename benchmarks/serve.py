"""``dlcourse serve`` speed: submit-to-feedback latency, and a burst against ``dlcourse grade``.

    .venv/bin/python benchmarks/serve.py --topic perceptron --latency-rounds 3 --burst 40 --workers 2

Latency: a service runs on a scratch course with a local exchange; a student
submits with ``nbgrader submit`` and the clock stops when ``nbgrader
fetch_feedback`` brings the feedback page home (each round a new student, the
reference solution). The figure that counts is from the submission's
timestamp (nbgrader writes it as the submission starts) to feedback
*fetchable* (released to the exchange): the Assignment List's Submit and
Fetch Feedback buttons run in the student's already-running Jupyter server,
so the start-up of the two command-line processes (seconds each on a busy
machine), printed separately, is not part of what a student waits for in the
hub. Burst: N students submit (cycling perfect, partly wrong,
crashing) while no service runs; then an identical copy of course and exchange
is handled both ways, timed from start to all feedback released:
``dlcourse serve`` (started cold, pool start-up included) and
``dlcourse collect`` + ``dlcourse grade`` + ``dlcourse feedback``. Scores must agree.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from serve_support import DLCOURSE, Service, Student, configure, finish, wait_for  # noqa: E402

from dlcourse.build import build_course  # noqa: E402
from dlcourse.coursedir import Course, init_course  # noqa: E402
from dlcourse.nbgrader_ops import generate_assignment, release_to_exchange, tool_env  # noqa: E402
from dlcourse_graders.service.state import latest_submissions, state_path  # noqa: E402
from dlcourse_graders.simulate import simulate_class  # noqa: E402

KINDS = ("perfect", "partial", "crasher")


def released(root: Path, topic: str) -> tuple[Course, Path]:
    course = init_course(root / "course", "bench", exchange=root / "exchange")
    build_course(course, [topic])
    generate_assignment(course, topic)
    release_to_exchange(course, topic)
    return course, root / "exchange"


def answers(course: Course, topic: str) -> dict[str, dict[str, bytes]]:
    """Simulated submissions by kind ({notebook name: bytes}), removed from the course again."""
    simulate_class(course, topic)
    found = {kind: {p.name: p.read_bytes() for p in course.submitted_dir(kind, topic).glob("*.ipynb")}
             for kind in KINDS}
    shutil.rmtree(course.root / "submitted")
    (course.root / "submitted").mkdir()
    return found


def student(root: Path, name: str, exchange: Path, topic: str, notebooks: dict[str, bytes]) -> Student:
    """A student whose assignment folder holds ``notebooks`` (as if fetched and answered)."""
    person = Student(root, name, "bench", exchange, tool_env())
    folder = person.home / topic
    folder.mkdir()
    for name_, data in notebooks.items():
        (folder / name_).write_bytes(data)
    return person


def released_count(course: Course) -> int:
    if not state_path(course).exists():
        return 0
    return sum(r["state"] == "feedback_released" for r in latest_submissions(course))


def service_seconds(course: Course, name: str) -> float:
    """From the submission's nbgrader timestamp to its feedback_released event (the rest is the
    student's own nbgrader processes starting: submit and fetch_feedback)."""
    import datetime as dt

    from dlcourse_graders.service.state import history, submitted_order

    events = [e for e in history(course, student=name) if e["state"] == "feedback_released"]
    released_at = dt.datetime.fromisoformat(events[-1]["at"])
    return (released_at - submitted_order(events[-1]["submitted_at"]).replace(tzinfo=dt.timezone.utc)).total_seconds()


def latency(root: Path, topic: str, rounds: int, workers: int) -> list[float]:
    course, exchange = released(root, topic)
    solution = answers(course, topic)["perfect"]
    configure(course, poll_seconds=0.5)
    log = root / "serve.log"
    service = Service(course, tool_env(), log, "--workers", str(workers))
    seconds = []
    try:
        wait_for(lambda: "serving " in log.read_text(), 300, log.read_text)
        time.sleep(5)  # let the warm pool finish starting, as it would have long before a real submission
        for index in range(rounds):
            person = student(root, f"lat{index}", exchange, topic, solution)
            started = time.monotonic()
            person.run("submit", topic)
            submitted = time.monotonic()
            wait_for(lambda: released_count(course) == index + 1, 300, log.read_text, every=0.05)
            fetchable = time.monotonic()
            pages = person.feedback_pages(topic)
            assert pages, "no feedback page fetched"
            fetched = time.monotonic()
            seconds.append(service_seconds(course, person.name))
            print(f"  latency round {index + 1}: {seconds[-1]:.1f} s from the submission's timestamp to feedback "
                  f"fetchable; with the command-line processes: `nbgrader submit` {submitted - started:.1f} s, "
                  f"submit start to fetchable {fetchable - started:.1f} s, `nbgrader fetch_feedback` "
                  f"{fetched - fetchable:.1f} s", flush=True)
    finally:
        service.stop()
    return seconds


def burst(root: Path, topic: str, count: int, workers: int) -> tuple[float, float]:
    course, exchange = released(root / "serve", topic)
    kinds = answers(course, topic)
    people = [student(root, f"s{i:03d}", exchange, topic, kinds[KINDS[i % len(KINDS)]]) for i in range(count)]
    for start in range(0, count, 4):  # four submits at a time: the burst arrives before anyone grades
        for process in [p.nbgrader("submit", topic) for p in people[start:start + 4]]:
            finish(process)
    shutil.copytree(root / "serve", root / "grade", symlinks=True)
    copy = Course(root / "grade" / "course")
    copy.config_file.write_text(copy.config_file.read_text().replace(str(exchange), str(root / "grade" / "exchange")))

    configure(course, poll_seconds=0.5)
    log = root / "serve-burst.log"
    started = time.monotonic()
    service = Service(course, tool_env(), log, "--workers", str(workers))
    try:
        wait_for(lambda: released_count(course) == count, 3600, log.read_text, every=0.2)
        served = time.monotonic() - started
    finally:
        service.stop()

    import subprocess

    started = time.monotonic()
    steps = []
    for args in (["collect", topic], ["grade", topic, "--workers", str(workers)], ["feedback", topic]):
        began = time.monotonic()
        done = subprocess.run([*DLCOURSE, *args, "--course", str(copy.root)], capture_output=True, text=True,
                              env=tool_env())
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        steps.append(f"{args[0]} {time.monotonic() - began:.1f} s")
    graded = time.monotonic() - started
    print(f"  by hand: {', '.join(steps)}", flush=True)

    from dlcourse_graders.gradebook import submission_score

    for person in people:
        a, b = submission_score(course, topic, person.name), submission_score(copy, topic, person.name)
        assert a == b, (person.name, a, b)
    return served, graded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", default="perceptron")
    parser.add_argument("--latency-rounds", type=int, default=3)
    parser.add_argument("--burst", type=int, default=40, metavar="N")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlcourse-serve-bench-") as scratch:
        root = Path(scratch)
        print(f"submit-to-feedback latency ({args.topic}, {args.workers} workers):", flush=True)
        seconds = latency(root / "latency", args.topic, args.latency_rounds, args.workers)
        print(f"latency, submit to feedback fetchable: best {min(seconds):.1f} s, worst {max(seconds):.1f} s "
              f"over {len(seconds)} round(s)")
        if args.burst:
            served, graded = burst(root / "burst", args.topic, args.burst, args.workers)
            print(f"burst of {args.burst} submissions, start to all feedback released:")
            print(f"  dlcourse serve                      {served:7.1f} s  "
                  f"({args.burst / served * 60:.1f} submissions/min)")
            print(f"  dlcourse collect + grade + feedback {graded:7.1f} s  "
                  f"({args.burst / graded * 60:.1f} submissions/min)")
            print(f"  serve / grade: {served / graded:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
