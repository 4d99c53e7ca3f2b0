"""What the exchange holds: released assignments and complete submissions in ``inbound/``.

nbgrader's submit writes ``<exchange>/<course_id>/inbound/<student>+<assignment>+<timestamp>+<random>/``:
the files first, then ``timestamp.txt``, then ``submission_secret.txt``. A
folder counts once its secret is written, so a submission being copied is
never collected half-way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SECRET = "submission_secret.txt"
TIMESTAMP = "timestamp.txt"


@dataclass(frozen=True)
class InboundSubmission:
    """One complete submission in the exchange."""

    assignment: str
    student: str
    submitted_at: str  # nbgrader's timestamp string, as in its timestamp.txt
    path: Path

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.assignment, self.student, self.submitted_at)


def released_assignments(exchange: Path, course_id: str) -> set[str]:
    """Assignments released to the exchange (``outbound/<assignment>``)."""
    outbound = exchange / course_id / "outbound"
    try:
        return {entry.name for entry in outbound.iterdir() if entry.is_dir()}
    except OSError:
        return set()


def scan_inbound(exchange: Path, course_id: str, assignments: set[str]) -> list[InboundSubmission]:
    """Complete submissions of ``assignments`` in the exchange's inbound folder, oldest first per student."""
    inbound = exchange / course_id / "inbound"
    found = []
    try:
        entries = list(inbound.iterdir())
    except OSError:
        return []
    for entry in entries:
        parts = entry.name.rsplit("+", 3)  # student ids may contain '+', as nbgrader's collect allows
        if len(parts) < 3:
            continue
        student, assignment = parts[0], parts[1]
        if len(parts) == 3:  # nbgrader without its random suffix: student+assignment+timestamp
            student, assignment = entry.name.rsplit("+", 2)[:2]
        if assignment not in assignments:
            continue
        try:
            secret = (entry / SECRET).read_text(encoding="utf-8").strip()
            timestamp = (entry / TIMESTAMP).read_text(encoding="utf-8").strip()
        except OSError:
            continue  # still being written (or unreadable): look again next time
        if secret and timestamp:
            found.append(InboundSubmission(assignment, student, timestamp, entry))
    return sorted(found, key=lambda s: (s.assignment, s.student, s.submitted_at))
