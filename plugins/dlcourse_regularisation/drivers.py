"""Glue that lets a grader exercise the regularisation assignment.

Only plain data crosses the boundary between a grader and a student's
notebook: no random generators, no dicts that a function mutates, no torch
modules. A driver runs next to the student's code: it receives the student's
namespace and plain data, builds what is needed (a seeded generator, an
optimiser state, a params dict that changes in place like a real model's),
calls the student's functions and returns plain data. Drivers hold no
expected values and make no verdicts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from dlcourse.plain_data import plain_array, plain_float


def _student(namespace: Mapping[str, Any], name: str) -> Callable[..., Any]:
    function = namespace.get(name)
    if not callable(function):
        raise NameError(f"`{name}` is not defined as a function in your notebook")
    return function


def _value(namespace: Mapping[str, Any], name: str, hint: str) -> Any:
    if name not in namespace:
        raise NameError(f"`{name}` is not defined: {hint}")
    return namespace[name]


def _array(value: Any) -> np.ndarray:
    """An exact array, tensor, number or list of them as float64; anything else is refused, not converted."""
    return plain_array(value, np.float64)


# ------------------------------------------------------------- weight decay


def weight_decay_trajectory(namespace: Mapping[str, Any], w: np.ndarray, grads: np.ndarray, lr: float,
                            lam: float, decoupled: bool) -> np.ndarray:
    """Run ``weight_decay_step`` once per gradient in ``grads`` (one Adam state throughout).

    Returns the weights after every step, shape ``(len(grads), *w.shape)``.
    """
    step = _student(namespace, "weight_decay_step")
    state: dict = {}
    w = np.array(w, dtype=np.float64)
    trajectory = []
    for grad in np.asarray(grads, dtype=np.float64):
        w = _array(step(w.copy(), grad.copy(), state, lr, lam, decoupled)).reshape(w.shape)
        trajectory.append(w)
    return np.stack(trajectory)


# ------------------------------------------------------------------ dropout


def dropout_run(namespace: Mapping[str, Any], x: np.ndarray, p: float, training: bool, seed: int,
                calls: int = 1) -> dict[str, np.ndarray]:
    """Call ``dropout_forward(x, p, training, rng)`` ``calls`` times with one seeded generator.

    Returns ``out`` and ``mask`` stacked over the calls and ``x`` as it is afterwards.
    """
    forward = _student(namespace, "dropout_forward")
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)
    outs, masks = [], []
    for _ in range(calls):
        result = forward(x, p, training, rng)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError("dropout_forward should return a pair (out, mask)")
        outs.append(_array(result[0]))
        masks.append(_array(result[1]))
    return {"out": np.stack(outs), "mask": np.stack(masks), "x": x}


# --------------------------------------------------------------- batch norm


def _bn_forward(namespace: Mapping[str, Any], x, gamma, beta, running_mean, running_var, training, momentum, eps):
    forward = _student(namespace, "batchnorm_forward")
    result = forward(x, gamma, beta, running_mean, running_var, training=training, momentum=momentum, eps=eps)
    if not (isinstance(result, tuple) and len(result) == 4):
        raise TypeError("batchnorm_forward should return (out, running_mean, running_var, cache)")
    return result


def batchnorm_forward_run(namespace: Mapping[str, Any], x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                          running_mean: np.ndarray, running_var: np.ndarray, training: bool, momentum: float,
                          eps: float) -> dict[str, np.ndarray]:
    """One ``batchnorm_forward`` call; the cache stays here."""
    out, mean, var, _ = _bn_forward(namespace, np.array(x), np.array(gamma), np.array(beta),
                                    np.array(running_mean), np.array(running_var), training, momentum, eps)
    return {"out": _array(out), "running_mean": _array(mean), "running_var": _array(var)}


def batchnorm_sequence(namespace: Mapping[str, Any], batches: list, gamma: np.ndarray, beta: np.ndarray,
                       momentum: float, eps: float, x_eval: np.ndarray) -> dict[str, Any]:
    """Train on ``batches`` in turn, threading the running statistics, then evaluate ``x_eval``.

    The running statistics start as a fresh ``nn.BatchNorm1d``'s do (zeros and ones).
    """
    features = np.shape(gamma)[0]
    mean, var = np.zeros(features), np.ones(features)
    outs = []
    for x in batches:
        out, mean, var, _ = _bn_forward(namespace, np.array(x), np.array(gamma), np.array(beta),
                                        _array(mean), _array(var), True, momentum, eps)
        outs.append(_array(out))
    out, _, _, _ = _bn_forward(namespace, np.array(x_eval), np.array(gamma), np.array(beta),
                               _array(mean), _array(var), False, momentum, eps)
    return {"outs": outs, "running_mean": _array(mean), "running_var": _array(var), "eval_out": _array(out)}


def batchnorm_grads(namespace: Mapping[str, Any], x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                    dout: np.ndarray, eps: float) -> dict[str, np.ndarray]:
    """A training-mode ``batchnorm_forward`` then ``batchnorm_backward(dout, cache)``."""
    backward = _student(namespace, "batchnorm_backward")
    features = np.shape(gamma)[0]
    _, _, _, cache = _bn_forward(namespace, np.array(x), np.array(gamma), np.array(beta), np.zeros(features),
                                 np.ones(features), True, 0.1, eps)
    result = backward(np.array(dout), cache)
    if not (isinstance(result, tuple) and len(result) == 3):
        raise TypeError("batchnorm_backward should return (dx, dgamma, dbeta)")
    return {"dx": _array(result[0]), "dgamma": _array(result[1]), "dbeta": _array(result[2])}


# ----------------------------------------------------------- early stopping


def early_stopping_run(namespace: Mapping[str, Any], curve: np.ndarray, patience: int, min_delta: float,
                       shape: tuple[int, ...]) -> dict[str, Any]:
    """Feed a scripted validation curve to the student's ``EarlyStopping``.

    Like an optimiser, the driver changes the weights *in place* before each
    epoch's ``step``: at epoch ``i`` every entry of ``W`` is ``i + 1`` and of
    ``b`` is ``-(i + 1)``, so the saved weights tell which epoch they are from.
    Returns the epoch at which ``step`` first returned True (-1 if never) and
    the stopper's ``best_loss``, ``best_epoch`` and ``best_params``.
    """
    stopper_class = _student(namespace, "EarlyStopping")
    stopper = stopper_class(patience=int(patience), min_delta=float(min_delta))
    params = {"W": np.zeros(tuple(shape)), "b": np.zeros(tuple(shape)[-1:])}
    stopped_at = -1
    for epoch, loss in enumerate(np.asarray(curve, dtype=np.float64)):
        params["W"][...] = epoch + 1
        params["b"][...] = -(epoch + 1)
        if bool(stopper.step(float(loss), params)):
            stopped_at = epoch
            break
    best = getattr(stopper, "best_params", None)
    if not isinstance(best, Mapping) or "W" not in best or "b" not in best:
        raise TypeError("best_params should be a dict with the keys of the params given to step")
    return {
        "stopped_at": stopped_at,
        "best_epoch": int(plain_float(stopper.best_epoch)),
        "best_loss": plain_float(stopper.best_loss),
        "best_W": _array(best["W"]),
        "best_b": _array(best["b"]),
    }


# ------------------------------------------------------ noise, augmentation


def _repeated(function: Callable[..., Any], x: np.ndarray, calls: int, *args: Any) -> dict[str, np.ndarray]:
    x = np.array(x, dtype=np.float64)
    outs = [_array(function(x, *args)) for _ in range(calls)]
    return {"out": np.stack(outs), "x": x}


def noise_run(namespace: Mapping[str, Any], x: np.ndarray, sigma: float, training: bool, seed: int,
              calls: int = 1) -> dict[str, np.ndarray]:
    """Call ``add_gaussian_noise(x, sigma, rng, training)`` ``calls`` times with one seeded generator."""
    noise = _student(namespace, "add_gaussian_noise")
    rng = np.random.default_rng(seed)
    return _repeated(lambda x_: noise(x_, sigma, rng, training=training), x, calls)


def augment_run(namespace: Mapping[str, Any], x: np.ndarray, max_shift: int, max_scale: float, seed: int,
                calls: int = 1) -> dict[str, np.ndarray]:
    """Call ``augment_shift_scale(x, max_shift, max_scale, rng)`` ``calls`` times with one seeded generator."""
    augment = _student(namespace, "augment_shift_scale")
    rng = np.random.default_rng(seed)
    return _repeated(lambda x_: augment(x_, max_shift, max_scale, rng), x, calls)


# ------------------------------------------------------------ trained model

_TRAIN_HINT = "run the cell that trains it (train_regularised must finish without an error)"


def predict_twice(namespace: Mapping[str, Any], X: np.ndarray, model_name: str = "final_model") -> dict[str, Any]:
    """``predict(model, X)`` twice, with the model left in training mode first.

    A training loop may leave the model in training mode; ``predict`` must
    switch dropout off itself, so the two answers should agree.
    """
    predict = _student(namespace, "predict")
    model = _value(namespace, model_name, _TRAIN_HINT)
    if hasattr(model, "train"):
        model.train()
    first = plain_array(predict(model, np.array(X, dtype=np.float32)))
    second = plain_array(predict(model, np.array(X, dtype=np.float32)))
    return {"labels": first, "labels_again": second}


def model_logits(namespace: Mapping[str, Any], X: np.ndarray, model_name: str = "final_model",
                 history_name: str = "final_history") -> dict[str, Any]:
    """The model's logits on ``X`` in evaluation mode, and the recorded validation losses."""
    import torch

    model = _value(namespace, model_name, _TRAIN_HINT)
    history = _value(namespace, history_name, _TRAIN_HINT)
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{model_name} is a {type(model).__name__}, expected a torch.nn.Module")
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(np.array(X, dtype=np.float32)))
    return {"logits": _array(logits), "val_loss": _array(history["val_loss"])}
