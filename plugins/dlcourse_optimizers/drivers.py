"""Glue that lets a grader run the student's optimizers, iterator and training loop.

Only plain data crosses the boundary between a grader and a student's
notebook, so a hidden check cannot hand over parameters, a model or a
Python function. A driver runs next to the student's code: it receives the
student's namespace and plain data, builds the tensors, the model or the
schedule from that data, calls the student's code and returns plain data
(arrays, numbers, lists, dicts). Drivers hold no expected values.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from dlcourse.plain_data import plain_array, plain_float
from dlcourse_optimizers.models import make_mlp
from dlcourse_optimizers.problems import PROBLEMS

BUILTIN_OPTIMIZERS = ("SGD", "RMSprop", "Adam", "AdamW")


def _student(namespace: Mapping[str, Any], name: str) -> Callable[..., Any]:
    function = namespace.get(name)
    if function is None:
        raise NameError(f"`{name}` is not defined in your notebook")
    if not callable(function):
        raise TypeError(f"`{name}` should be a function or a class")
    return function


def _optimizer_class(namespace: Mapping[str, Any], name: str) -> type:
    """``"torch:Adam"`` is PyTorch's class; any other name is looked up in the notebook."""
    if name.startswith("torch:"):
        return getattr(torch.optim, name.split(":", 1)[1])
    cls = _student(namespace, name)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise TypeError(f"`{name}` should be a class derived from torch.optim.Optimizer")
    return cls


def optimizer_info(namespace: Mapping[str, Any], name: str) -> dict[str, bool]:
    """Whether ``name`` is defined, is an Optimizer subclass, and inherits a built-in optimizer's update."""
    cls = namespace.get(name)
    is_optimizer = isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)
    builtins = tuple(getattr(torch.optim, base) for base in BUILTIN_OPTIMIZERS)
    return {
        "defined": cls is not None,
        "is_optimizer": bool(is_optimizer),
        "builtin_base": bool(is_optimizer and issubclass(cls, builtins)),
    }


def optimizer_trajectory(
    namespace: Mapping[str, Any],
    optimizer: str,
    params: Mapping[str, np.ndarray],
    groups: Sequence[Mapping[str, Any]],
    *,
    problem: str,
    data: Mapping[str, np.ndarray],
    steps: int,
    defaults: Mapping[str, Any] | None = None,
    lr_changes: Sequence[tuple[int, Sequence[float]]] = (),
    scale: float = 1.0,
) -> dict[str, np.ndarray]:
    """Run ``steps`` updates of an optimizer on a problem and return every iterate.

    ``params`` maps names to float64 arrays; ``groups`` is a list of parameter
    groups, each a dict with ``"params"`` (a list of names) and optional
    hyper-parameters; ``defaults`` are keyword arguments of the constructor.
    Each step is ``zero_grad()``, ``(scale * loss).backward()``, ``step()``,
    where the loss is ``problems.PROBLEMS[problem](params, data)``.
    ``lr_changes`` lists ``(step, [lr of each group])`` pairs applied to
    ``param_groups`` just before that step, as a scheduler would.

    Returns a dict name -> array (steps + 1, *shape): row 0 is the start.
    """
    cls = _optimizer_class(namespace, optimizer)
    loss_fn = PROBLEMS[problem]
    tensors = {name: torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)
               for name, value in params.items()}
    inputs = {name: torch.as_tensor(np.asarray(value, dtype=np.float64)) for name, value in data.items()}
    param_groups = [dict(group, params=[tensors[name] for name in group["params"]]) for group in groups]
    opt = cls(param_groups, **dict(defaults or {}))
    changes = {int(step): list(lrs) for step, lrs in lr_changes}
    history = {name: [tensor.detach().clone()] for name, tensor in tensors.items()}
    for step in range(int(steps)):
        for group, lr in zip(opt.param_groups, changes.get(step, ())):
            group["lr"] = float(lr)
        opt.zero_grad()
        (scale * loss_fn(tensors, inputs)).backward()
        opt.step()
        for name, tensor in tensors.items():
            history[name].append(tensor.detach().clone())
    # the student's optimizer may have replaced a parameter's data: exact tensors only, never .numpy() of its own
    return {name: plain_array(torch.stack(values)) for name, values in history.items()}


def collect_minibatches(
    namespace: Mapping[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool,
    seed: int | None,
    epochs: int = 1,
    as_tensors: bool = False,
) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Call ``minibatches`` once per epoch with one shared ``np.random.default_rng(seed)``.

    Returns, for each epoch, the list of ``(X_batch, y_batch)`` pairs as arrays.
    With ``as_tensors=True`` the data are given to the student as torch tensors.
    """
    minibatches = _student(namespace, "minibatches")
    rng = np.random.default_rng(seed) if seed is not None else None
    if as_tensors:
        X, y = torch.as_tensor(X), torch.as_tensor(y)
    epochs_out = []
    for _ in range(int(epochs)):
        batches = []
        for pair in minibatches(X, y, int(batch_size), shuffle=shuffle, rng=rng):
            X_batch, y_batch = pair
            batches.append((_array(X_batch), _array(y_batch)))
        epochs_out.append(batches)
    return epochs_out


def schedule_values(namespace: Mapping[str, Any], steps: int, kwargs: Mapping[str, Any]) -> np.ndarray:
    """``warmup_cosine_lr(t, **kwargs)`` for t = 0 .. steps - 1, as a float64 array."""
    schedule = _student(namespace, "warmup_cosine_lr")
    return np.asarray([plain_float(schedule(t, **dict(kwargs))) for t in range(int(steps))], dtype=np.float64)


def _array(value: Any) -> np.ndarray:
    """An exact tensor or array (or list of numbers) as an array; anything else is refused, not converted."""
    return plain_array(value)


def train_and_predict(
    namespace: Mapping[str, Any],
    optimizer: str,
    optimizer_kwargs: Mapping[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    X_eval: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    init_seed: int,
    hidden: int = 32,
    schedule: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Train :func:`~dlcourse_optimizers.models.make_mlp` with the student's ``train_model``.

    ``optimizer`` names the optimizer class (``"torch:Adam"`` for PyTorch's);
    ``schedule``, when given, is the learning rate of every step, passed to
    ``train_model`` as ``lr_schedule=lambda t: schedule[t]``.
    Returns the per-step ``losses`` (as ``train_model`` returned them) and the
    trained model's ``logits`` on ``X_eval`` (float64 array (M, 2)).
    """
    train_model = _student(namespace, "train_model")
    model = make_mlp(hidden=int(hidden), seed=int(init_seed))
    opt = _optimizer_class(namespace, optimizer)(model.parameters(), **dict(optimizer_kwargs))
    lr_schedule = None
    if schedule is not None:
        values = [float(v) for v in schedule]
        lr_schedule = lambda step: values[step]  # noqa: E731 - an IndexError tells of extra steps
    X_t = torch.as_tensor(np.asarray(X, dtype=np.float32))
    y_t = torch.as_tensor(np.asarray(y, dtype=np.int64))
    # Seed the global RNGs too (and restore them afterwards), so that two runs with the same seed
    # agree even if the loop draws from them; the notebook's own random state is left untouched.
    numpy_state = np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            np.random.seed(int(seed) % 2**32)
            losses = train_model(model, opt, X_t, y_t, epochs=int(epochs), batch_size=int(batch_size),
                                 seed=int(seed), lr_schedule=lr_schedule)
    finally:
        np.random.set_state(numpy_state)
    try:  # exact types only: float() of a student's object would run its __float__
        items = losses if type(losses) in (list, tuple) else list(plain_array(losses))
        losses = np.asarray([plain_float(value) for value in items], dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"train_model should return a list of float losses, one per step: {error}") from None
    with torch.no_grad():
        # train_model had the model: its output is read as an exact tensor, never with .numpy() of its own
        logits = plain_array(model(torch.as_tensor(np.asarray(X_eval, dtype=np.float32))), np.float64)
    return {"losses": losses, "logits": logits}
