"""Core default hookimpls; all ``trylast`` so any plugin can override them."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Mapping, Sequence

from dlcourse import hookimpl
from dlcourse.types import NotebookSource, Topic

DEFAULT_KERNEL = "dlcourse-py3"
EXPORT_COLUMNS = ("assignment", "student", "score", "max_score", "status", "message", "sandbox")


@hookimpl(trylast=True)
def dlcourse_kernel_name(topic: Topic, source: NotebookSource) -> str:
    """Every notebook runs on the course kernel unless a plugin says otherwise."""
    return DEFAULT_KERNEL


@hookimpl(trylast=True)
def dlcourse_late_penalty(submission: Any, score: float, seconds_late: float) -> float:
    """No penalty for late work unless a plugin sets one."""
    return 0.0


@hookimpl(trylast=True)
def dlcourse_export_grades(
    results: Sequence[Mapping[str, Any]], destination: Path, format: str
) -> bool | None:
    """Write ``results`` as CSV, one row per (assignment, student)."""
    if format != "csv":
        return None
    destination.parent.mkdir(parents=True, exist_ok=True)
    with destination.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in results:
            writer.writerow({key: _cell(row.get(key)) for key in EXPORT_COLUMNS})
    return True


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return value
