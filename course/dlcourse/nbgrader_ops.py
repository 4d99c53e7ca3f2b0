"""Thin calls into nbgrader: configuration, and its apps as subprocesses.

nbgrader's apps are traitlets singletons that read the course's
``nbgrader_config.py``; running them as ``python -m nbgrader`` in the course
directory keeps them exactly as plain nbgrader users know them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from dlcourse.coursedir import Course, CourseError
from dlcourse.permissions import secure_course


@dataclass(frozen=True)
class CourseSettings:
    """What dlcourse needs to know from a course's nbgrader configuration."""

    course_id: str
    db_url: str
    exchange_root: Path | None
    groupshared: bool = False  # instructors share the course through its group (dlcourse.permissions)


def course_config(course: Course) -> CourseSettings:
    """Read ``nbgrader_config.py`` the way nbgrader does."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    loader = PyFileConfigLoader(course.config_file.name, path=str(course.root))
    try:
        config = loader.load_config()
    except Exception as error:  # noqa: BLE001 - a broken config file is the user's to fix
        raise CourseError(f"{course.config_file}: cannot be read ({error})") from error
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course.root)
    exchange = None
    if "Exchange" in config and "root" in config.Exchange:
        exchange = Path(config.Exchange.root)
    return CourseSettings(coursedir.course_id, coursedir.db_url, exchange, bool(coursedir.groupshared))


class NbgraderError(CourseError):
    """An nbgrader command failed; the message carries its last log lines."""


def _path_with_scripts(path: str) -> str:
    scripts = os.path.dirname(sys.executable)
    return path if scripts in path.split(os.pathsep) else f"{scripts}{os.pathsep}{path}"


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for nbgrader subprocesses: this interpreter's scripts
    first on PATH (nbgrader shells out to ``alembic``)."""
    return {**os.environ, "PATH": _path_with_scripts(os.environ.get("PATH", "")), **(extra or {})}


def use_environment_scripts() -> None:
    """Put this interpreter's scripts on PATH for this process too.

    nbgrader's gradebook runs ``alembic`` by name when it opens a database;
    ``/opt/env/bin/dlcourse`` run without activating the environment (a hub
    terminal, cron, a service) would otherwise fail to create the gradebook.
    """
    os.environ["PATH"] = _path_with_scripts(os.environ.get("PATH", ""))


def run_nbgrader(
    course: Course, args: Sequence[str], *, timeout: float | None = None, env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``nbgrader ARGS`` in the course directory and capture its log."""
    command = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(
        command, cwd=course.root, capture_output=True, text=True, timeout=timeout,
        env=tool_env(env),
    )
    if check and result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise NbgraderError(f"nbgrader {' '.join(args)} failed (exit {result.returncode}):\n{tail}")
    return result


def generate_assignment(course: Course, assignment: str) -> Path:
    """Run nbgrader's generate_assignment; return ``COURSE/release/ASSIGNMENT``."""
    course.require_assignment(assignment)
    try:
        run_nbgrader(course, ["generate_assignment", assignment, "--force"])
    finally:  # nbgrader also writes the gradebook: keep both private even when it fails half-way
        secure_course(course.root, [assignment])
    return course.release_dir(assignment)


def release_to_exchange(course: Course, assignment: str) -> bool:
    """Release to the exchange when one is configured; return whether it did."""
    if course_config(course).exchange_root is None:
        return False
    try:
        run_nbgrader(course, ["release_assignment", assignment, "--force"])
    finally:
        secure_course(course.root, [assignment])
    return True


def collect_from_exchange(course: Course, assignment: str) -> list[str]:
    """Collect submissions from the exchange; return students now submitted."""
    if course_config(course).exchange_root is None:
        raise CourseError(
            f"{course.config_file}: no exchange configured (set c.Exchange.root), nothing to collect"
        )
    try:
        run_nbgrader(course, ["collect", assignment, "--update"])
    finally:  # nbgrader copies the exchange's modes (submissions arrive as 0777)
        secure_course(course.root, [assignment])
    return course.students_with_submissions(assignment)
