"""``dlcourse doctor``: what a user needs to know about this machine."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Diagnosis:
    """One line of the doctor's report; ``advisory`` lines never fail it."""

    name: str
    ok: bool
    detail: str
    advisory: bool = False


def diagnose(course_root: Path) -> list[Diagnosis]:
    """Check torch and the device, the kernelspec, nbgrader, the course and its exchange, the
    sandbox, and each installed topic (its hidden checks and datasets)."""
    found = [Diagnosis("python", sys.version_info >= (3, 10), sys.version.split()[0])]
    try:
        import torch

        from dlcourse.runtime import device

        name = device()
        found.append(Diagnosis("torch", True, f"{torch.__version__}, device {name}"))
        found.append(Diagnosis("GPU", name.startswith("cuda"),
                               torch.cuda.get_device_name(0) if name.startswith("cuda") else "none visible (CPU)",
                               advisory=True))
    except ImportError as error:
        found.append(Diagnosis("torch", False, f"not importable ({error})"))
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    found.append(Diagnosis("kernelspec dlcourse-py3", "dlcourse-py3" in specs,
                           specs.get("dlcourse-py3", "missing: reinstall dlcourse (pip install -e .)")))
    found.append(Diagnosis("nbgrader", shutil.which("nbgrader") is not None or _importable("nbgrader"),
                           "installed" if _importable("nbgrader") else "missing"))
    config = course_root / "nbgrader_config.py"
    if config.is_file():
        from dlcourse.coursedir import Course
        from dlcourse.nbgrader_ops import course_config

        settings = course_config(Course(course_root.resolve()))
        found.append(Diagnosis("course", True, f"{settings.course_id} at {course_root.resolve()}"))
        exchange = settings.exchange_root
        found.append(Diagnosis("exchange", exchange is None or os.access(exchange, os.W_OK),
                               "not configured (release hands out folders)" if exchange is None
                               else f"{exchange} {'writable' if os.access(exchange, os.W_OK) else 'NOT writable'}",
                               advisory=exchange is None))
        found.append(course_privacy(course_root.resolve()))
    else:
        found.append(Diagnosis("course", True, f"{course_root.resolve()} is not a course (ok outside one)",
                               advisory=True))
    found.append(environment_access())
    found.append(sandbox_filesystem())
    found += topic_diagnoses()
    return found


def topic_diagnoses() -> list[Diagnosis]:
    """One line per installed topic: its hidden checks (or why they do not import, with the
    traceback) and its offline datasets."""
    from dlcourse.manager import Hooks
    from dlcourse.topic_plugin import BrokenChecksError

    try:
        hooks = Hooks.load()
        topics = hooks.topics()
        datasets = hooks.datasets()
    except Exception as error:  # noqa: BLE001 - a plugin that fails to load is what doctor must say
        return [Diagnosis("plugins", False, f"do not load: {type(error).__name__}: {error}")]
    found = []
    for topic in topics:
        names = ", ".join(d.name for d in datasets if d.topic == topic.slug) or "none"
        try:
            checks = hooks.checks(topic)
        except BrokenChecksError as error:
            found.append(Diagnosis(f"topic {topic.slug}", False, f"{error}; datasets: {names}\n{error.details}"))
            continue
        found.append(Diagnosis(f"topic {topic.slug}", True,
                               f"{len(checks)} hidden checks{'' if checks else ' (hidden/ not installed)'}; "
                               f"datasets: {names}"))
    return found


def sandbox_filesystem() -> Diagnosis:
    """Whether grading can give student code the allow-list filesystem (bubblewrap), or only the weaker sandbox."""
    from dlcourse_graders.sandbox import Sandbox

    filesystem = Sandbox.capabilities()["filesystem"]
    return Diagnosis("sandbox filesystem", bool(filesystem["active"]), str(filesystem["reason"]))


def course_privacy(root: Path, shown: int = 3) -> Diagnosis:
    """Whether accounts other than the instructor (and the instructor group) can read or write the course."""
    from dlcourse.permissions import course_policy, exposed_paths

    exposed = list(exposed_paths(root))
    policy = course_policy(root)
    who = "its owner and group" if policy.group_shared else "its owner"
    if not exposed:
        return Diagnosis("course permissions", True, f"private to {who}")
    names = ", ".join(f"{_relative(path, root)} ({mode:04o})" for path, mode in exposed[:shown])
    more = f" and {len(exposed) - shown} more" if len(exposed) > shown else ""
    return Diagnosis("course permissions", False,
                     f"others can read or write {names}{more}: students could read solutions, the gradebook "
                     f"and each other's submissions; fix: {policy.fix_command} {root}")


def environment_access(executables: Sequence[Path] | None = None) -> Diagnosis:
    """Whether other accounts can run this Python environment (a hub spawns students' servers with it)."""
    if executables is None:
        singleuser = Path(sys.prefix) / "bin" / "jupyterhub-singleuser"
        executables = [Path(sys.executable), *([singleuser] if singleuser.exists() else [])]
    blocked = {executable: closed for executable in executables if (closed := closed_to_others(executable))}
    if not blocked:
        return Diagnosis("environment access", True, f"{sys.executable} can be run by every account",
                         advisory=True)
    names = "; ".join(
        ", ".join(f"{path} ({mode:04o})" for path, mode in closed.items())
        + f" keeps other accounts from {os.path.realpath(executable)}"
        for executable, closed in blocked.items()
    )
    return Diagnosis("environment access", False,
                     f"{names}: single-user servers spawned as students will fail "
                     "with `Permission denied`; build the environment from a system Python under a readable path "
                     "(e.g. `python3 -m venv /opt/dlcourse`), not under a private home such as /root",
                     advisory=True)


def closed_to_others(executable: Path) -> dict[Path, int]:
    """What keeps other accounts from running ``executable``: {path: mode}, empty when nothing does.

    Both the path as given (a venv's ``bin/python`` link) and its real path
    (the interpreter it points to) must be reachable: every directory from
    ``/`` down needs o+x, the file itself o+x (and o+r for a script).
    """
    closed: dict[Path, int] = {}
    for path in dict.fromkeys([Path(os.path.abspath(executable)), Path(os.path.realpath(executable))]):
        for folder in reversed(path.parents):
            mode = os.stat(folder).st_mode
            if not mode & stat.S_IXOTH:
                closed[folder] = stat.S_IMODE(mode)
        mode = os.stat(path).st_mode
        if path.is_file() and not os.path.islink(path):
            needed = stat.S_IXOTH | (stat.S_IROTH if _is_script(path) else 0)
            if mode & needed != needed:
                closed[path] = stat.S_IMODE(mode)
    return closed


def _is_script(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False


def _relative(path: Path, root: Path) -> str:
    return "." if path == root else str(path.relative_to(root))


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
