"""Hidden checks for the GAN assignment.

Each check draws fresh sizes and inputs from ``rng``, sends them to the
student through :class:`dlcourse.checking.Student` (networks and optimizers
are built by the drivers in :mod:`dlcourse_gan.drivers`, next to the
student's code) and compares what comes back with its own float64 PyTorch
oracle or with a behavioural property: the discriminator approaches the
analytic optimum D* = p_data / (p_data + p_g), and the trained generator
covers the modes of the ring. Messages say what is wrong and on which
shape, never the expected values.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

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
from dlcourse_gan.data import ring_centres
from dlcourse_gan.drivers import MLP

TOPIC = "gan"
DRIVERS = "dlcourse_gan.drivers"

#: The training run of the assignment's train_gan test cell (the notebook states the same).
RING_SETTINGS = {"steps": 1500, "batch_size": 512, "latent_dim": 2, "hidden_dim": 64, "lr": 2e-3,
                 "betas": (0.5, 0.9)}
#: A sample is near a mode within this distance (5 standard deviations of the ring's modes).
NEAR_RADIUS = 0.25
#: A mode counts as covered when it holds at least this share of the samples.
MIN_SHARE = 0.02
MIN_MODES = 5
MIN_NEAR_FRACTION = 0.5

LOG4 = 2.0 * np.log(2.0)

Activation = Callable[[torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------- helpers


def _clean(error: StudentError, driver: str, name: str) -> str:
    """A driver's error, phrased in terms of the student's function ``name``."""
    text = str(error)
    prefix = f"`{driver}` raised NameError: "
    if text.startswith(prefix):  # the driver's own "is not defined" message names the student's object
        return text[len(prefix):]
    return text.replace(f"`{driver}`", f"`{name}`")


def _run(student: Student, driver: str, name: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    try:
        return student.run(f"{DRIVERS}:{driver}", *args, **kwargs), None
    except StudentError as error:
        return None, _clean(error, driver, name)


def _call(student: Student, name: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    try:
        return student.call(name, *args, **kwargs), None
    except StudentError as error:
        return None, str(error)


def _close(got: Any, expected: Any, atol: float = 1e-10, rtol: float = 1e-8) -> bool:
    try:
        got = np.asarray(got, dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == expected.shape and bool(np.allclose(got, expected, atol=atol, rtol=rtol))


def _all_close(got: Sequence[Any], expected: Sequence[np.ndarray], atol: float = 1e-10,
               rtol: float = 1e-8) -> bool:
    return len(got) == len(expected) and all(_close(g, e, atol, rtol) for g, e in zip(got, expected))


def _bce(logits: torch.Tensor, label: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def _random_linear(rng: np.random.Generator, n_in: int, n_out: int, scale: float = 1.0) -> list[np.ndarray]:
    return [scale * rng.normal(size=(n_out, n_in)) / np.sqrt(n_in), 0.5 * rng.normal(size=n_out)]


def _mlp_oracle(params: Sequence[np.ndarray], x: np.ndarray, activation: Activation,
                last: Activation | None = None) -> np.ndarray:
    h = float64_tensor(x)
    for index in range(0, len(params), 2):
        h = F.linear(h, float64_tensor(params[index]), float64_tensor(params[index + 1]))
        if index + 2 < len(params):
            h = activation(h)
    return (last(h) if last is not None else h).numpy()


def _distinct(rng: np.random.Generator, low: int, high: int, count: int) -> list[int]:
    return [int(v) for v in rng.choice(np.arange(low, high), size=count, replace=False)]


# --------------------------------------------------------- 1-2 the networks


def _network_cases(
    student: Student, rng: np.random.Generator, *, name: str, args: tuple[int, ...], n_in: int,
    shapes: list[tuple[int, ...]], out_shape: tuple[int, ...], activation: Activation,
    squeeze: bool, structure: str, hints: list[tuple[Activation, Activation | None, str]],
) -> Iterable[CaseResult]:
    n = out_shape[0]
    x = rng.normal(size=(n, n_in))
    arg_text = ", ".join(str(a) for a in args)
    label = f"{name}({arg_text}) on an input of shape ({n}, {n_in})"
    seed = int(rng.integers(0, 2**31 - 1))
    got, error = _run(student, "module_probe", name, name, list(args), x, seed=seed)
    if error:
        yield case_failed(label, error, 3.5)
        return
    got_shapes = [tuple(np.shape(p)) for p in got["params"]]
    ok = got_shapes == shapes
    yield case_verdict(ok, label, "parameter shapes ok",
                   f"{len(got_shapes)} parameter tensors with the wrong shapes — {structure}", 1.0)
    if not ok:
        yield case_failed(label, "cannot check the output without the right layers", 2.5)
        return
    params = got["params"]
    last = (lambda h: h.reshape(-1)) if squeeze else None
    expected = _mlp_oracle(params, x, activation, last)
    out = np.asarray(got["out64"], dtype=np.float64)
    if out.shape != expected.shape:
        hint = f"output shape {out.shape}, expected {expected.shape}"
        if squeeze and out.shape == (n, 1):
            hint = f"output shape {out.shape}: return logits of shape (N,) — squeeze the last dimension"
        yield case_failed(label, hint, 2.0)
    else:
        hint = structure
        for other_act, other_last, other_hint in hints:
            if _close(out, _mlp_oracle(params, x, other_act, other_last), 1e-9, 1e-7):
                hint = other_hint
                break
        yield case_reweighted(compare_array(label, out, expected, atol=1e-10, rtol=1e-8, hint=hint), 2.0)
    received = got["received_grad"]
    ok = got["dtype"] == "float32" and len(received) > 0 and all(received)
    yield case_verdict(ok, label, "float32 output and every parameter gets a gradient",
                   "a float32 input should give a float32 output, and every parameter should receive a "
                   "gradient (no torch.no_grad or .detach() inside forward)", 0.5)


def check_generator(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for _ in range(2):
        latent, out_dim = _distinct(rng, 1, 5, 2)
        hidden = int(rng.integers(5, 12))
        n = int(rng.integers(3, 12))
        yield from _network_cases(
            student, rng, name="Generator", args=(latent, hidden, out_dim), n_in=latent,
            shapes=[(hidden, latent), (hidden,), (hidden, hidden), (hidden,), (out_dim, hidden), (out_dim,)],
            out_shape=(n, out_dim), activation=torch.relu, squeeze=False,
            structure="Linear(latent, hidden) → ReLU → Linear(hidden, hidden) → ReLU → Linear(hidden, out), "
                      "layers defined in that order",
            hints=[
                (torch.relu, torch.tanh,
                 "no activation after the last layer: the ring's points lie outside the range of tanh"),
                (torch.relu, torch.sigmoid, "no activation after the last layer"),
                (lambda h: F.leaky_relu(h, 0.2), None, "the generator uses ReLU, not LeakyReLU"),
                (torch.tanh, None, "the generator uses ReLU, not tanh"),
            ],
        )


def check_discriminator(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for _ in range(2):
        in_dim = int(rng.integers(1, 5))
        hidden = int(rng.integers(5, 12))
        n = int(rng.integers(3, 12))
        leaky = lambda h: F.leaky_relu(h, 0.2)  # noqa: E731
        yield from _network_cases(
            student, rng, name="Discriminator", args=(in_dim, hidden), n_in=in_dim,
            shapes=[(hidden, in_dim), (hidden,), (hidden, hidden), (hidden,), (1, hidden), (1,)],
            out_shape=(n,), activation=leaky, squeeze=True,
            structure="Linear(in, hidden) → LeakyReLU(0.2) → Linear(hidden, hidden) → LeakyReLU(0.2) → "
                      "Linear(hidden, 1), layers defined in that order, logits of shape (N,)",
            hints=[
                (leaky, lambda h: torch.sigmoid(h.reshape(-1)),
                 "return logits, without a sigmoid at the end: the losses work on logits"),
                (torch.relu, lambda h: h.reshape(-1), "use LeakyReLU with negative_slope=0.2, not ReLU"),
                (lambda h: F.leaky_relu(h, 0.01), lambda h: h.reshape(-1),
                 "negative_slope should be 0.2 (PyTorch's default is 0.01)"),
            ],
        )


# ---------------------------------------------------------------- 3 losses


def _d_loss_oracle(real: np.ndarray, fake: np.ndarray) -> tuple[float, list[np.ndarray]]:
    r, f = float64_tensor(real, grad=True), float64_tensor(fake, grad=True)
    loss = _bce(r, 1.0) + _bce(f, 0.0)
    return float(loss.detach()), [g.numpy() for g in torch.autograd.grad(loss, (r, f))]


def _g_loss_oracle(fake: np.ndarray) -> tuple[float, list[np.ndarray]]:
    f = float64_tensor(fake, grad=True)
    loss = _bce(f, 1.0)
    return float(loss.detach()), [torch.autograd.grad(loss, f)[0].numpy()]


def _loss_value(got: dict[str, Any]) -> float | None:
    value = np.asarray(got.get("value"), dtype=np.float64)
    return float(value.reshape(())) if value.size == 1 else None


def _loss_cases(student: Student, name: str, logits: Sequence[np.ndarray], what: str,
                oracle: Callable[..., tuple[float, list[np.ndarray]]],
                hints: list[tuple[float, str]], weight: float, gradients: bool = True,
                ) -> tuple[list[CaseResult], dict[str, Any] | None]:
    sizes = " and ".join(f"({len(l)},)" for l in logits)
    label = f"{name} on logits of shape {sizes} ({what})"
    got, error = _run(student, "loss_and_grads", name, name, *logits)
    if error:
        if "dtype" in error:
            error += " (the check uses float64 logits: make labels with torch.ones_like / torch.zeros_like)"
        return [case_failed(label, error, weight)], None
    loss, grads = oracle(*logits)
    value = _loss_value(got)
    value_weight = weight * (0.5 if gradients else 1.0)
    cases = []
    if value is None:
        cases.append(case_failed(label, "the loss should be a single number (a 0-dim tensor)", weight))
        return cases, got
    if not np.isfinite(value):
        cases.append(case_failed(label, "the loss is NaN or inf — work on the logits (F.binary_cross_entropy_with_"
                                  "logits or F.logsigmoid), not log(sigmoid(...))", value_weight))
    elif abs(value - loss) <= 1e-10 + 1e-8 * abs(loss):
        cases.append(CaseResult(True, f"{label}: value ok", value_weight))
    else:
        hint = "wrong value"
        for other, other_hint in hints:
            if abs(value - other) <= 1e-9 + 1e-7 * abs(other):
                hint = f"wrong value ({other_hint})"
                break
        cases.append(case_failed(label, hint, value_weight))
    if gradients:
        got_grads = got.get("grads") or []
        if len(got_grads) != len(grads) or any(g is None for g in got_grads):
            cases.append(case_failed(label, "no gradient reaches the logits — build the loss from them with torch "
                                      "operations (no .item(), .detach() or NumPy)", weight * 0.5))
        else:
            ok = _all_close(got_grads, grads, 1e-12, 1e-8)
            cases.append(case_verdict(ok, label, "gradient ok",
                                  "the gradient with respect to the logits is wrong", weight * 0.5))
    return cases, got


SCALAR_OK = "returns a 0-dim tensor that can be backpropagated"
SCALAR_BAD = "should return a 0-dim tensor that can be backpropagated (no .item() or float())"


def _is_scalar_tensor(got: dict[str, Any]) -> bool:
    """The loss came back as a 0-dim tensor through which every input received a gradient."""
    grads = got.get("grads") or [None]
    return bool(got["is_tensor"]) and got["shape"] == [] and all(g is not None for g in grads)


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def check_d_loss(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n, m = _distinct(rng, 3, 30, 2)
    real, fake = rng.normal(0.0, 2.0, size=n), rng.normal(0.0, 2.0, size=m)
    lr_, lf_ = _softplus(-real), _softplus(fake)  # per-example terms of the oracle
    hints = [
        (0.5 * (lr_.mean() + lf_.mean()),
         "looks like the average of the two terms: the convention here is their sum"),
        (_softplus(real).mean() + _softplus(-fake).mean(), "real logits get label 1, fake logits label 0"),
        (lr_.sum() + lf_.sum(), "each term is a mean over its own batch, not a sum"),
        ((lr_.sum() + lf_.sum()) / (n + m),
         "add the mean over the real batch and the mean over the fake batch "
         "(not one mean over both batches)"),
        (-(lr_.mean() + lf_.mean()), "the sign is flipped: the discriminator minimises this loss"),
    ]
    cases, got = _loss_cases(student, "discriminator_loss", [real, fake], "random logits", _d_loss_oracle,
                             hints, 2.0)
    yield from cases
    if got is not None:
        yield case_verdict(_is_scalar_tensor(got), "discriminator_loss", SCALAR_OK, SCALAR_BAD, 0.5)
    n, m = _distinct(rng, 3, 12, 2)
    real = rng.uniform(30.0, 300.0, size=n) * rng.choice([-1.0, 1.0], size=n)
    fake = rng.uniform(30.0, 300.0, size=m) * rng.choice([-1.0, 1.0], size=m)
    cases, _ = _loss_cases(student, "discriminator_loss", [real, fake], "large logits", _d_loss_oracle,
                           [], 1.0)
    yield from cases


def check_g_loss(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    m = int(rng.integers(3, 30))
    fake = rng.normal(0.0, 2.0, size=m)
    saturating = "this is the saturating loss log(1 - D(G(z))): use the non-saturating -log D(G(z))"
    hints = [
        (-_softplus(fake).mean(), saturating),
        (_softplus(fake).mean(), "the generator wants D to call its samples real: label 1, not 0"),
        (-_softplus(-fake).mean(), "the sign is flipped: minimise -log D(G(z))"),
        (_softplus(-fake).sum(), "take the mean over the batch, not the sum"),
    ]
    cases, got = _loss_cases(student, "generator_loss", [fake], "random logits", _g_loss_oracle, hints, 2.0)
    yield from cases
    if got is not None:
        yield case_verdict(_is_scalar_tensor(got), "generator_loss", SCALAR_OK, SCALAR_BAD, 0.5)
    m = int(rng.integers(3, 30))
    fake = rng.uniform(-12.0, -4.0, size=m)  # the discriminator confidently rejects the fakes
    label = f"generator_loss gradient on logits of shape ({m},) where D rejects every fake"
    got, error = _run(student, "loss_and_grads", "generator_loss", "generator_loss", fake)
    if error:
        yield case_failed(label, error, 1.0)
    else:
        _, (grad,) = _g_loss_oracle(fake)
        got_grad = (got.get("grads") or [None])[0]
        ok = got_grad is not None and _close(got_grad, grad, 1e-12, 1e-8)
        hint = "the gradient is wrong"
        if got_grad is not None and np.shape(got_grad) == grad.shape and np.max(np.abs(got_grad)) < 0.1 / m:
            hint = "the gradient almost vanishes where D rejects the fakes: " + saturating
        yield case_verdict(ok, label, "ok", hint, 1.0)
    m = int(rng.integers(3, 12))
    fake = rng.uniform(30.0, 300.0, size=m) * rng.choice([-1.0, 1.0], size=m)
    cases, _ = _loss_cases(student, "generator_loss", [fake], "large logits", _g_loss_oracle, [], 1.0,
                           gradients=False)
    yield from cases


# -------------------------------------------------------- 4 training steps


def _d_step_oracle(weights, batches, lr, momentum, *, zero_grad: bool = True):
    D = MLP(weights, "leaky_relu", squeeze=True)
    optimizer = torch.optim.SGD(D.parameters(), lr=lr, momentum=momentum)
    losses = []
    for real, fake in batches:
        if zero_grad:
            optimizer.zero_grad()
        loss = _bce(D(float64_tensor(real)), 1.0) + _bce(D(float64_tensor(fake)), 0.0)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return np.asarray(losses), [p.detach().numpy() for p in D.parameters()]


def check_d_step(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for momentum in (0.0, 0.9):
        d, h = int(rng.integers(1, 4)), int(rng.integers(3, 9))
        weights = _random_linear(rng, d, h) + _random_linear(rng, h, h) + _random_linear(rng, h, 1)
        batches = [(rng.normal(1.0, 1.0, size=(int(rng.integers(4, 16)), d)),
                    rng.normal(-0.5, 1.5, size=(int(rng.integers(4, 16)), d))) for _ in range(3)]
        lr = float(rng.uniform(0.05, 0.3))
        label = f"discriminator_step: 3 SGD steps (momentum {momentum:g}) on a {d}-{h}-{h}-1 network"
        got, error = _run(student, "discriminator_trace", "discriminator_step", weights, batches, lr,
                          momentum)
        if error:
            yield case_failed(label, error, 3.5)
            continue
        losses, final = _d_step_oracle(weights, batches, lr, momentum)
        hint = "return the loss of each step (computed before the update) as a float"
        yield case_reweighted(compare_array(f"{label} (losses)", got["losses"], losses, atol=1e-10, rtol=1e-8,
                                    hint=hint), 1.0)
        ok = _all_close(got["weights"], final)
        hint = "one step is: zero the gradients, discriminator_loss(D(real), D(fake)), backward, d_opt.step()"
        if _all_close(got["weights"], _d_step_oracle(weights, batches, lr, momentum, zero_grad=False)[1]):
            hint = "gradients accumulate across steps: call d_opt.zero_grad() before loss.backward()"
        elif _all_close(got["weights"], weights):
            hint = "the weights did not change: call d_opt.step() after loss.backward()"
        yield case_verdict(ok, f"{label} (weights)", "ok", f"wrong weights after the steps ({hint})", 2.0)
        yield case_verdict(not got["generator_grad"], label, "fake batch detached",
                       "gradients flowed into the fake batch: detach it, the discriminator's step must not "
                       "compute gradients for the generator", 0.5)


def _gaussian(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2.0 * np.pi))


def _jsd(mean_r: float, std_r: float, mean_f: float, std_f: float) -> float:
    """Jensen-Shannon divergence of two 1-D Gaussians by numerical integration (nats)."""
    lo = min(mean_r - 10 * std_r, mean_f - 10 * std_f)
    hi = max(mean_r + 10 * std_r, mean_f + 10 * std_f)
    x = np.linspace(lo, hi, 20001)
    p, q = _gaussian(x, mean_r, std_r), _gaussian(x, mean_f, std_f)
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = 0.5 * np.where(p > 0, p * np.log(p / m), 0.0) + 0.5 * np.where(q > 0, q * np.log(q / m), 0.0)
    return float(np.sum(terms) * (x[1] - x[0]))


OPTIMUM_SAMPLES = 2000
OPTIMUM_STEPS = 300
OPTIMUM_TOLERANCE = 0.1  # max |D - D*|; the reference stays below 0.06 (80 draws)
#: |final loss - (2 log 2 - 2 JSD)|; sampling noise alone reaches 0.035 (80 draws)
LOSS_TOLERANCE = 0.08


def check_d_optimum(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    mean_r = float(rng.uniform(-1.5, 1.5))
    mean_f = mean_r + float(rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.5))
    std_r, std_f = (float(s) for s in rng.uniform(0.5, 1.3, size=2))
    for same in (False, True):
        if same:
            mean_f, std_f = mean_r, std_r
        real = rng.normal(mean_r, std_r, size=OPTIMUM_SAMPLES)
        fake = rng.normal(mean_f, std_f, size=OPTIMUM_SAMPLES)
        lo, hi = min(mean_r - 2 * std_r, mean_f - 2 * std_f), max(mean_r + 2 * std_r, mean_f + 2 * std_f)
        grid = np.linspace(lo, hi, 81)
        p_data, p_g = _gaussian(grid, mean_r, std_r), _gaussian(grid, mean_f, std_f)
        keep = (p_data + p_g) >= 0.1 * np.max(p_data + p_g)  # where the samples say something about D
        what = "p_g = p_data" if same else "two different 1-D Gaussians"
        label = (f"discriminator_step trained {OPTIMUM_STEPS} times (Adam) against a fixed generator, "
                 f"{what}")
        got, error = _run(student, "discriminator_optimum", "discriminator_step", real, fake, grid,
                          steps=OPTIMUM_STEPS, lr=0.05)
        if error:
            yield case_failed(label, error, 2.0 if same else 3.0)
            continue
        probs = np.asarray(got["probs"], dtype=np.float64)
        losses = np.asarray(got["losses"], dtype=np.float64)
        optimum = p_data / (p_data + p_g)
        if probs.shape != grid.shape or not np.all(np.isfinite(probs)):
            yield case_failed(label, "the trained discriminator gives NaN or inf", 2.0 if same else 3.0)
            continue
        deviation = float(np.max(np.abs(probs - optimum)[keep]))
        ok = deviation <= OPTIMUM_TOLERANCE
        target = "D(x) = 1/2 everywhere" if same else "D*(x) = p_data / (p_data + p_g)"
        advice = "" if ok else " — real samples get label 1, fake ones 0, and each step must lower the loss"
        if not ok and np.max(np.abs((1.0 - probs) - optimum)[keep]) <= OPTIMUM_TOLERANCE:
            advice = " — it approaches 1 - D*: real and fake labels are swapped"
        yield CaseResult(ok, f"{label}: largest deviation from {target} is {deviation:.2f} "
                             f"(allowed {OPTIMUM_TOLERANCE:.2f}){advice}", 1.0 if same else 2.0)
        # at the optimum the loss is 2 log 2 - 2 JSD(p_data, p_g): 2 log 2 when p_g = p_data
        final = float(losses[-1]) if losses.size else np.nan
        floor = LOG4 - 2.0 * _jsd(mean_r, std_r, mean_f, std_f)
        ok = bool(np.isfinite(final)) and abs(final - floor) <= LOSS_TOLERANCE
        yield case_verdict(ok, label, "final loss ok",
                       "the final loss should approach 2 log 2 - 2 JSD(p_data, p_g), the minimum of the "
                       "discriminator loss (2 log 2 when p_g = p_data)", 1.0)


def _g_step_oracle(g_weights, d_weights, noise, lr, momentum, *, saturating: bool = False,
                   zero_grad: bool = True):
    G = MLP(g_weights, "relu")
    D = MLP(d_weights, "leaky_relu", squeeze=True)
    optimizer = torch.optim.SGD(G.parameters(), lr=lr, momentum=momentum)
    losses = []
    for z in noise:
        if zero_grad:
            optimizer.zero_grad()
        logits = D(G(float64_tensor(z)))
        loss = -F.softplus(logits).mean() if saturating else _bce(logits, 1.0)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return np.asarray(losses), [p.detach().numpy() for p in G.parameters()]


def check_g_step(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for momentum, weight in ((0.0, 2.0), (0.9, 1.0)):
        k, d = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        h = int(rng.integers(3, 9))
        g_weights = _random_linear(rng, k, h) + _random_linear(rng, h, h) + _random_linear(rng, h, d)
        d_weights = _random_linear(rng, d, h, 2.0) + _random_linear(rng, h, 1, 2.0)
        noise = [rng.normal(size=(int(rng.integers(4, 16)), k)) for _ in range(3)]
        lr = float(rng.uniform(0.05, 0.3))
        label = f"generator_step: 3 SGD steps (momentum {momentum:g}) of a {k}-{h}-{h}-{d} generator"
        got, error = _run(student, "generator_trace", "generator_step", g_weights, d_weights, noise, lr,
                          momentum)
        if error:
            yield case_failed(label, error, weight + 1.0)
            continue
        losses, final = _g_step_oracle(g_weights, d_weights, noise, lr, momentum)
        hint = "return generator_loss(D(G(z))) of each step (before the update) as a float"
        saturating = _g_step_oracle(g_weights, d_weights, noise, lr, momentum, saturating=True)
        if _close(got["losses"], saturating[0]):
            hint = "this is the saturating loss log(1 - D(G(z))): use generator_loss, -log D(G(z))"
        yield case_reweighted(compare_array(f"{label} (losses)", got["losses"], losses, atol=1e-10, rtol=1e-8,
                                    hint=hint), 1.0)
        ok = _all_close(got["g_weights"], final)
        hint = "one step is: zero the gradients, generator_loss(D(G(z))), backward, g_opt.step()"
        if _all_close(got["g_weights"], _g_step_oracle(g_weights, d_weights, noise, lr, momentum,
                                                       zero_grad=False)[1]):
            hint = "gradients accumulate across steps: call g_opt.zero_grad() before loss.backward()"
        elif _all_close(got["g_weights"], g_weights):
            hint = "the generator did not change: call g_opt.step() after loss.backward()"
        elif _all_close(got["g_weights"], saturating[1]):
            hint = "this follows the saturating loss: use generator_loss, -log D(G(z))"
        ok = ok and _all_close(got["d_weights"], d_weights, 0.0, 0.0)
        if not _all_close(got["d_weights"], d_weights, 0.0, 0.0):
            hint = "the discriminator changed: the generator's step must only update G"
        yield case_verdict(ok, f"{label} (weights)", "ok", f"wrong weights after the steps ({hint})", weight)


# ----------------------------------------------------------- 5 mode coverage


def coverage_oracle(samples: np.ndarray, centres: np.ndarray, radius: float,
                    min_share: float) -> tuple[int, float]:
    """(modes covered, fraction of samples within ``radius`` of their nearest centre)."""
    distances = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=2)
    near = distances.min(axis=1) < radius
    counts = np.bincount(distances.argmin(axis=1)[near], minlength=len(centres))
    return int(np.sum(counts >= min_share * len(samples))), float(np.mean(near))


def _unpack_coverage(got: Any) -> tuple[float, float]:
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        raise ValueError("should return a pair (covered, near_fraction)")
    return (float(np.asarray(got[0], dtype=np.float64).reshape(())),
            float(np.asarray(got[1], dtype=np.float64).reshape(())))


def _coverage_problem(rng: np.random.Generator):
    k, d = int(rng.integers(4, 10)), int(rng.integers(2, 4))
    centres = np.empty((0, d))
    while len(centres) < k:  # centres at least 2 apart
        candidate = rng.uniform(-4.0, 4.0, size=d)
        if len(centres) == 0 or np.min(np.linalg.norm(centres - candidate, axis=1)) >= 2.0:
            centres = np.vstack([centres, candidate])
    radius = float(rng.uniform(0.3, 0.6))
    n = int(rng.integers(200, 400))
    min_share = float(rng.uniform(0.03, 0.08))
    chosen = rng.permutation(k)[: int(rng.integers(2, k))]
    parts = []
    rare = chosen[0]  # near, but fewer than min_share * n samples
    parts.append(centres[rare] + rng.normal(0, radius / 4, size=(max(1, int(min_share * n) - 2), d)))
    for mode in chosen[1:]:
        parts.append(centres[mode] + rng.normal(0, radius / 4, size=(int(rng.integers(int(min_share * n) + 2,
                                                                                       int(0.3 * n))), d)))
    used = sum(len(p) for p in parts)
    # background points, mostly far from every mode
    parts.append(rng.uniform(-6.0, 6.0, size=(max(n - used, 10), d)))
    samples = np.concatenate(parts)[rng.permutation(sum(len(p) for p in parts))]
    return samples, centres, radius, min_share


def check_mode_coverage(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    samples, centres, radius, min_share = _coverage_problem(rng)
    n, k, d = len(samples), len(centres), samples.shape[1]
    label = f"mode_coverage of {n} samples in {d}-D around {k} centres"
    got, error = _call(student, "mode_coverage", samples, centres, radius, min_share=min_share)
    if error:
        yield case_failed(label, error, 2.5)
    else:
        try:
            covered, fraction = _unpack_coverage(got)
        except (TypeError, ValueError):
            yield case_failed(label, "should return a pair (covered, near_fraction)", 2.5)
        else:
            expected_covered, expected_fraction = coverage_oracle(samples, centres, radius, min_share)
            hint = "a mode is covered when at least min_share * N samples lie within radius of it"
            if covered == coverage_oracle(samples, centres, radius, 1e-12)[0]:
                hint = "a mode needs at least min_share * N near samples to count, not just one"
            elif covered == coverage_oracle(samples, centres, np.inf, min_share)[0]:
                hint = "only samples within radius of their nearest centre count for a mode"
            yield case_verdict(covered == expected_covered, f"{label} (covered)", "ok",
                           f"wrong number of covered modes ({hint})", 1.5)
            hint = "the fraction of all N samples within radius of their nearest centre"
            if abs(fraction - expected_fraction * n) < 1e-9:
                hint = "return a fraction between 0 and 1, not a count"
            yield case_verdict(abs(fraction - expected_fraction) < 1e-12, f"{label} (near_fraction)", "ok",
                           f"wrong near_fraction ({hint})", 1.0)
    n = int(rng.integers(20, 60))
    far = rng.normal(size=(n, 2)) * 0.2 + np.array([10.0, 10.0])
    label = f"mode_coverage of {n} samples far from every centre"
    got, error = _call(student, "mode_coverage", far, ring_centres(), 0.25, min_share=0.02)
    if error:
        yield case_failed(label, error, 0.5)
    else:
        try:
            ok = _unpack_coverage(got) == (0.0, 0.0)
        except (TypeError, ValueError):
            ok = False
        yield case_verdict(ok, label, "ok", "no mode is covered and no sample is near: expected nothing covered",
                       0.5)


# -------------------------------------------------------- 6 the trained GAN


def check_ring(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n = 5000
    z = rng.normal(size=(n, RING_SETTINGS["latent_dim"]))
    label = f"G_ring on {n} fresh noise vectors"
    got, error = _run(student, "generator_samples", "G_ring", "G_ring", z)
    if error:
        yield case_failed(label, error, 4.0)
    else:
        samples = np.asarray(got, dtype=np.float64)
        ok = samples.shape == (n, 2) and bool(np.all(np.isfinite(samples)))
        yield case_verdict(ok, label, "samples of shape (N, 2)", f"expected finite samples of shape ({n}, 2), "
                       f"got shape {samples.shape}", 0.5)
        if ok:
            covered, fraction = coverage_oracle(samples, ring_centres(), NEAR_RADIUS, MIN_SHARE)
            advice = (" — check Adam's betas=(0.5, 0.9), one discriminator step then one generator step per "
                      "iteration, fresh noise for each, and the non-saturating generator loss")
            ok = covered >= MIN_MODES
            yield CaseResult(ok, f"{label}: covers {covered} of 8 modes (at least {MIN_MODES} needed)"
                                 f"{'' if ok else advice}", 2.0)
            ok = fraction >= MIN_NEAR_FRACTION
            yield CaseResult(ok, f"{label}: {fraction:.0%} of the samples are within {NEAR_RADIUS:g} of a "
                                 "mode "
                                 f"(at least {MIN_NEAR_FRACTION:.0%} needed){'' if ok else advice}", 1.5)
        else:
            yield case_failed(label, "cannot count modes", 3.5)
    label = "history_ring"
    got, error = _run(student, "history_of", "history_ring", "history_ring")
    if error:
        yield case_failed(label, error, 0.5)
    else:
        steps = RING_SETTINGS["steps"]
        ok = all(np.shape(got[key]) == (steps,) and np.all(np.isfinite(got[key]))
                 for key in ("d_loss", "g_loss"))
        yield case_verdict(ok, label, "loss curves ok",
                       f"d_loss and g_loss should hold one finite float per step ({steps})", 0.5)
    yield _callback_case(student, rng)


def _callback_case(student: Student, rng: np.random.Generator) -> CaseResult:
    """``callback(t, G, D)`` at step 0 and after every ``snapshot_every`` updates, on a short run.

    The recorder has a length (0 while empty): ``if callback:`` never calls it.
    """
    every = int(rng.integers(2, 5))
    steps = every * int(rng.integers(2, 4)) + int(rng.integers(0, every))
    data = rng.normal(size=(32, 2))
    label = f"train_gan(steps={steps}, snapshot_every={every}) with a callback"
    got, error = _run(student, "callback_steps", "train_gan", data, steps, every)
    if error:
        return case_failed(label, error, 1.0)
    expected = [0, *range(every, steps + 1, every)]
    ok = isinstance(got, list) and got == expected
    return case_verdict(ok, label, "called at the right steps",
                        f"the callback should be called at step 0 and after every {every} updates "
                        f"({len(expected)} calls); it was called {len(got) if isinstance(got, list) else 0} "
                        "times (test `callback is not None`, not the callback's truth value)", 1.0)


CHECKS: list[Check] = [
    Check("gan.generator", TOPIC, "Generator", check_generator),
    Check("gan.discriminator", TOPIC, "Discriminator", check_discriminator),
    Check("gan.d_loss", TOPIC, "discriminator_loss", check_d_loss),
    Check("gan.g_loss", TOPIC, "generator_loss", check_g_loss),
    Check("gan.d_step", TOPIC, "discriminator_step", check_d_step),
    Check("gan.d_optimum", TOPIC, "discriminator_step against a fixed generator", check_d_optimum),
    Check("gan.g_step", TOPIC, "generator_step", check_g_step),
    Check("gan.mode_coverage", TOPIC, "mode_coverage", check_mode_coverage),
    Check("gan.ring", TOPIC, "train_gan on the ring", check_ring),
]
