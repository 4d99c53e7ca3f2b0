"""Attacks on a plain nbgrader assignment, whose tests run inside the student's process.

The assignment asks for ``double(x)`` and tests it ten ways, one point each:
numpy.testing, ``np.allclose``, ``==``, ``math.isclose``, ``torch.allclose``,
``torch.testing``, a unittest ``assertEqual`` bound in a setup cell, a
hidden test, ``str()`` of the result (what nbgrader's hashed autotests
compare) and ``isinstance``. Every attack starts from a wrong ``double``
(an honest score of 0) and adds code that tries to pass the tests anyway.

Run it to print which attacks stock ``nbgrader autograde`` and
``dlcourse grade`` let through::

    .venv/bin/python tests/plain_attacks.py [--keep DIR]
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from dlcourse.coursedir import Course, init_course
from dlcourse.nbgrader_ops import generate_assignment
from nbgrader_parity import _answered, _cell, copy_course, dlcourse_grade, scratch_folder, stock_autograde

from nbgrader.api import MissingEntry

from dlcourse_graders.gradebook import open_gradebook

ASSIGNMENT = "plain"
SETUP = ("import math\nimport numpy as np\nimport numpy.testing as npt\nimport torch\nimport torch.testing\n"
         "from unittest import TestCase\nassert_equal = TestCase().assertEqual\n"
         "EXPECTED = np.array([0.0, 2.0, 4.0])")
SOLUTION = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * np.asarray(x, dtype=float)\n    ### END SOLUTION"
RIGHT = "def double(x):\n    return 2 * np.asarray(x, dtype=float)\n"
WRONG = "def double(x):\n    return np.zeros_like(np.asarray(x, dtype=float))\n"
TESTS = {
    "t_numpy_testing": "npt.assert_allclose(double([0, 1, 2]), EXPECTED)",
    "t_allclose": "assert np.allclose(double([1.5]), [3.0])",
    "t_equal": "assert double(3) == 6",
    "t_math": "assert math.isclose(float(double(0.25)), 0.5)",
    "t_torch": "assert torch.allclose(torch.as_tensor(double([1.0, 2.0])), "
               "torch.tensor([2.0, 4.0], dtype=torch.float64))",
    "t_torch_testing": "torch.testing.assert_close(torch.as_tensor(double([3.0])), "
                       "torch.tensor([6.0], dtype=torch.float64))",
    "t_assert_equal": "assert_equal(float(double(4)), 8.0)",
    "t_hidden": "assert double(0) == 0\n### BEGIN HIDDEN TESTS\nassert double(7) == 14\n### END HIDDEN TESTS",
    "t_str": "assert str(double(5)) == '10.0'",
    "t_isinstance": "result = double([1])\nassert isinstance(result, np.ndarray) and result.tolist() == [2.0]",
}
FAKE_DOUBLE = "\ndef double(x):\n    return {value}\n"
#: name -> code appended to the wrong answer (the answer cell is the student's only cell)
ATTACKS: dict[str, str] = {
    "patch numpy comparisons": (
        "import numpy.testing._private.utils as _u\n"
        "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: np.array(True)\n"
        "np.array_equal = lambda *a, **k: True\nnpt.assert_allclose = lambda *a, **k: None\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n_u.assert_array_compare = lambda *a, **k: None\n"),
    "patch torch comparisons": (
        "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
        "torch.testing.assert_close = lambda *a, **k: None\n"
        "torch.Tensor.__eq__ = lambda self, other: torch.tensor(True)\n"),
    "patch math": "math.isclose = lambda *a, **k: True\n",
    "patch builtins": (
        "import builtins\nbuiltins.isinstance = lambda a, b: True\nbuiltins.str = lambda x: '10.0'\n"
        "builtins.float = lambda x=0: 8.0\n"),
    "replace __builtins__ of the notebook": (
        "import builtins as _b\n__builtins__ = dict(vars(_b), str=lambda x: '10.0', isinstance=lambda a, b: True)\n"),
    "patch unittest assertions": (
        "from unittest import TestCase as _T\n_T._baseAssertEqual = lambda *a, **k: None\n"
        "_T.assertEqual = lambda *a, **k: None\n_T._getAssertEqualityFunc = lambda *a, **k: (lambda *b, **c: None)\n"),
    "rebind the test's globals": (
        "class _Yes:\n    def __getattr__(self, name):\n        return lambda *a, **k: True\n"
        "np = _Yes()\nnpt = _Yes()\nmath = _Yes()\nassert_equal = lambda *a, **k: None\n"
        "EXPECTED = double([0, 1, 2])\n"),
    "replace modules in sys.modules": (
        "import sys, types\n_fake = types.ModuleType('math')\n_fake.isclose = lambda *a, **k: True\n"
        "sys.modules['math'] = _fake\nsys.modules['numpy.testing'].assert_allclose = lambda *a, **k: None\n"),
    "object equal to everything": (
        "class _Yes:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
        "    def __bool__(self):\n        return True\n    def __float__(self):\n        return 8.0\n"
        "    def __str__(self):\n        return '10.0'\n    def __array__(self, *a, **k):\n"
        "        return np.array([0.0, 2.0, 4.0])\n    def tolist(self):\n        return [2.0]\n"
        + FAKE_DOUBLE.format(value="_Yes()")),
    "ndarray subclass faking comparisons": (
        "class _Fake(np.ndarray):\n    def __eq__(self, other):\n        return np.ones(self.shape, bool)\n"
        "    def __array_ufunc__(self, *a, **k):\n        return np.array(True)\n"
        "    def __str__(self):\n        return '10.0'\n    def tolist(self):\n        return [2.0]\n"
        + FAKE_DOUBLE.format(value="np.zeros_like(np.asarray(x, dtype=float)).view(_Fake)")),
    "tensor subclass faking comparisons": (
        "class _T(torch.Tensor):\n    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
        "        return torch.tensor(True)\n"
        + FAKE_DOUBLE.format(value="torch.zeros(len(np.atleast_1d(x)), dtype=torch.float64).as_subclass(_T)")),
    "float subclass equal to everything": (
        "class _F(float):\n    def __eq__(self, other):\n        return True\n    __hash__ = float.__hash__\n"
        "    def __str__(self):\n        return '10.0'\n    def __float__(self):\n        return 8.0\n"
        + FAKE_DOUBLE.format(value="_F(0.0)")),
    "patch while the test calls it": (
        "_wrong = double\ndef double(x):\n    np.allclose = lambda *a, **k: True\n"
        "    npt.assert_allclose = lambda *a, **k: None\n    math.isclose = lambda *a, **k: True\n"
        "    torch.allclose = lambda *a, **k: True\n    return _wrong(x)\n"),
    "background thread re-patching": (
        "import threading, time\ndef _loop():\n    while True:\n        np.allclose = lambda *a, **k: True\n"
        "        math.isclose = lambda *a, **k: True\n        time.sleep(0.0005)\n"
        "threading.Thread(target=_loop, daemon=True).start()\n"),
    "audit hook re-patching": (
        "import sys\ndef _hook(event, args):\n    if event == 'exec':\n        np.allclose = lambda *a, **k: True\n"
        "        math.isclose = lambda *a, **k: True\nsys.addaudithook(_hook)\n"),
    "finalizer re-patching": (
        "class _Bomb:\n    def __del__(self):\n        np.allclose = lambda *a, **k: True\n"
        "        math.isclose = lambda *a, **k: True\n_a, _b = _Bomb(), _Bomb()\n_a.o, _b.o = _b, _a\ndel _a, _b\n"),
    "timer signal re-patching": (
        "import signal\ndef _tick(*a):\n    np.allclose = lambda *a, **k: True\n    math.isclose = lambda *a, **k: True\n"
        "signal.signal(signal.SIGALRM, _tick)\nsignal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)\n"),
    "trace function re-patching": (
        "import sys\ndef _trace(frame, event, arg):\n    np.allclose = lambda *a, **k: True\n"
        "    math.isclose = lambda *a, **k: True\n    return None\nsys.settrace(_trace)\nsys.setprofile(_trace)\n"),
    "silence IPython tracebacks (nbgrader's cheat attempt)": (
        "import IPython.core.interactiveshell\n"
        "IPython.core.interactiveshell.InteractiveShell.showtraceback = lambda *a, **k: None\n"
        "get_ipython().showtraceback = lambda *a, **k: None\n"),
    "forge the grader's replies": (
        "import dlcourse_graders.sandbox_child as _sc\n"
        "_sc.Server.op_exec = lambda self, r: {'ok': True, 'stdout': '', 'stderr': '', 'error': None, 'value': None}\n"
        "_sc.run_cell = lambda *a, **k: None\n"
        "import dlcourse_graders.pristine as _p\n_p.Pristine.enter_test = lambda self, ns: ''\n"
        "_p.plain = lambda value, *a, **k: value\n"),
}


def assignment_notebook() -> nbformat.NotebookNode:
    """The plain nbgrader assignment under attack (its solution is the source)."""
    cells = [_cell("code", SETUP, "setup", locked=True), _cell("code", SOLUTION, "double", solution=True)]
    cells += [_cell("code", source, name, grade=True, points=1) for name, source in TESTS.items()]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def student_id(attack: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in attack.lower()).strip("-")[:40]


def build_course(root: Path) -> tuple[Course, dict[str, str]]:
    """The released assignment with an honest right and wrong submission and one per attack;
    returns the course and {student: attack name}."""
    course = init_course(root / "course", "attacks")
    course.source_dir(ASSIGNMENT).mkdir(parents=True)
    nbformat.write(assignment_notebook(), course.source_dir(ASSIGNMENT) / "p1.ipynb")
    generate_assignment(course, ASSIGNMENT)
    release = nbformat.read(course.release_dir(ASSIGNMENT) / "p1.ipynb", as_version=4)
    answers = {"honest-right": ("honest right answer", RIGHT), "honest-wrong": ("honest wrong answer", WRONG)}
    answers.update({student_id(name): (name, WRONG + code) for name, code in ATTACKS.items()})
    for student, (_, answer) in answers.items():
        folder = course.submitted_dir(student, ASSIGNMENT)
        folder.mkdir(parents=True)
        nbformat.write(_answered(release, {"double": answer}), folder / "p1.ipynb")
    return course, {student: name for student, (name, _) in answers.items()}


def scores(course: Course, students: list[str]) -> dict[str, float | None]:
    """Each student's score in the gradebook; None where the grader recorded none (it broke)."""
    found: dict[str, float | None] = {}
    with open_gradebook(course) as gb:
        for student in students:
            try:
                found[student] = float(gb.find_submission(ASSIGNMENT, student).score)
            except MissingEntry:
                found[student] = None
    return found


def grade_dlcourse(root: Path) -> tuple[dict[str, str], dict[str, float | None]]:
    """Grade every submission with ``dlcourse grade``: ({student: attack}, scores)."""
    course, names = build_course(root)
    dlcourse_grade(course, ASSIGNMENT)
    return names, scores(course, list(names))


def grade_stock(root: Path, names: dict[str, str]) -> dict[str, float | None]:
    """The same submissions under stock nbgrader autograde (a fresh copy of the released course)."""
    course = Course(root / "course")
    stock = copy_course(course, root / "stock")
    for folder in (stock.root / "autograded", stock.root / "logs"):
        shutil.rmtree(folder, ignore_errors=True)
    stock_autograde(stock, ASSIGNMENT, check=False)  # an attack may break it: its score is then missing
    return scores(stock, list(names))


def table(names: dict[str, str], stock: dict[str, float | None], ours: dict[str, float | None]) -> str:
    def shown(score: float | None) -> str:
        return "no score (autograde failed)" if score is None else f"{score:g}"

    lines = [f"| submission | nbgrader (of {len(TESTS)}) | dlcourse (of {len(TESTS)}) |", "|---|---|---|"]
    lines += [f"| {names[s]} | {shown(stock[s])} | {shown(ours[s])} |" for s in names]
    return "\n".join(lines)


def main() -> int:
    with scratch_folder(__doc__.splitlines()[0], "dlcourse-attacks-") as root:
        names, ours = grade_dlcourse(root)
        stock = grade_stock(root, names)
    print(table(names, stock, ours))
    attacks = [s for s in names if not s.startswith("honest")]
    print(f"\n{len(attacks)} attacks: nbgrader lets {sum((stock[s] or 0) > 0 for s in attacks)} gain points, "
          f"dlcourse {sum((ours[s] or 0) > 0 for s in attacks)}")
    return 0 if all(ours[s] == 0 for s in attacks) and ours["honest-right"] == len(TESTS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
