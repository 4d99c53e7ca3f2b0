"""What a plain nbgrader test receives from student code: plain data (dlcourse_graders.pristine)."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import torch

from dlcourse_graders.nbgrader_rules import value_text
from dlcourse_graders.pristine import Refused, plain
from dlcourse_graders.pristine import _library_roots as library_roots
from dlcourse_graders.sandbox_child import describe_value

ROOTS = library_roots()


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class EqualFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class FakeArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, bool)


class Model:
    """An honest student's class: no comparisons of its own."""

    def predict(self, x):
        return x


def test_subclasses_become_their_base_type_and_fakes_are_refused():
    value = plain(EqualFloat(0.0), "f", ROOTS)
    assert type(value) is float and value != 1.0
    array = plain(np.zeros(3).view(FakeArray), "f", ROOTS)
    assert type(array) is np.ndarray and not np.array_equal(array, np.ones(3))
    refused = plain(AlwaysEqual(), "f", ROOTS)
    assert isinstance(refused, Refused) and refused != refused and not refused
    assert "AlwaysEqual" in repr(refused) and "defines its own __eq__" in repr(refused)
    nested = plain([1, (EqualFloat(2.0),), {"k": AlwaysEqual()}], "f", ROOTS)
    assert type(nested[1][0]) is float and isinstance(nested[2]["k"], Refused)


def test_honest_values_pass_unchanged():
    honest = [1, 2.5, "s", None, np.float64(1.5), np.arange(3), torch.ones(2), OrderedDict(a=1)]
    for value in honest:
        assert plain(value, "f", ROOTS) is value
    model = Model()
    assert plain(model, "f", ROOTS) is model
    point = namedtuple("Point", "x y")(1, 2)
    assert plain(point, "f", ROOTS) == (1, 2)


def test_a_cells_value_reads_as_a_kernel_shows_it():
    assert value_text(describe_value(0.5)) == "0.5"
    assert value_text(describe_value(3)) == "3"
    assert value_text(describe_value(np.float64(0.5))) == repr(np.float64(0.5))
    assert value_text(describe_value(AlwaysEqual())).startswith("<")  # no repr of a student object
    assert value_text(None) is None


CHILD = r'''
import json, sys
import numpy as np
from dlcourse_graders.pristine import Pristine
from dlcourse_graders.sandbox_child import Server

server = Server(-1, -1)
server.arm(Pristine())
def run(source, owner="student", test=False):
    reply = server.op_exec({"source": source, "owner": owner, "test": test, "value": test})
    return {"error": (reply["error"] or {}).get("ename"), "value": reply["value"]}
out = {}
run("import numpy as np\nDATA = np.arange(3.0)\nassert_equal = lambda a, b: None if a == b else 1 / 0",
    owner="instructor")
run("DATA = DATA * 0\nnp.allclose = lambda *a, **k: True\ndef f():\n    return DATA")
out["test"] = run("assert_equal(float(np.sum(f())), 0.0)\nnp.allclose(DATA, [0, 1, 2])\n", owner="instructor",
                  test=True)
out["patched_back"] = np.allclose is not server.namespace["np"].allclose or np.allclose([0], [1]) is False
out["student_data_kept"] = server.namespace["DATA"].tolist()
out["f_unwrapped"] = server.namespace["f"].__code__.co_filename.startswith("<cell")
out["partial"] = run("1.5", owner="instructor", test=True)
print(json.dumps(out))
'''


def test_the_child_runs_a_test_on_pristine_names_and_gives_the_student_their_own_back():
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # the test saw the instructor's DATA (sum 3, so assert_equal failed) through the pristine np.allclose
    assert out["test"]["error"] == "ZeroDivisionError"
    assert out["student_data_kept"] == [0.0, 0.0, 0.0]  # the student's later cells keep their own DATA
    assert out["f_unwrapped"]
    assert out["partial"] == {"error": None, "value": {"kind": "python", "value": 1.5}}


class Dataset:
    """An honest student's dataset: container protocols of its own are fine."""

    def __len__(self):
        return 3

    def __getitem__(self, index):
        return index


def test_an_honest_dataset_passes():
    data = Dataset()
    assert plain(data, "f", ROOTS) is data
