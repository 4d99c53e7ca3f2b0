"""The service's state: one SQLite database, ``COURSE/.dlcourse/service/state.db``.

This is the contract with the web pages, which read it (never write it):

``submissions``, one row per submission, primary key (assignment, student, submitted_at):

=============  ====================================================================
assignment     TEXT
student        TEXT
submitted_at   TEXT, nbgrader's timestamp string of the submission (its ``timestamp.txt``)
state          TEXT, one of :data:`STATES`
updated_at     TEXT, ISO 8601 UTC, when ``state`` last changed
retry_after    TEXT NULL, ISO 8601 UTC: when a ``rate_limited`` submission may be graded
score          REAL NULL
max_score      REAL NULL
message        TEXT, for people (what happened, why it waits)
=============  ====================================================================

``events``: every change of state, in order (``id``), with its ``cause``
(``submission``, ``restart``, ``regrade``, ``release``...). Nothing is ever
deleted from it, so it tells what was graded how often.

States, and who moves a submission between them (see :mod:`.loop`)::

    queued ──► grading ──► graded ──► feedback_released
      │ ▲                    │  (policy: immediate / after_due / manual request)
      ▼ │ (window allows)    └──► failed (feedback could not be released)
    rate_limited
    queued / rate_limited ──► failed ("superseded": a later submission was graded instead)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any, Iterator

from dlcourse.coursedir import Course

STATES = ("queued", "grading", "graded", "feedback_released", "rate_limited", "failed")
#: Columns of ``submissions``, in order.
COLUMNS = ("assignment", "student", "submitted_at", "state", "updated_at", "retry_after", "score", "max_score",
           "message")
Key = tuple[str, str, str]  # (assignment, student, submitted_at)

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'grading', 'graded', 'feedback_released', 'rate_limited',
                                         'failed')),
    updated_at TEXT NOT NULL,
    retry_after TEXT NULL,
    score REAL NULL,
    max_score REAL NULL,
    message TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (assignment, student, submitted_at)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    state TEXT NOT NULL,
    at TEXT NOT NULL,
    cause TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_by_student ON events (assignment, student, state, at);
"""


def service_dir(course: Course) -> Path:
    """``COURSE/.dlcourse/service``: the service's database, lock and request folder."""
    return course.root / ".dlcourse" / "service"


def state_path(course: Course) -> Path:
    return service_dir(course) / "state.db"


def requests_dir(course: Course) -> Path:
    """Where the web pages drop request files (see :mod:`.requests`)."""
    return service_dir(course) / "requests"


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    """ISO 8601 in UTC, as stored in ``updated_at`` and ``retry_after``."""
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def make_private(course: Course) -> None:
    """Give the service folder and its files the course's private modes (:mod:`dlcourse.permissions`):
    the database holds every student's scores."""
    from dlcourse.permissions import course_policy

    policy = course_policy(course.root)
    folder = service_dir(course)
    for path in (folder.parent, folder, requests_dir(course)):
        if path.is_dir():
            path.chmod(policy.dir_mode)
    for path in folder.glob("state.db*"):
        path.chmod(policy.file_mode(0o600))


def open_state(course: Course) -> sqlite3.Connection:
    """The state database (created with its folders on first use); rows come back as :class:`sqlite3.Row`."""
    requests_dir(course).mkdir(parents=True, exist_ok=True)
    fresh = not state_path(course).exists()
    if fresh:
        _create(course)
    # autocommit: each statement or explicit transaction is durable on return (a SIGKILL loses nothing written)
    connection = sqlite3.connect(state_path(course), timeout=30, isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")  # readers (the web pages) never wait for the service
    connection.executescript(SCHEMA)
    if fresh:
        make_private(course)
    return connection


def _create(course: Course) -> None:
    """Make the database under a temporary name and rename it into place, so that a reader
    (the web pages) never opens a database whose tables do not exist yet."""
    partial = state_path(course).with_name("state.db.new")
    partial.unlink(missing_ok=True)  # left by a service killed while creating it
    connection = sqlite3.connect(partial, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(SCHEMA)
    finally:
        connection.close()  # checkpoints and removes the WAL: the file alone is the database
    partial.replace(state_path(course))


@contextlib.contextmanager
def _reading(course: Course) -> Iterator[sqlite3.Connection]:
    if not state_path(course).exists():
        raise FileNotFoundError(f"{state_path(course)}: no service state yet (start `dlcourse serve`)")
    connection = sqlite3.connect(f"file:{state_path(course)}?mode=ro", uri=True, timeout=30)
    connection.row_factory = sqlite3.Row
    try:
        yield connection
    finally:
        connection.close()


def _where(assignment: str | None, student: str | None) -> tuple[str, list[str]]:
    clauses, values = [], []
    for column, value in (("assignment", assignment), ("student", student)):
        if value is not None:
            clauses.append(f"{column} = ?")
            values.append(value)
    return (" AND ".join(clauses) or "1"), values


def all_submissions(course: Course, assignment: str | None = None, student: str | None = None) -> list[dict]:
    """Every submission row (oldest first within each student), optionally of one assignment or student."""
    where, values = _where(assignment, student)
    with _reading(course) as connection:
        rows = connection.execute(f"SELECT * FROM submissions WHERE {where} "
                                  "ORDER BY assignment, student, submitted_at", values).fetchall()
    return [dict(row) for row in rows]


def latest_submissions(course: Course, assignment: str | None = None, student: str | None = None) -> list[dict]:
    """The latest submission of each (assignment, student), optionally of one assignment or student.

    Rows are dicts with the keys of :data:`COLUMNS`, sorted by assignment and student.
    """
    latest: dict[tuple[str, str], dict] = {}
    for row in all_submissions(course, assignment, student):
        key = (row["assignment"], row["student"])
        if key not in latest or submitted_order(row["submitted_at"]) >= submitted_order(latest[key]["submitted_at"]):
            latest[key] = row
    return [latest[key] for key in sorted(latest)]


def history(course: Course, assignment: str | None = None, student: str | None = None) -> list[dict]:
    """Every change of state (``events``), oldest first."""
    where, values = _where(assignment, student)
    with _reading(course) as connection:
        rows = connection.execute(f"SELECT * FROM events WHERE {where} ORDER BY id", values).fetchall()
    return [dict(row) for row in rows]


def submitted_order(timestamp: str) -> dt.datetime:
    """An nbgrader timestamp string as a comparable UTC time (nbgrader writes several formats)."""
    from nbgrader.utils import parse_utc

    return parse_utc(timestamp)


class StateStore:
    """The service's writer of ``state.db``: each change is one transaction, with its event."""

    def __init__(self, course: Course) -> None:
        self.course = course
        self.db = open_state(course)

    def close(self) -> None:
        self.db.close()

    def get(self, key: Key) -> dict | None:
        row = self.db.execute("SELECT * FROM submissions WHERE assignment=? AND student=? AND submitted_at=?",
                              key).fetchone()
        return dict(row) if row else None

    def rows(self, *states: str, assignment: str | None = None) -> list[dict]:
        """Rows in any of ``states`` (all rows when none given), oldest submission first."""
        clauses, values = [], list(states)
        if states:
            clauses.append(f"state IN ({','.join('?' * len(states))})")
        if assignment is not None:
            clauses.append("assignment = ?")
            values.append(assignment)
        query = "SELECT * FROM submissions" + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        rows = [dict(r) for r in self.db.execute(query, values).fetchall()]
        return sorted(rows, key=lambda r: (r["assignment"], r["student"], submitted_order(r["submitted_at"])))

    def latest(self, assignment: str, student: str) -> dict | None:
        """The latest known submission of ``student``."""
        rows = [r for r in self.rows(assignment=assignment) if r["student"] == student]
        return rows[-1] if rows else None

    def discover(self, key: Key, cause: str = "submission") -> bool:
        """Record a submission seen in the exchange as ``queued``; False if it is known already."""
        at = iso(now())
        with self._transaction():
            inserted = self.db.execute(
                "INSERT OR IGNORE INTO submissions (assignment, student, submitted_at, state, updated_at, message) "
                "VALUES (?, ?, ?, 'queued', ?, 'waiting to be graded')", (*key, at)).rowcount
            if inserted:
                self._event(key, "queued", at, cause, "waiting to be graded")
        return bool(inserted)

    def move(self, key: Key, state: str, message: str, *, cause: str, retry_after: str | None = None,
             **scores: float | None) -> None:
        """Put ``key`` into ``state`` (with ``score``/``max_score`` when given) and log the event."""
        assert state in STATES, state
        at = iso(now())
        sets = {"state": state, "updated_at": at, "retry_after": retry_after, "message": message, **scores}
        assignments = ", ".join(f"{column} = ?" for column in sets)
        with self._transaction():
            self.db.execute(f"UPDATE submissions SET {assignments} WHERE assignment=? AND student=? AND submitted_at=?",
                            (*sets.values(), *key))
            self._event(key, state, at, cause, message)

    def graded_since(self, assignment: str, student: str, since: dt.datetime) -> list[dt.datetime]:
        """When ``student``'s submissions of ``assignment`` were graded for them since ``since``
        (an instructor's regrade does not count against the student)."""
        rows = self.db.execute(
            "SELECT at FROM events WHERE assignment=? AND student=? AND state='graded' AND cause != 'regrade' "
            "AND at >= ? ORDER BY at", (assignment, student, iso(since))).fetchall()
        return [parse_iso(row["at"]) for row in rows]

    def _event(self, key: Key, state: str, at: str, cause: str, message: str) -> None:
        self.db.execute("INSERT INTO events (assignment, student, submitted_at, state, at, cause, message) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", (*key, state, at, cause, message))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")


def row_key(row: dict[str, Any]) -> Key:
    return (row["assignment"], row["student"], row["submitted_at"])

