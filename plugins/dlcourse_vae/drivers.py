"""Glue that lets a grader exercise the student's torch code with plain data.

Only plain data (numbers, strings, NumPy arrays) crosses the boundary between
a grader and a student's notebook, so a hidden check cannot hand over a
``torch.nn.Module``, ask autograd for a gradient, or keep a trained model
between calls. A driver runs next to the student's code: it receives the
student's namespace and plain data, builds the tensors or modules that are
needed, calls the student's functions and returns plain data. Drivers hold no
expected values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from dlcourse.plain_data import is_number, is_tensor

#: Names the assignment gives to the trained model and its loss history.
MODEL_NAME = "vae"
HISTORY_NAME = "history"


def _student(namespace: Mapping[str, Any], name: str) -> Callable[..., Any]:
    function = namespace.get(name)
    if not callable(function):
        raise NameError(f"`{name}` is not defined in your notebook")
    return function


def _tensor(value: Any) -> Any:
    """NumPy arrays become tensors of the same dtype (float64 stays float64); others pass."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value))
    return value


_is_tensor = is_tensor  # exactly a tensor or a parameter, never a subclass


def _numpy(value: Any, what: str) -> np.ndarray:
    if not _is_tensor(value):
        if isinstance(value, torch.Tensor):  # .numpy() would hide the subclass's own __eq__, __bool__, ...
            raise TypeError(f"{what} is an object of type {type(value).__name__}, a subclass of Tensor; return "
                            "a plain Tensor (values are compared as data, not with your class's methods)")
        raise TypeError(f"{what} should be a torch tensor, got {type(value).__name__}")
    return value.detach().cpu().to(torch.float64).numpy()


def call_on_tensors(namespace: Mapping[str, Any], name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the student's ``name`` with every NumPy array argument turned into a torch tensor.

    The result goes back as it is (tensors become arrays on the way).
    """
    function = _student(namespace, name)
    return function(*(_tensor(arg) for arg in args), **{key: _tensor(value) for key, value in kwargs.items()})


# ---------------------------------------------------------------- encoder


def _encoder(namespace: Mapping[str, Any], in_dim: int, hidden_dim: int, latent_dim: int) -> nn.Module:
    cls = _student(namespace, "Encoder")
    model = cls(int(in_dim), int(hidden_dim), int(latent_dim))
    if not isinstance(model, nn.Module):
        raise TypeError("Encoder should be a subclass of torch.nn.Module")
    return model


def encoder_parameters(namespace: Mapping[str, Any], in_dim: int, hidden_dim: int, latent_dim: int) -> dict:
    """Build ``Encoder(in_dim, hidden_dim, latent_dim)``; return ``{parameter name: shape}``."""
    model = _encoder(namespace, in_dim, hidden_dim, latent_dim)
    return {name: np.asarray(tuple(p.shape), dtype=np.int64) for name, p in model.named_parameters()}


def encoder_forward(
    namespace: Mapping[str, Any], in_dim: int, hidden_dim: int, latent_dim: int,
    state: Mapping[str, np.ndarray], x: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Build the student's encoder in float64, load ``state`` into it, return ``forward(x)``."""
    model = _encoder(namespace, in_dim, hidden_dim, latent_dim).double()
    model.load_state_dict({name: torch.from_numpy(np.array(value)) for name, value in state.items()})
    with torch.no_grad():
        out = model(torch.from_numpy(np.array(x)))
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError("Encoder.forward should return a pair (mu, logvar)")
    return _numpy(out[0], "mu"), _numpy(out[1], "logvar")


# --------------------------------------------------------- reparameterise


def reparameterize_gradients(
    namespace: Mapping[str, Any], mu: np.ndarray, logvar: np.ndarray, weights: np.ndarray
) -> dict:
    """Call ``reparameterize`` on float64 leaves and differentiate ``sum(weights * z)``.

    Returns ``z`` and, for ``mu`` and ``logvar``, whether autograd reaches
    them (``reaches_*``) and the gradient (zeros where it does not).
    """
    reparameterize = _student(namespace, "reparameterize")
    mu_t = torch.tensor(np.asarray(mu), dtype=torch.float64, requires_grad=True)
    logvar_t = torch.tensor(np.asarray(logvar), dtype=torch.float64, requires_grad=True)
    z = reparameterize(mu_t, logvar_t)
    result = {
        "z": _numpy(z, "reparameterize's result"),
        "reaches_mu": False,
        "reaches_logvar": False,
        "grad_mu": np.zeros_like(np.asarray(mu, dtype=np.float64)),
        "grad_logvar": np.zeros_like(np.asarray(logvar, dtype=np.float64)),
    }
    if not z.requires_grad or tuple(z.shape) != tuple(mu_t.shape):
        return result
    objective = (z.to(torch.float64) * torch.from_numpy(np.array(weights, dtype=np.float64))).sum()
    grads = torch.autograd.grad(objective, [mu_t, logvar_t], allow_unused=True)
    for key, grad in zip(("mu", "logvar"), grads):
        if grad is not None:
            result[f"reaches_{key}"] = True
            result[f"grad_{key}"] = grad.numpy()
    return result


# ----------------------------------------------------------------------- KL


def kl_gradients(namespace: Mapping[str, Any], mu: np.ndarray, logvar: np.ndarray) -> dict:
    """Differentiate the student's ``gaussian_kl(mu, logvar)`` with respect to both inputs."""
    gaussian_kl = _student(namespace, "gaussian_kl")
    mu_t = torch.tensor(np.asarray(mu), dtype=torch.float64, requires_grad=True)
    logvar_t = torch.tensor(np.asarray(logvar), dtype=torch.float64, requires_grad=True)
    kl = gaussian_kl(mu_t, logvar_t)
    result = {"differentiable": False, "grad_mu": np.zeros(mu_t.shape), "grad_logvar": np.zeros(mu_t.shape)}
    if not (_is_tensor(kl) and kl.requires_grad):
        return result
    grads = torch.autograd.grad(kl.sum(), [mu_t, logvar_t], allow_unused=True)
    if any(grad is None for grad in grads):
        return result
    result.update(differentiable=True, grad_mu=grads[0].numpy(), grad_logvar=grads[1].numpy())
    return result


# ------------------------------------------------------------ trained model


def _trained_model(namespace: Mapping[str, Any]) -> nn.Module:
    model = namespace.get(MODEL_NAME)
    if model is None:
        raise NameError(f"`{MODEL_NAME}` is not defined: run the cell that trains it (exercise 5)")
    if not isinstance(model, nn.Module) or not all(hasattr(model, part) for part in ("encoder", "decoder")):
        raise TypeError(f"`{MODEL_NAME}` should be the VAE module returned by train_vae")
    return model


def _as_model_input(model: nn.Module, array: np.ndarray) -> torch.Tensor:
    """``array`` with the dtype and device of the model's parameters."""
    first = next(model.parameters(), None)
    dtype = first.dtype if first is not None else torch.float32
    device = first.device if first is not None else torch.device("cpu")
    return torch.as_tensor(np.asarray(array), dtype=dtype, device=device)


def trained_encode(namespace: Mapping[str, Any], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``vae.encoder(x)`` of the notebook's trained model, as float64 arrays."""
    model = _trained_model(namespace)
    with torch.no_grad():
        out = model.encoder(_as_model_input(model, x))
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError("vae.encoder should return a pair (mu, logvar)")
    return _numpy(out[0], "mu"), _numpy(out[1], "logvar")


def trained_decode(namespace: Mapping[str, Any], z: np.ndarray) -> np.ndarray:
    """``vae.decoder(z)`` (logits) of the notebook's trained model, as a float64 array."""
    model = _trained_model(namespace)
    with torch.no_grad():
        return _numpy(model.decoder(_as_model_input(model, z)), "vae.decoder's result")


def trained_history(namespace: Mapping[str, Any]) -> np.ndarray:
    """The loss history that ``train_vae`` returned next to the model."""
    history = namespace.get(HISTORY_NAME)
    if history is None:
        raise NameError(f"`{HISTORY_NAME}` is not defined: run the cell that trains the model (exercise 5)")
    if type(history) not in (list, tuple):
        raise TypeError(f"`{HISTORY_NAME}` should be a list of floats, got {type(history).__name__}")
    values = []
    for value in history:  # exact types only: float() of an object would run its __float__
        if _is_tensor(value) and value.numel() == 1:
            value = value.detach().item()
        if not is_number(value):
            raise TypeError(f"`{HISTORY_NAME}` holds an object of type {type(value).__name__}; expected floats")
        values.append(float(value))
    return np.asarray(values, dtype=np.float64)



# ---------------------------------------------------------- decode, sample


def _linear_decoder(weight: np.ndarray, bias: np.ndarray) -> nn.Linear:
    """A float32 linear decoder ``z -> z @ weight.T + bias`` (logits), like a trained model's."""
    out_dim, latent_dim = np.shape(weight)
    decoder = nn.Linear(latent_dim, out_dim)
    with torch.no_grad():
        decoder.weight.copy_(torch.as_tensor(np.asarray(weight), dtype=torch.float32))
        decoder.bias.copy_(torch.as_tensor(np.asarray(bias), dtype=torch.float32))
    return decoder


def decode_with_linear(namespace: Mapping[str, Any], weight: np.ndarray, bias: np.ndarray,
                       z: np.ndarray) -> Any:
    """Call ``decode(decoder, z)`` with a known linear decoder and float32 ``z``."""
    decode = _student(namespace, "decode")
    return decode(_linear_decoder(weight, bias), torch.as_tensor(np.asarray(z), dtype=torch.float32))


def sample_with_linear(namespace: Mapping[str, Any], weight: np.ndarray, bias: np.ndarray, n: int) -> Any:
    """Call ``sample(decoder, n, latent_dim)`` with a known linear decoder."""
    sample = _student(namespace, "sample")
    return sample(_linear_decoder(weight, bias), int(n), int(np.shape(weight)[1]))
