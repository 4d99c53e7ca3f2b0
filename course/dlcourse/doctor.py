"""``dlcourse doctor``: what a user needs to know about this machine."""

from __future__ import annotations

import os
import shutil
import sys
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
    """Check torch and the device, the kernelspec, nbgrader, the course and its exchange."""
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
    else:
        found.append(Diagnosis("course", True, f"{course_root.resolve()} is not a course (ok outside one)",
                               advisory=True))
    return found


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
