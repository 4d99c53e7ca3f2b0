"""The course secret: made once, private, stable, and the same for every run that races to make it."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dlcourse.course_secret import SecretError, course_secret, secret_path
from dlcourse.coursedir import init_course


def test_init_makes_a_private_secret_that_stays(tmp_path: Path) -> None:
    course = init_course(tmp_path / "course", "c")
    path = secret_path(course.root)
    first = course_secret(course.root, create=False)
    assert len(first) == 64 and int(first, 16) >= 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert course_secret(course.root) == first, "a secret must never change by itself"


def test_a_course_without_one_gets_it_once_even_when_runs_race(tmp_path: Path) -> None:
    root = tmp_path / "old-course"
    root.mkdir()
    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: course_secret(root), range(16)))
    assert len(secrets) == 1
    assert [p.name for p in secret_path(root).parent.iterdir()] == ["secret"], "no temporary file is left"
    with pytest.raises(SecretError, match="no secret"):
        course_secret(tmp_path / "elsewhere", create=False)


def test_a_damaged_secret_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    path = secret_path(tmp_path)
    path.parent.mkdir()
    path.write_text("short\n")
    with pytest.raises(SecretError, match="delete the file"):
        course_secret(tmp_path)
