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
    assert "AlwaysEqual" in repr(refused) and "__eq__" in repr(refused)
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
