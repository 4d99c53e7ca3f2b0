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
    # what was graded (submission, assignment, checks, limits): unchanged means no regrade
    sa.Column("fingerprint", sa.String(64), nullable=True),
    # which sandbox the notebook ran in ("allow-list", "weak"; empty: not a dlcourse sandbox)
    sa.Column("sandbox", sa.String(32), nullable=True),
)


class StatusStore:
    """Read and write grading statuses for one gradebook URL."""

    def __init__(self, db_url: str) -> None:
        from nbgrader.api import Gradebook

        # nbgrader stamps its schema version only into an empty database, so
        # it must create its tables before this one appears.
        Gradebook(db_url).close()
        # SQLite: wait for another writer (a concurrent run) instead of failing at once
        options = {"connect_args": {"timeout": 60}} if db_url.startswith("sqlite") else {}
        self.engine = sa.create_engine(db_url, **options)
        _metadata.create_all(self.engine)
        columns = {c["name"] for c in sa.inspect(self.engine).get_columns(status_table.name)}
        for name, kind in (("fingerprint", "VARCHAR(64)"), ("sandbox", "VARCHAR(32)")):
            if name not in columns:  # a table from an earlier version
                with self.engine.begin() as connection:
                    connection.execute(sa.text(f"ALTER TABLE {status_table.name} ADD COLUMN {name} {kind}"))

    def record(self, result: SubmissionResult, fingerprint: str | None = None) -> None:
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
            "fingerprint": fingerprint,
            "sandbox": result.sandbox,
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

    @staticmethod
    def as_result(row: dict[str, object], unchanged: bool = False) -> SubmissionResult:
        """A stored row as a :class:`SubmissionResult` (for submissions not regraded)."""
        message = str(row["message"] or "")
        if unchanged:
            message = "; ".join(filter(None, ["unchanged since last grading", message]))
        return SubmissionResult(str(row["assignment"]), str(row["student"]), Status(str(row["status"])),
                                row["score"], float(row["max_score"]), message, 0.0,  # type: ignore[arg-type]
                                sandbox=str(row.get("sandbox") or ""))

    def close(self) -> None:
        self.engine.dispose()

