"""The course secret: what grading seeds are derived from besides the assignment.

Hidden check inputs must be the same for every submission of an assignment
(same notebook, same score) yet unknowable to students, who can read the
release, their feedback and the public tests. A random secret created once
per course and readable only by its instructors gives both: seeds are a hash
of (secret, assignment), never of the student.

The secret lives in ``COURSE/.dlcourse/secret``. ``dlcourse init`` creates
it; a course made before it existed gets one on its first grade. Changing or
deleting it changes every hidden input, so every submission is regraded.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_DIR = ".dlcourse"
SECRET_NAME = "secret"
#: Hex characters in a secret: 256 bits, far beyond guessing.
SECRET_LENGTH = 64


class SecretError(Exception):
    """The course secret exists but cannot be used (unreadable, empty, truncated)."""


def secret_path(root: Path) -> Path:
    """Where the secret of the course at ``root`` is kept."""
    return Path(root) / SECRET_DIR / SECRET_NAME


def course_secret(root: Path, *, create: bool = True) -> str:
    """The secret of the course at ``root``, created (mode 0600) if it has none and ``create``.

    Creation is exclusive (``O_EXCL``): two grading runs starting at once
    cannot end up with different secrets; the loser reads the winner's.
    """
    path = secret_path(root)
    if not path.exists() and create:
        _create(path)
        from dlcourse.permissions import secure_course

        secure_course(Path(root))  # a shared course's instructor group may read it too; others never
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise SecretError(f"{path}: the course has no secret (run `dlcourse grade` as the instructor "
                          f"to create one)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SecretError(f"{path}: cannot read the course secret ({type(error).__name__}); "
                          f"grade as the course's instructor") from None
    if len(text) < 32:
        raise SecretError(f"{path}: the course secret is too short; delete the file to make a new one "
                          f"(every submission will then be regraded with new hidden inputs)")
    return text


def _create(path: Path) -> None:
    """Write a new secret to ``path`` unless one appears there first.

    Written to a private temporary file, then hard-linked into place: the link
    fails if the secret exists, and nobody ever reads a half-written one.
    """
    import tempfile

    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(SECRET_LENGTH // 2) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another run made it first: use theirs
    finally:
        os.unlink(temporary)
