"""Hidden checks for the regularisation assignment.

Each check draws fresh inputs and shapes from ``rng``, sends them to the
student through :class:`dlcourse.checking.Student` (through a driver where a
generator, a state dict or a trained model must stay on the student's side)
and compares what comes back with its own float64 PyTorch oracle
(``F.batch_norm``, ``nn.BatchNorm1d``, ``torch.optim.Adam``/``AdamW``,
autograd) or with a behavioural property (dropout keeps the mean, noise has
standard deviation sigma, a trained model's accuracy on signals it never saw).
Messages say what is wrong and on which shape, never the expected values.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from dlcourse.checking import (
    CaseResult,
    Student,
    StudentError,
    case_failed,
    case_reweighted,
    case_verdict,
    compare_array,
    float64_tensor,
)
from dlcourse.types import Check

TOPIC = "regularisation"
DRIVERS = "dlcourse_regularisation.drivers"


# ----------------------------------------------------------------- helpers


def _call(student: Student, name: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    try:
        return student.call(name, *args, **kwargs), None
    except StudentError as error:
        return None, str(error)


#: What each driver exercises, named as the student knows it (error messages name the driver otherwise).
SUBJECTS = {
    "weight_decay_trajectory": "weight_decay_step",
    "dropout_run": "dropout_forward",
    "batchnorm_forward_run": "batchnorm_forward",
    "batchnorm_sequence": "batchnorm_forward",
    "batchnorm_grads": "batchnorm_backward",
    "early_stopping_run": "EarlyStopping",
    "noise_run": "add_gaussian_noise",
    "augment_run": "augment_shift_scale",
    "predict_twice": "predict",
    "model_logits": "final_model",
}


def _run(student: Student, driver: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    try:
        return student.run(f"{DRIVERS}:{driver}", *args, **kwargs), None
    except StudentError as error:
        return None, str(error).replace(f"`{driver}`", f"`{SUBJECTS.get(driver, driver)}`")


def _as_array(value: Any) -> np.ndarray | None:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _close(got: Any, expected: np.ndarray, atol: float, rtol: float) -> bool:
    array = _as_array(got)
    return array is not None and array.shape == np.shape(expected) and bool(
        np.allclose(array, expected, atol=atol, rtol=rtol))


def _scalar(value: Any) -> float | None:
    array = _as_array(value)
    if array is None or array.size != 1:
        return None
    return float(array.reshape(()))


def _random_shape(rng: np.random.Generator, low: int = 2, high: int = 7) -> tuple[int, ...]:
    ndim = int(rng.integers(1, 4))
    return tuple(int(n) for n in rng.integers(low, high, size=ndim))


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


# ------------------------------------------------------------ 1, 2 penalties


def _random_params(rng: np.random.Generator, zeros: bool = False) -> dict[str, np.ndarray]:
    params: dict[str, np.ndarray] = {}
    sizes = [int(n) for n in rng.integers(2, 7, size=int(rng.integers(3, 5)))]
    for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes), start=1):
        params[f"W{layer}"] = rng.normal(size=(fan_in, fan_out))
        params[f"b{layer}"] = rng.normal(size=fan_out)
    params["W_conv"] = rng.normal(size=_random_shape(rng))  # any shape counts as a weight
    if zeros:
        for name, value in params.items():
            if name.startswith("W"):
                value[rng.random(value.shape) < 0.3] = 0.0
    return params


def _penalty_oracle(params: dict[str, np.ndarray], lam: float, kind: str,
                    include_biases: bool = False) -> tuple[float, dict[str, np.ndarray]]:
    tensors = {name: float64_tensor(value, grad=True) for name, value in params.items()}
    terms = [t for name, t in tensors.items() if include_biases or name.startswith("W")]
    if kind == "l2":
        total = 0.5 * lam * sum((t**2).sum() for t in terms)
    else:
        total = lam * sum(t.abs().sum() for t in terms)
    names = list(tensors)
    grads = torch.autograd.grad(total, [tensors[n] for n in names], allow_unused=True)
    return float(total.detach()), {n: (np.zeros(params[n].shape) if g is None else g.numpy())
                                   for n, g in zip(names, grads)}


def _penalty_cases(student: Student, rng: np.random.Generator, kind: str) -> Iterable[CaseResult]:
    name = f"{kind}_penalty"
    params = _random_params(rng, zeros=(kind == "l1"))
    lam = float(rng.uniform(0.05, 2.0))
    shapes = ", ".join(f"{k} {v.shape}" for k, v in params.items())
    label = f"{name} on params {{{shapes}}}"
    penalty, grads = _penalty_oracle(params, lam, kind)
    got, error = _call(student, name, params, lam)
    if error:
        yield case_failed(label, error, 3.0)
        return
    if not (isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[1], dict)):
        yield case_failed(label, "should return a pair (penalty, grads) with grads a dict", 3.0)
        return
    got_penalty, got_grads = _scalar(got[0]), got[1]
    with_biases, _ = _penalty_oracle(params, lam, kind, include_biases=True)
    if got_penalty is None:
        yield case_failed(f"{label} (penalty)", "the penalty should be a single number", 1.0)
    elif abs(got_penalty - penalty) <= 1e-10 + 1e-9 * abs(penalty):
        yield CaseResult(True, f"{label} (penalty): ok", 1.0)
    else:
        hint = "only entries whose name starts with 'W' are penalised"
        if abs(got_penalty - with_biases) <= 1e-9 * abs(with_biases):
            hint = "biases (names not starting with 'W') must not be penalised"
        elif kind == "l2" and abs(got_penalty - 2 * penalty) <= 1e-9 * abs(penalty):
            hint = "the L2 penalty is (lam / 2) times the sum of squares"
        elif kind == "l1" and abs(got_penalty - 0.5 * penalty) <= 1e-9 * abs(penalty):
            hint = "the L1 penalty is lam times the sum of absolute values, without a factor 1/2"
        yield case_failed(f"{label} (penalty)", f"wrong value ({hint})", 1.0)
    missing = sorted(set(params) - set(got_grads))
    if missing:
        yield case_failed(f"{label} (grads)", f"the grads dict lacks the keys {missing}", 2.0)
        return
    for key, value in params.items():
        is_weight = key.startswith("W")
        hint = ("the gradient of (lam / 2) * ||W||^2 is lam * W" if kind == "l2"
                else "the subgradient of lam * |W| is lam * sign(W), 0 where W is exactly 0")
        if not is_weight:
            hint = "biases are not penalised: their gradient is zero"
        elif kind == "l2" and _close(got_grads[key], 2 * grads[key], 1e-12, 1e-9):
            hint = "looks like 2 * lam * W: the penalty has a factor 1/2"
        weight = 2.0 / len(params)
        yield case_reweighted(compare_array(f"{name}: grads[{key!r}] of shape {value.shape}", got_grads[key], grads[key],
                                    atol=1e-12, rtol=1e-9, hint=hint), weight)


def check_l2_penalty(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    yield from _penalty_cases(student, rng, "l2")
    bias = {"b1": rng.normal(size=int(rng.integers(2, 6))), "b2": rng.normal(size=int(rng.integers(2, 6)))}
    label = "l2_penalty on a dict with only biases"
    got, error = _call(student, "l2_penalty", bias, float(rng.uniform(0.5, 2.0)))
    if error:
        yield case_failed(label, error, 0.5)
    else:
        ok = isinstance(got, (tuple, list)) and len(got) == 2 and _scalar(got[0]) == 0.0
        yield case_verdict(ok, label, "ok", "the penalty should be 0: biases are not penalised", 0.5)


def check_l1_penalty(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    yield from _penalty_cases(student, rng, "l1")


# ------------------------------------------------------------ 3 weight decay


def _adam_oracle(w0: np.ndarray, grads: np.ndarray, lr: float, lam: float, decoupled: bool) -> np.ndarray:
    param = torch.nn.Parameter(float64_tensor(w0))
    optimiser_class = torch.optim.AdamW if decoupled else torch.optim.Adam
    optimiser = optimiser_class([param], lr=lr, weight_decay=lam)
    trajectory = []
    for grad in grads:
        param.grad = float64_tensor(grad)
        optimiser.step()
        trajectory.append(param.detach().numpy().copy())
    return np.stack(trajectory)


def check_weight_decay(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    shape = _random_shape(rng)
    steps = int(rng.integers(4, 8))
    lr, lam = float(rng.uniform(0.01, 0.1)), float(rng.uniform(0.1, 0.5))
    w0 = rng.normal(0.0, 2.0, size=shape)
    # gradients of very different sizes per coordinate: where L2 and decoupled decay differ most
    grads = rng.normal(size=(steps, *shape)) * rng.choice([0.01, 1.0, 10.0], size=shape)
    for decoupled in (False, True):
        name = "decoupled=True (AdamW)" if decoupled else "decoupled=False (L2 in the loss)"
        label = f"weight_decay_step, {name}, {steps} steps on a {shape} array"
        expected = _adam_oracle(w0, grads, lr, lam, decoupled)
        got, error = _run(student, "weight_decay_trajectory", w0, grads, lr, lam, decoupled)
        if error:
            yield case_failed(label, error, 1.5)
            continue
        other = _adam_oracle(w0, grads, lr, lam, not decoupled)
        if decoupled:
            hint = "shrink w by (1 - lr * lam), then step with adam_direction(grad) of the data gradient alone"
            if _close(got, other, 1e-10, 1e-8):
                hint = "this is L2 in the loss: with decoupled=True the decay must not go through adam_direction"
            elif _close(got, _decay_without_lr(w0, grads, lr, lam), 1e-10, 1e-8):
                hint = "the decay factor is (1 - lr * lam): it is scaled by the learning rate"
        else:
            hint = "add lam * w to the gradient, then step with adam_direction of that sum"
            if _close(got, other, 1e-10, 1e-8):
                hint = "this is decoupled decay: with decoupled=False the decay lam * w is added to the gradient"
        yield case_reweighted(compare_array(label, got, expected, atol=1e-10, rtol=1e-8, hint=hint), 1.5)
    label = f"weight_decay_step with lam=0 on a {shape} array"
    expected = _adam_oracle(w0, grads[:2], lr, 0.0, False)
    got, error = _run(student, "weight_decay_trajectory", w0, grads[:2], lr, 0.0, True)
    if error:
        yield case_failed(label, error, 0.5)
    else:
        yield case_reweighted(compare_array(label, got, expected, atol=1e-10, rtol=1e-8,
                                    hint="with lam = 0 it is a plain Adam step: w - lr * adam_direction(grad)"), 0.5)


def _decay_without_lr(w0: np.ndarray, grads: np.ndarray, lr: float, lam: float) -> np.ndarray:
    """Decoupled decay with the common slip w * (1 - lam) instead of w * (1 - lr * lam)."""
    param = torch.nn.Parameter(float64_tensor(w0))
    optimiser = torch.optim.Adam([param], lr=lr)
    trajectory = []
    for grad in grads:
        with torch.no_grad():
            param.mul_(1 - lam)
        param.grad = float64_tensor(grad)
        optimiser.step()
        trajectory.append(param.detach().numpy().copy())
    return np.stack(trajectory)


# ------------------------------------------------------------------ 4 dropout


def check_dropout(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    p = float(rng.uniform(0.2, 0.7))
    shape = (int(rng.integers(150, 250)), int(rng.integers(150, 250)))
    if rng.random() < 0.5:  # sometimes 3-D: no hard-coded layout
        shape = (shape[0] // 10, 10, shape[1])
    x = rng.uniform(0.5, 1.5, size=shape)
    where = f"a {shape} input with p={p:.2f}"
    got, error = _run(student, "dropout_run", x, p, True, _seed(rng), calls=2)
    if error:
        yield case_failed(f"dropout_forward on {where}", error, 4.5)
    else:
        out, mask = _as_array(got["out"]), _as_array(got["mask"])
        if out is None or mask is None or out.shape != (2, *shape) or mask.shape != (2, *shape):
            yield case_failed(f"dropout_forward on {where}", "out and mask should both have the shape of x", 4.5)
        else:
            yield from _dropout_statistics(x, out, mask, p, where)
            ok = bool(np.array_equal(got["x"], x))
            yield case_verdict(ok, f"dropout_forward on {where}", "x unchanged",
                           "x was changed in place: return x * mask as a new array", 0.25)

    shape = _random_shape(rng)
    x = rng.normal(size=shape)
    label = f"dropout_forward with training=False on a {shape} input"
    got, error = _run(student, "dropout_run", x, float(rng.uniform(0.2, 0.8)), False, _seed(rng))
    if error:
        yield case_failed(label, error, 1.0)
    else:
        ok = _close(got["out"][0], x, 0.0, 0.0) and _close(got["mask"][0], np.ones(shape), 0.0, 0.0)
        yield case_verdict(ok, label, "identity",
                       "at prediction time dropout is the identity: out = x and a mask of ones", 1.0)

    shape = _random_shape(rng)
    p = float(rng.uniform(0.1, 0.6))
    x, dout = rng.normal(size=shape), rng.normal(size=shape)
    mask = (rng.random(shape) >= p) / (1.0 - p)  # a fixed mask: autograd of x * mask
    xt = float64_tensor(x, grad=True)
    (expected,) = torch.autograd.grad((xt * float64_tensor(mask) * float64_tensor(dout)).sum(), xt)
    label = f"dropout_backward with a fixed mask on a {shape} array"
    got, error = _call(student, "dropout_backward", dout, mask)
    if error:
        yield case_failed(label, error, 1.5)
    else:
        hint = "the gradient flows only through the kept entries, scaled like the forward pass: dout * mask"
        yield case_reweighted(compare_array(label, got, expected.numpy(), atol=1e-12, rtol=1e-10, hint=hint), 1.5)


def _dropout_statistics(x: np.ndarray, out: np.ndarray, mask: np.ndarray, p: float,
                        where: str) -> Iterable[CaseResult]:
    label = f"dropout_forward on {where}"
    dropped = float(np.mean(out[0] == 0))
    ok = abs(dropped - p) < 0.02
    bad = f"dropped {dropped:.0%} of the entries: each entry should be dropped with probability p"
    if abs(dropped - (1 - p)) < 0.02:
        bad = "p is the probability of DROPPING an entry (as in torch.nn.Dropout), not of keeping it"
    yield case_verdict(ok, f"{label} (drop fraction)", "ok", bad, 1.5)
    kept = out[0] != 0
    scale_ok = bool(kept.any()) and bool(np.allclose(out[0][kept], x[kept] / (1 - p), rtol=1e-6, atol=0))
    bad = "kept entries should be scaled by 1 / (1 - p) (inverted dropout)"
    if bool(kept.any()) and np.allclose(out[0][kept], x[kept], rtol=1e-6, atol=0):
        bad = "kept entries are not rescaled: multiply them by 1 / (1 - p) so the expected value is unchanged"
    yield case_verdict(scale_ok, f"{label} (scaling)", "ok", bad, 1.0)
    ratio = float(out[0].mean() / x.mean())
    yield case_verdict(abs(ratio - 1) < 0.05, f"{label} (mean)", "mean kept",
                   "the mean of the output should match the mean of the input (inverted dropout)", 0.75)
    consistent = bool(np.allclose(out[0], x * mask[0], rtol=1e-6, atol=1e-12))
    yield case_verdict(consistent, f"{label} (mask)", "ok",
                   "out should equal x * mask, with mask 0 for dropped and 1 / (1 - p) for kept entries", 0.5)
    fresh = not np.array_equal(out[0] == 0, out[1] == 0)
    yield case_verdict(fresh, f"{label} (two calls)", "a new mask per call",
                   "two calls with the same generator dropped the same entries: draw a new mask from rng each call",
                   0.5)


# --------------------------------------------------------------- 5 batch norm


def _bn_case(rng: np.random.Generator, n: int | None = None, d: int | None = None):
    n = int(rng.integers(3, 40)) if n is None else n
    d = int(rng.integers(2, 10)) if d is None else d
    x = rng.normal(rng.normal(0, 3, size=d), rng.uniform(0.5, 4.0, size=d), size=(n, d))
    return x, rng.normal(1.0, 0.5, size=d), rng.normal(size=d)


def _bn_oracle(x, gamma, beta, running_mean, running_var, training, momentum, eps):
    mean, var = float64_tensor(running_mean), float64_tensor(running_var)
    out = F.batch_norm(float64_tensor(x), mean, var, float64_tensor(gamma), float64_tensor(beta), training=training, momentum=momentum, eps=eps)
    return out.numpy(), mean.numpy(), var.numpy()  # F.batch_norm updates the running tensors in place


def check_batchnorm_forward(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    x, gamma, beta = _bn_case(rng)
    d = x.shape[1]
    running_mean, running_var = rng.normal(size=d), rng.uniform(0.5, 2.0, size=d)
    momentum, eps = float(rng.uniform(0.05, 0.5)), float(rng.choice([1e-5, 1e-3]))
    label = f"batchnorm_forward (training) on x {x.shape}, momentum {momentum:.2f}"
    out, mean, var = _bn_oracle(x, gamma, beta, running_mean, running_var, True, momentum, eps)
    got, error = _run(student, "batchnorm_forward_run", x, gamma, beta, running_mean, running_var, True,
                      momentum, eps)
    if error:
        yield case_failed(label, error, 4.0)
    else:
        hint = "normalise each feature (column) with its batch mean and biased variance, then gamma * x_hat + beta"
        unbiased = gamma * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + eps) + beta
        if _close(got["out"], unbiased, 1e-9, 1e-7):
            hint = "normalise with the biased batch variance (divide by N); only running_var uses N - 1"
        elif _close(got["out"], gamma * (x - x.mean(0)) / np.sqrt(x.var(0)) + beta, 1e-12, 1e-10):
            hint = "add eps to the variance inside the square root"
        yield case_reweighted(compare_array(f"{label} (out)", got["out"], out, atol=1e-10, rtol=1e-8, hint=hint), 2.0)
        hint = "running_mean = (1 - momentum) * running_mean + momentum * batch mean"
        if _close(got["running_mean"], momentum * running_mean + (1 - momentum) * x.mean(0), 1e-10, 1e-8):
            hint = "momentum weighs the NEW batch statistic: (1 - momentum) * running + momentum * batch"
        yield case_reweighted(compare_array(f"{label} (running_mean)", got["running_mean"], mean, atol=1e-10, rtol=1e-8,
                                    hint=hint), 1.0)
        hint = "running_var = (1 - momentum) * running_var + momentum * unbiased batch variance"
        if _close(got["running_var"], (1 - momentum) * running_var + momentum * x.var(0), 1e-10, 1e-8):
            hint = "running_var uses the UNBIASED batch variance (divide by N - 1), as PyTorch does"
        yield case_reweighted(compare_array(f"{label} (running_var)", got["running_var"], var, atol=1e-10, rtol=1e-8,
                                    hint=hint), 1.0)

    x, gamma, beta = _bn_case(rng)
    running_mean, running_var = rng.normal(size=x.shape[1]), rng.uniform(0.5, 2.0, size=x.shape[1])
    label = f"batchnorm_forward (training=False) on x {x.shape}"
    out, _, _ = _bn_oracle(x, gamma, beta, running_mean, running_var, False, 0.1, 1e-5)
    got, error = _run(student, "batchnorm_forward_run", x, gamma, beta, running_mean, running_var, False, 0.1, 1e-5)
    if error:
        yield case_failed(label, error, 1.5)
    else:
        yield compare_array(f"{label} (out)", got["out"], out, atol=1e-10, rtol=1e-8,
                            hint="at prediction time normalise with running_mean and running_var, not the batch")
        ok = _close(got["running_mean"], running_mean, 0, 0) and _close(got["running_var"], running_var, 0, 0)
        yield case_verdict(ok, f"{label} (running statistics)", "unchanged",
                       "with training=False the running statistics must not change", 0.5)

    yield from _bn_sequence(student, rng)


def _bn_sequence(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    """Several training batches, then evaluation, against ``nn.BatchNorm1d``."""
    d = int(rng.integers(2, 8))
    momentum = float(rng.uniform(0.05, 0.5))
    layer = torch.nn.BatchNorm1d(d, momentum=momentum, eps=1e-5, dtype=torch.float64)
    gamma, beta = rng.normal(1.0, 0.5, size=d), rng.normal(size=d)
    with torch.no_grad():
        layer.weight.copy_(float64_tensor(gamma))
        layer.bias.copy_(float64_tensor(beta))
    batches = [_bn_case(rng, n=int(rng.integers(4, 30)), d=d)[0] for _ in range(int(rng.integers(3, 6)))]
    x_eval = _bn_case(rng, d=d)[0]
    layer.train()
    with torch.no_grad():
        for batch in batches:
            layer(float64_tensor(batch))
        layer.eval()
        expected = layer(float64_tensor(x_eval)).numpy()
    sizes = "/".join(str(len(b)) for b in batches)
    label = f"batchnorm_forward over {len(batches)} training batches of {sizes} rows and {d} features, then eval"
    got, error = _run(student, "batchnorm_sequence", batches, gamma, beta, momentum, 1e-5, x_eval)
    if error:
        yield case_failed(label, error, 1.5)
        return
    ok = _close(got["running_mean"], layer.running_mean.numpy(), 1e-10, 1e-8) and _close(
        got["running_var"], layer.running_var.numpy(), 1e-10, 1e-8)
    yield case_verdict(ok, f"{label} (running statistics)", "match nn.BatchNorm1d",
                   "the running statistics drift away from nn.BatchNorm1d's: check the momentum update and "
                   "that running_var uses the unbiased variance", 0.75)
    yield case_reweighted(compare_array(f"{label} (eval output)", got["eval_out"], expected, atol=1e-10, rtol=1e-8,
                                hint="after training, evaluation normalises with the running statistics"), 0.75)


def check_batchnorm_backward(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for _ in range(2):
        x, gamma, beta = _bn_case(rng)
        dout = rng.normal(size=x.shape)
        eps = float(rng.choice([1e-5, 1e-3]))
        xt, gt, bt = float64_tensor(x, grad=True), float64_tensor(gamma, grad=True), float64_tensor(beta, grad=True)
        out = F.batch_norm(xt, None, None, gt, bt, training=True, eps=eps)
        dx, dgamma, dbeta = (g.numpy() for g in torch.autograd.grad((out * float64_tensor(dout)).sum(), (xt, gt, bt)))
        where = f"on x {x.shape}"
        got, error = _run(student, "batchnorm_grads", x, gamma, beta, dout, eps)
        if error:
            yield case_failed(f"batchnorm_backward {where}", error, 3.0)
            continue
        inv_std = 1.0 / np.sqrt(x.var(0) + eps)
        x_hat = (x - x.mean(0)) * inv_std
        hint = "dx has three terms: x moves the output directly and through the batch mean and variance"
        if _close(got["dx"], dout * gamma * inv_std, 1e-10, 1e-8):
            hint = "dx only has the direct term: every x_n also changes the batch mean and variance"
        elif _close(got["dx"], gamma * inv_std * (dout - dout.mean(0)), 1e-10, 1e-8):
            hint = "the path through the batch variance is missing from dx"
        yield case_reweighted(compare_array(f"batchnorm_backward: dx {where}", got["dx"], dx, atol=1e-10, rtol=1e-7,
                                    hint=hint), 2.0)
        hint = "dgamma sums dout * x_hat over the batch"
        if _close(got["dgamma"], (dout * x).sum(0), 1e-10, 1e-8):
            hint = "dgamma multiplies dout by the normalised x_hat, not by x"
        elif _close(got["dgamma"], (dout * x_hat).mean(0), 1e-10, 1e-8):
            hint = "dgamma is a sum over the batch, not a mean"
        yield case_reweighted(compare_array(f"batchnorm_backward: dgamma {where}", got["dgamma"], dgamma, atol=1e-10,
                                    rtol=1e-7, hint=hint), 0.5)
        yield case_reweighted(compare_array(f"batchnorm_backward: dbeta {where}", got["dbeta"], dbeta, atol=1e-10,
                                    rtol=1e-7, hint="dbeta sums dout over the batch"), 0.5)


# ----------------------------------------------------------- 7 early stopping


def _stopping_oracle(curve: np.ndarray, patience: int, min_delta: float) -> tuple[int, int, float]:
    best, best_epoch, bad = float("inf"), -1, 0
    for epoch, loss in enumerate(curve):
        if loss < best - min_delta:
            best, best_epoch, bad = float(loss), epoch, 0
        else:
            bad += 1
        if bad >= patience:
            return epoch, best_epoch, best
    return -1, best_epoch, best


def _scripted_curves(rng: np.random.Generator) -> list[tuple[str, np.ndarray, int, float]]:
    length = int(rng.integers(25, 40))
    epochs = np.arange(length)
    turn = int(rng.integers(6, 14))
    u_shape = 1.0 + 0.004 * (epochs - turn) ** 2 + rng.normal(0, 0.01, size=length)
    decreasing = np.sort(rng.uniform(0.2, 2.0, size=int(rng.integers(8, 15))))[::-1]
    min_delta = float(rng.uniform(0.02, 0.05))
    steps = rng.uniform(0.02, 0.15, size=12) * min_delta  # steps far smaller than min_delta ...
    steps[int(rng.integers(1, 4))] = 3 * min_delta       # ... except one early real improvement
    plateau = 2.0 - np.cumsum(steps)
    tie = np.array([1.0, 0.9, 0.9, 0.9, 0.95, 0.9, 0.8, 0.9, 0.9, 0.9, 0.9]) * rng.uniform(0.5, 2.0)
    return [
        ("a noisy U-shaped validation curve", u_shape, int(rng.integers(3, 7)), 0.0),
        ("a steadily decreasing validation curve", decreasing, int(rng.integers(2, 5)), 0.0),
        ("slow improvements smaller than min_delta", plateau, int(rng.integers(3, 6)), min_delta),
        ("a curve with ties", tie, 3, 0.0),
    ]


def check_early_stopping(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    shape = (int(rng.integers(2, 5)), int(rng.integers(2, 5)))
    weights = [2.0, 0.75, 1.0, 0.75]
    for (what, curve, patience, min_delta), weight in zip(_scripted_curves(rng), weights):
        label = f"EarlyStopping(patience={patience}) on {what} of {len(curve)} epochs"
        if min_delta:
            label = f"EarlyStopping(patience={patience}, min_delta={min_delta:.3f}) on {what}"
        stop, best_epoch, best_loss = _stopping_oracle(curve, patience, min_delta)
        got, error = _run(student, "early_stopping_run", curve, patience, min_delta, shape)
        if error:
            yield case_failed(label, error, 2 * weight)
            continue
        if got["stopped_at"] == stop:
            yield CaseResult(True, f"{label}: stops at the right epoch", weight)
        else:
            if stop < 0:
                bad = "stopped although the loss kept improving"
            elif min_delta:
                bad = "an epoch only improves when val_loss < best_loss - min_delta"
            elif what.endswith("ties"):
                bad = "a tie with the best loss is not an improvement"
            elif got["stopped_at"] < 0 or got["stopped_at"] > stop:
                bad = "stops too late or never: return True once patience epochs in a row brought no improvement"
            else:
                bad = "stops too early: count only the epochs since the best one, and reset the count on improvement"
            yield case_failed(label, bad, weight)
        best_ok = got["best_epoch"] == best_epoch and abs(got["best_loss"] - best_loss) < 1e-12
        yield case_verdict(best_ok, label, "best epoch and loss ok",
                       "best_epoch (0-based call index) or best_loss is not that of the lowest loss seen", 0.5 * weight)
        saved_ok = _close(got["best_W"], np.full(shape, best_epoch + 1.0), 0, 0) and _close(
            got["best_b"], np.full(shape[-1:], -(best_epoch + 1.0)), 0, 0)
        bad = "best_params does not hold the weights of the best epoch"
        if stop >= 0 and _close(got["best_W"], np.full(shape, stop + 1.0), 0, 0) or stop < 0 and _close(
                got["best_W"], np.full(shape, len(curve) + 0.0), 0, 0):
            bad = ("best_params holds the latest weights: the optimiser changes the arrays in place, "
                   "so save copy.deepcopy(params)")
        yield case_verdict(saved_ok, label, "best weights kept", bad, 0.5 * weight)


# ------------------------------------------------------------ 8 input noise


def check_gaussian_noise(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    shape = (int(rng.integers(150, 250)), int(rng.integers(100, 150)))
    # away from 1, where sigma, sigma**2 and sqrt(sigma) would be indistinguishable
    sigma = float(rng.uniform(0.3, 0.7) if rng.random() < 0.5 else rng.uniform(1.5, 2.5))
    x = rng.normal(size=shape)
    label = f"add_gaussian_noise on a {shape} input with sigma={sigma:.2f}"
    got, error = _run(student, "noise_run", x, sigma, True, _seed(rng), calls=2)
    if error:
        yield case_failed(label, error, 4.0)
    else:
        outs = _as_array(got["out"])
        if outs is None or outs.shape != (2, *shape):
            yield case_failed(label, "the output should have the shape of x", 4.0)
        else:
            noise = outs[0] - x
            std = float(noise.std())
            ok = abs(float(noise.mean())) < 0.05 * sigma
            yield case_verdict(ok, f"{label} (mean)", "noise has mean 0", "the noise should have mean 0", 0.75)
            bad = "the noise should have standard deviation sigma"
            if abs(std - sigma**2) < 0.03 * sigma**2:
                bad = "the noise has standard deviation sigma**2: sigma is the standard deviation, not the variance"
            elif abs(std - np.sqrt(sigma)) < 0.03 * np.sqrt(sigma):
                bad = "the noise has standard deviation sqrt(sigma): multiply standard normal noise by sigma"
            elif abs(std - 1.0) < 0.03:
                bad = "the noise has standard deviation 1: multiply it by sigma"
            yield case_verdict(abs(std - sigma) < 0.03 * sigma, f"{label} (standard deviation)", "ok", bad, 1.25)
            inside = float(np.mean(np.abs(noise) < sigma))
            yield case_verdict(abs(inside - 0.6827) < 0.02, f"{label} (distribution)", "Gaussian",
                           "the noise is not normally distributed: use rng.standard_normal or rng.normal", 0.5)
            fresh = not np.allclose(outs[0], outs[1])
            yield case_verdict(fresh, f"{label} (two calls)", "fresh noise per call",
                           "two calls with the same generator added the same noise: draw new noise each call", 0.5)
            yield case_verdict(bool(np.array_equal(got["x"], x)), f"{label} (input)", "x unchanged",
                           "x was changed in place: return x + noise as a new array", 0.5)
    shape = _random_shape(rng)
    x = rng.normal(size=shape)
    label = f"add_gaussian_noise with training=False on a {shape} input"
    got, error = _run(student, "noise_run", x, float(rng.uniform(0.5, 2.0)), False, _seed(rng))
    if error:
        yield case_failed(label, error, 1.0)
    else:
        yield case_verdict(_close(got["out"][0], x, 0, 0), label, "identity",
                       "at prediction time (training=False) return x unchanged", 1.0)


# ------------------------------------------------------------- 9 augmentation


def _explain_rows(x: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row: the circular shift s (in -L/2..L/2) and factor a with out ≈ a * roll(x, s), and the fit error."""
    n, length = x.shape
    shifts = np.arange(-(length // 2), length - length // 2)
    rolled = np.stack([np.roll(x, s, axis=1) for s in shifts], axis=1)  # (N, S, L)
    factor = np.einsum("nsl,nl->ns", rolled, out) / np.einsum("nsl,nsl->ns", rolled, rolled)
    residual = np.linalg.norm(out[:, None, :] - factor[..., None] * rolled, axis=2) / (
        np.linalg.norm(out, axis=1, keepdims=True) + 1e-12)
    best = residual.argmin(axis=1)
    rows = np.arange(n)
    return shifts[best], factor[rows, best], residual[rows, best]


def check_augment(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n, length = 300, int(rng.integers(20, 50))
    max_shift, max_scale = int(rng.integers(1, 6)), float(rng.uniform(0.1, 0.4))
    x = rng.normal(size=(n, length))
    label = f"augment_shift_scale on x ({n}, {length}), max_shift={max_shift}, max_scale={max_scale:.2f}"
    got, error = _run(student, "augment_run", x, max_shift, max_scale, _seed(rng), calls=1)
    if error:
        yield case_failed(label, error, 4.0)
    else:
        out = _as_array(got["out"])
        if out is None or out.shape != (1, n, length):
            yield case_failed(label, "the output should have the shape of x", 4.0)
        else:
            yield from _augment_cases(label, x, out[0], max_shift, max_scale)
            yield case_verdict(bool(np.array_equal(got["x"], x)), f"{label} (input)", "x unchanged",
                           "x was changed in place: return a new array", 0.5)
    shape = (int(rng.integers(5, 20)), int(rng.integers(10, 40)))
    x = rng.normal(size=shape)
    label = f"augment_shift_scale with max_shift=0 and max_scale=0 on x {shape}"
    got, error = _run(student, "augment_run", x, 0, 0.0, _seed(rng))
    if error:
        yield case_failed(label, error, 0.5)
    else:
        yield case_verdict(_close(got["out"][0], x, 1e-12, 1e-12), label, "identity",
                       "with no shift and no scaling the signals should come back unchanged", 0.5)


def _augment_cases(label: str, x: np.ndarray, out: np.ndarray, max_shift: int,
                   max_scale: float) -> Iterable[CaseResult]:
    shifts, factors, residual = _explain_rows(x, out)
    explained = residual < 1e-6  # float32 results are fine
    if not explained.all():
        bad = ("some rows are not a circularly shifted (np.roll) and rescaled copy of their input row: "
               "shift and scale each signal as a whole")
        yield case_failed(f"{label} (transform)", bad, 2.0)
        return
    in_range = bool(np.all(np.abs(shifts) <= max_shift)) and bool(
        np.all((factors >= 1 - max_scale - 1e-9) & (factors <= 1 + max_scale + 1e-9)))
    bad = "shifts must lie in {-max_shift, ..., max_shift} and factors between 1 - max_scale and 1 + max_scale"
    if not np.all(np.abs(shifts) <= max_shift):
        bad = "some shifts are larger than max_shift"
    yield case_verdict(in_range, f"{label} (ranges)", "shifts and factors in range", bad, 2.0)
    per_signal = len(np.unique(shifts)) > 1 and float(np.std(factors)) > 0.1 * max_scale
    yield case_verdict(per_signal, f"{label} (independence)", "each signal has its own shift and factor",
                   "all signals got the same shift or the same factor: draw one of each per signal", 1.0)
    ends = {-max_shift, max_shift} <= {int(s) for s in shifts}
    spread = float(factors.min()) < 1 - 0.6 * max_scale and float(factors.max()) > 1 + 0.6 * max_scale
    bad = "the factors do not cover 1 - max_scale to 1 + max_scale: draw them uniformly from that interval"
    if not ends:
        bad = "the shifts never reach -max_shift or +max_shift: draw integers from -max_shift to max_shift inclusive"
    yield case_verdict(ends and spread, f"{label} (coverage)", "the whole ranges are used", bad, 0.5)


# ----------------------------------------------------------- 10 trained model

FULL_ACCURACY = 0.68   # reference solution: 0.72-0.75 on fresh signals (5 seeds); unregularised MLP: 0.57-0.63
PART_ACCURACY = 0.55   # a network that learned something
HELDOUT_SAMPLES = 1250  # generated fresh; all of them are held out


def _fresh_mnist1d(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    from dlcourse_regularisation.data import DEFAULT_SEED, load_mnist1d

    seed = int(rng.integers(1_000, 2**31 - 1))
    seed = seed + 1 if seed == DEFAULT_SEED else seed
    X, y, X_test, y_test = load_mnist1d(seed=seed, num_samples=HELDOUT_SAMPLES)
    return np.concatenate([X, X_test]), np.concatenate([y, y_test])


def check_train(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    X, y = _fresh_mnist1d(rng)
    label = f"final_model on {len(X)} freshly generated MNIST-1D signals"
    got, error = _run(student, "predict_twice", X)
    if error:
        yield case_failed(label, error, 5.0)
        return
    labels, again = _as_array(got["labels"]), _as_array(got["labels_again"])
    if labels is None or labels.shape != y.shape or not np.all(np.isin(labels, np.arange(10))):
        yield case_failed(label, f"predict should return one label 0-9 per signal, shape ({len(X)},)", 5.0)
        return
    yield CaseResult(True, f"{label}: labels ok", 0.5)
    same = again is not None and bool(np.array_equal(labels, again))
    yield case_verdict(same, f"{label} (two predict calls)", "deterministic",
                   "predict gave different answers for the same signals: switch dropout off with model.eval() "
                   "inside predict", 1.0)
    accuracy = float(np.mean(labels == y))
    for threshold, weight in ((PART_ACCURACY, 1.0), (FULL_ACCURACY, 2.0)):
        ok = accuracy >= threshold
        verdict = f"held-out accuracy {accuracy:.1%} {'meets' if ok else 'is below'} {threshold:.0%}"
        advice = "" if ok else (" — follow the recipe: augmentation, input noise, dropout, AdamW, "
                                "early stopping with the best weights restored")
        yield CaseResult(ok, f"{label}: {verdict}{advice}", weight)
    yield from _restored_best(student)


def _restored_best(student: Student) -> Iterable[CaseResult]:
    from dlcourse_regularisation.data import load_mnist1d_split

    _, _, X_val, y_val, _, _ = load_mnist1d_split()
    label = "final_model on the validation set"
    got, error = _run(student, "model_logits", X_val)
    if error:
        yield case_failed(label, error, 0.5)
        return
    logits, history = _as_array(got["logits"]), _as_array(got["val_loss"])
    if logits is None or logits.shape != (len(y_val), 10) or history is None or history.size == 0:
        yield case_failed(label, "the model should map (M, 40) inputs to (M, 10) logits and history['val_loss'] "
                    "should hold one value per epoch", 0.5)
        return
    loss = float(F.cross_entropy(float64_tensor(logits), torch.as_tensor(y_val)))
    ok = abs(loss - float(history.min())) <= 1e-3 * (1 + loss)
    yield case_verdict(ok, label, "has the best validation loss recorded",
                   "its validation loss is not the best one in history['val_loss']: "
                   "load the early-stopping weights back at the end", 0.5)


CHECKS: list[Check] = [
    Check("regularisation.l2_penalty", TOPIC, "l2_penalty", check_l2_penalty),
    Check("regularisation.l1_penalty", TOPIC, "l1_penalty", check_l1_penalty),
    Check("regularisation.weight_decay", TOPIC, "weight_decay_step", check_weight_decay),
    Check("regularisation.dropout", TOPIC, "dropout_forward / dropout_backward", check_dropout),
    Check("regularisation.batchnorm_forward", TOPIC, "batchnorm_forward", check_batchnorm_forward),
    Check("regularisation.batchnorm_backward", TOPIC, "batchnorm_backward", check_batchnorm_backward),
    Check("regularisation.early_stopping", TOPIC, "EarlyStopping", check_early_stopping),
    Check("regularisation.gaussian_noise", TOPIC, "add_gaussian_noise", check_gaussian_noise),
    Check("regularisation.augment", TOPIC, "augment_shift_scale", check_augment),
    Check("regularisation.train", TOPIC, "train_regularised / predict", check_train),
]
