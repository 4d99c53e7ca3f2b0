"""Glue that lets a grader exercise functions taking Python callables.

Only plain data crosses the boundary between a grader and a student's
notebook, so a hidden check cannot hand ``numerical_gradient`` a function.
A driver runs next to the student's code: it receives the student's
namespace and plain data, builds what is needed, calls the student's
function and returns plain data. Drivers hold no expected values.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from dlcourse.plain_data import plain_array


def _student(namespace: Mapping[str, Any], name: str) -> Callable[..., Any]:
    function = namespace.get(name)
    if not callable(function):
        raise NameError(f"`{name}` is not defined as a function in your notebook")
    return function


def sigmoid_strict(namespace: Mapping[str, Any], z: np.ndarray) -> np.ndarray:
    """Call ``sigmoid(z)`` with floating point overflow turned into an error."""
    sigmoid = _student(namespace, "sigmoid")
    with np.errstate(over="raise", invalid="raise"):
        return plain_array(sigmoid(z), np.float64)


def mlp_forward_probs(namespace: Mapping[str, Any], params: dict, X: np.ndarray) -> np.ndarray:
    """Return only the probabilities of ``mlp_forward(params, X)`` (the cache stays here)."""
    mlp_forward = _student(namespace, "mlp_forward")
    result = mlp_forward(params, X)
    probs = result[0] if isinstance(result, tuple) else result
    return plain_array(probs, np.float64)


def mlp_backward_grads(namespace: Mapping[str, Any], params: dict, X: np.ndarray, y: np.ndarray) -> dict:
    """Run ``mlp_forward`` then ``mlp_backward`` and return the gradients as plain arrays."""
    mlp_forward = _student(namespace, "mlp_forward")
    mlp_backward = _student(namespace, "mlp_backward")
    _, cache = mlp_forward(params, X)
    grads = mlp_backward(params, cache, y)
    if not isinstance(grads, Mapping):
        raise TypeError(f"mlp_backward returned {type(grads).__name__}, expected a dict")
    return {str(key): plain_array(value, np.float64) for key, value in grads.items()}


def _function(kind: str, data: Mapping[str, np.ndarray]) -> Callable[[np.ndarray], float]:
    if kind == "quadratic":  # 0.5 x.A.x + b.x on the flattened x
        A, b = data["A"], data["b"]
        return lambda x: float(0.5 * x.ravel() @ A @ x.ravel() + b @ x.ravel())
    if kind == "tanh_layer":  # sum(c * tanh(W x + d)) on the flattened x
        W, c, d = data["W"], data["c"], data["d"]
        return lambda x: float(c @ np.tanh(W @ x.ravel() + d))
    if kind == "cubic":  # sum(x ** 3)
        return lambda x: float(np.sum(x**3))
    raise ValueError(f"unknown function kind {kind!r}")


def numgrad_of(
    namespace: Mapping[str, Any], kind: str, data: dict, x: np.ndarray, h: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Call ``numerical_gradient(f, x[, h])`` on a function named by ``kind``.

    Returns the gradient and ``x`` as it is after the call (it should be unchanged).
    """
    numerical_gradient = _student(namespace, "numerical_gradient")
    f = _function(kind, data)
    x = np.array(x, dtype=np.float64)
    grad = numerical_gradient(f, x) if h is None else numerical_gradient(f, x, h=h)
    return plain_array(grad, np.float64), x
