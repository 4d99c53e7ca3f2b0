"""Helpers for the ``dlcourse serve`` tests and benchmark: a course on a local exchange, students who
fetch and submit with nbgrader's own commands, and the service as a real subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, TypeVar

import nbformat

from dlcourse.coursedir import Course
from dlcourse.nbgrader_ops import tool_env

T = TypeVar("T")
DLCOURSE = [sys.executable, "-m", "dlcourse.cli"]


def configure(course: Course, **settings: object) -> None:
    """Set ``c.DlcourseService.<name> = value`` lines in the course's config (replacing earlier ones)."""
    lines = [line for line in course.config_file.read_text().splitlines()
             if not any(line.startswith(f"c.DlcourseService.{name} ") for name in settings)]
    lines += [f"c.DlcourseService.{name} = {value!r}" for name, value in settings.items()]
    course.config_file.write_text("\n".join(lines) + "\n")


class Student:
    """A student with their own home (nbgrader's cache) and id, using nbgrader's commands."""

    def __init__(self, root: Path, name: str, course_id: str, exchange: Path, env: dict[str, str]) -> None:
        self.name = name
        self.home = root / "homes" / name
        self.home.mkdir(parents=True)
        (self.home / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"c.CourseDirectory.course_id = {course_id!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n"
            f"c.CourseDirectory.student_id = {name!r}\n")
        self.env = tool_env({**env, "HOME": str(self.home)})

    def nbgrader(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=self.home, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def run(self, *args: str) -> str:
        return finish(self.nbgrader(*args))

    def answer(self, assignment: str, source: Path, grade_ids: tuple[str, ...]) -> None:
        """Fill in the solution cells ``grade_ids`` of the fetched notebook from the instructor's source."""
        fetched = self.home / assignment / source.name
        notebook = nbformat.read(fetched, as_version=4)
        solution = nbformat.read(source, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.metadata.get("nbgrader", {}).get("grade_id") in grade_ids:
                notebook.cells[index] = solution.cells[index]
        nbformat.write(notebook, fetched)

    def feedback_pages(self, assignment: str) -> list[Path]:
        """Fetch feedback with nbgrader; the pages now in the student's folder, oldest submission first."""
        self.run("fetch_feedback", assignment)
        return sorted((self.home / assignment / "feedback").glob("*/*.html"))


def finish(process: subprocess.Popen[str], timeout: float = 300) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


class Service:
    """``dlcourse serve --course COURSE`` as a subprocess, its log in ``log``."""

    def __init__(self, course: Course, env: dict[str, str], log: Path, *extra: str) -> None:
        self.log = log
        with open(log, "a", encoding="utf-8") as stream:
            self.process = subprocess.Popen([*DLCOURSE, "serve", "--course", str(course.root), *extra],
                                            env=env, stdout=stream, stderr=subprocess.STDOUT, text=True)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=120)

    def alive(self) -> bool:
        return self.process.poll() is None


def wait_for(what: Callable[[], T], timeout: float, message: Callable[[], str] | str = "",
             every: float = 0.2) -> T:
    """Poll ``what`` until it returns something true; fail after ``timeout`` seconds with ``message``."""
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = message() if callable(message) else message
            raise AssertionError(f"not within {timeout:g} s: {detail}")
        time.sleep(every)


def descendants(pid: int) -> set[int]:
    """The process ids below ``pid`` (children, theirs, ...), from /proc."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` is still a running process (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def sigkill(process: subprocess.Popen) -> set[int]:
    """SIGKILL a process, wait for it, and return the ids of what it had started."""
    below = descendants(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return below
