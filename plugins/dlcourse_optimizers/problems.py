"""Small differentiable problems on which optimizers are run step by step.

A problem is a function ``loss(params, data)`` of a dict of parameter
tensors and a dict of data tensors that returns a scalar tensor. Parameters
whose names a problem does not use get no gradient (``.grad`` stays
``None``), as for a frozen layer. All of it is plain PyTorch, so a problem
runs the same for any ``torch.optim.Optimizer``.
"""

from __future__ import annotations

from typing import Callable, Mapping

import torch

Tensors = Mapping[str, torch.Tensor]
Problem = Callable[[Tensors, Tensors], torch.Tensor]

__all__ = ["PROBLEMS", "mlp_regression", "quadratic"]


def quadratic(params: Tensors, data: Tensors) -> torch.Tensor:
    """``x.A.x / 2 + b.x`` of the flattened parameter ``x`` (``b`` is optional)."""
    x = params["x"].reshape(-1)
    value = 0.5 * x @ data["A"] @ x
    if "b" in data:
        value = value + data["b"].reshape(-1) @ x
    return value


def mlp_regression(params: Tensors, data: Tensors) -> torch.Tensor:
    """Mean squared error of ``tanh(X W1 + b1) W2 + b2`` against ``Y``.

    Shapes: ``X`` (N, D), ``W1`` (D, H), ``b1`` (H,), ``W2`` (H, K), ``b2`` (K,), ``Y`` (N, K).
    """
    hidden = torch.tanh(data["X"] @ params["W1"] + params["b1"])
    return ((hidden @ params["W2"] + params["b2"] - data["Y"]) ** 2).mean()


PROBLEMS: dict[str, Problem] = {"quadratic": quadratic, "mlp_regression": mlp_regression}
