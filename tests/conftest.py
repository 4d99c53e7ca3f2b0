"""Shared fixtures: the toy topic, scratch courses, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
DLCOURSE = [sys.executable, "-m", "dlcourse.cli"]


@pytest.fixture(autouse=True)
def torch_defaults_restored():
    """Notebooks run in-process may change torch's global state (default dtype, grad mode); undo it
    so that the next test module starts from torch's defaults."""
    yield
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)


@pytest.fixture(autouse=True)
def grading_caches_cleared():
    """The grader caches this process's plugins and checks (a warm worker loads them once);
    a test that registers the toy topic must not inherit what an earlier test loaded without it."""
    yield
    jobs = sys.modules.get("dlcourse_graders.jobs")
    if jobs is not None:
        for cached in (jobs.worker_hooks, jobs.checks_version, jobs.worker_checks, jobs.worker_secret_folders):
            cached.cache_clear()


@pytest.fixture
def toy_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Register the toy topic (numpy only, fast) in this process and in kernels."""
    path = os.pathsep.join(filter(None, [str(FIXTURES), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("PYTHONPATH", path)
    monkeypatch.setenv("DLCOURSE_PLUGINS", "dlcourse_toytopic")
    monkeypatch.syspath_prepend(str(FIXTURES))
    return dict(os.environ)


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run ``dlcourse ARGS`` as a user would, capturing its output."""
    return subprocess.run([*DLCOURSE, *args], capture_output=True, text=True, env=env or dict(os.environ),
                          cwd=cwd, timeout=timeout)


@pytest.fixture
def toy_course(tmp_path: Path, toy_env: dict[str, str]):
    """A course with the toy topic built into source/."""
    from dlcourse.build import build_course
    from dlcourse.coursedir import init_course

    course = init_course(tmp_path / "course", "toycourse", exchange=tmp_path / "exchange")
    build_course(course, ["toy"])
    return course


@pytest.fixture
def pm(request: pytest.FixtureRequest):
    """A plugin manager holding only the topic of the test module (``test_SLUG.py`` -> ``dlcourse_SLUG``)."""
    import importlib

    import pluggy

    from dlcourse import PROJECT_NAME, hookspecs
    from dlcourse.manager import plugin_object

    name = "dlcourse_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(plugin_object(importlib.import_module(name)), name=name)
    manager.check_pending()
    return manager
