"""Who may read a course directory: its instructor, or an instructor group, never others.

A course holds solutions (``source/``), the gradebook and every student's
submission, so on a shared machine it must stay private. The instructor is the
owner of the course root. A course made with ``dlcourse init
--instructor-group GROUP`` also lets that group in: the root belongs to GROUP
and ``nbgrader_config.py`` records ``c.CourseDirectory.groupshared = True``
(nbgrader then also keeps what it writes group-writable, exchange included).

Modes set by :func:`secure_course`:

=================  ===========  ==================================
course             directories  files
=================  ===========  ==================================
private (default)  0700         0600 (0700 if executable)
group              2770         0660 (0770 if executable)
=================  ===========  ==================================

The course root's mode alone already keeps others out of everything inside;
the inner modes are a second line for when the root is opened by mistake.
When the command runs as root, everything it walks is also handed to the
course root's owner and group, so that the instructor can still write (e.g.)
a gradebook that a root-run ``dlcourse grade`` created.

The exchange is shared with students and keeps the modes nbgrader gives it:
:func:`secure_course` never enters it, even if it lies inside the course.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: Permission bits that let someone other than the owner and group in.
OTHERS = stat.S_IRWXO


@dataclass(frozen=True)
class Policy:
    """The owner, group and modes every entry of one course should have."""

    uid: int
    gid: int
    group_shared: bool
    exchange: Path | None = None

    @property
    def dir_mode(self) -> int:
        # setgid: what anyone in the group creates inside keeps the course's group
        return 0o2770 if self.group_shared else 0o700

    def file_mode(self, current: int) -> int:
        """The mode of a file whose mode is ``current``: executables stay executable."""
        executable = bool(current & stat.S_IXUSR)
        if self.group_shared:
            return 0o770 if executable else 0o660
        return 0o700 if executable else 0o600

    @property
    def fix_command(self) -> str:
        """The shell command that removes what others may do (for messages)."""
        return "chmod -R o-rwx" if self.group_shared else "chmod -R go-rwx"


def course_policy(root: Path) -> Policy:
    """The policy of the course at ``root``: owner and group of the root, shared when its config says so."""
    root = Path(root)
    info = root.stat()
    group_shared, exchange = False, None
    if (root / "nbgrader_config.py").is_file():
        from dlcourse.coursedir import Course
        from dlcourse.nbgrader_ops import course_config

        settings = course_config(Course(root.resolve()))
        group_shared, exchange = settings.groupshared, settings.exchange_root
    return Policy(info.st_uid, info.st_gid, group_shared,
                  Path(os.path.realpath(exchange)) if exchange else None)


def secure_course(root: Path, assignments: Iterable[str] = (), *, everything: bool = False) -> int:
    """Give the course's entries its owner, group and modes; return how many were changed.

    Called by every command after it writes into the course. It always
    fixes the root and the two levels below it (``submitted/<student>``,
    ``gradebook.db``, ``logs/<assignment>``, ...) and walks, in full, each
    folder of the given ``assignments`` (``<top>/<assignment>`` and
    ``<top>/<student>/<assignment>``): what the command wrote. ``everything``
    walks the whole course (for a course made before this module existed).
    Entries the current user may not change are left alone.
    """
    root = Path(root).resolve()
    policy = course_policy(root)
    wanted = set(assignments)
    changed = 0
    for path, deep in _shallow(root, policy, wanted, everything):
        changed += _apply(path, policy)
        if deep:
            for inner in _walk(path, policy):
                changed += _apply(inner, policy)
    return changed


def exposed_paths(root: Path) -> Iterator[tuple[Path, int]]:
    """Every entry of the course that others may read, write or enter: (path, mode)."""
    root = Path(root).resolve()
    policy = course_policy(root)
    for path in [root, *_walk(root, policy)]:
        mode = _lstat_mode(path)
        if mode is not None and not stat.S_ISLNK(mode) and mode & OTHERS:
            yield path, stat.S_IMODE(mode)


def _shallow(root: Path, policy: Policy, wanted: set[str], everything: bool) -> Iterator[tuple[Path, bool]]:
    """(path, walk it in full?) for the root and its first two levels."""
    yield root, everything
    if everything:
        return
    for top in _children(root, policy):
        yield top, False
        for child in _children(top, policy):
            if child.name in wanted:
                yield child, True
                continue
            yield child, False
            for name in wanted:
                folder = child / name
                if folder.is_dir() and not folder.is_symlink() and not _is_exchange(folder, policy):
                    yield folder, True


def _children(folder: Path, policy: Policy) -> list[Path]:
    if folder.is_symlink() or not folder.is_dir() or _is_exchange(folder, policy):
        return []
    try:
        return [entry for entry in folder.iterdir() if not _is_exchange(entry, policy)]
    except OSError:  # unreadable to this user: nothing of it can be fixed either
        return []


def _walk(top: Path, policy: Policy) -> Iterator[Path]:
    """Everything below ``top``, never following links nor entering the exchange."""
    for folder, dirs, files in os.walk(top, followlinks=False):
        base = Path(folder)
        dirs[:] = [d for d in dirs if not _is_exchange(base / d, policy)]
        for name in (*dirs, *files):
            yield base / name


def _is_exchange(path: Path, policy: Policy) -> bool:
    return policy.exchange is not None and Path(os.path.realpath(path)) == policy.exchange


def _lstat_mode(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None


def _apply(path: Path, policy: Policy) -> int:
    """Fix one entry's owner and mode; 1 when something changed."""
    try:
        info = os.lstat(path)
    except OSError:
        return 0
    # A link is never followed: chmod/chown on it would change its target, which may lie anywhere.
    if stat.S_ISLNK(info.st_mode) or not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return 0
    changed = 0
    try:
        if os.geteuid() == 0 and (info.st_uid, info.st_gid) != (policy.uid, policy.gid):
            os.chown(path, policy.uid, policy.gid, follow_symlinks=False)
            changed = 1
        elif policy.group_shared and info.st_gid != policy.gid and info.st_uid == os.geteuid():
            os.chown(path, -1, policy.gid, follow_symlinks=False)  # members of the group may do this
            changed = 1
        mode = policy.dir_mode if stat.S_ISDIR(info.st_mode) else policy.file_mode(info.st_mode)
        # chown clears setgid on some systems, so set the mode after it
        if changed or stat.S_IMODE(info.st_mode) != mode:
            os.chmod(path, mode)
            changed = 1
    except PermissionError:
        # another instructor's file in a shared course: their own commands keep it right
        return changed
    return changed
