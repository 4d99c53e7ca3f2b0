"""Requests to the service: JSON files in ``COURSE/.dlcourse/service/requests/``.

The web pages (or an instructor's script) write one file per request,
atomically (a temporary name, then a rename into ``*.json``)::

    {"action": "regrade", "assignment": "perceptron", "student": "alice"}
    {"action": "release", "assignment": "perceptron", "student": null}   # null: everyone graded

The service reads them in name order each loop, acts, and deletes them.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dlcourse.coursedir import Course

from dlcourse_graders.service.state import requests_dir

ACTIONS = ("regrade", "release")


@dataclass(frozen=True)
class Request:
    """One request: ``action`` on ``assignment`` for ``student`` (None: every student)."""

    action: str
    assignment: str
    student: str | None
    path: Path


class BadRequest(ValueError):
    """A request file that cannot be acted on; the message says why."""


def write_request(course: Course, action: str, assignment: str, student: str | None = None) -> Path:
    """Drop a request file atomically; return its path."""
    if action not in ACTIONS:
        raise BadRequest(f"unknown action {action!r}; use one of {ACTIONS}")
    folder = requests_dir(course)
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"action": action, "assignment": assignment, "student": student})
    handle, temporary = tempfile.mkstemp(prefix=".request-", suffix=".tmp", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)
    # the name orders requests by arrival; the service ignores anything not ending in .json
    target = folder / f"{time.time_ns():020d}-{os.getpid()}-{action}.json"
    os.replace(temporary, target)
    return target


def parse_request(path: Path) -> Request:
    """The request in ``path``; :class:`BadRequest` says what is wrong with it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BadRequest(f"{path.name}: not a JSON request ({error})") from error
    if not isinstance(data, dict):
        raise BadRequest(f"{path.name}: a request is a JSON object")
    action, assignment, student = data.get("action"), data.get("assignment"), data.get("student")
    if action not in ACTIONS:
        raise BadRequest(f"{path.name}: unknown action {action!r}; use one of {ACTIONS}")
    if not isinstance(assignment, str) or not assignment:
        raise BadRequest(f"{path.name}: 'assignment' must name an assignment")
    if student is not None and not isinstance(student, str):
        raise BadRequest(f"{path.name}: 'student' must be a student id or null")
    return Request(action, assignment, student, path)


def pending_requests(course: Course) -> list[Path]:
    """Request files waiting, oldest first (temporary files being written are not requests yet)."""
    folder = requests_dir(course)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []
