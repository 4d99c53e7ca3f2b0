"""The sandbox's filesystem is an allow list: a submission that searches the whole
filesystem finds nothing of the host but its own files.

Each test grades a real submission end to end. Planted on the host, next to
the graded course: a sibling course with hidden tests, solutions and a
gradebook, another course's submissions, an instructor's home with dotfiles,
and an exchange; every planted file holds a marker string. The submission
lists every name under ``/`` (the planted paths carry the marker too), reads
every file it can outside the system's and the interpreter's read-only trees
(bounded to 10 s), and prints where it found the marker or a line of the
installation's hidden checks and solution sources; then it tries to write
outside its working directory. Graded as
root (pool users) and as a non-root instructor (a throwaway account).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
from conftest import run_cli

from dlcourse.build import build_course
from dlcourse.coursedir import Course, init_course
from dlcourse.nbgrader_ops import generate_assignment
from dlcourse_graders import sandbox_fs
from dlcourse_graders.executors import InlineExecutor
from dlcourse_graders.grade import grade_assignment
from dlcourse_graders.results import Status
from dlcourse_graders.sandbox import SandboxLimits
from unix_accounts import needs_root, open_folder, unix_user

ROOT = Path(__file__).resolve().parents[2]
MARKER = f"PLANTED-{uuid.uuid4().hex}"
LIMITS = SandboxLimits(wall_seconds=60, cpu_seconds=60)

SEARCH = '''
import os, sys, time
needles = {needles!r}
# Every path of the filesystem is listed (names carry the marker too); contents are read everywhere but in
# the system's and the interpreter's own read-only trees (hundreds of thousands of files, none planted).
environment = tuple(os.path.realpath(p) + "/" for p in ("/usr", sys.prefix, sys.base_prefix))
deadline = time.monotonic() + 10
names = files = 0
found = []
for top, subdirs, entries in os.walk("/"):
    if top in ("/proc", "/sys", "/dev"):
        subdirs[:] = []
        continue
    names += len(subdirs) + len(entries)
    found += [f"FOUND a planted name: {{top}}/{{name}}" for name in subdirs + entries if needles[0] in name]
    if (top + "/").startswith(environment):
        continue
    for name in entries:
        path = os.path.join(top, name)
        try:
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as handle:
                data = handle.read(1 << 20)
        except OSError:
            continue
        files += 1
        found += [f"FOUND needle {{index}} in {{path}}" for index, needle in enumerate(needles) if needle.encode() in data]
    if time.monotonic() > deadline:
        break
print("listed", names, "names, read", files, "files;", "complete" if time.monotonic() <= deadline else "cut short")
print("\\n".join(found))
for target in {targets!r}:
    try:
        with open(target, "a") as handle:
            handle.write("overwritten")
        print("WROTE", target)
    except OSError as error:
        print("refused", type(error).__name__)
with open("/tmp/{escape}", "w") as handle:  # the private /tmp: must not appear on the host
    handle.write("private")
with open("own-file.txt", "w") as handle:  # its own working directory: allowed
    handle.write("mine")
print("own files", sorted(os.listdir(".")))
'''


def plant(host: Path) -> list[Path]:
    """The files a submission must never see, each holding MARKER."""
    files = {
        "courses/sibling/source/week1/week1.ipynb": f'{{"cells": [], "solution": "{MARKER}"}}',
        "courses/sibling/source/week1/hidden_tests.py": f"assert answer == 42  # {MARKER}",
        "courses/sibling/gradebook.db": f"SQLite format 3\0{MARKER}",
        "courses/sibling/release/week1/week1.ipynb": f'{{"public": "{MARKER}"}}',
        "courses/demo/submitted/alice/week1/week1.ipynb": f'{{"alice": "{MARKER}"}}',
        "courses/demo/autograded/alice/week1/week1.ipynb": f'{{"graded": "{MARKER}"}}',
        "home/instructor/.bashrc": f"export TOKEN={MARKER}",
        "home/instructor/.ssh/id_ed25519": f"-----BEGIN OPENSSH PRIVATE KEY-----{MARKER}",
        "home/instructor/.jupyter/jupyter_server_config.py": f"c.ServerApp.token = '{MARKER}'",
        "exchange/sibling/inbound/bob+week1+2024/week1.ipynb": f'{{"bob": "{MARKER}"}}',
        "exchange/sibling/outbound/week1/week1.ipynb": f'{{"release": "{MARKER}"}}',
    }
    planted = []
    for name, text in files.items():
        path = host / f"host-{MARKER}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        planted.append(path)
    return planted


def secret_lines() -> list[str]:
    """The longest line of each hidden-check and solution source of this installation."""
    sources = [*ROOT.glob("plugins/*/hidden/*.py"), *ROOT.glob("plugins/*/notebooks/*.py"),
               ROOT / "tests" / "fixtures" / "dlcourse_toytopic.py"]
    lines = []
    for path in sources:
        text = [line.strip() for line in path.read_text().splitlines() if len(line.strip()) >= 30]
        if text:
            lines.append(max(text, key=len))
    return lines


def attacking_course(root: Path, planted: list[Path], escape: str) -> Course:
    """A toy course with one submission that searches the filesystem and writes outside its folder."""
    course = init_course(root / "course", "toycourse", exchange=root / "exchange")
    build_course(course, ["toy"])
    generate_assignment(course, "toy")
    solution = course.source_dir("toy") / "toy.ipynb"
    (course.source_dir("toy") / "notes.txt").write_text(f"solutions: {MARKER}")
    notebook = nbformat.read(course.release_dir("toy") / "toy.ipynb", as_version=4)
    code = SEARCH.format(needles=[MARKER, *secret_lines()], escape=escape,
                         targets=[str(p) for p in planted[:3]] + [str(solution), str(course.root / "pwned.txt"),
                                  str(Path(sys.prefix) / "pwned.txt"), str(ROOT / "pwned.txt"), "/pwned.txt",
                                  "/etc/pwned.txt", "/usr/pwned.txt", "/dev/pwned.txt"])
    notebook.cells.append(nbformat.v4.new_code_cell(code))
    folder = course.submitted_dir("searcher", "toy")
    folder.mkdir(parents=True)
    nbformat.write(copy.deepcopy(notebook), folder / "toy.ipynb")
    return course


def assert_found_nothing(course: Course, planted: list[Path], escape: str) -> str:
    """The searcher's outputs show a complete search that found only its own files."""
    notebook = nbformat.read(course.autograded_dir("searcher", "toy") / "toy.ipynb", as_version=4)
    text = "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []))
    assert "listed" in text and "complete" in text, text[-2000:]
    listed = int(text.split("listed ", 1)[1].split()[0])
    assert listed > 10_000, f"the search listed only {listed} names: it did not run"  # the environment has more
    assert MARKER not in text and "FOUND" not in text, text[-3000:]
    assert "WROTE" not in text, text[-3000:]
    assert "own files ['.stderr.txt', '.stdout.txt', 'own-file.txt']" in text, text[-2000:]
    for path in planted:
        assert "overwritten" not in path.read_text()
    assert not (course.root / "pwned.txt").exists() and not (ROOT / "pwned.txt").exists()
    assert not Path("/tmp", escape).exists(), "the sandbox's /tmp is the host's"
    return text


def test_filesystem_search_as_root_finds_only_its_own_files(tmp_path: Path, toy_env: dict[str, str]) -> None:
    escape = f"escape-{uuid.uuid4().hex}"
    with open_folder() as scratch:  # 0755 with 0644 files: file modes alone would not keep the pool user out
        planted = plant(scratch / "host")
        course = attacking_course(tmp_path, planted, escape)
        results = grade_assignment(course, "toy", executor=InlineExecutor(), limits=LIMITS)
        (result,) = results
        assert result.status is Status.GRADED and result.score == 0, result.message
        assert result.sandbox == "allow-list"
        assert_found_nothing(course, planted, escape)


def _reachable_interpreter() -> list[str]:
    """A bwrap prefix that shows the interpreter to other accounts when it lives under a 0700 folder
    (e.g. pyenv in /root); nothing when they can run it already (a system Python in CI)."""
    from dlcourse.doctor import closed_to_others

    if not closed_to_others(Path(sys.executable)):
        return []
    args = ["bwrap", "--dev-bind", "/", "/", "--tmpfs", "/root"]
    for root in sandbox_fs.python_roots():
        if root.startswith("/root/"):
            parents = list(reversed(Path(root).parents))
            for parent in parents[2:]:  # below "/" and "/root"
                args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", root, root]
    return [*args, "--"]


@needs_root
def test_filesystem_search_as_non_root_instructor(toy_env: dict[str, str]) -> None:
    """A JupyterHub instructor grading from their terminal: bwrap maps their uid into a user namespace."""
    escape = f"escape-{uuid.uuid4().hex}"
    with open_folder() as scratch, unix_user() as instructor:
        planted = plant(scratch / "host")
        course = attacking_course(scratch, planted, escape)
        home = scratch / "instructor-home"
        home.mkdir()
        subprocess.run(["chown", "-R", f"{instructor.pw_uid}:{instructor.pw_gid}", str(course.root),
                        str(scratch / "exchange"), str(home)], check=True)
        env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8",
               "PYTHONPATH": toy_env["PYTHONPATH"], "DLCOURSE_PLUGINS": "dlcourse_toytopic"}
        command = [*_reachable_interpreter(), "setpriv", f"--reuid={instructor.pw_uid}",
                   f"--regid={instructor.pw_gid}", "--clear-groups", "--inh-caps=-all",
                   sys.executable, "-m", "dlcourse.cli", "grade", "toy", "--course", str(course.root),
                   "--workers", "1", "--wall-limit", "60"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=str(home))
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        log = json.loads((course.root / "logs" / "toy" / "searcher.log").read_text())
        assert log["status"] == "graded" and log["sandbox"] == "allow-list", log
        assert_found_nothing(course, planted, escape)


def test_grading_refuses_without_isolation_unless_weak_sandbox_is_allowed(tmp_path: Path,
                                                                         toy_env: dict[str, str]) -> None:
    """Without bubblewrap (hidden by DLCOURSE_BWRAP=''), grade refuses; --weak-sandbox grades and records it."""

    course = init_course(tmp_path / "course", "toycourse")
    build_course(course, ["toy"])
    generate_assignment(course, "toy")
    folder = course.submitted_dir("ann", "toy")
    folder.mkdir(parents=True)
    (folder / "toy.ipynb").write_bytes((course.release_dir("toy") / "toy.ipynb").read_bytes())
    env = {**toy_env, sandbox_fs.BWRAP_SETTING: ""}
    refused = run_cli("grade", "toy", "--course", str(course.root), "--workers", "1", env=env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "refusing to grade" in refused.stderr and "--weak-sandbox" in refused.stderr
    assert "bubblewrap" in refused.stderr or sandbox_fs.BWRAP_SETTING in refused.stderr
    assert not (course.root / "logs" / "toy" / "ann.log").exists(), "nothing may be graded after a refusal"

    weak = run_cli("grade", "toy", "--course", str(course.root), "--workers", "1", "--weak-sandbox", env=env)
    assert weak.returncode == 0, weak.stdout[-2000:] + weak.stderr[-2000:]
    assert "ran in the weaker sandbox" in weak.stdout
    log = json.loads((course.root / "logs" / "toy" / "ann.log").read_text())
    assert log["status"] == "graded" and log["sandbox"] == "weak"
    exported = run_cli("export", "--course", str(course.root), "--to", str(tmp_path / "grades.csv"), env=env)
    assert exported.returncode == 0, exported.stderr
    header, row = (tmp_path / "grades.csv").read_text().splitlines()[:2]
    assert header.split(",")[-1] == "sandbox" and row.split(",")[-1] == "weak"

    isolated = run_cli("grade", "toy", "--course", str(course.root), "--workers", "1", "--force", env=toy_env)
    assert isolated.returncode == 0, isolated.stderr[-2000:]
    assert json.loads((course.root / "logs" / "toy" / "ann.log").read_text())["sandbox"] == "allow-list"
