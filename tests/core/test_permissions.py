"""A course is private to its instructor (or instructor group); doctor says when it is not.

The grading pipeline through a real exchange (collect, grade, the gradebook)
is in tests/graders/test_course_permissions.py; here: init, build, the group
variant, root-run commands, other accounts, and the doctor's checks.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from conftest import run_cli
from dlcourse.build import build_course
from dlcourse.coursedir import Course, init_course
from dlcourse.doctor import closed_to_others, course_privacy, environment_access
from dlcourse.permissions import exposed_paths, secure_course
from unix_accounts import needs_root, open_folder, run_as, unix_group, unix_user


def entries(root: Path) -> dict[str, os.stat_result]:
    """Every entry of the course (root included, as '.') and its lstat."""
    return {("." if p == root else str(p.relative_to(root))): os.lstat(p) for p in [root, *root.rglob("*")]}


def assert_private(root: Path) -> None:
    for name, info in entries(root).items():
        mode = stat.S_IMODE(info.st_mode)
        assert mode == (0o700 if stat.S_ISDIR(info.st_mode) else 0o600), f"{name}: {mode:04o}"


def test_init_and_build_leave_the_course_private_to_its_owner(tmp_path, toy_env):
    done = run_cli("init", str(tmp_path / "course"), "--exchange", str(tmp_path / "exchange"), env=toy_env)
    assert done.returncode == 0, done.stderr
    course = Course.open(tmp_path / "course")
    assert_private(course.root)
    build_course(course, ["toy"])
    assert (course.root / "source" / "toy" / "toy.ipynb").is_file()
    assert_private(course.root)
    assert list(exposed_paths(course.root)) == []
    # the exchange is the students' shared folder: nbgrader's mode, untouched
    assert stat.S_IMODE((tmp_path / "exchange").stat().st_mode) == 0o1777


def test_a_later_command_fixes_what_was_opened_by_hand(toy_course):
    notebook = toy_course.source_dir("toy") / "toy.ipynb"
    notebook.chmod(0o666)
    toy_course.source_dir("toy").chmod(0o777)
    (toy_course.root / "grades.csv").write_text("student,score\n")
    (toy_course.root / "grades.csv").chmod(0o644)
    build_course(toy_course, ["toy"])
    assert_private(toy_course.root)


def test_unknown_instructor_group_is_a_clear_error(tmp_path, toy_env):
    done = run_cli("init", str(tmp_path / "course"), "--instructor-group", "dlcourse-no-such-group", env=toy_env)
    assert done.returncode == 2
    assert "--instructor-group dlcourse-no-such-group: no such group" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "course" / "nbgrader_config.py").exists()


@needs_root
def test_a_shared_course_lets_its_group_in_and_keeps_others_out(toy_env):
    with open_folder() as base, unix_group() as staff, unix_user(staff.gr_name) as colleague, \
            unix_user() as student:
        done = run_cli("init", str(base / "course"), "--instructor-group", staff.gr_name, env=toy_env)
        assert done.returncode == 0, done.stderr
        course = Course.open(base / "course")
        assert "c.CourseDirectory.groupshared = True" in course.config_file.read_text()
        build_course(course, ["toy"])  # a later command reads the group from the course
        stray = course.root / "source" / "toy" / "notes.txt"  # written by hand: root's group, 0644
        stray.write_text("solutions discussed in class\n")
        stray.chmod(0o644)
        secure_course(course.root, ["toy"])
        for name, info in entries(course.root).items():
            mode = stat.S_IMODE(info.st_mode)
            assert mode == (0o2770 if stat.S_ISDIR(info.st_mode) else 0o660), f"{name}: {mode:04o}"
            assert info.st_gid == staff.gr_gid, name
        assert course_privacy(course.root).ok
        notebook = str(course.source_dir("toy") / "toy.ipynb")
        refused = run_as(student, "cat", notebook)
        assert refused.returncode != 0 and "Permission denied" in refused.stderr
        assert run_as(colleague, "cat", notebook).returncode == 0
        # a colleague writes with their own umask (0644): the doctor sees it, the next command fixes it
        assert run_as(colleague, "touch", str(course.root / "source" / "toy" / "colleague.txt")).returncode == 0
        report = course_privacy(course.root)
        assert not report.ok and f"fix: chmod -R o-rwx {course.root}" in report.detail
        secure_course(course.root, ["toy"])
        assert course_privacy(course.root).ok


@needs_root
def test_root_hands_what_it_writes_to_the_course_owner(toy_env):
    with open_folder() as base, unix_user() as instructor:
        course = init_course(base / "course", "toycourse")
        subprocess.run(["chown", "-R", f"{instructor.pw_uid}:{instructor.pw_gid}", str(course.root)], check=True)
        (course.root / "gradebook.db").write_bytes(b"")  # as root: root:root 0644, like a root-run nbgrader
        build_course(course, ["toy"])  # runs as root
        for name, info in entries(course.root).items():
            assert (info.st_uid, info.st_gid) == (instructor.pw_uid, instructor.pw_gid), name
        assert_private(course.root)
        writable = run_as(instructor, "sh", "-c", f"test -w {course.root / 'gradebook.db'}")
        assert writable.returncode == 0


@needs_root
def test_other_accounts_cannot_read_the_course(toy_env):
    with open_folder() as base, unix_user() as student:
        course = init_course(base / "course", "toycourse")
        build_course(course, ["toy"])
        notebook = course.source_dir("toy") / "toy.ipynb"
        readable = base / "readme.txt"  # control: the folder itself is open, so a refusal is the course's doing
        readable.write_text("hello\n")
        readable.chmod(0o644)
        assert run_as(student, "cat", str(readable)).stdout == "hello\n"
        for target in (notebook, course.config_file):
            refused = run_as(student, "cat", str(target))
            assert refused.returncode != 0 and "Permission denied" in refused.stderr, target
        course.root.chmod(0o755)  # opened by mistake: the inner modes still keep the solutions in
        refused = run_as(student, "cat", str(notebook))
        assert refused.returncode != 0 and "Permission denied" in refused.stderr
        listing = run_as(student, "ls", str(course.root / "source"))
        assert listing.returncode != 0 and "Permission denied" in listing.stderr


def test_doctor_reports_a_course_that_others_can_read(toy_course, toy_env):
    assert course_privacy(toy_course.root).ok
    (toy_course.source_dir("toy") / "toy.ipynb").chmod(0o644)
    submitted = toy_course.root / "submitted" / "ann" / "toy"
    submitted.mkdir(parents=True)
    submitted.chmod(0o777)
    report = course_privacy(toy_course.root)
    assert not report.ok and not report.advisory
    assert "source/toy/toy.ipynb (0644)" in report.detail and "submitted/ann/toy (0777)" in report.detail
    assert f"fix: chmod -R go-rwx {toy_course.root}" in report.detail
    done = run_cli("doctor", "--course", str(toy_course.root), env=toy_env)
    assert done.returncode == 1
    assert "[!!] course permissions: others can read or write" in done.stdout
    secure_course(toy_course.root, everything=True)
    assert course_privacy(toy_course.root).ok


def test_doctor_names_at_most_a_few_exposed_paths(toy_course):
    for index in range(6):
        (toy_course.root / "submitted" / f"s{index}").mkdir(mode=0o755)
        (toy_course.root / "submitted" / f"s{index}").chmod(0o755)
    report = course_privacy(toy_course.root)
    assert not report.ok and "and 3 more" in report.detail
    assert report.detail.count("(0755)") == 3


def _environment(base: Path) -> Path:
    """base/opt/python (an interpreter) and base/venv/bin/python -> it, all 0755; returns the venv link."""
    interpreter = base / "opt" / "python"
    interpreter.parent.mkdir()
    interpreter.write_bytes(b"\x7fELF")  # a binary: o+x is enough
    interpreter.chmod(0o755)
    link = base / "venv" / "bin" / "python"
    link.parent.mkdir(parents=True)
    link.symlink_to(interpreter)
    for folder in (base / "opt", base / "venv", base / "venv" / "bin"):
        folder.chmod(0o755)
    return link


def test_doctor_accepts_an_environment_every_account_can_reach():
    with open_folder() as base:
        link = _environment(base)
        assert closed_to_others(link) == {}
        report = environment_access([link])
        assert report.ok and report.advisory


def test_doctor_reports_an_environment_under_a_private_directory():
    with open_folder() as base:
        link = _environment(base)
        (base / "opt").chmod(0o700)  # like a pyenv under /root
        assert closed_to_others(link) == {base / "opt": 0o700}
        report = environment_access([link])
        assert not report.ok and report.advisory, "advisory: a laptop without a hub needs no change"
        assert f"{base / 'opt'} (0700) keeps other accounts from {base / 'opt' / 'python'}" in report.detail
        assert "Permission denied" in report.detail and "python3 -m venv /opt/" in report.detail
        (base / "opt").chmod(0o755)
        (base / "venv").chmod(0o750)  # the venv's own folder counts too, not only the real interpreter's
        assert closed_to_others(link) == {base / "venv": 0o750}


def test_doctor_reports_a_script_others_cannot_read():
    with open_folder() as base:
        script = base / "jupyterhub-singleuser"
        script.write_text("#!/usr/bin/env python3\n")
        script.chmod(0o711)  # others may execute but not read: an interpreter cannot run it
        assert closed_to_others(script) == {script: 0o711}
        script.chmod(0o755)
        assert closed_to_others(script) == {}
