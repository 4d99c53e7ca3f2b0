"""Real submissions of a topic's assignment, made cheaply from its built notebooks.

A full solution runs its training cells for 10-17 s; these submissions start
from the release (every exercise a stub that raises at once) and answer only
the first few exercises, so each runs in about a second while still meeting
every hidden check. They are what the end-to-end determinism and
returned-value tests grade.
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import nbformat
from nbformat import NotebookNode

#: Wraps a function so that it fails on about 31 inputs in 32, depending on their values (a hash of every
#: numeric argument): the score of such a submission depends on exactly which inputs the hidden checks draw
#: (from the course's random secret). A check may call the function on only two inputs (vae's reparameterize),
#: so failing on two in three left the wrong copy undetected in one course in nine; now one in 1024.
WRONG_ON_SOME_INPUTS = '''

def _wrong_on_some_inputs(function):
    import functools
    import zlib
    import numpy as _np

    def _digest(value, crc):
        if isinstance(value, (list, tuple)):
            for item in value:
                crc = _digest(item, crc)
            return crc
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        try:
            data = _np.asarray(value, dtype=float)
        except Exception:
            return crc
        return zlib.crc32(data.tobytes(), crc)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        crc = 0
        for value in (*args, *kwargs.values()):
            crc = _digest(value, crc)
        if crc % 32:
            raise ValueError("wrong for this input")
        return function(*args, **kwargs)

    return wrapper


{name} = _wrong_on_some_inputs({name})
'''

CRASH = "import os\nos._exit(3)\n"

#: Objects that answer comparisons, truth and length as they please; each trick defines them all.
TRICKS = '''
import numpy as _np
import torch as _torch


class _Yes:
    """Equal to everything, true, of any length, callable, with every attribute."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    def __len__(self): return 0
    def __contains__(self, item): return True
    def __iter__(self): return iter([_Yes(), _Yes()])
    def __getitem__(self, key): return _Yes()
    def __getattr__(self, name): return _Yes()
    def __call__(self, *args, **kwargs): return _Yes()
    def __float__(self): return 0.0
    def __lt__(self, other): return True
    __le__ = __gt__ = __ge__ = __lt__
    __hash__ = object.__hash__


class _Array(_np.ndarray):
    def __eq__(self, other): return _np.ones(self.shape, bool)
    def __bool__(self): return True
    def __len__(self): return 0


class _Tensor(_torch.Tensor):
    def __eq__(self, other): return _torch.ones(self.shape, dtype=_torch.bool)
    def __bool__(self): return True
    def __len__(self): return 0


class _Empty(list):
    def __len__(self): return 0
    def __bool__(self): return False
    def __eq__(self, other): return True


def _trick(kind):
    if kind == "always equal":
        return _Yes()
    if kind == "ndarray subclass":
        return _np.zeros(3).view(_Array)
    if kind == "tensor subclass":
        return _torch.zeros(3).as_subclass(_Tensor)
    return _Empty([_np.zeros(3)])


class _TrickModel(_torch.nn.Module):
    """A graded class: constructs from anything; every call and method returns the trick."""
    def __init__(self, *args, **kwargs):
        super().__init__()
        self.weight = _torch.nn.Parameter(_torch.zeros(1))
    def forward(self, *args, **kwargs): return _trick(KIND)
    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return lambda *args, **kwargs: _trick(KIND)
'''


def solution_cells(notebook: NotebookNode) -> list[NotebookNode]:
    """The cells the student writes in, in order."""
    return [c for c in notebook.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
            and not c.metadata.get("nbgrader", {}).get("grade")]


def defined_names(source: str) -> tuple[list[str], list[str]]:
    """The top-level (functions, classes) that ``source`` defines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [], []
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")]
    return functions, classes


def _by_id(notebook: NotebookNode) -> dict[str, NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in solution_cells(notebook)}


def default_answered(notebook: NotebookNode, at_least: int = 2) -> int:
    """How many exercises a submission answers: ``at_least``, or more if it takes more to reach one that
    defines a function (a topic whose first exercises define only classes, such as gan)."""
    for index, cell in enumerate(solution_cells(notebook)):
        if defined_names(cell.source)[0]:
            return max(at_least, index + 1)
    raise AssertionError("no exercise defines a function")


def partial(source: NotebookNode, release: NotebookNode, answered: int | None = None) -> NotebookNode:
    """The release with the first ``answered`` exercises' cells taken from the solution
    (by default :func:`default_answered`)."""
    if answered is None:
        answered = default_answered(source)
    notebook = copy.deepcopy(release)
    solutions = _by_id(source)
    for cell in solution_cells(notebook)[:answered]:
        cell.source = solutions[cell.metadata["nbgrader"]["grade_id"]].source
    return notebook


def wrong_in_one_function(source: NotebookNode, release: NotebookNode, answered: int | None = None
                          ) -> NotebookNode:
    """:func:`partial`, with the last answered exercise's first function wrong on some inputs."""
    if answered is None:
        answered = default_answered(source)
    notebook = partial(source, release, answered)
    for cell in reversed(solution_cells(notebook)[:answered]):
        functions, _ = defined_names(cell.source)
        if functions:
            cell.source += WRONG_ON_SOME_INPUTS.format(name=functions[0])
            return notebook
    raise AssertionError("no answered exercise defines a function")


def crashing(source: NotebookNode, release: NotebookNode, answered: int | None = None) -> NotebookNode:
    """:func:`partial`, then the interpreter exits after the answered exercises."""
    if answered is None:
        answered = default_answered(source)
    notebook = partial(source, release, answered)
    last = solution_cells(notebook)[answered - 1]
    notebook.cells.insert(notebook.cells.index(last) + 1, nbformat.v4.new_code_cell(CRASH))
    return notebook


def tricks(release: NotebookNode, kind: str) -> NotebookNode:
    """Every exercise function returns a ``kind`` trick object; every exercise class is a trick model."""
    notebook = copy.deepcopy(release)
    cells = solution_cells(notebook)
    cells[0].source = f"KIND = {kind!r}\n" + TRICKS + "\n" + cells[0].source
    for cell in cells:
        functions, classes = defined_names(cell.source.split("import torch as _torch", 1)[-1])
        lines = [f"def {name}(*args, **kwargs):\n    return _trick(KIND)\n" for name in functions]
        lines += [f"{name} = _TrickModel\n" for name in classes]
        cell.source += "\n\n" + "\n".join(lines)
    return notebook


def write(notebook: NotebookNode, folder: Path, name: str) -> None:
    """Save ``notebook`` as ``folder/name`` (a submission)."""
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)
