"""One grading run per assignment at a time, on one machine and across machines.

A run that records results holds two locks:

* a lock file in ``COURSE/.dlcourse/`` (``flock``), which serialises runs on
  one machine whatever the gradebook is;
* when the gradebook is a PostgreSQL database, a session-level advisory lock
  in that database, which serialises coordinators on different machines that
  share the gradebook (their course folders need not be the same folder).

A second run waits for the first and then finds the first's results (same
fingerprints) instead of grading and writing the same submissions again.
Both locks belong to the process: a killed run (even SIGKILL) releases them
when its file descriptor and its database connection close.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import sys
from typing import Iterator, TextIO

from dlcourse.coursedir import Course

WAITING = "another `dlcourse grade {assignment}` is running{where}; waiting for it"


@contextlib.contextmanager
def file_lock(course: Course, assignment: str, stream: TextIO = sys.stderr) -> Iterator[None]:
    """Hold ``COURSE/.dlcourse/grade-ASSIGNMENT.lock``; wait (saying so) while another run holds it."""
    folder = course.root / ".dlcourse"
    folder.mkdir(exist_ok=True)
    with open(folder / f"grade-{assignment}.lock", "w", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(WAITING.format(assignment=assignment, where=""), file=stream, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def advisory_key(assignment: str) -> int:
    """A stable signed 64-bit key for the assignment's lock (PostgreSQL ``bigint``).

    A gradebook database belongs to one course, so the assignment names the lock.
    """
    digest = hashlib.sha256(f"dlcourse-grade:{assignment}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def is_postgresql(db_url: str) -> bool:
    """Whether an SQLAlchemy URL names a PostgreSQL database."""
    return db_url.split(":", 1)[0].split("+", 1)[0] in {"postgresql", "postgres"}


@contextlib.contextmanager
def database_lock(db_url: str, assignment: str, stream: TextIO = sys.stderr) -> Iterator[None]:
    """Hold the assignment's advisory lock in a PostgreSQL gradebook; nothing for other databases.

    SQLite needs none: a SQLite file lives on one machine, where the lock
    file already serialises runs.
    """
    if not is_postgresql(db_url):
        yield
        return
    import sqlalchemy as sa

    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    key = advisory_key(assignment)
    try:
        # its own connection, outside any transaction, for the whole run
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            taken = connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
            if not taken:
                print(WAITING.format(assignment=assignment, where=" against this gradebook"), file=stream,
                      flush=True)
                connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        engine.dispose()


@contextlib.contextmanager
def run_lock(course: Course, assignment: str, db_url: str, stream: TextIO = sys.stderr) -> Iterator[None]:
    """Both locks: this machine's lock file first, then the shared gradebook's."""
    with file_lock(course, assignment, stream), database_lock(db_url, assignment, stream):
        yield
