"""Glue that lets a grader exercise the student's timings, modules and trained model.

Only plain data crosses the boundary between a grader and a student's
notebook, so a hidden check cannot time two functions, build a
``torch.nn.Module`` or reach a trained model by itself. A driver runs next
to the student's code: it receives the student's namespace and plain data,
does the work there and returns plain data (numbers, arrays, strings).
Drivers hold no expected values.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from dlcourse.plain_data import is_tensor, not_data, plain_array


def _student(namespace: Mapping[str, Any], name: str) -> Callable[..., Any]:
    function = namespace.get(name)
    if not callable(function):
        raise NameError(f"`{name}` is not defined in your notebook")
    return function


def _best_time(function: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` runs: other work on the machine only ever adds time."""
    best = float("inf")
    for _ in range(max(1, int(repeats))):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def conv_speedup(namespace: Mapping[str, Any], x: np.ndarray, w: np.ndarray, b: np.ndarray,
                 stride: int = 1, padding: int = 0, repeats: int = 5) -> dict[str, float]:
    """Time the student's ``conv2d`` and ``conv2d_fast`` on the same input.

    Returns ``naive_seconds`` (best of 2 runs) and ``fast_seconds`` (best of
    ``repeats`` runs), and ``max_difference`` between the two outputs.
    """
    conv2d = _student(namespace, "conv2d")
    conv2d_fast = _student(namespace, "conv2d_fast")
    fast_out = plain_array(conv2d_fast(x, w, b, stride=stride, padding=padding), np.float64)
    naive_out = plain_array(conv2d(x, w, b, stride=stride, padding=padding), np.float64)
    same_shape = fast_out.shape == naive_out.shape
    difference = float(np.max(np.abs(fast_out - naive_out))) if same_shape else float("inf")
    fast = _best_time(lambda: conv2d_fast(x, w, b, stride=stride, padding=padding), repeats)
    naive = _best_time(lambda: conv2d(x, w, b, stride=stride, padding=padding), 2)
    return {"naive_seconds": naive, "fast_seconds": fast, "max_difference": difference}


def _lenet(namespace: Mapping[str, Any], n_classes: int | None):
    import torch

    cls = _student(namespace, "LeNet")
    model = cls() if n_classes is None else cls(n_classes=int(n_classes))
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"LeNet() made a {type(model).__name__}, expected a torch.nn.Module")
    return model


def lenet_report(namespace: Mapping[str, Any], x: np.ndarray, n_classes: int | None = None) -> dict[str, Any]:
    """Build ``LeNet(n_classes=...)`` and describe it.

    Returns ``parameter_shapes`` (list of shapes in ``model.parameters()``
    order), ``n_parameters`` (int) and ``output_shape`` of ``model(x)`` for a
    float32 batch ``x`` (N, 1, 28, 28).
    """
    import torch

    model = _lenet(namespace, n_classes)
    shapes = [list(p.shape) for p in model.parameters()]
    with torch.no_grad():
        output = model(torch.as_tensor(np.asarray(x, dtype=np.float32)))
    if not is_tensor(output):  # exact tensors only: a subclass could redefine shape
        raise TypeError(f"LeNet {not_data(output)}")
    return {"parameter_shapes": shapes, "n_parameters": int(sum(p.numel() for p in model.parameters())),
            "output_shape": list(output.shape)}


def lenet_forward(namespace: Mapping[str, Any], params: Sequence[np.ndarray], x: np.ndarray) -> np.ndarray:
    """Load ``params`` (in ``model.parameters()`` order) into a float64 ``LeNet()``; return ``model(x)``."""
    import torch

    model = _lenet(namespace, None).double().eval()
    own = list(model.parameters())
    if len(own) != len(params):
        raise ValueError(f"LeNet has {len(own)} parameter tensors, expected {len(params)}")
    with torch.no_grad():
        for index, (param, value) in enumerate(zip(own, params)):
            value = torch.as_tensor(np.asarray(value, dtype=np.float64))
            if tuple(param.shape) != tuple(value.shape):
                raise ValueError(f"parameter {index} has shape {tuple(param.shape)}, "
                                 f"expected {tuple(value.shape)}")
            param.copy_(value)
        return plain_array(model(torch.as_tensor(np.asarray(x, dtype=np.float64))))


def digits_report(namespace: Mapping[str, Any], X: np.ndarray) -> dict[str, Any]:
    """Predict labels for ``X`` with the notebook's trained ``digits_model`` and ``predict``.

    Returns ``labels`` (what ``predict(digits_model, X)`` gave) and
    ``layers``, the class names of the model's modules.
    """
    import torch

    model = namespace.get("digits_model")
    if not isinstance(model, torch.nn.Module):
        raise NameError("`digits_model` is not a trained torch.nn.Module: run the training cell")
    predict = _student(namespace, "predict")
    labels = plain_array(predict(model, np.asarray(X, dtype=np.float32)))
    return {"labels": labels, "layers": [type(m).__name__ for m in model.modules()]}
