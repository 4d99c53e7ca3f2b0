"""Grading statuses, stored in the gradebook database beside nbgrader's tables.

nbgrader has no notion of "this submission crashed": a crash and a real zero
look the same. This table keeps the status and a student-safe message per
(assignment, student), in the same database (any SQLAlchemy URL), so that
formgrader keeps working untouched.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from dlcourse_graders.results import Status, SubmissionResult

_metadata = sa.MetaData()
status_table = sa.Table(
    "dlcourse_submission_status",
    _metadata,
    sa.Column("assignment", sa.String(128), primary_key=True),
    sa.Column("student", sa.String(128), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("max_score", sa.Float, nullable=False),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("seconds", sa.Float, nullable=False, default=0.0),
    sa.Column("updated", sa.DateTime, nullable=False),
)


class StatusStore:
    """Read and write grading statuses for one gradebook URL."""

    def __init__(self, db_url: str) -> None:
        from nbgrader.api import Gradebook

        # nbgrader stamps its schema version only into an empty database, so
        # it must create its tables before this one appears.
        Gradebook(db_url).close()
        self.engine = sa.create_engine(db_url)
        _metadata.create_all(self.engine)

    def record(self, result: SubmissionResult) -> None:
        """Insert or replace the status of ``result``'s submission."""
        key = (status_table.c.assignment == result.assignment) & (status_table.c.student == result.student)
        values = {
            "assignment": result.assignment,
            "student": result.student,
            "status": str(result.status),
            "score": result.score,
            "max_score": result.max_score,
            "message": result.message,
            "seconds": result.seconds,
            "updated": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
        }
        with self.engine.begin() as connection:
            connection.execute(status_table.delete().where(key))
            connection.execute(status_table.insert().values(**values))

    def get(self, assignment: str, student: str) -> dict[str, object] | None:
        """The stored status row, or ``None``."""
        key = (status_table.c.assignment == assignment) & (status_table.c.student == student)
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(status_table).where(key)).mappings().first()
        return dict(row) if row else None

    def all(self) -> dict[tuple[str, str], dict[str, object]]:
        """Every stored status, by (assignment, student)."""
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(status_table)).mappings().all()
        return {(row["assignment"], row["student"]): dict(row) for row in rows}

    def close(self) -> None:
        self.engine.dispose()


def parse_status(text: str) -> Status:
    """The :class:`Status` stored as ``text``."""
    return Status(text)
