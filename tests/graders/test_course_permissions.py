"""A course graded through a real exchange stays private to its instructor.

One course, owned by a throwaway instructor account, goes through init,
build, release, a student's nbgrader fetch_assignment and submit, collect and
grade, all run as root (like a grading service); the modes and owners after
collect and after grade are checked, and a second throwaway account tries to
read the solutions, the gradebook and the submission.
"""

from __future__ import annotations

import getpass
import os
import pwd
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import FIXTURES, run_cli
from dlcourse.doctor import course_privacy
from dlcourse.nbgrader_ops import tool_env
from unix_accounts import needs_root, open_folder, run_as, unix_user

pytestmark = [pytest.mark.slow, needs_root]

Snapshot = dict[str, os.stat_result]


@dataclass
class GradedCourse:
    root: Path
    exchange: Path
    instructor: pwd.struct_passwd
    outsider: pwd.struct_passwd
    student: str
    after: dict[str, Snapshot]  # stage -> every entry of the course and its lstat
    inbound_mode: dict[str, int]  # stage -> mode of the exchange's inbound folder


def snapshot(root: Path) -> Snapshot:
    return {("." if p == root else str(p.relative_to(root))): os.lstat(p) for p in [root, *root.rglob("*")]}


@pytest.fixture(scope="module")
def graded() -> Iterator[GradedCourse]:
    env = {**os.environ, "DLCOURSE_PLUGINS": "dlcourse_toytopic",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(FIXTURES), os.environ.get("PYTHONPATH", "")]))}

    def cli(*args: str) -> None:
        done = run_cli(*args, env=env)
        assert done.returncode == 0, f"dlcourse {' '.join(args)}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"

    with open_folder() as base, unix_user() as instructor, unix_user() as outsider:
        root, exchange = base / "course", base / "exchange"
        cli("init", str(root), "--course-id", "toycourse", "--exchange", str(exchange))
        # the instructor owns the course; everything below runs as root, as a grading service would
        subprocess.run(["chown", "-R", f"{instructor.pw_uid}:{instructor.pw_gid}", str(root)], check=True)
        cli("build", "toy", "--course", str(root))
        cli("release", "toy", "--course", str(root))
        home = base / "student"
        home.mkdir()
        (home / "nbgrader_config.py").write_text(
            f"c = get_config()\nc.CourseDirectory.course_id = 'toycourse'\nc.Exchange.root = {str(exchange)!r}\n")
        for step in (["fetch_assignment", "toy"], ["submit", "toy"]):  # nbgrader's own student side
            done = subprocess.run([sys.executable, "-m", "nbgrader", *step], cwd=home, env=tool_env(),
                                  capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr
        inbound = exchange / "toycourse" / "inbound"
        inbound_mode = {"submit": stat.S_IMODE(inbound.stat().st_mode)}
        after = {}
        cli("collect", "toy", "--course", str(root))
        after["collect"], inbound_mode["collect"] = snapshot(root), stat.S_IMODE(inbound.stat().st_mode)
        cli("grade", "toy", "--course", str(root), "--workers", "1")
        after["grade"] = snapshot(root)
        student = os.environ.get("USER") or getpass.getuser()  # nbgrader's student id: this login
        yield GradedCourse(root, exchange, instructor, outsider, student, after, inbound_mode)


@pytest.mark.parametrize("stage", ["collect", "grade"])
def test_nothing_in_the_course_is_open_to_others(graded, stage):
    entries = graded.after[stage]
    assert f"submitted/{graded.student}/toy/toy.ipynb" in entries
    for name, info in entries.items():
        mode = stat.S_IMODE(info.st_mode)
        assert not mode & stat.S_IRWXO, f"after {stage}: {name} is {mode:04o}"
        assert mode == (0o700 if stat.S_ISDIR(info.st_mode) else 0o600), f"after {stage}: {name} is {mode:04o}"


@pytest.mark.parametrize("stage", ["collect", "grade"])
def test_what_root_wrote_belongs_to_the_instructor(graded, stage):
    owner = (graded.instructor.pw_uid, graded.instructor.pw_gid)
    for name, info in graded.after[stage].items():
        assert (info.st_uid, info.st_gid) == owner, f"after {stage}: {name} is {info.st_uid}:{info.st_gid}"


def test_grading_wrote_a_gradebook_the_instructor_can_write(graded):
    entries = graded.after["grade"]
    assert "gradebook.db" in entries and f"autograded/{graded.student}/toy/toy.ipynb" in entries
    assert f"logs/toy/{graded.student}.log" in entries
    gradebook = graded.root / "gradebook.db"
    assert run_as(graded.instructor, "sh", "-c", f"test -r {gradebook} && test -w {gradebook}").returncode == 0


def test_collect_leaves_the_exchange_to_nbgrader(graded):
    assert graded.inbound_mode["collect"] == graded.inbound_mode["submit"]
    assert stat.S_IMODE(graded.exchange.stat().st_mode) == 0o1777


def test_another_account_cannot_read_solutions_gradebook_or_submissions(graded):
    secrets = [graded.root / "source" / "toy" / "toy.ipynb", graded.root / "gradebook.db",
               graded.root / "submitted" / graded.student / "toy" / "toy.ipynb"]
    for target in secrets:
        assert target.is_file()
        refused = run_as(graded.outsider, "cat", str(target))
        assert refused.returncode != 0 and "Permission denied" in refused.stderr, target
    graded.root.chmod(0o755)  # opened by mistake: every folder inside is still 0700
    try:
        for target in secrets:
            refused = run_as(graded.outsider, "cat", str(target))
            assert refused.returncode != 0 and "Permission denied" in refused.stderr, target
        report = course_privacy(graded.root)
        assert not report.ok and ". (0755)" in report.detail
    finally:
        graded.root.chmod(0o700)
    assert course_privacy(graded.root).ok
