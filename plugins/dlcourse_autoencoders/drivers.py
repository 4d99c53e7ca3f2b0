"""Glue that lets a grader exercise functions taking models, tensors and callables.

Only plain data crosses the boundary between a grader and a student's
notebook: numbers, strings, NumPy arrays and lists, tuples and dicts of
those. The exercises of this topic take PyTorch tensors, models and loss
functions, so a driver runs next to the student's code: it turns arrays into
tensors, builds a model from a plain *layer spec*, calls the student's
functions and returns plain data. Drivers hold no expected values.

A layer spec is a list of dicts, one per layer, applied in order:
``{"type": "Linear", "weight": W (out, in), "bias": b (out,)}``,
``{"type": "ReLU"}`` or ``{"type": "Sigmoid"}``. :func:`describe` turns a
module back into such a list.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from dlcourse.plain_data import is_tensor, not_data, plain_float
from dlcourse_autoencoders.models import Autoencoder

LayerSpec = Sequence[Mapping[str, Any]]

_ACTIVATIONS = {"ReLU": nn.ReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh}


def _student(namespace: Mapping[str, Any], name: str) -> Callable[..., Any]:
    function = namespace.get(name)
    if not callable(function):
        raise NameError(f"`{name}` is not defined as a function in your notebook")
    return function


def _tensor(value: Any) -> Any:
    """NumPy arrays become tensors (sharing nothing with the caller); anything else is kept."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value))
    return value


# Exact types only, never converted first (float() of a student's object would run its __float__):
# the helpers every driver shares.
_refusal = not_data
_is_tensor = is_tensor
_float = plain_float


def _floats(values: Any) -> list[float]:
    """:func:`_float` of every item of an exact list or tuple (or a 1-D tensor or array)."""
    if _is_tensor(values) or type(values) is np.ndarray:
        return [float(v) for v in _plain(values).reshape(-1)]
    if type(values) not in (list, tuple):
        raise _refusal(values)
    return [_float(v) for v in values]


def _plain(value: Any) -> Any:
    """An exact tensor as an array; a tensor or array subclass is refused (converting it would hide it)."""
    if _is_tensor(value):
        return value.detach().cpu().numpy()
    if isinstance(value, (torch.Tensor, np.ndarray)) and type(value) is not np.ndarray:
        raise _refusal(value)
    return value


def model_from_spec(encoder: LayerSpec, decoder: LayerSpec,
                    dtype: torch.dtype = torch.float64) -> Autoencoder:
    """An :class:`Autoencoder` whose encoder and decoder follow the layer specs exactly."""

    def build(spec: LayerSpec) -> nn.Sequential:
        layers: list[nn.Module] = []
        for layer in spec:
            kind = layer["type"]
            if kind == "Linear":
                weight = torch.as_tensor(np.asarray(layer["weight"]), dtype=dtype)
                linear = nn.Linear(weight.shape[1], weight.shape[0], dtype=dtype)
                with torch.no_grad():
                    linear.weight.copy_(weight)
                    linear.bias.copy_(torch.as_tensor(np.asarray(layer["bias"]), dtype=dtype))
                layers.append(linear)
            elif kind in _ACTIVATIONS:
                layers.append(_ACTIVATIONS[kind]())
            else:
                raise ValueError(f"unknown layer type {kind!r}")
        return nn.Sequential(*layers)

    return Autoencoder(build(encoder), build(decoder))


def describe(module: nn.Module) -> list[dict[str, Any]]:
    """The leaf modules of ``module`` in order, as a layer spec (weights as float64 arrays)."""
    leaves = [m for m in module.modules() if not list(m.children())]
    spec: list[dict[str, Any]] = []
    for leaf in leaves:
        entry: dict[str, Any] = {"type": type(leaf).__name__}
        if isinstance(leaf, nn.Linear):
            entry["weight"] = leaf.weight.detach().to(torch.float64).numpy().copy()
            entry["bias"] = (leaf.bias.detach().to(torch.float64).numpy().copy() if leaf.bias is not None
                             else np.zeros(leaf.out_features))
        spec.append(entry)
    return spec


def call_with_tensors(namespace: Mapping[str, Any], name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the student's ``name`` with every array argument turned into a tensor."""
    function = _student(namespace, name)
    result = function(*(_tensor(a) for a in args), **{k: _tensor(v) for k, v in kwargs.items()})
    if type(result) in (tuple, list):
        return type(result)(_plain(item) for item in result)
    return _plain(result)


# ------------------------------------------------------------ exercise 1


def build_report(namespace: Mapping[str, Any], n_in: int, n_code: int, hidden: Sequence[int],
                 code_activation: str | None, X: np.ndarray, seed: int) -> dict[str, Any]:
    """Build the student's autoencoder and report its layers, code and output on ``X``."""
    build_autoencoder = _student(namespace, "build_autoencoder")
    torch.manual_seed(seed)
    model = build_autoencoder(n_in, n_code, hidden=tuple(hidden), code_activation=code_activation)
    for part in ("encoder", "decoder"):
        if not isinstance(getattr(model, part, None), nn.Module):
            raise TypeError(f"the model has no `{part}` module (return Autoencoder(encoder, decoder))")
    x = torch.from_numpy(np.array(X))
    with torch.no_grad():
        code, output = model.encoder(x), model(x)
    return {"encoder": describe(model.encoder), "decoder": describe(model.decoder),
            "code": _plain(code), "output": _plain(output)}


def reconstruction_report(namespace: Mapping[str, Any], encoder: LayerSpec, decoder: LayerSpec,
                          X: np.ndarray) -> dict[str, Any]:
    """The student's ``reconstruction_error`` on a float64 model built from the specs."""
    reconstruction_error = _student(namespace, "reconstruction_error")
    model = model_from_spec(encoder, decoder)
    error = reconstruction_error(model, torch.from_numpy(np.array(X)))
    plain = _plain(error)
    return {"error": plain, "requires_grad": _is_tensor(error) and error.requires_grad}


# ------------------------------------------------------------ exercise 2


def _zero_output_loss(model: nn.Module, xb: torch.Tensor) -> torch.Tensor:
    """A loss whose minimum is a model that outputs zeros (not a reconstruction)."""
    return (model(xb) ** 2).mean()


def train_report(namespace: Mapping[str, Any], encoder: LayerSpec, decoder: LayerSpec, X: np.ndarray, *,
                 loss: str = "default", epochs: int, lr: float, batch_size: int, seed: int) -> dict[str, Any]:
    """Train a model built from the specs with the student's ``train_autoencoder``.

    ``loss`` is ``"default"`` (no ``loss_fn`` given) or ``"zero_output"`` (a
    loss that drives the outputs to zero). Returns the recorded losses, the
    trained layers and the output on ``X``.
    """
    train_autoencoder = _student(namespace, "train_autoencoder")
    x = torch.from_numpy(np.array(X))
    model = model_from_spec(encoder, decoder, dtype=x.dtype)
    kwargs = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed}
    if loss == "zero_output":
        kwargs["loss_fn"] = _zero_output_loss
    losses = train_autoencoder(model, x, **kwargs)
    with torch.no_grad():
        output = model(x)
    return {"losses": _floats(losses) if losses is not None else None,
            "encoder": describe(model.encoder), "decoder": describe(model.decoder), "output": _plain(output)}


# ------------------------------------------------------------ exercises 4-5


def kl_report(namespace: Mapping[str, Any], h: np.ndarray, rho: float) -> dict[str, Any]:
    """``kl_sparsity`` (its value and its autograd gradient) and ``kl_sparsity_grad`` on ``h``."""
    kl_sparsity = _student(namespace, "kl_sparsity")
    ht = torch.tensor(np.array(h), requires_grad=True)
    value = kl_sparsity(ht, rho)
    report: dict[str, Any] = {"value": _float(value), "autograd": None}
    if _is_tensor(value) and value.requires_grad:
        (grad,) = torch.autograd.grad(value, ht)
        report["autograd"] = grad.numpy()
    return report


def sparse_loss_value(namespace: Mapping[str, Any], encoder: LayerSpec, decoder: LayerSpec, X: np.ndarray,
                      beta: float, rho: float) -> float:
    """The student's ``sparse_loss`` on a float64 model built from the specs."""
    sparse_loss = _student(namespace, "sparse_loss")
    model = model_from_spec(encoder, decoder)
    return _float(sparse_loss(model, torch.from_numpy(np.array(X)), beta=beta, rho=rho))


def sparse_training(namespace: Mapping[str, Any], encoder: LayerSpec, decoder: LayerSpec, X_train: np.ndarray,
                    X_test: np.ndarray, *, beta: float, rho: float, epochs: int, lr: float, batch_size: int,
                    seed: int) -> np.ndarray:
    """Train with ``train_autoencoder`` and ``sparse_loss``; return the codes of ``X_test``."""
    train_autoencoder = _student(namespace, "train_autoencoder")
    sparse_loss = _student(namespace, "sparse_loss")
    x = torch.from_numpy(np.array(X_train))
    model = model_from_spec(encoder, decoder, dtype=x.dtype)
    train_autoencoder(model, x, loss_fn=lambda m, xb: sparse_loss(m, xb, beta=beta, rho=rho),
                      epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    with torch.no_grad():
        return _plain(model.encoder(torch.from_numpy(np.array(X_test))))


# ------------------------------------------------------------ exercise 6


def denoising_value(namespace: Mapping[str, Any], encoder: LayerSpec, decoder: LayerSpec, X: np.ndarray,
                    noise_std: float, seed: int) -> float:
    """The student's ``denoising_loss`` on a float64 model built from the specs."""
    denoising_loss = _student(namespace, "denoising_loss")
    model = model_from_spec(encoder, decoder)
    torch.manual_seed(seed)
    return _float(denoising_loss(model, torch.from_numpy(np.array(X)), noise_std=noise_std))


def denoise_training(namespace: Mapping[str, Any], encoder: LayerSpec, decoder: LayerSpec,
                     X_train: np.ndarray, X_noisy: np.ndarray, *, noise_std: float, epochs: int, lr: float,
                     batch_size: int, seed: int) -> np.ndarray:
    """Train with ``train_autoencoder`` and ``denoising_loss``; return the model's output on ``X_noisy``."""
    train_autoencoder = _student(namespace, "train_autoencoder")
    denoising_loss = _student(namespace, "denoising_loss")
    x = torch.from_numpy(np.array(X_train))
    model = model_from_spec(encoder, decoder, dtype=x.dtype)
    train_autoencoder(model, x, loss_fn=lambda m, xb: denoising_loss(m, xb, noise_std=noise_std),
                      epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    with torch.no_grad():
        return _plain(model(torch.from_numpy(np.array(X_noisy))))


# ------------------------------------------------------------ exercise 7


def stack_report(namespace: Mapping[str, Any], X_train: np.ndarray, y_train: np.ndarray,
                 X_test: np.ndarray, *, sizes: Sequence[int], n_classes: int, pretrain_epochs: int,
                 finetune_epochs: int, lr: float, batch_size: int, seed: int) -> dict[str, Any]:
    """Pre-train a stack, then fine-tune it (once with 0 epochs, once for real).

    Returns every pre-trained autoencoder's layers (before fine-tuning), the
    layers of the untrained and of the fine-tuned classifier, and the
    fine-tuned classifier's logits on ``X_test``.
    """
    pretrain_stack = _student(namespace, "pretrain_stack")
    fine_tune = _student(namespace, "fine_tune")
    x, y = torch.from_numpy(np.array(X_train)), torch.from_numpy(np.array(y_train))
    stack = pretrain_stack(x, list(sizes), epochs=pretrain_epochs, lr=lr, batch_size=batch_size, seed=seed)
    if type(stack) not in (list, tuple):
        raise TypeError(f"pretrain_stack returned {type(stack).__name__}, expected a list of autoencoders")
    pretrained = [{"encoder": describe(ae.encoder), "decoder": describe(ae.decoder)} for ae in stack]
    untrained = describe(fine_tune(stack, x, y, n_classes, epochs=0, lr=lr, batch_size=batch_size, seed=seed))
    classifier = fine_tune(stack, x, y, n_classes, epochs=finetune_epochs, lr=lr, batch_size=batch_size,
                           seed=seed)
    with torch.no_grad():
        logits = classifier(torch.from_numpy(np.array(X_test)))
    return {"pretrained": pretrained, "untrained": untrained, "finetuned": describe(classifier),
            "logits": _plain(logits)}


# ------------------------------------------------------------ exercise 9


def detector_report(namespace: Mapping[str, Any], X_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                    X_test: np.ndarray, seed: int) -> dict[str, Any]:
    """Fit the student's detector and return its predictions on ``X_test``.

    Also returns the predictions with the threshold at minus and plus
    infinity, which must flag every window and no window.
    """
    fit_detector = _student(namespace, "fit_detector")
    detect = _student(namespace, "detect")
    fitted = fit_detector(_tensor(X_train), _tensor(X_val), _tensor(y_val), seed=seed)
    if not (type(fitted) in (tuple, list) and len(fitted) == 2):
        raise TypeError("fit_detector should return a pair (model, threshold)")
    model, threshold = fitted
    x = _tensor(X_test)
    return {"predictions": _plain(detect(model, threshold, x)), "threshold": _float(threshold),
            "all": _plain(detect(model, float("-inf"), x)), "none": _plain(detect(model, float("inf"), x))}
