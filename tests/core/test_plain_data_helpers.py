"""The drivers' exact-type helpers: plain data is read, a student's object is refused, never converted."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from dlcourse.plain_data import is_number, is_tensor, plain_array, plain_float


class FakeFloat(float):
    def __float__(self) -> float:
        return 1.0


class Pretender:
    def __array__(self, *args, **kwargs):
        return np.zeros(3)

    def __float__(self) -> float:
        return 0.0


class SubTensor(torch.Tensor):
    pass


class SubArray(np.ndarray):
    pass


def test_the_module_imports_without_numpy_or_torch():
    code = "import sys, dlcourse.plain_data; print('numpy' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_plain_values_are_read():
    assert plain_float(2) == 2.0 and plain_float(np.float32(0.5)) == 0.5 and plain_float(np.int64(3)) == 3.0
    assert plain_float(torch.ones(1, 1)) == 1.0 and plain_float(np.array([4.0])) == 4.0
    assert is_tensor(torch.nn.Parameter(torch.zeros(1))) and is_number(True)
    array = plain_array([torch.tensor(1.0, requires_grad=True), np.float32(2), 3], np.float64)
    assert type(array) is np.ndarray and array.dtype == np.float64 and list(array) == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("value", [FakeFloat(2.0), Pretender(), torch.zeros(2).as_subclass(SubTensor),
                                   np.zeros(2).view(SubArray), [Pretender()], {"a": 1}, None],
                         ids=["float subclass", "__array__/__float__", "tensor subclass", "array subclass",
                              "list holding an object", "dict", "None"])
def test_other_values_are_refused(value):
    with pytest.raises(TypeError, match="^returned "):
        plain_array(value)
    with pytest.raises(TypeError, match="^returned "):
        plain_float(value)


def test_object_arrays_and_wrong_sizes_are_refused():
    with pytest.raises(TypeError, match="dtype object"):
        plain_array(np.array([Pretender()], dtype=object))
    with pytest.raises(TypeError, match="single number"):
        plain_float(np.zeros(2))
