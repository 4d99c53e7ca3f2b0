"""A topic author's first hour: ``dlcourse new-topic``, its package installed, built, validated, tested, packaged.

The scaffolded package is installed with ``pip install -e`` into a prefix of
its own and found through that prefix on ``PYTHONPATH``: discovery really
goes through the ``dlcourse`` entry-point group, and the shared environment
gets no distribution that other test processes would see. Only the
editable ``.pth`` sits in the environment for the test's duration, because
the grading sandbox imports a topic's student-safe modules (``data.py``)
from the editable roots that the environment's ``.pth`` files name; it is
removed afterwards. The project lives outside ``/tmp``, which the sandbox
replaces with its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ROOT, run_cli

pytestmark = pytest.mark.slow
ARTIFACTS = Path(os.environ.get("DLCOURSE_TEST_ARTIFACTS", ROOT / "test-artifacts"))


@contextmanager
def installed_topic(name: str) -> Iterator[tuple[Path, dict[str, str]]]:
    """``dlcourse new-topic NAME``, then ``pip install -e`` it; yield (project, environment for the CLI)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    parent = Path(tempfile.mkdtemp(prefix=f"new-topic-{name}-", dir=ARTIFACTS))
    site = Path(sysconfig.get_paths()["purelib"])
    pth = site / f"_dlcourse_{name}.pth"
    try:
        created = run_cli("new-topic", name, "--dir", str(parent))
        assert created.returncode == 0, created.stderr
        project = parent / name
        prefix = parent / "prefix"
        pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--no-index", "--prefix", str(prefix), "-e", str(project)],
                             capture_output=True, text=True, timeout=300)
        assert pip.returncode == 0, pip.stdout + pip.stderr
        installed = Path(sysconfig.get_paths(vars={"base": str(prefix), "platbase": str(prefix)})["purelib"])
        assert (installed / pth.name).is_file(), sorted(p.name for p in installed.iterdir())
        shutil.copy(installed / pth.name, pth)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(installed),
                                                                           os.environ.get("PYTHONPATH")]))}
        yield project, env
    finally:
        pth.unlink(missing_ok=True)
        shutil.rmtree(parent, ignore_errors=True)


def test_new_topic_installs_builds_validates_passes_its_own_tests_and_ships_no_secret(tmp_path):
    started = time.monotonic()
    with installed_topic("scaffolded") as (project, env):
        plugins = run_cli("plugins", env=env)
        assert "scaffolded (dlcourse-scaffolded 0.1.0)" in plugins.stdout, plugins.stdout  # the entry point
        topics = run_cli("topics", env=env)
        assert topics.returncode == 0 and "scaffolded/scaffolded (assignment); hidden checks: 1" in topics.stdout

        course = tmp_path / "c"
        for command in (["init", str(course)], ["build", "scaffolded", "--course", str(course)],
                        ["validate", "scaffolded", "--course", str(course)]):
            done = run_cli(*command, env=env)
            assert done.returncode == 0, f"{command}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
        assert "PASSED" in done.stdout and "solution earns every automatic point: graded, 4.0/4 automatic points" in done.stdout
        print(f"new-topic to a passing validate: {time.monotonic() - started:.0f} s")

        # its own tests, on the shipped kit (the topic contract and its wrong versions)
        tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                                "tests"], capture_output=True, text=True, cwd=project, timeout=600,
                               env={**env, "PYTHONPATH": f"{project}{os.pathsep}{env['PYTHONPATH']}"})
        assert tests.returncode == 0 and "7 passed" in tests.stdout, tests.stdout[-4000:]
        # and this repository's contract test picks the third-party topic up like a built-in one
        contract = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                                   "-m", "not slow", "-k", "scaffolded", "tests/plugins/test_contract.py"],
                                  capture_output=True, text=True, cwd=ROOT, timeout=600, env=env)
        assert contract.returncode == 0 and "4 passed" in contract.stdout, contract.stdout[-4000:]

        # the sdist and the wheel: neither holds the solution notebook or the hidden checks
        out = tmp_path / "dist"
        built = subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--no-isolation", "--outdir",
                                str(out), str(project)], capture_output=True, text=True, timeout=300)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
        (sdist,), (wheel,) = out.glob("*.tar.gz"), out.glob("*.whl")
        with tarfile.open(sdist) as archive:
            members = {member.name: archive.extractfile(member) for member in archive.getmembers() if member.isfile()}
            contents = {name: handle.read().decode("utf-8", "replace") for name, handle in members.items() if handle}
        shipped_wheel = zipfile.ZipFile(wheel)
        contents |= {name: shipped_wheel.read(name).decode("utf-8", "replace") for name in shipped_wheel.namelist()}
        assert any(name.endswith("dlcourse_scaffolded/data.py") for name in contents), sorted(contents)
        assert any(name.endswith("dlcourse_scaffolded/widgets.py") for name in contents), sorted(contents)
        assert not [name for name in contents if "/hidden/" in name or "/notebooks/" in name]
        assert not [name for name, text in contents.items()
                    if "BEGIN SOLUTION" in text and not name.endswith(".toml") or "def check_softmax" in text]


def test_broken_hidden_checks_are_reported_with_their_traceback_by_every_command(tmp_path):
    with installed_topic("broken") as (project, env):
        course = tmp_path / "c"
        assert run_cli("init", str(course), env=env).returncode == 0
        assert run_cli("build", "broken", "--course", str(course), env=env).returncode == 0

        # a stale build is refused, not validated
        source = project / "dlcourse_broken" / "notebooks" / "broken.py"
        os.utime(source, (time.time() + 5, time.time() + 5))
        stale = run_cli("validate", "broken", "--course", str(course), env=env)
        assert stale.returncode == 2 and "older than its source" in stale.stderr, stale.stderr

        checks = project / "dlcourse_broken" / "hidden" / "checks.py"
        checks.write_text(checks.read_text() + "\nfrom dlcourse_broken.hidden.oracles import softmax_oracle\n")
        reports = {
            "build": run_cli("build", "broken", "--course", str(course), env=env),
            "validate": run_cli("validate", "broken", "--course", str(course), env=env),
            "topics": run_cli("topics", env=env),
            "doctor": run_cli("doctor", "--course", str(course), env=env),
        }
        for command, done in reports.items():
            said = done.stdout + done.stderr
            assert done.returncode != 0, f"{command} passed: {said[-2000:]}"
            assert "hidden checks dlcourse_broken.hidden.checks exist but do not import" in said, f"{command}: {said}"
            assert "Traceback" in said and "No module named 'dlcourse_broken.hidden.oracles'" in said, command
        assert "hidden checks: BROKEN" in reports["topics"].stdout
        assert "[!!] topic broken" in reports["doctor"].stdout
