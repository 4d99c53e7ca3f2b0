"""The service: watch, collect, grade, release; restart-safe.

Each loop (every ``poll_seconds``, or at once while submissions wait): act
on request files, record new submissions in the exchange as ``queued``, pick
for each student the latest submission that may be graded (older ones
waiting are superseded; the rate limit may hold it as ``rate_limited``),
collect and grade up to ``batch_size`` of them per assignment as one batch on
the warm executor, then release the feedback each policy allows. A burst is
thus graded in rounds: early submitters get their feedback during it, and a
submission arriving mid-burst joins the next round.

Restart rules (the state is written before and after every step, so a
SIGKILL anywhere loses nothing):

* a submission in the exchange without a row is recorded (``queued``);
* ``grading`` rows were interrupted: if the gradebook already holds that
  submission's result (same fingerprint, recorded after grading began) the
  row becomes ``graded`` without grading again; otherwise it is ``queued``
  again (its grading never finished, so it was never graded);
* ``graded`` rows whose policy allows feedback are released on the next loop;
* ``graded`` and ``feedback_released`` rows are never graded again unless an
  instructor asks (a ``regrade`` request).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import signal
import threading
import traceback
from dataclasses import replace
from typing import Any, Callable, Iterator

from dlcourse.coursedir import Course, CourseError
from dlcourse.manager import Hooks
from dlcourse.nbgrader_ops import NbgraderError, course_config

from dlcourse_graders.executors import Executor, default_workers, executor_for
from dlcourse_graders.results import SubmissionResult
from dlcourse_graders.service.config import DlcourseService, service_config
from dlcourse_graders.service.inbound import released_assignments, scan_inbound
from dlcourse_graders.service.release import Nbgrader, due_date
from dlcourse_graders.service.requests import BadRequest, Request, parse_request, pending_requests
from dlcourse_graders.service.state import (Key, StateStore, iso, now, parse_iso, row_key, service_dir,
                                            submitted_order)

log = logging.getLogger("dlcourse.serve")

#: The web pages' hook: called once the service is ready with the course and its settings; it
#: starts its server (its own thread) and returns a function that stops it, or None.
WebHook = Callable[[Course, DlcourseService], "Callable[[], None] | None"]


def submitted_timestamp(course: Course, assignment: str, student: str) -> str | None:
    """The timestamp of the submission collected into ``submitted/`` (None: none collected)."""
    try:
        return (course.submitted_dir(student, assignment) / "timestamp.txt").read_text(encoding="utf-8").strip()
    except OSError:
        return None


def describe(result: SubmissionResult) -> str:
    """A row's message for a graded submission."""
    score = "" if result.score is None else f" {result.score:g}/{result.max_score:g}"
    return "; ".join(filter(None, [f"{result.status}{score}", result.message]))


class GradingService:
    """One course's grader: its state, settings and warm executor (see the module's rules)."""

    def __init__(self, course: Course, workers: int | None = None, scheduler: str | None = None) -> None:
        self.course = course
        self.settings = course_config(course)
        if self.settings.exchange_root is None:
            raise CourseError(f"{course.config_file}: no exchange configured (set c.Exchange.root); "
                              "`dlcourse serve` watches the exchange for submissions")
        self.exchange = self.settings.exchange_root
        self.config = service_config(course)
        self.hooks = Hooks.load(course)
        self.state = StateStore(course)
        self.nbgrader = Nbgrader(course)
        self.workers, self.scheduler = workers, scheduler
        self.executor: Executor | None = None
        self.forced: set[Key] = set()  # regrades an instructor asked for: no rate limit, not counted

    # -- the loop ---------------------------------------------------------------------------------

    def reconcile(self) -> None:
        """After a restart: settle rows a stopped service left in ``grading`` (see the module's rules)."""
        from dlcourse_graders.sandbox_engine import load_assignment, make_job
        from dlcourse_graders.statusdb import StatusStore

        interrupted = self.state.rows("grading")
        if not interrupted:
            return
        store = StatusStore(self.settings.db_url)
        try:
            for row in interrupted:
                key, recorded = row_key(row), store.get(row["assignment"], row["student"])
                finished = False
                if recorded and submitted_timestamp(self.course, *key[:2]) == row["submitted_at"]:
                    began = parse_iso(row["updated_at"]).replace(tzinfo=None)
                    spec = self._spec(load_assignment)
                    job = make_job(self.course, spec(row["assignment"]), row["student"])
                    finished = recorded["updated"] >= began and recorded["fingerprint"] == job.fingerprint
                if finished:
                    assert recorded is not None
                    result = StatusStore.as_result(recorded)
                    self.state.move(key, "graded", describe(result), cause="restart",
                                    score=result.score, max_score=result.max_score)
                    log.info("%s %s: graded before the restart (%s)", *key[:2], describe(result))
                else:
                    self.state.move(key, "queued", "the service stopped while grading it; grading again",
                                    cause="restart")
                    log.info("%s %s: grading was interrupted; queued again", *key[:2])
        finally:
            store.close()

    def step(self) -> bool:
        """One loop: requests, new submissions, grading, releases; True when submissions still wait."""
        self.handle_requests()
        released = released_assignments(self.exchange, self.settings.course_id) & set(self.course.assignments())
        for submission in scan_inbound(self.exchange, self.settings.course_id, released):
            if self.state.discover(submission.key):
                log.info("%s %s: new submission %s", submission.assignment, submission.student,
                         submission.submitted_at)
        more = False
        for assignment, rows in self.pick_ready().items():
            self.grade_batch(assignment, rows[:self.batch_size])
            more = more or len(rows) > self.batch_size
        self.release_by_policy()
        return more

    @property
    def batch_size(self) -> int:
        """Submissions of one assignment per round (the setting, or four per worker)."""
        if self.config.batch_size:
            return self.config.batch_size
        workers = getattr(self.executor, "workers", 1) if self.executor is not None \
            else (self.workers or default_workers())
        return 4 * max(1, workers)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()
        self.state.close()

    # -- choosing what to grade -----------------------------------------------------------------

    def pick_ready(self) -> dict[str, list[dict]]:
        """The rows to grade now, by assignment: each student's latest waiting submission, if the
        rate limit allows; earlier waiting ones are superseded."""
        waiting: dict[tuple[str, str], list[dict]] = {}
        for row in self.state.rows("queued", "rate_limited"):
            waiting.setdefault((row["assignment"], row["student"]), []).append(row)
        ready: dict[str, list[dict]] = {}
        moment = now()
        for (assignment, student), rows in waiting.items():
            latest = rows[-1]
            for older in rows[:-1]:
                self._supersede(older, latest["submitted_at"])
            retry = None if row_key(latest) in self.forced else self._retry_after(assignment, student, moment)
            if retry is None:
                ready.setdefault(assignment, []).append(latest)
            elif latest["state"] != "rate_limited" or latest["retry_after"] != iso(retry):
                limit = self.config.max_feedback_per_hour
                message = (f"{limit} submission(s) graded in the last {self._window_words()} (the limit); "
                           f"the latest submission will be graded at {retry:%H:%M:%S} UTC")
                self.state.move(row_key(latest), "rate_limited", message, cause="rate_limit", retry_after=iso(retry))
                log.info("%s %s: rate limited until %s", assignment, student, iso(retry))
        return ready

    def _retry_after(self, assignment: str, student: str, moment: dt.datetime) -> dt.datetime | None:
        """When ``student`` may next get feedback on ``assignment``, or None when now."""
        limit = self.config.max_feedback_per_hour
        if limit <= 0:
            return None
        window = dt.timedelta(seconds=self.config.rate_window_seconds)
        graded = self.state.graded_since(assignment, student, moment - window)
        if len(graded) < limit:
            return None
        return graded[len(graded) - limit] + window  # when the oldest grading that counts leaves the window

    def _window_words(self) -> str:
        seconds = self.config.rate_window_seconds
        return "hour" if seconds == 3600 else f"{seconds:g} s"

    def _supersede(self, row: dict, later: str) -> None:
        self.state.move(row_key(row), "failed", f"superseded: only the latest submission ({later}) is graded",
                        cause="superseded")
        self.forced.discard(row_key(row))

    # -- grading --------------------------------------------------------------------------------

    def grade_batch(self, assignment: str, rows: list[dict]) -> list[SubmissionResult]:
        """Collect ``rows`` (one per student) and grade them on the warm executor."""
        from dlcourse.permissions import secure_course

        from dlcourse_graders.grade import write_log
        from dlcourse_graders.locks import run_lock
        from dlcourse_graders.sandbox_engine import load_assignment, make_job, record_result
        from dlcourse_graders.statusdb import StatusStore

        rows = self._collected(assignment, rows)
        if not rows:
            return []
        results: list[SubmissionResult] = []
        with run_lock(self.course, assignment, self.settings.db_url):
            store = StatusStore(self.settings.db_url)
            try:
                spec = self._spec(load_assignment)(assignment)
                executor = self._executor(spec.preload)
                jobs, keys = [], {}
                for row in rows:
                    job = make_job(self.course, spec, row["student"])
                    cause = "regrade" if row_key(row) in self.forced else "submission"
                    self.state.move(row_key(row), "grading", "being graded", cause=cause)
                    keys[row["student"]] = (row_key(row), job.fingerprint, cause)
                    jobs.append(job)
                for job_result in executor.run(jobs):
                    result = record_result(self.course, job_result, self.hooks)
                    key, fingerprint, cause = keys[result.student]
                    store.record(result, fingerprint)  # the gradebook first: a restart finds it there
                    write_log(self.course, result, job_result)
                    self.state.move(key, "graded", describe(result), cause=cause, score=result.score,
                                    max_score=result.max_score)
                    self.forced.discard(key)
                    results.append(result)
                    log.info("%s %s: %s (%.1f s)", assignment, result.student, describe(result), result.seconds)
            finally:
                store.close()
                secure_course(self.course.root, [assignment])
        self.hooks.grading_finished(results, self.course)
        return results

    def _collected(self, assignment: str, rows: list[dict]) -> list[dict]:
        """Collect the rows' submissions into ``submitted/``; return the rows now there to grade."""
        if any(submitted_timestamp(self.course, assignment, r["student"]) != r["submitted_at"] for r in rows):
            try:
                self.nbgrader.collect(assignment)
            except NbgraderError as error:
                for row in rows:
                    self.state.move(row_key(row), "failed", f"could not be collected: {error}", cause="collect")
                log.error("%s: nbgrader collect failed: %s", assignment, error)
                return []
        present = []
        for row in rows:
            found = submitted_timestamp(self.course, assignment, row["student"])
            if found == row["submitted_at"]:
                present.append(row)
            elif found is not None and submitted_order(found) > submitted_order(row["submitted_at"]):
                self._supersede(row, found)  # collect brought a later one; its own row comes next loop
            else:
                self.state.move(row_key(row), "failed", "nbgrader collect did not bring this submission "
                                "(was it removed from the exchange?)", cause="collect")
        return present

    def _spec(self, load_assignment: Callable[..., Any]) -> Callable[[str], Any]:
        def spec(assignment: str) -> Any:
            loaded = load_assignment(self.course, assignment, hooks=self.hooks)
            # threads=0: each worker gives its jobs its own share of its machine's cores (as `dlcourse grade`)
            return replace(loaded, limits=replace(loaded.limits, threads=0))
        return spec

    def _executor(self, preload: tuple[str, ...]) -> Executor:
        """The executor, started and warmed on first use and kept for the service's life."""
        if self.executor is None:
            self.executor = executor_for(self.workers, self.scheduler)
            self.executor.warm(None, preload)  # None: every topic's checks, for every assignment to come
        return self.executor

    def warm_up(self) -> None:
        """Start the workers before the first submission arrives (lower latency for it)."""
        from dlcourse_graders.sandbox_engine import load_assignment

        released = released_assignments(self.exchange, self.settings.course_id) & set(self.course.assignments())
        preload: list[str] = []
        for assignment in sorted(released):
            for module in self._spec(load_assignment)(assignment).preload:
                if module not in preload:
                    preload.append(module)
        if released:
            self._executor(tuple(preload))

    # -- feedback -------------------------------------------------------------------------------

    def releasable(self, assignment: str, student: str | None = None) -> list[dict]:
        """Each student's newest graded submission whose feedback is not out yet."""
        newest: dict[str, dict] = {}
        for row in self.state.rows("graded", "feedback_released", assignment=assignment):
            if student is None or row["student"] == student:
                newest[row["student"]] = row  # rows come oldest first
        return [row for row in newest.values() if row["state"] == "graded"]

    def release_by_policy(self) -> None:
        """Release what ``immediate`` and past-due ``after_due`` assignments allow."""
        assignments = {row["assignment"] for row in self.state.rows("graded")}
        for assignment in sorted(assignments):
            policy = self.config.policy(assignment)
            if policy == "immediate":
                self.release(assignment, self.releasable(assignment), cause="immediate")
            elif policy == "after_due":
                due = due_date(self.course, assignment)
                if due is not None and now() >= due:
                    self.release(assignment, self.releasable(assignment), cause="after_due")

    def release(self, assignment: str, rows: list[dict], *, cause: str) -> None:
        """Hand back the feedback of ``rows`` (each student's newest graded submission)."""
        if not rows:
            return
        # one nbgrader run for several at once (the others excluded); student by student when one
        # fails that way, which names the student
        if len(rows) > 1 and self.nbgrader.release_many(assignment, [row["student"] for row in rows]):
            for row in rows:
                self.state.move(row_key(row), "feedback_released", self._released_message(row), cause=cause)
            log.info("%s: feedback released to %d student(s)", assignment, len(rows))
            return
        for row in rows:
            try:
                self.nbgrader.release_one(assignment, row["student"])
            except CourseError as error:
                self.state.move(row_key(row), "failed", f"feedback could not be released: {error}", cause=cause)
                log.error("%s %s: feedback could not be released: %s", assignment, row["student"], error)
                continue
            self.state.move(row_key(row), "feedback_released", self._released_message(row), cause=cause)
            log.info("%s %s: feedback released", assignment, row["student"])

    @staticmethod
    def _released_message(row: dict) -> str:
        return f"{row['message']}; feedback released" if row["message"] else "feedback released"

    # -- requests -------------------------------------------------------------------------------

    def handle_requests(self) -> None:
        """Act on each request file, then delete it (a bad one is logged and deleted too)."""
        for path in pending_requests(self.course):
            try:
                request = parse_request(path)
                self._act(request)
            except BadRequest as error:
                log.error("request ignored: %s", error)
            path.unlink(missing_ok=True)

    def _act(self, request: Request) -> None:
        if request.assignment not in self.course.assignments():
            raise BadRequest(f"{request.path.name}: unknown assignment {request.assignment!r}")
        if request.action == "release":
            rows = self.releasable(request.assignment, request.student)
            log.info("%s: release requested for %s (%d graded)", request.assignment,
                     request.student or "everyone", len(rows))
            self.release(request.assignment, rows, cause="release")
            return
        latest: dict[str, dict] = {}
        for row in self.state.rows(assignment=request.assignment):
            if request.student is None or row["student"] == request.student:
                latest[row["student"]] = row
        for row in latest.values():
            if row["state"] == "grading":
                continue
            self.forced.add(row_key(row))
            self.state.move(row_key(row), "queued", "regrade requested by an instructor", cause="regrade")
            log.info("%s %s: regrade requested", request.assignment, row["student"])


@contextlib.contextmanager
def service_lock(course: Course) -> Iterator[None]:
    """One service per course: hold ``COURSE/.dlcourse/service/service.lock`` (released even on SIGKILL)."""
    folder = service_dir(course)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "service.lock", "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise CourseError(f"{course.root}: `dlcourse serve` is already running for this course ({holder}); "
                              "stop it first") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield


def run_service(course: Course, *, workers: int | None = None, scheduler: str | None = None,
                web: WebHook | None = None, stop: threading.Event | None = None) -> int:
    """Run the grader for ``course`` until SIGTERM/SIGINT (or ``stop`` is set).

    ``web`` starts the web pages (see :data:`WebHook`); without it the service
    runs standalone. A step that fails is logged and the loop goes on: a
    long-running grader must outlive one bad submission or a busy disk.
    """
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    with service_lock(course):
        service = GradingService(course, workers, scheduler)
        stop_web = None
        try:
            service.reconcile()
            service.warm_up()
            if web is not None:
                stop_web = web(course, service.config)
            log.info("serving %s (exchange %s, policy %s, every %g s)", course.root, service.exchange,
                     service.config.default_policy, service.config.poll_seconds)
            while not stop.is_set():
                more = False
                try:
                    more = service.step()
                except Exception:  # noqa: BLE001 - logged; the next loop tries again
                    log.error("step failed:\n%s", traceback.format_exc())
                if not more:
                    stop.wait(service.config.poll_seconds)
        finally:
            if stop_web is not None:
                stop_web()
            service.close()
    log.info("stopped")
    return 0


def configure_logging() -> None:
    """One line per event on stderr, with the time (the service's log)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")


__all__ = ["GradingService", "WebHook", "run_service"]
