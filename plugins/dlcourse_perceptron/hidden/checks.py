"""Hidden checks for the perceptron assignment.

Each check draws fresh inputs and shapes from ``rng``, sends them to the
student through :class:`dlcourse.checking.Student` and compares what comes
back with its own float64 PyTorch oracle or with a behavioural property.
Messages say what is wrong and on which shape, never the expected values.
"""

from __future__ import annotations

from typing import Any, Iterable

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

TOPIC = "perceptron"
DRIVERS = "dlcourse_perceptron.drivers"
KEYS = ("W1", "b1", "W2", "b2")


# ----------------------------------------------------------------- helpers


def _call(student: Student, name: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    try:
        return student.call(name, *args, **kwargs), None
    except StudentError as error:
        return None, str(error)


def _run(student: Student, driver: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    try:
        return student.run(f"{DRIVERS}:{driver}", *args, **kwargs), None
    except StudentError as error:
        return None, str(error)


def _close(got: Any, expected: np.ndarray, atol: float, rtol: float) -> bool:
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == expected.shape and bool(np.allclose(got, expected, atol=atol, rtol=rtol))


def _random_shape(rng: np.random.Generator) -> tuple[int, ...]:
    ndim = int(rng.integers(1, 4))
    return tuple(int(n) for n in rng.integers(2, 7, size=ndim))


# ------------------------------------------------------------------ 1 sigmoid


def check_sigmoid(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    shape = _random_shape(rng)
    z = rng.normal(0.0, 3.0, size=shape)
    expected = torch.sigmoid(float64_tensor(z)).numpy()
    label = f"sigmoid on a {shape} array"
    got, error = _call(student, "sigmoid", z)
    if error:
        yield case_failed(label, error, 2.0)
    else:
        hint = "sigmoid(z) = 1 / (1 + exp(-z))"
        if _close(got, 1.0 - expected, 1e-10, 1e-8):
            hint = "this looks like sigmoid(-z): check the sign inside exp"
        yield case_reweighted(compare_array(label, got, expected, atol=1e-12, rtol=1e-10, hint=hint), 2.0)

    shape = _random_shape(rng)
    z = rng.uniform(40.0, 900.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    expected = torch.sigmoid(float64_tensor(z)).numpy()
    label = f"sigmoid on a {shape} array with large |z|"
    got, error = _run(student, "sigmoid_strict", z)
    if error and "FloatingPointError" in error:
        yield case_failed(label, "exp overflows (or gives NaN) for large |z| — "
                    "only call exp on non-positive numbers")
    elif error:
        yield case_failed(label, error)
    else:
        yield compare_array(label, got, expected, atol=1e-12, rtol=1e-10,
                            hint="values must saturate to 0 and 1 without NaN")

    z = np.concatenate([-np.linspace(0.1, 6.0, 5), [0.0], np.linspace(0.1, 6.0, 5)])
    label = "sigmoid symmetry on a (11,) array"
    got, error = _call(student, "sigmoid", z)
    if error:
        yield case_failed(label, error, 0.5)
    else:
        ok = _close(got, torch.sigmoid(float64_tensor(z)).numpy(), 1e-12, 1e-10)
        yield case_verdict(
            ok, label, "ok",
            "sigmoid(-z) should equal 1 - sigmoid(z) and sigmoid(0) = 0.5",
            0.5,
        )


# ---------------------------------------------------------------------- 2 bce


def _bce_oracle(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    zt = float64_tensor(z, grad=True)
    loss = F.binary_cross_entropy_with_logits(zt, float64_tensor(y), reduction="mean")
    (dz,) = torch.autograd.grad(loss, zt)
    return float(loss.detach()), dz.numpy()


def _bce_cases(student: Student, z: np.ndarray, y: np.ndarray, what: str) -> Iterable[CaseResult]:
    n = z.shape[0]
    label = f"bce_with_logits on {n} {what}"
    loss, dz = _bce_oracle(z, y)
    got, error = _call(student, "bce_with_logits", z, y)
    if error:
        yield case_failed(label, error, 2.0)
        return
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        yield case_failed(label, "should return a pair (loss, dz)", 2.0)
        return
    got_loss, got_dz = got
    try:
        got_loss = float(np.asarray(got_loss, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        yield case_failed(f"{label} (loss)", "the loss should be a single number")
    else:
        if not np.isfinite(got_loss):
            yield case_failed(f"{label} (loss)", "the loss is NaN or inf — "
                        "compute it from the logits without log(sigmoid(z))")
        elif abs(got_loss - loss) <= 1e-10 + 1e-8 * abs(loss):
            yield CaseResult(True, f"{label} (loss): ok")
        else:
            hint = "it should be the mean over the batch"
            if abs(got_loss - loss * n) <= 1e-8 * abs(loss * n) + 1e-10:
                hint = "looks like the sum over the batch: take the mean"
            elif what.startswith("large"):
                hint = "not stable for large |z|: avoid taking log of sigmoid(z)"
            yield case_failed(f"{label} (loss)", f"wrong value ({hint})")
    hint = "dL/dz of the mean loss"
    if _close(got_dz, dz * n, 1e-10, 1e-8):
        hint = "looks like the gradient of the sum: the loss is a mean, divide by N"
    elif _close(got_dz, -dz, 1e-10, 1e-8):
        hint = "the sign is flipped"
    yield compare_array(f"{label} (dz)", got_dz, dz, atol=1e-12, rtol=1e-8, hint=hint)


def check_bce(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n = int(rng.integers(3, 40))
    z = rng.normal(0.0, 2.0, size=n)
    y = rng.integers(0, 2, size=n).astype(np.float64)
    yield from _bce_cases(student, z, y, "random logits")
    n = int(rng.integers(3, 12))
    y = rng.integers(0, 2, size=n).astype(np.float64)
    z = rng.uniform(40.0, 700.0, size=n) * np.where(rng.random(n) < 0.7, 1 - 2 * y, 2 * y - 1)
    yield from _bce_cases(student, z, y, "large logits")


# ----------------------------------------------------------------- 3 logistic


def _logistic_oracle(X, y, lr, epochs):
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    Xt, yt = float64_tensor(X), float64_tensor(y)
    losses = []
    for _ in range(epochs):
        loss = F.binary_cross_entropy_with_logits(Xt @ w + b, yt)
        gw, gb = torch.autograd.grad(loss, (w, b))
        losses.append(float(loss.detach()))
        with torch.no_grad():
            w -= lr * gw
            b -= lr * gb
    return w.detach().numpy(), float(b.detach()), np.array(losses)


def check_logistic(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n, d = int(rng.integers(20, 60)), int(rng.integers(2, 6))
    epochs, lr = int(rng.integers(15, 40)), float(rng.uniform(0.05, 0.5))
    X = rng.normal(size=(n, d))
    y = ((X @ rng.normal(size=d) + 0.5 * rng.normal(size=n)) > 0).astype(np.float64)
    label = f"train_logistic on a ({n}, {d}) batch, {epochs} epochs"
    got, error = _call(student, "train_logistic", X, y, lr=lr, epochs=epochs)
    if error:
        yield case_failed(label, error, 3.0)
        return
    if isinstance(got, dict):
        got = (got.get("w"), got.get("b"), got.get("losses"))
    if not (isinstance(got, (tuple, list)) and len(got) == 3):
        yield case_failed(label, "should return (w, b, losses)", 3.0)
        return
    w, b, losses = got
    w_ref, b_ref, losses_ref = _logistic_oracle(X, y, lr, epochs)
    yield case_reweighted(compare_array(f"{label} (losses)", losses, losses_ref, atol=1e-10, rtol=1e-7,
                                hint="start from zeros and record the loss before each update"), 0.75)
    try:
        lossy = np.asarray(losses, dtype=np.float64).ravel()
        ok = lossy.size >= 2 and bool(np.all(np.diff(lossy) <= 1e-12)) and lossy[-1] < lossy[0]
    except (TypeError, ValueError):
        ok = False
    yield case_verdict(
        ok, label, "loss decreases",
        "the loss should decrease at every epoch with a small lr",
        0.5,
    )
    yield case_reweighted(compare_array(f"{label} (w)", w, w_ref, atol=1e-9, rtol=1e-7,
                                hint="gradient descent on the mean loss: dw = X.T @ dz"), 1.0)
    b = np.asarray(b, dtype=np.float64).reshape(()) if np.size(b) == 1 else b
    yield case_reweighted(compare_array(f"{label} (b)", b,
                                np.asarray(b_ref), atol=1e-9, rtol=1e-7, hint="db is the sum of dz"), 0.75)


# ----------------------------------------------------------- 4 perceptron rule


def _perceptron_oracle(X, y, epochs):
    w, b, mistakes = np.zeros(X.shape[1]), 0.0, 0
    for _ in range(epochs):
        clean = True
        for x_i, y_i in zip(X, y):
            if y_i * (x_i @ w + b) <= 0:
                w, b, mistakes, clean = w + y_i * x_i, b + y_i, mistakes + 1, False
        if clean:
            break
    return w, b, mistakes


def _separable(rng: np.random.Generator, n: int, d: int):
    direction = rng.normal(size=d + 1)
    direction /= np.linalg.norm(direction)
    w_star, b_star = direction[:d], 0.3 * direction[d]
    norm = np.linalg.norm(np.append(w_star, b_star))
    gap = float(rng.uniform(0.2, 0.35))
    X = np.empty((0, d))
    while len(X) < n:
        cand = rng.uniform(-2.0, 2.0, size=(4 * n, d))
        X = np.vstack([X, cand[np.abs(cand @ w_star + b_star) / norm >= gap]])
    X = X[:n]
    y = np.sign(X @ w_star + b_star)
    gamma = float(np.min(y * (X @ w_star + b_star)) / norm)
    radius = float(np.max(np.linalg.norm(np.hstack([X, np.ones((n, 1))]), axis=1)))
    return X, y, (radius / gamma) ** 2


def _unpack_perceptron(got):
    if isinstance(got, dict):
        got = (got.get("w"), got.get("b"), got.get("mistakes"))
    if not (isinstance(got, (tuple, list)) and len(got) == 3):
        raise ValueError("should return (w, b, mistakes)")
    w, b, mistakes = got
    w = np.asarray(w, dtype=np.float64).ravel()
    b = float(np.asarray(b, dtype=np.float64).reshape(()))
    mistakes = float(np.asarray(mistakes, dtype=np.float64).reshape(()))
    return w, b, mistakes


def check_perceptron_rule(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n, d = int(rng.integers(20, 60)), int(rng.integers(2, 5))
    X, y, bound = _separable(rng, n, d)
    epochs = int(bound) + 2  # enough: every pass before convergence makes a mistake
    label = f"perceptron_train on separable data of shape ({n}, {d})"
    got, error = _call(student, "perceptron_train", X, y, epochs=epochs)
    if error:
        yield case_failed(label, error, 3.0)
    else:
        try:
            w, b, mistakes = _unpack_perceptron(got)
        except (TypeError, ValueError) as problem:
            problem_name = type(problem).__name__
            yield case_failed(label, f"should return (w, b, mistakes), w of shape (D,) ({problem_name})", 3.0)
        else:
            ok = w.shape == (d,) and bool(np.all(y * (X @ w + b) > 0))
            yield case_verdict(
                ok, label, "separates the data",
                "the returned (w, b) misclassifies training points — "
                "update on y*(w.x+b) <= 0 and keep going until a clean pass",
                1.0,
            )
            ok = 1 <= mistakes <= bound
            yield case_verdict(
                ok, label, "mistake count within the bound",
                "the mistake count is outside Novikoff’s bound — count every update, once",
                0.75,
            )
            w_ref, b_ref, m_ref = _perceptron_oracle(X, y, epochs)
            ok = (w.shape == w_ref.shape and np.allclose(w, w_ref, atol=1e-9)
                  and abs(b - b_ref) < 1e-9 and mistakes == m_ref)
            yield case_verdict(
                ok, label, "follows the stated rule",
                "differs from the stated rule — "
                "start from zeros, visit points in order, update w += y*x and b += y when y*(w.x+b) <= 0",
                0.75,
            )
    epochs = int(rng.integers(4, 12))
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Xx = corners * rng.uniform(0.5, 2.0) + rng.normal(0, 0.01, size=(4, 2))
    yx = np.array([-1.0, 1.0, 1.0, -1.0])
    order = rng.permutation(4)
    label = f"perceptron_train on XOR with epochs={epochs}"
    got, error = _call(student, "perceptron_train", Xx[order], yx[order], epochs=epochs)
    if error:
        yield case_failed(label, error, 0.5)
    else:
        try:
            _, _, mistakes = _unpack_perceptron(got)
        except (TypeError, ValueError):
            yield case_failed(label, "should return (w, b, mistakes)", 0.5)
        else:
            ok = epochs <= mistakes <= 4 * epochs
            yield case_verdict(
                ok, label, "ok",
                "on data no line separates, every pass makes at least one mistake "
                "and the loop stops after epochs passes",
                0.5,
            )


# ---------------------------------------------------------------- 5 MLP


def _random_params(rng: np.random.Generator, d: int, h: int, scale: float = 1.0) -> dict[str, np.ndarray]:
    return {
        "W1": scale * rng.normal(size=(d, h)),
        "b1": scale * rng.normal(size=h),
        "W2": scale * rng.normal(size=(h, 1)),
        "b2": scale * rng.normal(size=1),
    }


def _torch_logits(params: dict[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
    hidden = torch.tanh(X @ params["W1"] + params["b1"])
    return (hidden @ params["W2"].reshape(params["W2"].shape[0], -1) + params["b2"]).reshape(-1)


def _own_predict(params: dict[str, Any], X: np.ndarray) -> np.ndarray:
    tp = {key: float64_tensor(params[key]) for key in KEYS}
    return (_torch_logits(tp, float64_tensor(X)).numpy() >= 0).astype(np.int64)


def check_mlp_forward(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    cases = [
        ("random", 1.0, False, 2.0),
        ("large weights", 15.0, False, 1.0),
        ("all-zero inputs", 1.0, True, 1.0),
    ]
    for what, scale, zero_x, weight in cases:
        n, d, h = int(rng.integers(3, 20)), int(rng.integers(2, 6)), int(rng.integers(2, 10))
        params = _random_params(rng, d, h, scale)
        X = np.zeros((n, d)) if zero_x else rng.normal(size=(n, d))
        expected = torch.sigmoid(_torch_logits({k: float64_tensor(v) for k, v in params.items()}, float64_tensor(X))).numpy()
        label = f"mlp_forward on a ({n}, {d}) batch with {h} hidden units ({what})"
        got, error = _run(student, "mlp_forward_probs", params, X)
        if error:
            yield case_failed(label, error, weight)
            continue
        hint = "tanh on the hidden layer, sigmoid on the output"
        if zero_x:
            hint = "with X = 0 only the biases matter — are b1 and b2 added?"
        elif scale > 1:
            hint = "large weights saturate the units: check both layers and use your stable sigmoid"
        yield case_reweighted(compare_array(label, got, expected, atol=1e-12, rtol=1e-9, hint=hint), weight)


_BACKWARD_HINTS = {
    "W1": "check the tanh derivative 1 - h**2 and the chain through W2",
    "b1": "db1 sums the hidden-layer gradient over the batch; check the tanh derivative",
    "W2": "dW2 combines the hidden activations with dL/dz = (p - y) / N",
    "b2": "db2 sums dL/dz = (p - y) / N over the batch",
}


def check_mlp_backward(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for _ in range(2):
        n, d, h = int(rng.integers(3, 20)), int(rng.integers(2, 6)), int(rng.integers(2, 10))
        params = _random_params(rng, d, h)
        X = rng.normal(size=(n, d))
        y = rng.integers(0, 2, size=n).astype(np.float64)
        tp = {key: float64_tensor(value, grad=True) for key, value in params.items()}
        loss = F.binary_cross_entropy_with_logits(_torch_logits(tp, float64_tensor(X)), float64_tensor(y))
        expected = dict(zip(KEYS, (g.numpy() for g in torch.autograd.grad(loss, [tp[k] for k in KEYS]))))
        where = f"on a ({n}, {d}) batch with {h} hidden units"
        got, error = _run(student, "mlp_backward_grads", params, X, y)
        if error:
            yield case_failed(f"mlp_backward {where}", error, 2.0)
            continue
        for key in KEYS:
            label = f"mlp_backward: d{key} {where}"
            if key not in got:
                yield case_failed(label, f"the gradient dict has no key {key!r}", 0.5)
                continue
            hint = _BACKWARD_HINTS[key]
            if _close(got[key], expected[key] * n, 1e-10, 1e-7):
                hint = "looks like the gradient of the summed loss: divide by N"
            result = compare_array(label, got[key], expected[key], atol=1e-11, rtol=1e-7, hint=hint)
            yield case_reweighted(result, 0.5)


# ----------------------------------------------------- 6 numerical gradient


def _autograd_of(kind: str, data: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    xt = float64_tensor(x, grad=True)
    flat = xt.reshape(-1)
    if kind == "quadratic":
        A, b = float64_tensor(data["A"]), float64_tensor(data["b"])
        value = 0.5 * flat @ A @ flat + b @ flat
    elif kind == "tanh_layer":
        value = float64_tensor(data["c"]) @ torch.tanh(float64_tensor(data["W"]) @ flat + float64_tensor(data["d"]))
    else:
        raise ValueError(kind)
    (grad,) = torch.autograd.grad(value, xt)
    return grad.numpy()


def check_numerical_gradient(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n = int(rng.integers(3, 8))
    M = rng.normal(size=(n, n))
    quadratic = {"A": M @ M.T + n * np.eye(n), "b": rng.normal(size=n)}
    shape = (int(rng.integers(2, 4)), int(rng.integers(2, 4)))
    m = int(np.prod(shape))
    tanh_layer = {"W": rng.normal(size=(4, m)), "c": rng.normal(size=4), "d": rng.normal(size=4)}
    cases = [("quadratic", quadratic, rng.normal(size=n)), ("tanh_layer", tanh_layer, rng.normal(size=shape))]
    for kind, data, x in cases:
        name = "quadratic" if kind == "quadratic" else "tanh layer"
        label = f"numerical_gradient of a {name} at a {x.shape} point"
        got, error = _run(student, "numgrad_of", kind, data, x)
        if error:
            yield case_failed(label, error, 1.0)
            continue
        grad, x_after = got
        gradient = compare_array(label, grad, _autograd_of(kind, data, x), atol=1e-8, rtol=1e-6,
                                 hint="use the centred difference (f(x+h) - f(x-h)) / (2h) for each entry")
        yield gradient
        if not gradient.passed:  # a function that does nothing leaves x unchanged too: no credit for that alone
            yield case_failed(label, "x left unchanged is credited once the gradient is right", 0.25)
            continue
        ok = _close(x_after, x, 0.0, 0.0)
        yield case_verdict(
            ok, label, "x left unchanged",
            "x was changed by the call — restore each entry after perturbing it",
            0.25,
        )
    h = float(rng.choice([1e-3, 3e-3, 1e-2]))
    x = rng.uniform(-2.0, 2.0, size=int(rng.integers(2, 6)))
    label = f"numerical_gradient with h={h:g} on a {x.shape} point"
    got, error = _run(student, "numgrad_of", "cubic", {}, x, h=h)
    if error:
        yield case_failed(label, error, 0.5)
    else:
        # the centred difference of x**3 is exactly 3x**2 + h**2
        yield case_reweighted(compare_array(label, got[0], 3 * x**2 + h**2, atol=1e-7, rtol=1e-7,
                                    hint="is the h argument used, with a centred difference?"), 0.5)


# ------------------------------------------------------------- 7 train_mlp

TRAIN_SETTINGS = {"hidden": 16, "lr": 1.0, "epochs": 1500}
MIN_ACCURACY = 0.95


def check_train_mlp(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    from sklearn.datasets import make_moons

    data_seed, init_seed = (int(s) for s in rng.integers(0, 2**31 - 1, size=2))
    X, y = make_moons(n_samples=200, noise=0.15, random_state=data_seed)
    X_test, y_test = make_moons(n_samples=500, noise=0.15, random_state=data_seed + 1)
    label = "train_mlp on a fresh (200, 2) moons sample"
    got, error = _call(student, "train_mlp", X, y.astype(np.int64), seed=init_seed, **TRAIN_SETTINGS)
    if error:
        yield case_failed(label, error, 3.0)
        return
    h = TRAIN_SETTINGS["hidden"]
    if not isinstance(got, dict) or any(key not in got for key in KEYS):
        yield case_failed(label, "should return a dict with keys W1, b1, W2, b2", 3.0)
        return
    try:
        params = {key: np.asarray(got[key], dtype=np.float64) for key in KEYS}
        params["W2"] = params["W2"].reshape(h, 1)
        params["b2"] = params["b2"].reshape(1)
        shapes_ok = params["W1"].shape == (2, h) and params["b1"].shape == (h,)
    except (TypeError, ValueError):
        shapes_ok = False
    wanted = f"parameter shapes should be W1 (2, {h}), b1 ({h},), W2 ({h}, 1), b2 (1,)"
    yield case_verdict(shapes_ok, label, "parameter shapes ok", wanted, 0.5)
    if not shapes_ok:
        yield case_failed(label, "cannot evaluate the trained network", 2.5)
        return
    if not all(np.all(np.isfinite(value)) for value in params.values()):
        yield case_failed(label, "the trained parameters contain NaN or inf", 2.5)
        return
    own = _own_predict(params, X_test)
    accuracy = float(np.mean(own == y_test))
    ok = accuracy >= MIN_ACCURACY
    verdict = (f"held-out accuracy {accuracy:.1%} {'meets' if ok else 'is below'} "
               f"the required {MIN_ACCURACY:.0%}")
    advice = " — check the step direction, the initialisation scale and that every parameter is updated"
    yield CaseResult(ok, f"{label}: {verdict}{'' if ok else advice}", 2.0)
    label = "mlp_predict on 500 held-out moons points"
    got, error = _call(student, "mlp_predict", got, X_test)
    if error:
        yield case_failed(label, error, 0.5)
        return
    try:
        labels = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        labels = np.zeros(0)
    binary = bool(np.all((labels == 0) | (labels == 1)))
    ok = labels.shape == (500,) and binary and float(np.mean(labels == own)) >= 0.99
    yield case_verdict(
        ok, label, "ok",
        "should return labels 0/1 of shape (N,), 1 where the probability is at least 0.5",
        0.5,
    )


CHECKS: list[Check] = [
    Check("perceptron.sigmoid", TOPIC, "sigmoid", check_sigmoid),
    Check("perceptron.bce", TOPIC, "bce_with_logits", check_bce),
    Check("perceptron.logistic", TOPIC, "train_logistic", check_logistic),
    Check("perceptron.perceptron_rule", TOPIC, "perceptron_train", check_perceptron_rule),
    Check("perceptron.mlp_forward", TOPIC, "mlp_forward", check_mlp_forward),
    Check("perceptron.mlp_backward", TOPIC, "mlp_backward", check_mlp_backward),
    Check("perceptron.numerical_gradient", TOPIC, "numerical_gradient", check_numerical_gradient),
    Check("perceptron.train_mlp", TOPIC, "train_mlp", check_train_mlp),
]
