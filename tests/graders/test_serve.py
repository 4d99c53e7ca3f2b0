"""``dlcourse serve`` standalone: a real service process watching a local exchange, students who
fetch and submit with nbgrader's own commands, feedback they fetch with nbgrader's fetch_feedback,
no instructor command in between."""

from __future__ import annotations

import datetime as dt
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from dlcourse.build import build_course
from dlcourse.coursedir import Course, init_course
from dlcourse.nbgrader_ops import generate_assignment, release_to_exchange
from dlcourse_graders.service.requests import write_request
from dlcourse_graders.service.state import all_submissions, history, latest_submissions, state_path
from serve_support import Service, Student, alive, configure, finish, sigkill, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("serve")]

FEEDBACK_BOUND = 60.0  # seconds from submit to fetchable feedback, with slack for a busy 2-core machine
DOUBLE, BOTH = ("double",), ("double", "relu")


def released_course(tmp_path: Path) -> tuple[Course, Path]:
    course = init_course(tmp_path / "course", "toycourse", exchange=tmp_path / "exchange")
    build_course(course, ["toy"])
    generate_assignment(course, "toy")
    assert release_to_exchange(course, "toy")
    return course, tmp_path / "exchange"


def rows_of(course: Course, student: str) -> list[dict]:
    return all_submissions(course, "toy", student) if state_path(course).exists() else []


def state_of(course: Course, student: str, index: int) -> str | None:
    rows = rows_of(course, student)
    return rows[index]["state"] if len(rows) > index else None


def graded_events(course: Course) -> Counter:
    return Counter((e["student"], e["submitted_at"]) for e in history(course) if e["state"] == "graded")


def submit_answered(student: Student, source: Path, grade_ids: tuple[str, ...]) -> None:
    """The student fetches the assignment, fills in ``grade_ids`` from the solution and submits."""
    student.run("fetch_assignment", "toy")
    student.answer("toy", source, grade_ids)
    student.run("submit", "toy")


def set_due_date(course: Course, assignment: str, due: dt.datetime) -> None:
    """The instructor sets the due date in the gradebook (what formgrader's Manage Assignments edits)."""
    from dlcourse_graders.gradebook import open_gradebook

    with open_gradebook(course) as gradebook:
        gradebook.update_or_create_assignment(assignment, duedate=due.replace(tzinfo=None))


def test_serve_releases_by_policy_limits_and_survives_restarts(tmp_path, toy_env):
    course, exchange = released_course(tmp_path)
    source = course.source_dir("toy") / "toy.ipynb"
    configure(course, default_policy="immediate", max_feedback_per_hour=2, rate_window_seconds=600.0,
              poll_seconds=0.5)
    log = tmp_path / "serve.log"
    service = Service(course, toy_env, log, "--workers", "2")
    alice = Student(tmp_path, "alice", "toycourse", exchange, toy_env)
    alice.run("fetch_assignment", "toy")
    try:
        # a first submission: feedback reaches alice with no instructor command
        alice.answer("toy", source, DOUBLE)
        submitted = time.monotonic()
        alice.run("submit", "toy")
        wait_for(lambda: state_of(course, "alice", 0) == "feedback_released", FEEDBACK_BOUND, log.read_text)
        pages = alice.feedback_pages("toy")
        latency = time.monotonic() - submitted
        assert len(pages) == 1 and "toy (Score: 2.0 / 5.0)" in pages[0].read_text(), pages
        assert latency < FEEDBACK_BOUND
        first = rows_of(course, "alice")[0]
        assert (first["score"], first["max_score"]) == (2.0, 5.0)

        # a resubmission is graded again, and its feedback comes too
        alice.answer("toy", source, BOTH)
        alice.run("submit", "toy")
        wait_for(lambda: state_of(course, "alice", 1) == "feedback_released", FEEDBACK_BOUND, log.read_text)
        pages = alice.feedback_pages("toy")
        assert len(pages) == 2 and any("toy (Score: 5.0 / 5.0)" in p.read_text() for p in pages)

        # a third within the window is over the limit (2): recorded, with when it will be graded
        alice.run("submit", "toy")
        wait_for(lambda: state_of(course, "alice", 2) == "rate_limited", FEEDBACK_BOUND, log.read_text)
        limited = rows_of(course, "alice")[2]
        retry = dt.datetime.fromisoformat(limited["retry_after"])
        graded_first = min(dt.datetime.fromisoformat(e["at"]) for e in history(course, "toy", "alice")
                           if e["state"] == "graded")
        assert retry == graded_first + dt.timedelta(seconds=600), (retry, graded_first)
        assert "limit" in limited["message"] and limited["score"] is None
    finally:
        assert service.stop() == 0, log.read_text()

    # a restart grades nothing that is settled, and the limited one keeps waiting
    before = history(course)
    service = Service(course, toy_env, log, "--workers", "1")
    try:
        wait_for(lambda: log.read_text().count("serving ") == 2, FEEDBACK_BOUND, log.read_text)
        time.sleep(3)  # several loops
    finally:
        assert service.stop() == 0
    assert history(course) == before

    # once the window allows (here: the window shrinks), the waiting submission is graded and released
    configure(course, rate_window_seconds=1.0)
    service = Service(course, toy_env, log, "--workers", "1")
    try:
        wait_for(lambda: state_of(course, "alice", 2) == "feedback_released", FEEDBACK_BOUND, log.read_text)
        assert len(alice.feedback_pages("toy")) == 3
    finally:
        assert service.stop() == 0

    # manual policy: graded, but the feedback waits for a release request
    configure(course, feedback_policy={"toy": "manual"}, max_feedback_per_hour=0)
    service = Service(course, toy_env, log, "--workers", "1")
    bob = Student(tmp_path, "bob", "toycourse", exchange, toy_env)
    try:
        submit_answered(bob, source, BOTH)
        wait_for(lambda: state_of(course, "bob", 0) == "graded", FEEDBACK_BOUND, log.read_text)
        time.sleep(2)
        assert state_of(course, "bob", 0) == "graded" and bob.feedback_pages("toy") == []
        request = write_request(course, "release", "toy", "bob")
        wait_for(lambda: state_of(course, "bob", 0) == "feedback_released", FEEDBACK_BOUND, log.read_text)
        assert not request.exists()
        pages = bob.feedback_pages("toy")
        assert len(pages) == 1 and "toy (Score: 5.0 / 5.0)" in pages[0].read_text()
        # an instructor's regrade is graded again (not counted against bob) and waits for release again
        write_request(course, "regrade", "toy", "bob")
        wait_for(lambda: [e for e in history(course, "toy", "bob") if e["cause"] == "regrade"
                          and e["state"] == "graded"], FEEDBACK_BOUND, log.read_text)
        assert state_of(course, "bob", 0) == "graded"
    finally:
        assert service.stop() == 0

    # after_due: graded at once, released by itself once the gradebook's due date has passed
    configure(course, feedback_policy={"toy": "after_due"})
    set_due_date(course, "toy", dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    service = Service(course, toy_env, log, "--workers", "1")
    carol = Student(tmp_path, "carol", "toycourse", exchange, toy_env)
    try:
        submit_answered(carol, source, BOTH)
        wait_for(lambda: state_of(course, "carol", 0) == "graded", FEEDBACK_BOUND, log.read_text)
        time.sleep(2)  # several loops before the due date: nothing goes out
        assert state_of(course, "carol", 0) == "graded" and carol.feedback_pages("toy") == []
        set_due_date(course, "toy", dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
        wait_for(lambda: state_of(course, "carol", 0) == "feedback_released", FEEDBACK_BOUND, log.read_text)
        assert [e["cause"] for e in history(course, "toy", "carol")][-1] == "after_due"
        pages = carol.feedback_pages("toy")
        assert len(pages) == 1 and "toy (Score: 5.0 / 5.0)" in pages[0].read_text()
        # bob's regrade, held under the manual policy, goes out with the rest once the assignment is due
        wait_for(lambda: state_of(course, "bob", 0) == "feedback_released", FEEDBACK_BOUND, log.read_text)
    finally:
        assert service.stop() == 0
    assert graded_events(course) == Counter({("alice", r["submitted_at"]): 1 for r in rows_of(course, "alice")}
                                            | {("bob", rows_of(course, "bob")[0]["submitted_at"]): 2}
                                            | {("carol", rows_of(course, "carol")[0]["submitted_at"]): 1})
    assert "Traceback" not in log.read_text(), log.read_text()


def test_sigkill_during_a_burst_grades_each_submission_exactly_once(tmp_path, toy_env):
    course, exchange = released_course(tmp_path)
    source = course.source_dir("toy") / "toy.ipynb"
    # rounds of two: the burst of five is graded in three rounds, feedback going out after each
    configure(course, default_policy="immediate", poll_seconds=0.5, batch_size=2)
    students = [Student(tmp_path, f"s{i}", "toycourse", exchange, toy_env) for i in range(5)]
    for student, fetch in [(s, s.nbgrader("fetch_assignment", "toy")) for s in students]:
        finish(fetch)
        student.answer("toy", source, BOTH if int(student.name[1:]) % 2 else DOUBLE)
    log = tmp_path / "serve.log"
    service = Service(course, toy_env, log, "--workers", "2")
    try:
        for submit in [s.nbgrader("submit", "toy") for s in students]:
            finish(submit)
        # kill it mid-burst: some graded, some not
        wait_for(lambda: graded_events(course), FEEDBACK_BOUND, log.read_text)
        orphans = sigkill(service.process)
        assert service.process.returncode == -signal.SIGKILL
        settled = [r for r in latest_submissions(course) if r["state"] == "feedback_released"]
        assert len(settled) < len(students), "the kill came too late to test anything"
        service = Service(course, toy_env, log, "--workers", "2")
        wait_for(lambda: len([r for r in latest_submissions(course) if r["state"] == "feedback_released"]) == len(students),
                 3 * FEEDBACK_BOUND, log.read_text)
    finally:
        if service.alive():
            assert service.stop() == 0, log.read_text()
    rows = latest_submissions(course)
    assert len(rows) == len(students) and len(all_submissions(course)) == len(students)
    assert graded_events(course) == Counter({(r["student"], r["submitted_at"]): 1 for r in rows})
    scores = {r["student"]: r["score"] for r in rows}
    assert scores == {s.name: 5.0 if int(s.name[1:]) % 2 else 2.0 for s in students}
    # early submitters did not wait for the whole burst: feedback went out before the last round began
    states = [e["state"] for e in history(course)]
    last_round = len(states) - 1 - states[::-1].index("grading")
    assert "feedback_released" in states[:last_round], states
    for student in (students[0], students[-1]):  # nbgrader's fetch_feedback finds it
        pages = student.feedback_pages("toy")
        assert len(pages) == 1 and f"Score: {scores[student.name]:.1f} / 5.0" in pages[0].read_text()
    # what the killed service had started (pool workers, sandboxes) went with it
    wait_for(lambda: not [pid for pid in orphans if alive(pid)], 30,
             lambda: f"left behind: {[pid for pid in orphans if alive(pid)]}")
