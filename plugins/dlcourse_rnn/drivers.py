"""Glue that lets a grader exercise functions whose results are not plain data.

Only plain data crosses the boundary between a grader and a student's
notebook: a forward cache, a torch module or a trained model cannot be sent
back. A driver runs next to the student's code: it receives the student's
namespace and plain data, calls the student's functions, keeps whatever is
not plain data on the student's side and returns numbers and arrays.
Drivers hold no expected values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from dlcourse.plain_data import is_tensor, not_data, plain_array, plain_float

#: Trained models a check may query, by the name the notebook gives them.
TRAINED_MODELS = ("forecaster", "adder")


def _student(namespace: Mapping[str, Any], name: str) -> Callable[..., Any]:
    function = namespace.get(name)
    if not callable(function):
        raise NameError(f"`{name}` is not defined as a function in your notebook")
    return function


def rnn_forward_states(namespace: Mapping[str, Any], x: np.ndarray, h0: np.ndarray,
                       params: dict) -> np.ndarray:
    """Return only the hidden states of ``rnn_forward(x, h0, params)`` (the cache stays here)."""
    result = _student(namespace, "rnn_forward")(x, h0, params)
    hs = result[0] if isinstance(result, tuple) else result
    return plain_array(hs, np.float64)


def rnn_backward_grads(namespace: Mapping[str, Any], x: np.ndarray, h0: np.ndarray, params: dict,
                       dhs: np.ndarray) -> dict:
    """Run ``rnn_forward`` then ``rnn_backward(dhs, cache)``; return the gradients as plain arrays."""
    _, cache = _student(namespace, "rnn_forward")(x, h0, params)
    grads = _student(namespace, "rnn_backward")(dhs, cache)
    if not isinstance(grads, Mapping):
        raise TypeError(f"rnn_backward returned {type(grads).__name__}, expected a dict")
    return {str(key): plain_array(value, np.float64) for key, value in grads.items()}


def clip_and_keep_input(namespace: Mapping[str, Any], grads: dict, max_norm: float) -> tuple:
    """Call ``clip_grad_norm(grads, max_norm)``; return (clipped, total_norm, grads as left by the call)."""
    result = _student(namespace, "clip_grad_norm")(grads, max_norm)
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError("clip_grad_norm should return a pair (clipped, total_norm)")
    clipped, total = result
    if not isinstance(clipped, Mapping):
        raise TypeError(f"clip_grad_norm returned {type(clipped).__name__} as clipped, expected a dict")
    clipped = {str(key): plain_array(value, np.float64) for key, value in clipped.items()}
    after = {str(key): plain_array(value, np.float64) for key, value in grads.items()}
    return clipped, plain_float(total), after


def describe_regressor(namespace: Mapping[str, Any], input_size: int, hidden_size: int, cell: str,
                       x: np.ndarray, seed: int = 0) -> dict:
    """Build ``SequenceRegressor(input_size, hidden_size, cell=cell)`` and describe it.

    Returns its outputs on ``x`` (N, T, D) as one batch and one sequence at a
    time, how strongly the outputs depend on the first step of the sequences
    (the norm of the gradient with respect to ``x[:, 0]``, 0 when there is no
    path), the number of trainable parameters and the type names of its
    submodules.
    """
    import torch

    cls = namespace.get("SequenceRegressor")
    if not isinstance(cls, type):
        raise NameError("`SequenceRegressor` is not defined as a class in your notebook")
    torch.manual_seed(seed)
    model = cls(input_size, hidden_size, cell=cell)
    if not isinstance(model, torch.nn.Module):
        raise TypeError("SequenceRegressor should be a subclass of nn.Module")
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32)).requires_grad_(True)
    batch = model(xt)
    if not is_tensor(batch):  # exact tensors only: a subclass could redefine numpy(), sum(), ...
        raise TypeError(f"SequenceRegressor {not_data(batch)}")
    try:  # an exact zero means the first step cannot influence the output
        (grad,) = torch.autograd.grad(batch.sum(), xt, allow_unused=True)
        first_step = 0.0 if grad is None else float(grad[:, 0].double().norm())
    except RuntimeError:  # the output does not depend on x at all
        first_step = 0.0
    with torch.no_grad():
        single = [torch.as_tensor(plain_array(model(xt[n:n + 1].detach()))).reshape(-1)
                  for n in range(xt.shape[0])]
    return {
        "batch": batch.detach().double().numpy(),
        "single": torch.cat(single).double().numpy() if single else np.zeros(0),
        "first_step": first_step,
        "n_params": int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
        "modules": [type(module).__name__ for module in model.modules()],
    }


def predict_with(namespace: Mapping[str, Any], model_name: str, X: np.ndarray) -> np.ndarray:
    """Call ``predict(model, X)`` with the notebook's trained model ``model_name``."""
    if model_name not in TRAINED_MODELS:
        raise ValueError(f"unknown model {model_name!r}")
    if model_name not in namespace:
        raise NameError(f"`{model_name}` is not defined: run the cell that trains it")
    predict = _student(namespace, "predict")
    return plain_array(predict(namespace[model_name], np.asarray(X, dtype=np.float32)), np.float64)
