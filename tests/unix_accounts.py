"""Throwaway Unix accounts and world-reachable folders for the permission tests (root only).

Permission tests must prove that *another account* is kept out by the
course's own modes, so the course lives in a folder every account can enter
(pytest's ``tmp_path`` is under a 0700 folder, which would keep everyone out
whatever the course did), and the other account is a real user created with
``useradd`` and removed afterwards.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="creates Unix users and groups (CI runs as root)")


def _name(prefix: str) -> str:
    # unique across parallel test workers; short enough for useradd's 32-character limit
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def unix_group() -> Iterator[grp.struct_group]:
    """A new Unix group, deleted afterwards."""
    name = _name("dlcg")
    subprocess.run(["groupadd", name], check=True, capture_output=True)
    try:
        yield grp.getgrnam(name)
    finally:
        subprocess.run(["groupdel", name], check=False, capture_output=True)


@contextlib.contextmanager
def unix_user(*groups: str) -> Iterator[pwd.struct_passwd]:
    """A new Unix user without a home (member of ``groups`` too), deleted afterwards."""
    name = _name("dlcu")
    extra = ["--groups", ",".join(groups)] if groups else []
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", *extra, name],
                   check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)
        with contextlib.suppress(KeyError):  # --user-group made a group of the same name
            grp.getgrnam(name)
            subprocess.run(["groupdel", name], check=False, capture_output=True)


@contextlib.contextmanager
def open_folder() -> Iterator[Path]:
    """A folder under the system temp directory that every account can enter (0755), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="dlcourse-perms-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_as(user: pwd.struct_passwd, *command: str) -> subprocess.CompletedProcess[str]:
    """Run a system command (e.g. ``cat FILE``) as ``user``, with its own groups only."""
    return subprocess.run(["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups",
                           *command], capture_output=True, text=True, timeout=60, check=False)
