"""Glue that lets a grader exercise the GAN assignment's networks and training steps.

Only plain data crosses the boundary between a grader and a student's
notebook, so a hidden check cannot hand ``discriminator_step`` a network or
an optimizer. A driver runs next to the student's code: it receives the
student's namespace and plain data (weights, batches, noise), builds the
modules and optimizers here, calls the student's code and returns plain data
(losses, weights, samples). Drivers hold no expected values.

The small networks below are public infrastructure, not answers: they let
the grader replay a student's training step on a network whose weights it
chose.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn

from dlcourse.plain_data import is_number, is_tensor, refusal

__all__ = [
    "MLP",
    "QuadraticCritic",
    "discriminator_optimum",
    "discriminator_trace",
    "generator_samples",
    "generator_trace",
    "history_of",
    "loss_and_grads",
    "module_probe",
]

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
}


class MLP(nn.Module):
    """A fully connected network built from given weights, float64.

    ``weights`` is ``[W1, b1, W2, b2, ...]`` with ``W`` of shape (out, in),
    as in :class:`torch.nn.Linear`; ``activation`` (``"relu"``,
    ``"leaky_relu"`` with slope 0.2, or ``"tanh"``) sits between layers, none
    after the last. With ``squeeze=True`` the output (N, 1) becomes (N,),
    the logits of a discriminator.
    """

    def __init__(self, weights: Sequence[np.ndarray], activation: str = "leaky_relu", squeeze: bool = False):
        super().__init__()
        if len(weights) % 2 or not weights:
            raise ValueError("weights must alternate W, b")
        layers: list[nn.Module] = []
        for index in range(0, len(weights), 2):
            W = torch.as_tensor(np.asarray(weights[index], dtype=np.float64))
            b = torch.as_tensor(np.asarray(weights[index + 1], dtype=np.float64))
            linear = nn.Linear(W.shape[1], W.shape[0]).double()
            with torch.no_grad():
                linear.weight.copy_(W)
                linear.bias.copy_(b)
            layers.append(linear)
            if index + 2 < len(weights):
                layers.append(_ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)
        self.squeeze = squeeze

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out.reshape(-1) if self.squeeze else out


class QuadraticCritic(nn.Module):
    """A 1-D discriminator whose logit is ``a u**2 + b u + c`` with ``u = (x - shift) / scale``.

    For two Gaussians, ``log p_data(x) - log p_g(x)`` is quadratic in ``x``,
    so this critic can represent the optimal discriminator exactly. It maps
    (N, 1) inputs to (N,) logits and starts at ``D(x) = 1/2`` (all zeros).
    """

    def __init__(self, shift: float = 0.0, scale: float = 1.0):
        super().__init__()
        self.shift, self.scale = float(shift), float(scale)
        self.coef = nn.Parameter(torch.zeros(3, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = (x.reshape(-1) - self.shift) / self.scale
        return self.coef[0] * u * u + self.coef[1] * u + self.coef[2]


# ----------------------------------------------------------------- helpers


def _student(namespace: Mapping[str, Any], name: str) -> Callable[..., Any]:
    function = namespace.get(name)
    if not callable(function):
        raise NameError(f"`{name}` is not defined in your notebook")
    return function


def _float(value: Any, name: str) -> float:
    """A returned loss as a Python float (a one-element tensor is accepted)."""
    if value is None:
        raise TypeError(f"{name} returned None; return the loss as a Python float (loss.item())")
    if _is_tensor(value):
        if value.numel() != 1:
            raise TypeError(f"{name} returned a tensor of shape {tuple(value.shape)}; return one number")
        return float(value.detach().reshape(()))
    if is_number(value):  # exact types: float() runs __float__
        return float(value)
    raise _refusal(value, name)


def _refusal(value: Any, name: str) -> TypeError:
    """Why a returned ``value`` is not used, in the words every check uses (:func:`dlcourse.plain_data.refusal`)."""
    return TypeError(f"{name} returned {refusal(value)}")


_is_tensor = is_tensor  # exactly a tensor or a parameter: a subclass may redefine ``__eq__``, ``__float__``, ...


def _weights(module: nn.Module) -> list[np.ndarray]:
    return [p.detach().to(torch.float64).numpy().copy() for p in module.parameters()]


def _t64(array: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array, dtype=np.float64))


# ------------------------------------------------------ networks (classes)


def module_probe(
    namespace: Mapping[str, Any], class_name: str, args: Sequence[int], x: np.ndarray, seed: int = 0
) -> dict[str, Any]:
    """Build ``class_name(*args)`` and describe it.

    Returns its parameters in registration order (float64 arrays), the
    output on ``x`` as float32 (and that output's dtype), the output of a
    float64 copy of the module on ``x``, and whether every parameter received
    a gradient from the float32 output. The torch RNG is restored afterwards.
    """
    cls = namespace.get(class_name)
    if not isinstance(cls, type):
        raise NameError(f"`{class_name}` is not defined as a class in your notebook")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        module = cls(*args)
    if not isinstance(module, nn.Module):
        raise TypeError(f"{class_name}(...) should create a torch.nn.Module")
    x32 = torch.as_tensor(np.asarray(x, dtype=np.float32))
    out32 = module(x32)
    if not isinstance(out32, torch.Tensor):
        raise TypeError(f"{class_name}.forward returned {type(out32).__name__}, expected a tensor")
    received = [False] * len(list(module.parameters()))
    if out32.requires_grad:
        module.zero_grad()
        out32.float().sum().backward()
        received = [p.grad is not None for p in module.parameters()]
    module64 = copy.deepcopy(module).double()
    with torch.no_grad():
        out64 = module64(_t64(x))
    return {
        "params": _weights(module),
        "out32": out32.detach().to(torch.float64).numpy(),
        "dtype": str(out32.dtype).replace("torch.", ""),
        "out64": out64.detach().numpy(),
        "received_grad": received,
    }


# ----------------------------------------------------------------- losses


def loss_and_grads(namespace: Mapping[str, Any], name: str, *logits: np.ndarray) -> dict[str, Any]:
    """Call the student's loss ``name(*logits)`` on float64 tensors and backpropagate.

    Returns the loss value(s), whether it is a tensor, its shape, and the
    gradient with respect to each logits tensor (``None`` where there is none).
    """
    loss_fn = _student(namespace, name)
    tensors = [torch.tensor(np.asarray(l, dtype=np.float64), requires_grad=True) for l in logits]
    loss = loss_fn(*tensors)
    if not _is_tensor(loss):
        if isinstance(loss, torch.Tensor):
            raise _refusal(loss, name)
        return {"is_tensor": False, "shape": [], "value": np.asarray(_float(loss, name), dtype=np.float64),
                "grads": [None] * len(tensors)}
    result = {"is_tensor": True, "shape": list(loss.shape), "value": loss.detach().to(torch.float64).numpy()}
    grads: list[np.ndarray | None] = [None] * len(tensors)
    if loss.requires_grad and loss.numel() == 1:
        found = torch.autograd.grad(loss.reshape(()), tensors, allow_unused=True)
        grads = [None if g is None else g.detach().numpy() for g in found]
    result["grads"] = grads
    return result


# ---------------------------------------------------------- training steps


def discriminator_trace(
    namespace: Mapping[str, Any],
    weights: Sequence[np.ndarray],
    batches: Sequence[tuple[np.ndarray, np.ndarray]],
    lr: float,
    momentum: float = 0.0,
) -> dict[str, Any]:
    """Run the student's ``discriminator_step`` once per (real, fake) batch.

    The discriminator is an :class:`MLP` (LeakyReLU 0.2) with the given
    weights, the optimizer ``torch.optim.SGD(lr, momentum)``. Each fake batch
    carries gradient history, as ``G(z)`` would. Returns the losses, the
    final weights and whether any gradient reached the fake batches' origin.
    """
    step = _student(namespace, "discriminator_step")
    D = MLP(weights, "leaky_relu", squeeze=True)
    optimizer = torch.optim.SGD(D.parameters(), lr=float(lr), momentum=float(momentum))
    losses, leaked = [], False
    for real, fake in batches:
        origin = torch.tensor(np.asarray(fake, dtype=np.float64), requires_grad=True)
        fake_t = origin * 1.0  # has a grad_fn, like the output of a generator
        losses.append(_float(step(D, optimizer, _t64(real), fake_t), "discriminator_step"))
        leaked = leaked or origin.grad is not None
    return {"losses": np.asarray(losses), "weights": _weights(D), "generator_grad": bool(leaked)}


def discriminator_optimum(
    namespace: Mapping[str, Any], real: np.ndarray, fake: np.ndarray, grid: np.ndarray,
    steps: int = 300, lr: float = 0.05,
) -> dict[str, Any]:
    """Train a :class:`QuadraticCritic` with the student's ``discriminator_step`` (Adam, full batch).

    ``real`` and ``fake`` are 1-D samples; the generator is fixed, so only the
    discriminator learns. Returns ``D(x)`` on ``grid`` and the losses.
    """
    step = _student(namespace, "discriminator_step")
    real = np.asarray(real, dtype=np.float64).reshape(-1, 1)
    fake = np.asarray(fake, dtype=np.float64).reshape(-1, 1)
    both = np.concatenate([real, fake])
    D = QuadraticCritic(shift=float(both.mean()), scale=float(both.std()) or 1.0)
    optimizer = torch.optim.Adam(D.parameters(), lr=float(lr))
    real_t, fake_t = _t64(real), _t64(fake)
    losses = [_float(step(D, optimizer, real_t, fake_t), "discriminator_step") for _ in range(int(steps))]
    with torch.no_grad():
        probs = torch.sigmoid(D(_t64(grid).reshape(-1, 1)))
    return {"probs": probs.numpy(), "losses": np.asarray(losses)}


def generator_trace(
    namespace: Mapping[str, Any],
    g_weights: Sequence[np.ndarray],
    d_weights: Sequence[np.ndarray],
    noise: Sequence[np.ndarray],
    lr: float,
    momentum: float = 0.0,
) -> dict[str, Any]:
    """Run the student's ``generator_step`` once per noise batch.

    The generator is a ReLU :class:`MLP`, the discriminator a LeakyReLU one
    (fixed), the optimizer ``torch.optim.SGD(G.parameters(), lr, momentum)``.
    Returns the losses and the final weights of both networks.
    """
    step = _student(namespace, "generator_step")
    G = MLP(g_weights, "relu")
    D = MLP(d_weights, "leaky_relu", squeeze=True)
    optimizer = torch.optim.SGD(G.parameters(), lr=float(lr), momentum=float(momentum))
    losses = [_float(step(G, D, optimizer, _t64(z)), "generator_step") for z in noise]
    return {"losses": np.asarray(losses), "g_weights": _weights(G), "d_weights": _weights(D)}


# --------------------------------------------------------- trained models


def generator_samples(namespace: Mapping[str, Any], name: str, z: np.ndarray) -> np.ndarray:
    """Samples of the trained generator ``namespace[name]`` for the noise ``z``, as float64."""
    G = namespace.get(name)
    if not isinstance(G, nn.Module):
        raise NameError(f"`{name}` is not a trained generator: run the training cell of train_gan")
    first = next((p for p in G.parameters()), None)
    dtype = first.dtype if first is not None else torch.float32
    with torch.no_grad():
        samples = G(torch.as_tensor(np.asarray(z), dtype=dtype))
    if not isinstance(samples, torch.Tensor):
        raise TypeError(f"`{name}` returned {type(samples).__name__}, expected a tensor")
    return samples.detach().to(torch.float64).numpy()


def history_of(namespace: Mapping[str, Any], name: str) -> dict[str, np.ndarray]:
    """The loss curves of a training history ``namespace[name]`` as float64 arrays."""
    history = namespace.get(name)
    if not isinstance(history, Mapping):
        raise NameError(f"`{name}` is not a training history: run the training cell of train_gan")
    curves = {}
    for key in ("d_loss", "g_loss"):
        if key not in history:
            raise KeyError(f"the history has no key {key!r}")
        values = history[key]
        if type(values) not in (list, tuple):
            raise _refusal(values, f"history[{key!r}]")
        curves[key] = np.asarray([_float(v, key) for v in values], dtype=np.float64)
    return curves


class _StepRecorder:
    """A callback that records the steps it is called at.

    Like the notebook's SnapshotRecorder it has a length, 0 while empty, so
    that ``if callback:`` (instead of ``if callback is not None:``) skips it.
    """

    def __init__(self) -> None:
        self.steps: list[int] = []

    def __len__(self) -> int:
        return len(self.steps)

    def __call__(self, step: Any, G: Any, D: Any) -> None:
        self.steps.append(int(step))


def callback_steps(namespace: Mapping[str, Any], data: np.ndarray, steps: int, snapshot_every: int) -> list[int]:
    """Run a short ``train_gan(data, ...)`` with a recording callback; return the steps it was called at.

    The global torch RNG is restored afterwards: the notebook's later cells
    see the same random numbers whether or not this check ran.
    """
    train_gan = namespace.get("train_gan")
    if not callable(train_gan):
        raise NameError("`train_gan` is not defined as a function in your notebook")
    recorder = _StepRecorder()
    state = torch.get_rng_state()
    try:
        train_gan(np.asarray(data, dtype=np.float32), steps=int(steps), batch_size=8, latent_dim=2, hidden_dim=8,
                  seed=0, callback=recorder, snapshot_every=int(snapshot_every))
    finally:
        torch.set_rng_state(state)
    return list(recorder.steps)
