"""What grading one submission produced."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(str, enum.Enum):
    """How a submission's grading ended; only ``GRADED`` means the score is a verdict."""

    GRADED = "graded"
    TIMED_OUT = "timed out"
    CRASHED = "crashed"
    RESOURCE_LIMIT = "resource limit"
    TAMPERED = "tampered"
    INVALID = "invalid"
    MISSING = "missing"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class SubmissionResult:
    """The outcome of grading one student's submission of one assignment."""

    assignment: str
    student: str
    status: Status
    score: float | None
    max_score: float
    message: str = ""
    seconds: float = 0.0
    notebooks: tuple[str, ...] = field(default_factory=tuple)
    #: the sandbox the notebook ran in: "allow-list", "weak", or "" (not run in a dlcourse sandbox)
    sandbox: str = ""

    def as_row(self) -> dict[str, object]:
        """A flat record for tables and CSV."""
        return {
            "assignment": self.assignment,
            "student": self.student,
            "score": self.score,
            "max_score": self.max_score,
            "status": str(self.status),
            "message": self.message,
            "seconds": round(self.seconds, 2),
            "sandbox": self.sandbox,
        }
