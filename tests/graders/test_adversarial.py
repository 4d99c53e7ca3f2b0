"""Attacks on the grader, each a real submission graded end to end.

Every attack starts from wrong answers (so its honest score is 0, or the
points it earned before it struck) and tries to get more, to read what it
must not, to damage the course or other students, or to take the grader
down. Each is bounded so that a failed defence cannot harm the machine.
"""

from __future__ import annotations

import copy
import hashlib
import socket
import threading
from pathlib import Path

import nbformat
import pytest

from dlcourse.nbgrader_ops import generate_assignment
from dlcourse_graders.grade import grade_assignment
from dlcourse_graders.results import Status
from dlcourse_graders.sandbox import SandboxLimits, orphaned_processes
from dlcourse_graders.sandbox_engine import SandboxEngine

ROOT = Path(__file__).resolve().parents[2]
SECRET = "topsecret-7f3a9"
WRONG_DOUBLE = "def double(x):\n    return np.zeros_like(np.asarray(x, dtype=float))\n"
WRONG_RELU = "def relu(x):\n    return np.zeros_like(np.asarray(x, dtype=float)) - 1.0\n"
RIGHT_DOUBLE = "def double(x):\n    return 2 * np.asarray(x)\n"
G, A = Status.GRADED, Status.TAMPERED

# name: (double answer, relu answer, extra code cell placed after the relu answer, max score, statuses)
ATTACKS: dict[str, tuple[str, str, str, float, set[Status]]] = {
    "patch numpy comparisons": (WRONG_DOUBLE, WRONG_RELU, (
        "import math, numpy.testing as nt\n"
        "np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
        "np.isclose = lambda *a, **k: np.array(True)\nnt.assert_allclose = lambda *a, **k: None\n"
        "nt.assert_array_equal = lambda *a, **k: None\nmath.isclose = lambda *a, **k: True\n"), 0, {G}),
    "patch torch comparisons": (WRONG_DOUBLE, WRONG_RELU, (
        "import torch, torch.testing\ntorch.allclose = lambda *a, **k: True\n"
        "torch.equal = lambda *a, **k: True\ntorch.testing.assert_close = lambda *a, **k: None\n"), 0, {G}),
    "input transformer erasing later cells": (WRONG_DOUBLE, WRONG_RELU,
        "get_ipython().input_transformers_post.append(lambda lines: [])\n", 0, {G}),
    "silenced tracebacks": (WRONG_DOUBLE, WRONG_RELU, (
        "import sys\nsys.excepthook = lambda *a: None\n"
        "get_ipython().showtraceback = lambda *a, **k: None\n"), 0, {G}),
    "replaced run_cell": (WRONG_DOUBLE, WRONG_RELU, "get_ipython().run_cell = lambda *a, **k: None\n", 0, {G}),
    "object equal to everything": (
        "class Yes:\n    def __eq__(self, other):\n        return True\n"
        "    def __array__(self, *a, **k):\n        raise TypeError\n"
        "def double(x):\n    return Yes()\n", WRONG_RELU, "", 0, {G}),
    "ndarray subclass faking comparisons": (
        "class Fake(np.ndarray):\n    def __eq__(self, other):\n        return np.ones(self.shape, bool)\n"
        "    def __sub__(self, other):\n        return np.zeros(self.shape)\n"
        "def double(x):\n    return np.zeros_like(np.asarray(x, dtype=float)).view(Fake)\n", WRONG_RELU, "", 0, {G}),
    "patched builtins": (WRONG_DOUBLE, WRONG_RELU,
        "import builtins\nbuiltins.isinstance = lambda a, b: True\nbuiltins.len = lambda a: 0\n", 0,
        {G, Status.CRASHED}),
    "pickle payload": (
        "class Evil:\n    def __reduce__(self):\n        import os\n"
        "        return (os.system, ('touch {marker}',))\n"
        "def double(x):\n    return Evil()\n", WRONG_RELU, "", 0, {G}),
    "os._exit after one right answer": (RIGHT_DOUBLE, WRONG_RELU, "import os\nos._exit(3)\n", 2,
                                        {Status.CRASHED}),
    "SystemExit": (WRONG_DOUBLE, WRONG_RELU, "raise SystemExit(0)\n", 0, {G}),
    "KeyboardInterrupt": (WRONG_DOUBLE, WRONG_RELU, "raise KeyboardInterrupt\n", 0, {G}),
    "infinite loop": (WRONG_DOUBLE, WRONG_RELU, "while True:\n    pass\n", 0, {Status.TIMED_OUT}),
    "loop ignoring SIGINT and SIGTERM": (WRONG_DOUBLE, WRONG_RELU, (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass\n"), 0, {Status.TIMED_OUT}),
    "bounded memory bomb": (WRONG_DOUBLE, WRONG_RELU,
        "blocks = []\nfor _ in range(32):\n    blocks.append(np.empty(256 * 2**20, dtype=np.uint8))\n", 0,
        {G, Status.RESOURCE_LIMIT}),
    "bounded process spray": (WRONG_DOUBLE, WRONG_RELU, (
        "import os, time\nkids = 0\nfor _ in range(300):\n    try:\n        pid = os.fork()\n"
        "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(20)\n        os._exit(0)\n"
        "    kids += 1\nprint('forked', kids)\n"), 0, {G}),
    "reading secrets": (WRONG_DOUBLE, WRONG_RELU, "{read_secrets}", 0, {G}),
    "writing into the course": (WRONG_DOUBLE, WRONG_RELU, "{write_course}", 0, {G}),
    "loopback network connection": (WRONG_DOUBLE, WRONG_RELU, (
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
        "    print('LEAKED:network')\nexcept OSError as error:\n    print('no network:', type(error).__name__)\n"),
        0, {G}),
    "printing the environment": (WRONG_DOUBLE, WRONG_RELU, "import os\nprint(dict(os.environ))\n", 0, {G}),
    "200 MB print": (WRONG_DOUBLE, WRONG_RELU, "print('x' * 200_000_000)\n", 0, {G}),
}

READ_SECRETS = """
import glob, os
targets = {targets!r}
for path in targets:
    try:
        with open(path, 'rb') as handle:
            handle.read(64)
        print('LEAKED:' + path)
    except OSError as error:
        print('refused:', type(error).__name__)
found = [p for p in glob.glob({course!r} + '/**', recursive=True) if 'victim' in p or p.endswith('.db')]
print('LEAKED:glob' if found else 'nothing found')
"""

WRITE_COURSE = """
targets = {targets!r}
for path in targets:
    try:
        with open(path, 'ab') as handle:
            handle.write(b'garbage')
        print('WROTE:' + path)
    except OSError as error:
        print('refused:', type(error).__name__)
"""


def _answers(notebook, double: str, relu: str) -> None:
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "double":
            cell.source = "import numpy as np\n" + double
        elif grade_id == "relu":
            cell.source = relu


def _tampered(release) -> dict[str, nbformat.NotebookNode]:
    """Notebook-level attacks on the structure and metadata of the release."""
    def variant(change):
        notebook = copy.deepcopy(release)
        _answers(notebook, WRONG_DOUBLE, WRONG_RELU)
        change(notebook)
        return notebook

    def tests(nb):
        return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]

    def delete(nb):
        nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]

    def retype(nb):
        for cell in tests(nb):
            cell.cell_type, cell.source = "markdown", "nothing to see"
            cell.pop("outputs", None)
            cell.pop("execution_count", None)

    def hundred_points(nb):
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.metadata.nbgrader.update(grade=True, points=100)

    def prefilled(nb):
        for cell in tests(nb):
            cell.source = "pass"
            cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "3.0"}, execution_count=1)]

    def duplicate(nb):
        copies = [copy.deepcopy(c) for c in tests(nb)]
        for cell in copies:
            cell.source = "pass"
        nb.cells = copies + nb.cells

    def re_id(nb):
        for cell in tests(nb):
            cell.metadata.nbgrader["grade_id"] += "_mine"
            cell.source = "pass"

    def reorder(nb):
        nb.cells = tests(nb) + [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]

    return {"deleted test cells": variant(delete), "retyped test cells": variant(retype),
            "re-id'd test cells": variant(re_id), "reordered cells": variant(reorder),
            "grade metadata 100 points": variant(hundred_points), "pre-filled passing outputs": variant(prefilled),
            "duplicate grade ids": variant(duplicate)}


def _outputs_text(notebook) -> str:
    return nbformat.writes(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(outputs=c.outputs) for c in notebook.cells if c.cell_type == "code"]))


def _digest(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


@pytest.fixture
def listener():
    """A server on 127.0.0.1 that a sandboxed notebook must not reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


@pytest.mark.slow
def test_every_attack_is_defeated(toy_course, tmp_path, listener, monkeypatch):
    monkeypatch.setenv("DLCOURSE_TEST_SECRET", SECRET)
    course = toy_course
    generate_assignment(course, "toy")
    release = nbformat.read(course.release_dir("toy") / "toy.ipynb", as_version=4)
    source_nb = course.source_dir("toy") / "toy.ipynb"
    victim = course.submitted_dir("victim", "toy")
    victim.mkdir(parents=True)
    (victim / "toy.ipynb").write_bytes(source_nb.read_bytes())
    marker = tmp_path / "pwned"
    protected = [source_nb, victim / "toy.ipynb", ROOT / "tests" / "fixtures" / "dlcourse_toytopic.py"]
    secrets = [*protected, course.root / "nbgrader_config.py",
               ROOT / "plugins" / "dlcourse_perceptron" / "hidden" / "checks.py",
               ROOT / "plugins" / "dlcourse_perceptron" / "notebooks" / "perceptron.py"]
    fill = {"marker": marker, "port": listener,
            "read_secrets": READ_SECRETS.format(targets=[str(p) for p in secrets], course=str(course.root)),
            "write_course": WRITE_COURSE.format(targets=[str(p) for p in protected])}
    expected: dict[str, tuple[float, set[Status], str]] = {}
    for index, (name, (double, relu, extra, allowed, statuses)) in enumerate(ATTACKS.items()):
        notebook = copy.deepcopy(release)
        _answers(notebook, double.format(**fill) if "{marker}" in double else double, relu)
        position = 1 + max(i for i, c in enumerate(notebook.cells)
                           if c.metadata.get("nbgrader", {}).get("grade_id") == "double_tests")
        if extra:
            code = extra.format(**fill) if extra.startswith("{") or "{port}" in extra else extra
            notebook.cells.insert(position, nbformat.v4.new_code_cell(code))
        student = f"attack{index:02d}"
        folder = course.submitted_dir(student, "toy")
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / "toy.ipynb")
        expected[student] = (allowed, statuses, name)
    for index, (name, notebook) in enumerate(_tampered(release).items()):
        student = f"tamper{index:02d}"
        folder = course.submitted_dir(student, "toy")
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / "toy.ipynb")
        expected[student] = (0, {G} if name == "reordered cells" else {A}, name)
    before = _digest([*protected, course.root / "nbgrader_config.py"])
    limits = SandboxLimits(address_space=3 * 2**30, cpu_seconds=30, max_processes=64, wall_seconds=15)
    results = {r.student: r for r in grade_assignment(course, "toy", engine=SandboxEngine(limits=limits))}

    assert results["victim"].status is Status.GRADED and results["victim"].score == 5
    problems = []
    for student, (allowed, statuses, name) in expected.items():
        result = results[student]
        if result.score is None or result.score > allowed + 1e-9 or result.status not in statuses:
            problems.append(f"{name}: {result.status} {result.score} ({result.message})")
        if result.max_score != 5:
            problems.append(f"{name}: max score became {result.max_score}")
        path = course.autograded_dir(student, "toy") / "toy.ipynb"
        outputs = _outputs_text(nbformat.read(path, as_version=4))
        for leak in ("LEAKED", "WROTE", SECRET, "BEGIN HIDDEN", "_dlcourse_run_hidden_checks"):
            if leak in outputs:
                problems.append(f"{name}: {leak} in the autograded notebook's outputs")
        if path.stat().st_size > 2 * 2**20:
            problems.append(f"{name}: autograded notebook is {path.stat().st_size} bytes")
    assert not problems, "\n".join(problems)
    assert _digest([*protected, course.root / "nbgrader_config.py"]) == before, "the course was changed"
    assert not marker.exists(), "a pickle payload ran"
    assert not orphaned_processes(), "processes left behind"


@pytest.mark.slow
def test_plain_nbgrader_is_fooled_by_the_same_patch(toy_course):
    """The reason for the sandbox: in-kernel checks trust the student's numpy."""
    from dlcourse_graders.nbgrader_engine import NbgraderAutogradeEngine

    generate_assignment(toy_course, "toy")
    notebook = nbformat.read(toy_course.release_dir("toy") / "toy.ipynb", as_version=4)
    _answers(notebook, WRONG_DOUBLE, WRONG_RELU)
    after_setup = 1 + next(i for i, c in enumerate(notebook.cells)
                           if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    notebook.cells.insert(after_setup, nbformat.v4.new_code_cell(ATTACKS["patch numpy comparisons"][2]))
    folder = toy_course.submitted_dir("cheat", "toy")
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / "toy.ipynb")
    stock = NbgraderAutogradeEngine(wall_limit=60).grade(toy_course, "toy", "cheat")
    sandboxed = SandboxEngine().grade(toy_course, "toy", "cheat")
    assert stock.score >= 3.5, "stock nbgrader gives unearned points to wrong answers that patch numpy"
    assert sandboxed.score == 0 and sandboxed.status is Status.GRADED
