"""Hidden checks for the optimizers assignment.

Each check draws fresh shapes, hyper-parameters and data from ``rng``, runs
the student's code through :class:`dlcourse.checking.Student` (the drivers
build parameters, models and schedules next to the student's code) and
compares what comes back with PyTorch's own optimizers run in float64 by the
same driver code, or with a behavioural property (a convergence rate,
invariance to the loss scale, the ranking of optimizers, a held-out
accuracy). Messages say what is wrong and on which case, never the expected
values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from dlcourse.checking import CaseResult, Student, StudentError, case_failed, case_verdict
from dlcourse.types import Check
from dlcourse_optimizers import drivers
from dlcourse_optimizers.hidden.variants import HINTS

TOPIC = "optimizers"
DRIVERS = "dlcourse_optimizers.drivers"
#: float64 trajectories of equivalent formulas agree to about 1e-15
ATOL, RTOL = 1e-9, 1e-7


# ----------------------------------------------------------------- helpers


def _call(student: Student, name: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    try:
        return student.call(name, *args, **kwargs), None
    except StudentError as error:
        return None, str(error)


def _run(student: Student, driver: str, *args: Any, subject: str = "",
         **kwargs: Any) -> tuple[Any, str | None]:
    """Run a driver; an error message names ``subject`` (the student's code), not the driver."""
    try:
        return student.run(f"{DRIVERS}:{driver}", *args, **kwargs), None
    except StudentError as error:
        message = str(error)
        return None, message.replace(f"`{driver}`", f"`{subject}`") if subject else message


def _fmt(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _settings(options: dict[str, Any]) -> str:
    return ", ".join(f"{key}={_fmt(value)}" for key, value in options.items())


# -------------------------------------------------- optimizer trajectories


@dataclass
class TrajectoryCase:
    """One run of an optimizer: its construction, the lr changes and the weight of the case."""

    what: str
    defaults: dict[str, Any]
    groups: list[dict[str, Any]]
    steps: int
    weight: float = 1.0
    lr_changes: list[tuple[int, list[float]]] = field(default_factory=list)


Arrays = dict[str, np.ndarray]


def _mlp_problem(rng: np.random.Generator, spare: bool) -> tuple[Arrays, Arrays]:
    """Random parameters W1 (D, H), b1, W2 (H, K), b2 (and ``spare``) and data X (N, D), Y (N, K)."""
    n, d = int(rng.integers(6, 16)), int(rng.integers(2, 6))
    h, k = int(rng.integers(2, 7)), int(rng.integers(1, 4))
    params = {
        "W1": rng.normal(0.0, 0.8, size=(d, h)),
        "b1": rng.normal(0.0, 0.3, size=h),
        "W2": rng.normal(0.0, 0.8, size=(h, k)),
        "b2": rng.normal(0.0, 0.3, size=k),
    }
    if spare:  # a parameter the loss does not use: its .grad stays None
        params["spare"] = rng.normal(size=int(rng.integers(2, 5)))
    data = {"X": rng.normal(size=(n, d)), "Y": rng.normal(size=(n, k))}
    return params, data


def _shapes(params: dict[str, np.ndarray]) -> str:
    return ", ".join(f"{name} {tuple(value.shape)}" for name, value in params.items())


def _trajectory(student_or_none: Student | None, optimizer: str, case: TrajectoryCase,
                params: dict[str, np.ndarray], data: dict[str, np.ndarray], *,
                problem: str = "mlp_regression", scale: float = 1.0,
                namespace: dict[str, Any] | None = None) -> tuple[Any, str | None]:
    """The iterates of one case: the student's (through the sandbox) or, without a student, trusted ones."""
    kwargs = {"problem": problem, "data": data, "steps": case.steps, "defaults": case.defaults,
              "lr_changes": case.lr_changes, "scale": scale}
    if student_or_none is None:  # trusted: run the driver here, on PyTorch's class or a variant
        return drivers.optimizer_trajectory(namespace or {}, optimizer, params, case.groups, **kwargs), None
    return _run(student_or_none, "optimizer_trajectory", optimizer, params, case.groups,
                subject=f"{optimizer}.step", **kwargs)


def _as_history(got: Any, params: dict[str, np.ndarray], steps: int) -> dict[str, np.ndarray] | None:
    if not isinstance(got, dict):
        return None
    try:
        history = {name: np.asarray(got[name], dtype=np.float64) for name in params}
    except (KeyError, TypeError, ValueError):
        return None
    if any(history[name].shape != (steps + 1, *params[name].shape) for name in params):
        return None
    return history


def _first_difference(got: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                      atol: float = ATOL, rtol: float = RTOL) -> int | None:
    """The first step (1-based) after which some parameter differs, or None when all agree."""
    steps = next(iter(expected.values())).shape[0] - 1
    for step in range(1, steps + 1):
        for name in expected:
            a, b = got[name][step], expected[name][step]
            if not (np.all(np.isfinite(a)) and np.allclose(a, b, atol=atol, rtol=rtol)):
                return step
    return None


def _diagnose(history: dict[str, np.ndarray], expected: dict[str, np.ndarray], kind: str,
              case: TrajectoryCase, params: dict[str, np.ndarray], data: dict[str, np.ndarray]) -> str:
    """A hint for a wrong trajectory: what it looks like, never what was expected."""
    if not all(np.all(np.isfinite(value)) for value in history.values()):
        if kind == "Adam":
            return "NaN or inf appeared: is t incremented before the bias correction, so that t starts at 1?"
        return "NaN or inf appeared in the parameters"
    moved = [name for name in expected if not np.allclose(expected[name][-1], expected[name][0])]
    if moved and all(np.array_equal(history[name][-1], history[name][0]) for name in moved):
        return "the parameters never change: update them in place (p.add_(...), p.sub_(...) or p -= ...)"
    if "spare" in params and not np.array_equal(history["spare"][-1], history["spare"][0]):
        return "a parameter whose .grad is None must be skipped"
    for variant, hint in HINTS.get(kind, []):
        alternative, _ = _trajectory(None, "Variant", case, params, data, namespace={"Variant": variant})
        if _first_difference(history, alternative) is None:
            return hint
    if _first_difference(history, expected, atol=1e-6, rtol=1e-4) is None:
        return ("very close but not float64-exact: create state with torch.zeros_like(p) "
                "and keep it in p's dtype")
    if case.lr_changes:
        return "read group['lr'] at every step: a scheduler changes it between steps"
    if len(case.groups) > 1:
        return "read lr and the other hyper-parameters from each param group (group['lr'], ...) at every step"
    return f"compare your update with the {kind} equations stated in the notebook"


def _trajectory_cases(student: Student, name: str, kind: str, cases: list[TrajectoryCase],
                      rng: np.random.Generator) -> Iterable[CaseResult]:
    """Run each case with the student's class and with PyTorch's, compare step by step."""
    info, error = _run(student, "optimizer_info", name, subject=name)
    total = sum(case.weight for case in cases)
    if error:
        yield case_failed(name, error, total)
        return
    if not info["defined"]:
        yield case_failed(name, f"`{name}` is not defined in your notebook", total)
        return
    if not info["is_optimizer"]:
        yield case_failed(name, "should be a class derived from torch.optim.Optimizer", total)
        return
    if info["builtin_base"]:
        yield case_failed(name, "derive from torch.optim.Optimizer and write the update yourself, "
                          "not from one of PyTorch's optimizers", total)
        return
    for case in cases:
        params, data = _mlp_problem(rng, spare="spare" in case.groups[-1]["params"])
        settings = _settings(case.defaults)
        if len(case.groups) > 1:
            settings += "; group 2: " + _settings({k: v for k, v in case.groups[1].items() if k != "params"})
        label = f"{name} {case.what} ({settings}), {case.steps} steps on parameters {_shapes(params)}"
        got, error = _trajectory(student, name, case, params, data)
        if error:
            yield case_failed(label, error, case.weight)
            continue
        expected, _ = _trajectory(None, f"torch:{kind}", case, params, data)
        history = _as_history(got, params, case.steps)
        if history is None:
            yield case_failed(label, "the driver could not read the parameters back", case.weight)
            continue
        step = _first_difference(history, expected)
        if step is None:
            yield CaseResult(True, f"{label}: matches torch.optim.{kind} step by step", case.weight)
        else:
            hint = _diagnose(history, expected, kind, case, params, data)
            message = f"parameters differ from torch.optim.{kind} after step {step} ({hint})"
            yield case_failed(label, message, case.weight)


def _pick(rng: np.random.Generator, values: list[float]) -> float:
    return float(values[int(rng.integers(len(values)))])


ALL = ["W1", "b1", "W2", "b2"]
FIRST, SECOND = ["W1", "b1"], ["W2", "b2", "spare"]


# ---------------------------------------------------------------- 2 SGD


def _sgd_defaults(lr: float, momentum: float = 0.0, nesterov: bool = False,
                  weight_decay: float = 0.0) -> dict[str, Any]:
    return {"lr": lr, "momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay}


def check_sgd(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    lrs = [0.02, 0.05, 0.1, 0.2]
    steps = int(rng.integers(6, 11))
    cases = [
        TrajectoryCase("plain", _sgd_defaults(_pick(rng, lrs)), [{"params": ALL}], steps),
        TrajectoryCase("with weight decay",
                       _sgd_defaults(_pick(rng, lrs), weight_decay=_pick(rng, [0.01, 0.1, 0.5])),
                       [{"params": ALL}], steps),
        TrajectoryCase("with two param groups and a parameter without gradient",
                       _sgd_defaults(_pick(rng, lrs), weight_decay=0.1),
                       [{"params": FIRST},
                        {"params": SECOND, "lr": _pick(rng, [0.01, 0.3]), "weight_decay": 0.0}],
                       steps),
    ]
    change = int(rng.integers(2, steps - 1))
    cases.append(TrajectoryCase(f"with the lr changed before step {change + 1}", _sgd_defaults(0.05),
                                [{"params": ALL}], steps, 0.5, [(change, [_pick(rng, [0.01, 0.2])])]))
    yield from _trajectory_cases(student, "SGD", "SGD", cases, rng)


# ---------------------------------------------------------- 2b momentum


KAPPA = 100.0
RATE_STEPS, RATE_FROM = 250, 100
RATE_TOLERANCE = 0.02  # the measured rate includes a polynomial factor: about +0.005 over this window


def _rate_case(student: Student, rng: np.random.Generator) -> CaseResult:
    from dlcourse_optimizers.data import make_quadratic

    dim = int(rng.integers(4, 13))
    A = make_quadratic(dim, KAPPA, seed=int(rng.integers(0, 2**31 - 1)))
    x0 = rng.normal(size=dim)
    root = math.sqrt(KAPPA)
    # Polyak's tuning for curvatures in [1, kappa]
    lr, momentum = 4.0 / (root + 1.0) ** 2, ((root - 1.0) / (root + 1.0)) ** 2
    case = TrajectoryCase("rate", _sgd_defaults(lr, momentum), [{"params": ["x"]}], RATE_STEPS, 1.5)
    label = (f"SGD with Polyak's momentum on a {dim}-dimensional quadratic with condition number {KAPPA:g}, "
             f"{RATE_STEPS} steps")
    got, error = _trajectory(student, "SGD", case, {"x": x0}, {"A": A}, problem="quadratic")
    if error:
        return case_failed(label, error, case.weight)
    history = _as_history(got, {"x": x0}, RATE_STEPS)
    if history is None:
        return case_failed(label, "the driver could not read the parameters back", case.weight)
    norms = np.linalg.norm(history["x"], axis=1)
    if not np.all(np.isfinite(norms)) or norms[RATE_FROM] == 0 or norms[-1] == 0:
        return case_failed(label, "the iterates are not finite and non-zero, so no rate can be measured",
                     case.weight)
    rate = float((norms[-1] / norms[RATE_FROM]) ** (1.0 / (RATE_STEPS - RATE_FROM)))
    theory = (root - 1.0) / (root + 1.0)
    ok = abs(rate - theory) <= RATE_TOLERANCE
    return case_verdict(ok, label,
                    f"contracts by {rate:.3f} per step, as (sqrt(kappa)-1)/(sqrt(kappa)+1) predicts",
                    f"measured contraction per step {rate:.3f} is not the heavy-ball rate "
                    "(sqrt(kappa)-1)/(sqrt(kappa)+1): check the momentum buffer", case.weight)


def check_momentum(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    lrs = [0.01, 0.02, 0.05]
    momenta = [0.5, 0.8, 0.9, 0.95]
    steps = int(rng.integers(8, 13))
    cases = [
        TrajectoryCase("with momentum", _sgd_defaults(_pick(rng, lrs), _pick(rng, momenta)),
                       [{"params": ALL}], steps),
        TrajectoryCase("with momentum, weight decay and two param groups",
                       _sgd_defaults(_pick(rng, lrs), _pick(rng, momenta),
                                     weight_decay=_pick(rng, [0.05, 0.2])),
                       [{"params": FIRST}, {"params": SECOND, "momentum": 0.0, "lr": 0.1}], steps),
        TrajectoryCase("with Nesterov momentum",
                       _sgd_defaults(_pick(rng, lrs), _pick(rng, momenta), nesterov=True,
                                     weight_decay=_pick(rng, [0.0, 0.1])),
                       [{"params": ALL}], steps),
    ]
    change = int(rng.integers(3, steps - 1))
    cases.append(TrajectoryCase(f"with momentum and the lr changed before step {change + 1}",
                                _sgd_defaults(0.05, 0.9), [{"params": ALL}], steps, 0.5,
                                [(change, [_pick(rng, [0.005, 0.2])])]))
    yield from _trajectory_cases(student, "SGD", "SGD", cases, rng)
    info, error = _run(student, "optimizer_info", "SGD")
    if not error and info["is_optimizer"] and not info["builtin_base"]:
        yield _rate_case(student, rng)


# ------------------------------------------------------------- 3 RMSprop


def check_rmsprop(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    steps = int(rng.integers(6, 11))
    defaults = {"lr": _pick(rng, [0.001, 0.01, 0.02]), "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0}
    cases = [
        TrajectoryCase("with PyTorch's alpha and eps", defaults, [{"params": ALL}], steps),
        TrajectoryCase("with a small alpha and a large eps",
                       {"lr": 0.01, "alpha": _pick(rng, [0.8, 0.9, 0.95]),
                        "eps": _pick(rng, [0.05, 0.1, 0.3]), "weight_decay": 0.0},
                       [{"params": ALL}], steps),
        TrajectoryCase("with weight decay, two param groups and a parameter without gradient",
                       {"lr": 0.01, "alpha": 0.9, "eps": 1e-8, "weight_decay": _pick(rng, [0.05, 0.2])},
                       [{"params": FIRST}, {"params": SECOND, "alpha": 0.99, "lr": 0.03}], steps),
    ]
    yield from _trajectory_cases(student, "RMSprop", "RMSprop", cases, rng)


# ---------------------------------------------------------------- 4 Adam


def check_adam(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    steps = int(rng.integers(6, 11))
    cases = [
        TrajectoryCase("with PyTorch's betas and eps",
                       {"lr": _pick(rng, [0.001, 0.01, 0.03]), "betas": (0.9, 0.999), "eps": 1e-8,
                        "weight_decay": 0.0}, [{"params": ALL}], steps),
        TrajectoryCase("with other betas and a large eps",
                       {"lr": 0.01, "betas": (_pick(rng, [0.5, 0.8]), _pick(rng, [0.9, 0.95])),
                        "eps": _pick(rng, [0.05, 0.1, 0.3]), "weight_decay": 0.0}, [{"params": ALL}], steps),
        TrajectoryCase("with weight decay, two param groups and a parameter without gradient",
                       {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8,
                        "weight_decay": _pick(rng, [0.05, 0.2])},
                       [{"params": FIRST}, {"params": SECOND, "betas": (0.8, 0.99), "lr": 0.03}], steps),
    ]
    yield from _trajectory_cases(student, "Adam", "Adam", cases, rng)
    info, error = _run(student, "optimizer_info", "Adam")
    if not error and info["is_optimizer"] and not info["builtin_base"]:
        yield _scale_case(student, rng)


LOSS_SCALE = 1000.0


def _scale_case(student: Student, rng: np.random.Generator) -> CaseResult:
    """Adam normalises each coordinate by its gradient scale: multiplying the loss changes nothing."""
    steps = int(rng.integers(10, 20))
    # eps must be negligible next to every |gradient| seen: 1e-8 is not always (differences near 1e-7)
    case = TrajectoryCase("scale", {"lr": 0.02, "betas": (0.9, 0.999), "eps": 1e-12, "weight_decay": 0.0},
                          [{"params": ALL}], steps, 1.0)
    params, data = _mlp_problem(rng, spare=False)
    label = (f"Adam(lr=0.02, eps=1e-12) on the loss and on {LOSS_SCALE:g} x the loss, {steps} steps "
             f"on parameters {_shapes(params)}")
    runs = []
    for scale in (1.0, LOSS_SCALE):
        got, error = _trajectory(student, "Adam", case, params, data, scale=scale)
        if error:
            return case_failed(label, error, case.weight)
        history = _as_history(got, params, steps)
        if history is None:
            return case_failed(label, "the driver could not read the parameters back", case.weight)
        runs.append(history)
    moved = any(not np.allclose(runs[0][name][-1], runs[0][name][0]) for name in params)
    same = _first_difference(runs[1], runs[0], atol=1e-7, rtol=1e-5) is None
    return case_verdict(moved and same, label, "the trajectory does not depend on the scale of the loss",
                    "the trajectory should not depend on the scale of the loss: "
                    "m_hat / (sqrt(v_hat) + eps) is scale-free when eps is small", case.weight)


# ------------------------------------------------------------ 1 minibatches


def _batches(got: Any) -> list[list[tuple[np.ndarray, np.ndarray]]] | None:
    try:
        return [[(np.asarray(xb), np.asarray(yb)) for xb, yb in epoch] for epoch in got]
    except (TypeError, ValueError):
        return None


def _epoch_order(batches: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray) -> tuple[np.ndarray, bool]:
    """The visiting order (from the labels, which are example indices) and whether rows stayed paired."""
    if not batches:
        return np.zeros(0, dtype=np.int64), False
    try:
        order = np.concatenate([yb.reshape(-1) for _, yb in batches]).astype(np.int64)
        rows = np.concatenate([xb.reshape(len(yb.reshape(-1)), -1) for xb, yb in batches])
    except (TypeError, ValueError):
        return np.zeros(0, dtype=np.int64), False
    inside = bool(np.all((order >= 0) & (order < len(X))))
    paired = inside and rows.shape == (len(order), X.shape[1]) and bool(np.array_equal(rows, X[order]))
    return order, paired


def _sizes_ok(batches: list[tuple[np.ndarray, np.ndarray]], n: int, b: int) -> bool:
    sizes = [len(np.asarray(yb).reshape(-1)) for _, yb in batches]
    expected = [b] * (n // b) + ([n % b] if n % b else [])
    return sizes == expected


def check_minibatches(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n = int(rng.integers(17, 60))
    b = int(rng.integers(3, 9))
    while n % b == 0:
        n += 1
    X = np.column_stack([np.arange(n), 10.0 * np.arange(n) + 0.5]).astype(np.float64)  # row i encodes i
    y = np.arange(n, dtype=np.int64)
    where = f"minibatches on N={n} examples with batch_size={b}"

    label = f"{where}, shuffle=False"
    got, error = _run(student, "collect_minibatches", X, y, b, subject="minibatches",
                      shuffle=False, seed=None)
    epochs = None if error else _batches(got)
    if error or epochs is None:
        yield case_failed(label, error or "should yield (X_batch, y_batch) pairs", 1.5)
    else:
        yield case_verdict(_sizes_ok(epochs[0], n, b), label, "batch sizes ok",
                       "every batch holds batch_size examples except the last, which holds the "
                       "N % batch_size left over (do not drop it)", 0.5)
        order, paired = _epoch_order(epochs[0], X)
        in_order = paired and np.array_equal(order, np.arange(len(order)))
        yield case_verdict(in_order, label, "in order, rows paired",
                       "without shuffling the examples come in their original order, X and y rows together",
                       1.0)

    seed = int(rng.integers(0, 2**31 - 1))
    label = f"{where}, shuffle=True, 2 epochs with one np.random.Generator"
    got, error = _run(student, "collect_minibatches", X, y, b, subject="minibatches",
                      shuffle=True, seed=seed, epochs=2)
    epochs = None if error else _batches(got)
    if error or epochs is None or len(epochs) != 2:
        yield case_failed(label, error or "should yield (X_batch, y_batch) pairs", 2.0)
    else:
        orders = [_epoch_order(epoch, X) for epoch in epochs]
        covered = all(paired and np.array_equal(np.sort(order), np.arange(n)) for order, paired in orders)
        yield case_verdict(covered and _sizes_ok(epochs[0], n, b), label, "each example exactly once per epoch",
                       "each epoch must visit every example exactly once, X and y rows together", 1.0)
        generator = np.random.default_rng(seed)
        wanted = [generator.permutation(n), generator.permutation(n)]
        # a prefix is enough here: a dropped last batch is the business of the case above
        follows = all(len(order) and np.array_equal(order, want[: len(order)])
                      for (order, _), want in zip(orders, wanted))
        yield case_verdict(follows, label, "follows rng.permutation(N)",
                       "the order should be rng.permutation(N), drawn once per call from the rng given "
                       "(a new order every epoch; do not reseed)", 1.0)

    label = f"{where}, torch tensors, shuffle=True"
    got, error = _run(student, "collect_minibatches", X, y, b, subject="minibatches",
                      shuffle=True, seed=seed, as_tensors=True)
    epochs = None if error else _batches(got)
    if error or epochs is None:
        yield case_failed(label, error or "should yield (X_batch, y_batch) pairs", 0.5)
    else:
        order, paired = _epoch_order(epochs[0], X)
        first = np.random.default_rng(seed).permutation(n)
        ok = paired and len(order) > 0 and np.array_equal(order, first[: len(order)])
        yield case_verdict(ok, label, "works on tensors", "index X and y with the permuted indices; "
                       "it should work for tensors as well as arrays", 0.5)


# -------------------------------------------------------------- 5 schedule


def _schedule_oracle(steps: int, base_lr: float, total_steps: int, warmup_steps: int,
                     min_lr: float) -> np.ndarray:
    """The stated schedule in closed form (equal to PyTorch's SequentialLR(LinearLR, CosineAnnealingLR))."""
    t = np.arange(steps, dtype=np.float64)
    warm = base_lr * (t + 1.0) / max(1, warmup_steps)
    progress = np.clip((t - warmup_steps) / max(1, total_steps - warmup_steps), 0.0, 1.0)
    cosine = min_lr + 0.5 * (base_lr - min_lr) * (1.0 + np.cos(np.pi * progress))
    return np.where(t < warmup_steps, warm, cosine)


def _schedule_hint(got: np.ndarray, kw: dict[str, Any], steps: int) -> str:
    warmup = kw["warmup_steps"]
    t = np.arange(steps, dtype=np.float64)
    expected = _schedule_oracle(steps, **kw)
    if warmup and np.allclose(got[:warmup], kw["base_lr"] * t[:warmup] / warmup):
        return ("the warm-up is base_lr * (step + 1) / warmup_steps, "
                "so the first step already gets a non-zero lr")
    if np.allclose(got[warmup:], expected[warmup:]):
        return "the warm-up part is wrong: base_lr * (step + 1) / warmup_steps for step < warmup_steps"
    if np.allclose(got[:warmup], expected[:warmup]):
        return ("the cosine part is wrong: progress = (step - warmup_steps) / (total_steps - warmup_steps), "
                "lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * progress)) / 2")
    return "follow the formula in the notebook"


def check_schedule(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    total = int(rng.integers(30, 120))
    settings = [
        ("with warm-up", {"base_lr": _pick(rng, [0.1, 0.5, 1.0]), "total_steps": total,
                          "warmup_steps": int(rng.integers(3, total // 4)), "min_lr": 0.0}, 1.0),
        ("without warm-up", {"base_lr": _pick(rng, [0.01, 0.3]), "total_steps": total, "warmup_steps": 0,
                             "min_lr": 0.0}, 0.5),
        ("with min_lr", {"base_lr": 1.0, "total_steps": total, "warmup_steps": int(rng.integers(2, 6)),
                         "min_lr": _pick(rng, [0.01, 0.1])}, 0.5),
    ]
    for what, kw, weight in settings:
        steps = total + 5  # past the end the lr stays at min_lr
        label = f"warmup_cosine_lr {what} ({_settings(kw)}), steps 0..{steps - 1}"
        got, error = _run(student, "schedule_values", steps, kw, subject="warmup_cosine_lr")
        if error:
            yield case_failed(label, error, weight)
            continue
        got = np.asarray(got, dtype=np.float64)
        expected = _schedule_oracle(steps, **kw)
        if got.shape != expected.shape or not np.all(np.isfinite(got)):
            yield case_failed(label, "should return one finite float per step", weight)
        elif np.allclose(got, expected, atol=1e-12, rtol=1e-9):
            yield CaseResult(True, f"{label}: ok", weight)
        else:
            first = int(np.argmax(~np.isclose(got, expected, atol=1e-12, rtol=1e-9)))
            yield case_failed(label, f"wrong lr from step {first} on ({_schedule_hint(got, kw, steps)})", weight)


# ----------------------------------------------------------- 6 train_model

TRAIN = {"n": 250, "noise": 0.2, "hidden": 32, "epochs": 20, "batch_size": 32, "lr": 0.01}
MIN_HELDOUT_ACCURACY = 0.85
HELDOUT = 1000


def _moons(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n, noise=TRAIN["noise"], random_state=seed)
    return X.astype(np.float32), y.astype(np.int64)


def _train(student: Student, optimizer: str, kwargs: dict[str, Any], X, y, X_eval, seeds: tuple[int, int],
           epochs: int | None = None, schedule: list[float] | None = None) -> tuple[Any, str | None]:
    got, error = _run(student, "train_and_predict", optimizer, kwargs, X, y, X_eval, subject="train_model",
                      epochs=TRAIN["epochs"] if epochs is None else epochs, batch_size=TRAIN["batch_size"],
                      seed=seeds[0], init_seed=seeds[1], hidden=TRAIN["hidden"], schedule=schedule)
    if error:
        return None, error
    try:
        logits = np.asarray(got["logits"], dtype=np.float64)
        losses = np.asarray(got["losses"], dtype=np.float64).reshape(-1)
    except (KeyError, TypeError, ValueError):
        return None, "the driver could not read the trained model back"
    if logits.shape != (len(X_eval), 2) or not np.all(np.isfinite(logits)):
        return None, "the trained model gives NaN or inf (the loss diverged)"
    return (losses, logits), None


def _accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(logits.argmax(axis=1) == y))


def _loss(logits: np.ndarray, y: np.ndarray) -> float:
    return float(F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y)))


def check_train(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    data_seed = int(rng.integers(1000, 2**31 - 2))  # the notebook uses small seeds
    seeds = (int(rng.integers(0, 2**31 - 1)), int(rng.integers(0, 2**31 - 1)))
    n, b, epochs = TRAIN["n"], TRAIN["batch_size"], TRAIN["epochs"]
    X, y = _moons(n, data_seed)
    X_test, y_test = _moons(HELDOUT, data_seed + 1)
    X_eval = np.concatenate([X, X_test])
    per_epoch = math.ceil(n / b)

    label = f"train_model with torch.optim.Adam(lr={TRAIN['lr']:g}) on a fresh ({n}, 2) moons sample, " \
            f"{epochs} epochs of batch_size={b}"
    got, error = _train(student, "torch:Adam", {"lr": TRAIN["lr"]}, X, y, X_eval, seeds)
    if error:
        yield case_failed(label, error, 2.5)
    else:
        losses, logits = got
        yield case_verdict(losses.shape == (epochs * per_epoch,), label, "one loss per step",
                       "should return one loss per optimizer step: epochs * ceil(N / batch_size) values", 0.5)
        decreased = losses.size >= 2 * per_epoch and losses[-per_epoch:].mean() < losses[:per_epoch].mean()
        yield case_verdict(decreased, label, "the loss decreases",
                       "the mini-batch loss should decrease from the first epoch to the last: "
                       "zero_grad, backward and step at every batch", 0.5)
        accuracy = _accuracy(logits[n:], y_test)
        ok = accuracy >= MIN_HELDOUT_ACCURACY
        yield CaseResult(ok, f"{label}: held-out accuracy {accuracy:.1%} "
                             f"{'meets' if ok else 'is below'} the required {MIN_HELDOUT_ACCURACY:.0%}", 1.5)

    lr = 0.05
    label = (f"train_model with torch.optim.SGD(lr={lr:g}, momentum=0.9) for 3 epochs and an lr_schedule "
             "that drops to 0 after the first epoch")
    one, error_one = _train(student, "torch:SGD", {"lr": lr, "momentum": 0.9}, X, y, X_eval, seeds, epochs=1)
    three, error_three = _train(student, "torch:SGD", {"lr": lr, "momentum": 0.9}, X, y, X_eval, seeds,
                                epochs=3, schedule=[lr] * per_epoch + [0.0] * (2 * per_epoch))
    # a train_model that never updates the model also "ends where one epoch ends": it must move at lr > 0
    still, error_still = _train(student, "torch:SGD", {"lr": lr, "momentum": 0.9}, X, y, X_eval, seeds,
                                epochs=1, schedule=[0.0] * per_epoch)
    if error_one or error_three or error_still:
        yield case_failed(label, error_one or error_three or error_still, 1.0)
    elif np.allclose(one[1], still[1], atol=1e-7, rtol=1e-7):
        # Either the model never moves or the schedule is ignored: both runs end alike, and either is wrong.
        yield case_failed(label, "an epoch at lr > 0 and an epoch whose schedule is all zeros ended alike: "
                                 "call optimizer.step() at every batch, after setting every group's lr to "
                                 "lr_schedule(t) before step t", 1.0)
    else:
        same = np.allclose(one[1], three[1], atol=1e-5, rtol=1e-5)
        yield case_verdict(same, label, "ends where one epoch without a schedule ends",
                       "should end where one epoch without a schedule ends: set every group's lr to "
                       "lr_schedule(t) before step t, t counting steps over the whole run from 0", 1.0)

    label = f"your SGD, SGD with momentum 0.9 and Adam, all with lr={TRAIN['lr']:g}, in train_model " \
            f"for {epochs} epochs on a fresh moons sample"
    finals = {}
    for name, cls, kwargs in (("SGD", "SGD", {"lr": TRAIN["lr"]}),
                              ("momentum", "SGD", {"lr": TRAIN["lr"], "momentum": 0.9}),
                              ("Adam", "Adam", {"lr": TRAIN["lr"]})):
        got, error = _train(student, cls, kwargs, X, y, X_eval, seeds)
        if error:
            yield case_failed(f"{label} ({name})", error, 1.5)
            return
        finals[name] = got[1]
    loss = {name: _loss(logits[:n], y) for name, logits in finals.items()}
    ordered = loss["Adam"] < loss["momentum"] < loss["SGD"]
    yield case_verdict(ordered, label, "final training loss Adam < momentum < SGD",
                   "after this budget the training loss should rank Adam < momentum < SGD; "
                   "check your optimizers and that train_model uses the optimizer it is given", 1.0)
    accuracy = _accuracy(finals["Adam"][n:], y_test)
    ok = accuracy >= MIN_HELDOUT_ACCURACY
    yield CaseResult(ok, f"{label}: your Adam's held-out accuracy {accuracy:.1%} "
                         f"{'meets' if ok else 'is below'} the required {MIN_HELDOUT_ACCURACY:.0%}", 0.5)


CHECKS: list[Check] = [
    Check("optimizers.minibatches", TOPIC, "minibatches", check_minibatches),
    Check("optimizers.sgd", TOPIC, "SGD", check_sgd),
    Check("optimizers.momentum", TOPIC, "SGD with momentum", check_momentum),
    Check("optimizers.rmsprop", TOPIC, "RMSprop", check_rmsprop),
    Check("optimizers.adam", TOPIC, "Adam", check_adam),
    Check("optimizers.schedule", TOPIC, "warmup_cosine_lr", check_schedule),
    Check("optimizers.train", TOPIC, "train_model", check_train),
]
