"""Hidden checks for the variational autoencoder assignment.

Each check draws fresh inputs and shapes from ``rng``, sends them to the
student through :class:`dlcourse.checking.Student` (torch work happens in the
drivers of :mod:`dlcourse_vae.drivers`, next to the student's code) and
compares what comes back with its own float64 PyTorch oracle
(``torch.distributions.kl_divergence``, ``F.binary_cross_entropy_with_logits``,
autograd) or with a behavioural property (sample statistics within a few
standard errors, a trained model's negative ELBO on held-out digits).
Messages say what is wrong and on which shape, never the expected values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

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
from dlcourse_vae.data import load_digits_split

TOPIC = "vae"
DRIVERS = "dlcourse_vae.drivers"

#: The trained model must reach at most this negative ELBO (nats per image) on
#: the held-out digits. The reference reaches 24.8-25.2 over seeds; a model
#: that ignores its input (always the mean digit) scores about 27.1.
MAX_HELDOUT_NELBO = 26.0
#: 5-nearest-neighbour accuracy of held-out codes among training codes; the
#: reference reaches 0.69-0.81, chance is 0.1.
MIN_KNN_ACCURACY = 0.5
#: Reparameterised samples per held-out image in the ELBO estimate.
ELBO_SAMPLES = 4
#: How many standard errors a sample statistic may be off.
STAT_TOLERANCE = 5.0


# ----------------------------------------------------------------- helpers


def _run(student: Student, driver: str, *args: Any, student_name: str = "", function: bool = True,
         **kwargs: Any) -> tuple[Any, str | None]:
    """Run a driver; return (result, None) or (None, a student-safe error message).

    ``student_name`` is what the driver exercises (``"Encoder"``, ``"vae.encoder"``):
    messages name it instead of the driver, and a missing function is reported
    before anything runs (``function=False`` for names that are not functions).
    """
    if student_name and function and not student.has(student_name):
        return None, f"`{student_name}` is not defined in your notebook"
    try:
        return student.run(f"{DRIVERS}:{driver}", *args, **kwargs), None
    except StudentError as error:
        message = str(error)
        return None, message.replace(f"`{driver}`", f"`{student_name}`") if student_name else message


def _on_tensors(student: Student, name: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    """Call the student's ``name`` with NumPy arguments turned into torch tensors."""
    return _run(student, "call_on_tensors", name, *args, student_name=name, **kwargs)


def _array(got: Any) -> np.ndarray | None:
    try:
        return np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _close(got: Any, expected: Any, atol: float = 1e-9, rtol: float = 1e-7) -> bool:
    got, expected = _array(got), np.asarray(expected, dtype=np.float64)
    return got is not None and got.shape == expected.shape and bool(np.allclose(got, expected, atol=atol, rtol=rtol))


def _scalar(got: Any) -> float | None:
    """``got`` as a float when it holds exactly one number, else None."""
    array = _array(got)
    return float(array.reshape(())) if array is not None and array.size == 1 else None


def _same(value: float, expected: float, atol: float = 1e-10, rtol: float = 1e-8) -> bool:
    return bool(np.isfinite(value)) and abs(value - expected) <= atol + rtol * abs(expected)


def _scalar_case(label: str, got: Any, expected: float, hints: list[tuple[float, str]], default: str,
                 weight: float, nonfinite: str = "") -> CaseResult:
    """Judge a function that should return one number; name the likely mistake."""
    value = _scalar(got)
    if value is None:
        shape = np.shape(got) if _array(got) is not None else type(got).__name__
        return case_failed(label, f"returned {shape}; expected a single number (a 0-d tensor)", weight)
    if not np.isfinite(value):
        return case_failed(label, f"the result is NaN or inf{f' ({nonfinite})' if nonfinite else ''}", weight)
    if _same(value, expected):
        return CaseResult(True, f"{label}: ok", weight)
    hint = next((text for candidate, text in hints if _same(value, candidate, 1e-9, 1e-7)), default)
    return case_failed(label, f"wrong value ({hint})", weight)


# ------------------------------------------------------------------ 1 encoder


def _encoder_shapes(in_dim: int, hidden_dim: int, latent_dim: int) -> dict[str, tuple[int, ...]]:
    return {
        "hidden.weight": (hidden_dim, in_dim), "hidden.bias": (hidden_dim,),
        "mu.weight": (latent_dim, hidden_dim), "mu.bias": (latent_dim,),
        "logvar.weight": (latent_dim, hidden_dim), "logvar.bias": (latent_dim,),
    }


def _encoder_oracle(state: dict[str, np.ndarray], x: np.ndarray, relu: bool = True) -> tuple[np.ndarray, np.ndarray]:
    h = F.linear(float64_tensor(x), float64_tensor(state["hidden.weight"]), float64_tensor(state["hidden.bias"]))
    h = torch.relu(h) if relu else h
    mu = F.linear(h, float64_tensor(state["mu.weight"]), float64_tensor(state["mu.bias"]))
    logvar = F.linear(h, float64_tensor(state["logvar.weight"]), float64_tensor(state["logvar.bias"]))
    return mu.numpy(), logvar.numpy()


def check_encoder(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    D, H, Z = int(rng.integers(3, 12)), int(rng.integers(4, 16)), int(rng.integers(1, 5))
    label = f"Encoder({D}, {H}, {Z})"
    shapes = _encoder_shapes(D, H, Z)
    got, error = _run(student, "encoder_parameters", D, H, Z, student_name="Encoder")
    if error:
        yield case_failed(label, error, 5.0)
        return
    named = {str(name): tuple(int(n) for n in np.ravel(shape)) for name, shape in got.items()}
    if set(named) != set(shapes):
        yield case_failed(label, f"its parameters are {sorted(named)}: use exactly three nn.Linear layers "
                    "named hidden, mu and logvar", 5.0)
        return
    wrong = sorted(name for name in shapes if named[name] != shapes[name])
    if wrong:
        yield case_failed(label, f"wrong shape of {', '.join(wrong)}: hidden maps in_dim to hidden_dim, "
                    "mu and logvar map hidden_dim to latent_dim", 5.0)
        return
    yield CaseResult(True, f"{label}: layers ok", 1.0)
    for what, shift in (("random inputs", 0.0), ("many inactive hidden units", -1.0)):
        N = int(rng.integers(2, 12))
        state = {name: rng.normal(0.0, 1.0 / np.sqrt(shape[-1]), size=shape) for name, shape in shapes.items()}
        state["hidden.bias"] = state["hidden.bias"] + shift
        x = rng.normal(size=(N, D))
        mu, logvar = _encoder_oracle(state, x)
        mu_linear, logvar_linear = _encoder_oracle(state, x, relu=False)
        case = f"{label} on a ({N}, {D}) batch ({what})"
        got, error = _run(student, "encoder_forward", D, H, Z, state, x, student_name="Encoder")
        if error:
            yield case_failed(case, error, 2.0)
            continue
        got_mu, got_logvar = got
        if _close(got_mu, logvar) and _close(got_logvar, mu) and not _close(mu, logvar):
            yield case_failed(case, "mu and logvar are swapped: return the pair (mu, logvar)", 2.0)
            continue
        hint = "mu is the mu head applied to ReLU(hidden(x))"
        if _close(got_mu, mu_linear):
            hint = "apply a ReLU to the hidden layer before both heads"
        yield case_reweighted(compare_array(f"{case}: mu", got_mu, mu, atol=1e-10, rtol=1e-8, hint=hint), 1.0)
        hint = "logvar is the logvar head applied to ReLU(hidden(x)), with no activation"
        if _close(got_logvar, logvar_linear):
            hint = "apply a ReLU to the hidden layer before both heads"
        elif _close(got_logvar, np.exp(logvar)) or _close(got_logvar, np.exp(0.5 * logvar)):
            hint = "return the log-variance itself: no exp after the logvar head"
        elif _close(got_logvar, mu):
            hint = "logvar must come from its own head, self.logvar"
        yield case_reweighted(compare_array(f"{case}: logvar", got_logvar, logvar, atol=1e-10, rtol=1e-8, hint=hint), 1.0)


# ------------------------------------------------------------ 2 reparameterise


def _zero_gradient_hint(grad: Any, default: str) -> str:
    array = _array(grad)
    if array is not None and array.size and np.all(array == 0):
        return "the gradient is zero: sampling with torch.normal(mu, std) passes no gradient; write mu + std * eps"
    return default


def _reparameterize_gradient_cases(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    N, Z = int(rng.integers(2, 10)), int(rng.integers(1, 6))
    mu = rng.normal(size=(N, Z))
    logvar = rng.uniform(-2.0, 1.5, size=(N, Z))
    weights = rng.normal(size=(N, Z))
    label = f"reparameterize on ({N}, {Z}) tensors"
    got, error = _run(student, "reparameterize_gradients", mu, logvar, weights, student_name="reparameterize")
    if error:
        yield case_failed(label, error, 2.5)
        return
    z = _array(got["z"])
    shape_ok = z is not None and z.shape == mu.shape
    yield case_verdict(shape_ok, label, "shape ok", f"z has shape {np.shape(got['z'])}; it should have the shape of mu", 0.5)
    cut = "autograd does not reach {}: build z from mu and logvar with torch operations " \
          "(no .detach(), torch.no_grad() or NumPy)"
    if not got["reaches_mu"]:
        yield case_failed(f"{label}: gradient to mu", cut.format("mu"), 1.0)
    else:
        hint = _zero_gradient_hint(got["grad_mu"], "z = mu + std * eps, so dz/dmu = 1")
        yield case_reweighted(compare_array(f"{label}: gradient to mu", got["grad_mu"], weights,
                                    atol=1e-12, rtol=1e-10, hint=hint), 1.0)
    if not got["reaches_logvar"]:
        yield case_failed(f"{label}: gradient to logvar", cut.format("logvar"), 1.0)
    elif not shape_ok:
        yield case_failed(f"{label}: gradient to logvar", "cannot be checked while z has the wrong shape", 1.0)
    else:
        expected = 0.5 * weights * (z - mu)  # dz/dlogvar = 0.5 * std * eps = 0.5 * (z - mu)
        hint = _zero_gradient_hint(got["grad_logvar"], "std = exp(0.5 * logvar), so dz/dlogvar = 0.5 * std * eps")
        if _close(got["grad_logvar"], 2.0 * expected):
            hint = "this is the gradient of z = mu + exp(logvar) * eps: the standard deviation is exp(0.5 * logvar)"
        yield case_reweighted(compare_array(f"{label}: gradient to logvar", got["grad_logvar"], expected,
                                    atol=1e-10, rtol=1e-8, hint=hint), 1.0)


def _spread_hint(std: np.ndarray, sigma: np.ndarray, logvar: np.ndarray, tol: np.ndarray) -> str:
    if np.all(np.abs(std - np.exp(logvar)) <= 2 * tol):
        return "the spread looks like exp(logvar), the variance: the standard deviation is exp(0.5 * logvar)"
    if np.all(std < 1e-6):
        return "every draw is the same: draw a fresh eps for every call and entry (torch.randn_like)"
    if np.all(np.abs(std - 1.0) <= 2 * tol):
        return "the spread ignores logvar: multiply eps by std = exp(0.5 * logvar)"
    return "the samples' standard deviation should be exp(0.5 * logvar)"


def _reparameterize_statistics_cases(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    K, Z, M = 3, int(rng.integers(2, 5)), 4000
    mu = rng.normal(0.0, 2.0, size=(K, Z))
    logvar = rng.choice([-1.0, 1.0], size=(K, Z)) * rng.uniform(1.0, 2.5, size=(K, Z))  # |logvar| >= 1
    sigma = np.exp(0.5 * logvar)
    label = f"reparameterize statistics over {M} draws of a ({K}, {Z}) batch"
    got, error = _on_tensors(student, "reparameterize", np.tile(mu, (M, 1)), np.tile(logvar, (M, 1)))
    if error:
        yield case_failed(label, error, 2.5)
        return
    z = _array(got)
    if z is None or z.shape != (M * K, Z):
        yield case_failed(label, f"returned shape {np.shape(got)}, expected {(M * K, Z)}", 2.5)
        return
    if not np.all(np.isfinite(z)):
        yield case_failed(label, "the samples contain NaN or inf", 2.5)
        return
    draws = z.reshape(M, K, Z)
    mean, std = draws.mean(axis=0), draws.std(axis=0, ddof=1)
    mean_ok = bool(np.all(np.abs(mean - mu) <= STAT_TOLERANCE * sigma / np.sqrt(M)))
    yield case_verdict(mean_ok, label, "mean ok", "the samples' mean should be mu: z = mu + std * eps with eps ~ N(0, I)")
    tol = STAT_TOLERANCE * sigma / np.sqrt(2 * (M - 1))
    std_ok = bool(np.all(np.abs(std - sigma) <= tol))
    yield case_verdict(std_ok, label, "standard deviation ok", _spread_hint(std, sigma, logvar, tol))
    eps = ((draws - mu) / sigma).reshape(M * K, Z)
    corr = np.corrcoef(eps, rowvar=False)
    independent = bool(np.all(np.abs(corr[~np.eye(Z, dtype=bool)]) <= STAT_TOLERANCE / np.sqrt(M * K)))
    yield case_verdict(independent, label, "dimensions independent",
                   "the noise is correlated across latent dimensions: draw an independent eps for every entry "
                   "(torch.randn_like(mu))", 0.5)


def check_reparameterize(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    yield from _reparameterize_gradient_cases(student, rng)
    yield from _reparameterize_statistics_cases(student, rng)
    shape = (int(rng.integers(2, 6)), int(rng.integers(1, 4)))
    label = f"two calls of reparameterize on the same {shape} inputs"
    first, error = _on_tensors(student, "reparameterize", np.zeros(shape), np.zeros(shape))
    second, error = (None, error) if error else _on_tensors(student, "reparameterize", np.zeros(shape), np.zeros(shape))
    if error:
        yield case_failed(label, error, 0.5)
    else:
        same = _close(first, second, 0.0, 0.0)
        yield case_verdict(not same, label, "fresh noise",
                       "both calls gave the same z: draw new noise at every call (do not reseed inside)", 0.5)


# ----------------------------------------------------------------------- 3 KL


def _kl_oracle(mu: np.ndarray, logvar: np.ndarray) -> float:
    """KL(q || N(0, I)) summed over latent dims, averaged over the batch (float64, torch.distributions)."""
    mu_t, logvar_t = float64_tensor(mu), float64_tensor(logvar)
    q = Normal(mu_t, torch.exp(0.5 * logvar_t))
    p = Normal(torch.zeros_like(mu_t), torch.ones_like(mu_t))
    return float(kl_divergence(q, p).sum(dim=-1).mean())


def _kl_hints(mu: np.ndarray, logvar: np.ndarray) -> list[tuple[float, str]]:
    N, Z = mu.shape
    kl = _kl_oracle(mu, logvar)
    return [
        (kl * N, "looks like the sum over the batch: take the mean over examples"),
        (kl / Z, "looks like the mean over latent dimensions: sum over them"),
        (-kl, "the sign is flipped: a KL divergence is never negative"),
        (_kl_oracle(mu, 2.0 * logvar), "logvar is log(sigma**2), so sigma**2 = exp(logvar)"),
        (2.0 * kl, "the closed form has a factor 1/2"),
        (kl + 0.5 * Z, "the -1 inside the sum is missing"),
    ]


def _kl_value_case(student: Student, mu: np.ndarray, logvar: np.ndarray, what: str,
                   weight: float) -> CaseResult:
    label = f"gaussian_kl on ({mu.shape[0]}, {mu.shape[1]}) inputs ({what})"
    got, error = _on_tensors(student, "gaussian_kl", mu, logvar)
    if error:
        return case_failed(label, error, weight)
    default = "0.5 * sum over latent dims of (mu**2 + exp(logvar) - 1 - logvar), mean over the batch"
    if what == "at the prior":
        default = "the KL of the prior to itself must be 0: check the -1 and the signs"
    return _scalar_case(label, got, _kl_oracle(mu, logvar), _kl_hints(mu, logvar), default, weight)


def check_kl(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    N, Z = int(rng.integers(2, 20)), int(rng.integers(2, 8))
    yield _kl_value_case(student, rng.normal(size=(N, Z)), rng.uniform(-2.0, 2.0, size=(N, Z)), "random", 2.0)
    Z = int(rng.integers(1, 10))
    yield _kl_value_case(student, rng.normal(0.0, 3.0, size=(1, Z)), rng.uniform(-3.0, 3.0, size=(1, Z)),
                         "a single example", 1.0)
    shape = (int(rng.integers(1, 10)), int(rng.integers(1, 8)))
    yield _kl_value_case(student, np.zeros(shape), np.zeros(shape), "at the prior", 0.5)
    N, Z = int(rng.integers(2, 10)), int(rng.integers(1, 6))
    mu = np.zeros((N, Z))
    mu[np.arange(N), rng.integers(0, Z, size=N)] = 2.0  # KL(N(2, 1) || N(0, 1)) = 2 for every example
    yield _kl_value_case(student, mu, np.zeros((N, Z)), "one mean of 2 per example, unit variances", 0.5)

    N, Z = int(rng.integers(2, 10)), int(rng.integers(1, 6))
    mu, logvar = rng.normal(size=(N, Z)), rng.uniform(-2.0, 2.0, size=(N, Z))
    label = f"gradients of gaussian_kl on ({N}, {Z}) inputs"
    got, error = _run(student, "kl_gradients", mu, logvar, student_name="gaussian_kl")
    if error:
        yield case_failed(label, error, 1.0)
        return
    if not got["differentiable"]:
        yield case_failed(label, "autograd cannot differentiate the result: build it with torch operations "
                    "(no .item(), float() or NumPy)", 1.0)
        return
    mu_t, logvar_t = float64_tensor(mu, grad=True), float64_tensor(logvar, grad=True)
    q = Normal(mu_t, torch.exp(0.5 * logvar_t))
    kl = kl_divergence(q, Normal(torch.zeros_like(mu_t), torch.ones_like(mu_t))).sum(dim=-1).mean()
    grad_mu, grad_logvar = (g.numpy() for g in torch.autograd.grad(kl, [mu_t, logvar_t]))
    ok_mu = _close(got["grad_mu"], grad_mu, 1e-12, 1e-9)
    ok_logvar = _close(got["grad_logvar"], grad_logvar, 1e-12, 1e-9)
    yield case_verdict(ok_mu and ok_logvar, label, "ok",
                   "the gradients with respect to mu and logvar are wrong: fix the value first", 1.0)


# ----------------------------------------------------------------- 4 the loss


def _bce_sum(x: np.ndarray, logits: np.ndarray) -> float:
    return float(F.binary_cross_entropy_with_logits(float64_tensor(logits), float64_tensor(x), reduction="sum"))


def _loss_case(student: Student, rng: np.random.Generator, what: str, weight: float) -> CaseResult:
    N, D, Z = int(rng.integers(2, 12)), int(rng.integers(4, 30)), int(rng.integers(1, 5))
    x = rng.uniform(0.0, 1.0, size=(N, D))
    x[rng.random(size=(N, D)) < 0.3] = 0.0  # like digits: many blank pixels
    logits = rng.normal(0.0, 2.0, size=(N, D))
    mu, logvar = rng.normal(size=(N, Z)), rng.uniform(-2.0, 2.0, size=(N, Z))
    beta = 1.0
    if what == "reconstruction only, mu = 0 and logvar = 0":
        mu, logvar = np.zeros((N, Z)), np.zeros((N, Z))
    elif what == "large logits, mu = 0 and logvar = 0":
        x = (rng.random(size=(N, D)) < 0.5).astype(np.float64)
        logits = rng.uniform(200.0, 600.0, size=(N, D)) * np.where(rng.random(size=(N, D)) < 0.5, 1, -1)
        mu, logvar = np.zeros((N, Z)), np.zeros((N, Z))
    elif what.startswith("beta"):
        beta = float(np.round(rng.uniform(0.2, 4.0), 2))
        what = f"beta = {beta}"
    label = f"vae_loss on a ({N}, {D}) batch, latent_dim {Z} ({what})"
    got, error = _on_tensors(student, "vae_loss", x, logits, mu, logvar, beta=beta)
    if error:
        return case_failed(label, error, weight)
    reconstruction, kl = _bce_sum(x, logits) / N, _kl_oracle(mu, logvar)
    hints = [
        (reconstruction / D + beta * kl, "sum the binary cross-entropy over the pixels, do not average it"),
        (reconstruction * N + beta * kl, "average the reconstruction term over the batch, do not sum it"),
        (reconstruction + beta * kl * N, "the KL term is averaged over the batch too"),
        (beta * reconstruction + kl, "beta multiplies the KL term, not the reconstruction"),
    ]
    if kl > 0:
        hints += [(reconstruction, "add beta times your gaussian_kl"),
                  (reconstruction + kl, "multiply the KL term by beta")]
    default = "mean over the batch of the BCE summed over pixels, plus beta * gaussian_kl"
    unstable = "not stable for large logits: use F.binary_cross_entropy_with_logits on the logits"
    if what.startswith("large"):
        default = unstable
    return _scalar_case(label, got, reconstruction + beta * kl, hints, default, weight, nonfinite=unstable)


def check_elbo(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    yield _loss_case(student, rng, "reconstruction only, mu = 0 and logvar = 0", 1.0)
    yield _loss_case(student, rng, "random", 1.5)
    yield _loss_case(student, rng, "beta", 1.0)
    yield _loss_case(student, rng, "large logits, mu = 0 and logvar = 0", 0.5)


# ------------------------------------------------------------------ 5 training


def _knn_accuracy(train_codes: np.ndarray, train_labels: np.ndarray, codes: np.ndarray,
                  labels: np.ndarray) -> float:
    from sklearn.neighbors import KNeighborsClassifier

    return float(KNeighborsClassifier(n_neighbors=5).fit(train_codes, train_labels).score(codes, labels))


def check_train(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    X, y = load_digits_split("heldout")  # never loaded by the notebook
    N = len(X)
    label = f"the trained `vae` on {N} held-out digits"
    got, error = _run(student, "trained_encode", X, student_name="vae.encoder", function=False)
    if error:
        yield case_failed(label, error, 5.0)
        return
    mu, logvar = (_array(part) for part in got)
    if mu is None or logvar is None or mu.shape != (N, 2) or logvar.shape != (N, 2):
        yield case_failed(label, f"the encoder returned mu {np.shape(got[0])} and logvar {np.shape(got[1])}; "
                    f"expected ({N}, 2) each (latent_dim=2)", 5.0)
        return
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(logvar))):
        yield case_failed(label, "the encoder returned NaN or inf", 5.0)
        return
    yield CaseResult(True, f"{label}: encoder output shapes ok", 0.5)

    eps = rng.standard_normal(size=(ELBO_SAMPLES, N, 2))
    z = (mu + np.exp(0.5 * logvar) * eps).reshape(ELBO_SAMPLES * N, 2)
    got, error = _run(student, "trained_decode", z, student_name="vae.decoder", function=False)
    logits = _array(got)
    if error or logits is None or logits.shape != (ELBO_SAMPLES * N, X.shape[1]):
        problem = error or f"vae.decoder returned shape {np.shape(got)} for {ELBO_SAMPLES * N} codes"
        yield case_failed(label, problem, 3.0)
    else:
        reconstruction = _bce_sum(np.tile(X, (ELBO_SAMPLES, 1)), logits) / (ELBO_SAMPLES * N)
        kl = _kl_oracle(mu, logvar)
        nelbo = reconstruction + kl
        ok = bool(np.isfinite(nelbo)) and nelbo <= MAX_HELDOUT_NELBO
        verdict = (f"negative ELBO {nelbo:.1f} nats per image (reconstruction {reconstruction:.1f} + KL {kl:.1f}) "
                   f"{'meets' if ok else 'is above'} the required at most {MAX_HELDOUT_NELBO:.1f}")
        advice = (" — check vae_loss (BCE summed over pixels, mean over the batch, plus the KL) and that "
                  "every batch takes an optimiser step")
        yield CaseResult(ok, f"{label}: {verdict}{'' if ok else advice}", 3.0)

    X_train, y_train = load_digits_split("train")
    got, error = _run(student, "trained_encode", X_train, student_name="vae.encoder", function=False)
    train_mu = None if error else _array(got[0])
    if error or train_mu is None or train_mu.shape != (len(X_train), 2) or not np.all(np.isfinite(train_mu)):
        yield case_failed(label, error or "the codes of the training digits have the wrong shape or are not finite", 1.0)
    else:
        accuracy = _knn_accuracy(train_mu, y_train, mu, y)
        ok = accuracy >= MIN_KNN_ACCURACY
        yield case_verdict(
            ok, label,
            f"{accuracy:.0%} of held-out codes lie among training codes of the same class",
            f"only {accuracy:.0%} of held-out codes lie among training codes of the same class "
            f"(required {MIN_KNN_ACCURACY:.0%}): the codes carry little information about the image — "
            "is the KL weighted by beta = 1 against the BCE summed over pixels?",
            1.0,
        )

    got, error = _run(student, "trained_history", student_name="history", function=False)
    history = _array(got)
    if error:
        yield case_failed("the training history", error, 0.5)
    else:
        ok = history is not None and history.size >= 2 and bool(np.all(np.isfinite(history))) \
            and history[-1] < history[0]
        yield case_verdict(ok, "the training history", "the loss decreased",
                       "history should hold the finite mean loss of each epoch, decreasing over training", 0.5)


# ------------------------------------------------------------ 6 decode, sample


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return torch.sigmoid(float64_tensor(a)).numpy()


def check_sample(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    Z, D = int(rng.integers(1, 4)), int(rng.integers(5, 20))
    # the driver's decoder is float32, like a trained model: the oracle uses the same rounded weights
    W = rng.normal(0.0, 0.6, size=(D, Z)).astype(np.float32).astype(np.float64)
    b = rng.normal(0.0, 0.5, size=D).astype(np.float32).astype(np.float64)
    N = int(rng.integers(2, 10))
    z = rng.normal(size=(N, Z)).astype(np.float32).astype(np.float64)
    logits = z @ W.T + b
    label = f"decode with a linear decoder ({Z} -> {D}) on {N} codes"
    got, error = _run(student, "decode_with_linear", W, b, z, student_name="decode")
    if error:
        yield case_failed(label, error, 1.0)
    else:
        hint = "return sigmoid(decoder(z))"
        if _close(got, logits, 1e-5, 1e-4):
            hint = "these are logits: apply torch.sigmoid to get probabilities"
        yield case_reweighted(compare_array(label, got, _sigmoid(logits), atol=1e-6, rtol=1e-5, hint=hint), 1.0)

    n = 4000
    label = f"sample(decoder, {n}, {Z}) with a linear decoder ({Z} -> {D})"
    got, error = _run(student, "sample_with_linear", W, b, n, student_name="sample")
    if error:
        yield case_failed(label, error, 2.0)
        return
    p = _array(got)
    if p is None or p.shape != (n, D):
        yield case_failed(label, f"returned shape {np.shape(got)}; expected (n, D) = {(n, D)}", 2.0)
        return
    if not (np.all(np.isfinite(p)) and np.all(p >= 0) and np.all(p <= 1)):
        yield case_failed(label, "the values should be probabilities in [0, 1]: decode the codes with your decode", 2.0)
        return
    yield CaseResult(True, f"{label}: shape ok", 0.5)
    p = np.clip(p, 1e-7, 1 - 1e-7)
    target = (np.log(p) - np.log1p(-p)) - b  # = z @ W.T for the codes the student drew
    codes, *_ = np.linalg.lstsq(W, target.T, rcond=None)
    codes = codes.T
    if np.max(np.abs(codes @ W.T - target)) > 1e-2:
        yield case_failed(label, "these are not outputs of the decoder: pass each code through decode(decoder, z)", 1.5)
        return
    mean, std = codes.mean(axis=0), codes.std(axis=0, ddof=1)
    ok = bool(np.all(np.abs(mean) <= STAT_TOLERANCE / np.sqrt(n))
              and np.all(np.abs(std - 1.0) <= STAT_TOLERANCE / np.sqrt(2 * (n - 1))))
    if ok and Z > 1:
        corr = np.corrcoef(codes, rowvar=False)[~np.eye(Z, dtype=bool)]
        ok = bool(np.all(np.abs(corr) <= STAT_TOLERANCE / np.sqrt(n)))
    hint = "the codes should be drawn from the prior N(0, I) with torch.randn(n, latent_dim)"
    if np.all(np.abs(mean - 0.5) < 0.05) and np.all(np.abs(std - np.sqrt(1 / 12)) < 0.05):
        hint = "torch.rand draws from U(0, 1): the prior N(0, I) needs torch.randn"
    elif np.all(std < 1e-3):
        hint = "all codes are the same: draw a fresh code for every sample"
    yield case_verdict(ok, label, "the codes follow the prior", hint, 1.5)


# --------------------------------------------------------------- 7 interpolate


def check_interpolate(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for steps, weight in ((int(rng.integers(3, 12)), 1.5), (2, 0.5)):
        Z = int(rng.integers(1, 7))
        z_a, z_b = rng.normal(size=Z), rng.normal(size=Z)
        t = np.linspace(0.0, 1.0, steps)[:, None]
        expected = z_a + t * (z_b - z_a)
        label = f"interpolate between two ({Z},) codes in {steps} steps"
        got, error = _on_tensors(student, "interpolate", z_a, z_b, steps)
        if error:
            yield case_failed(label, error, weight)
            continue
        hint = "row k should be z_a + t_k (z_b - z_a) with t_k = k / (steps - 1)"
        if _close(got, z_a + np.linspace(0.0, 1.0, steps, endpoint=False)[:, None] * (z_b - z_a)):
            hint = "include both ends: the last row is z_b, so t_k = k / (steps - 1)"
        elif _close(got, expected[::-1]):
            hint = "the path should start at z_a and end at z_b"
        elif _close(got, expected.T):
            hint = "one code per row: the shape is (steps, latent_dim)"
        yield case_reweighted(compare_array(label, got, expected, atol=1e-10, rtol=1e-8, hint=hint), weight)

    # a float32 path is what a float32 decoder accepts: float64 codes would make it raise
    Z, steps = int(rng.integers(1, 7)), int(rng.integers(3, 9))
    z_a, z_b = (rng.normal(size=Z).astype(np.float32) for _ in range(2))
    label = f"interpolate between two float32 ({Z},) codes in {steps} steps"
    got, error = _on_tensors(student, "interpolate", z_a, z_b, steps)
    if error:
        yield case_failed(label, error, 0.5)
    else:
        dtype = getattr(got, "dtype", None)
        yield case_verdict(dtype == np.float32, label, "dtype kept",
                       f"returned dtype {dtype}: keep the dtype of z_a (e.g. torch.linspace(..., dtype=z_a.dtype))",
                       0.5)


# ------------------------------------------------------- 8 latent arithmetic


def check_arithmetic(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    C, Z = int(rng.integers(3, 8)), int(rng.integers(1, 6))
    N = int(rng.integers(2 * C, 6 * C))
    labels = rng.permutation(np.concatenate([np.arange(C), rng.integers(0, C, size=N - C)])).astype(np.int64)
    mu = rng.normal(size=(N, Z))
    expected = np.stack([mu[labels == c].mean(axis=0) for c in range(C)])
    label = f"class_means of ({N}, {Z}) codes with {C} classes"
    got, error = _on_tensors(student, "class_means", mu, labels, num_classes=C)
    if error:
        yield case_failed(label, error, 1.5)
    else:
        hint = "row c should be the mean of the rows of mu labelled c"
        if _close(got, np.stack([mu[labels == c].sum(axis=0) for c in range(C)])):
            hint = "these are sums: divide by the number of codes in each class"
        yield case_reweighted(compare_array(label, got, expected, atol=1e-10, rtol=1e-8, hint=hint), 1.5)

    M = int(rng.integers(1, 8))
    z, means = rng.normal(size=(M, Z)), rng.normal(size=(C, Z))
    source, target = (int(c) for c in rng.choice(C, size=2, replace=False))
    for alpha, weight in ((float(np.round(rng.uniform(0.2, 2.0), 2)), 1.0), (None, 0.5)):
        step = 1.0 if alpha is None else alpha
        expected = z + step * (means[target] - means[source])
        what = "default alpha" if alpha is None else f"alpha = {alpha}"
        label = f"latent_shift of ({M}, {Z}) codes from class {source} to {target} ({what})"
        kwargs = {} if alpha is None else {"alpha": alpha}
        got, error = _on_tensors(student, "latent_shift", z, means, source, target, **kwargs)
        if error:
            yield case_failed(label, error, weight)
            continue
        hint = "the result is z + alpha * (means[target] - means[source])"
        if _close(got, z - step * (means[target] - means[source])):
            hint = "the direction points from the source class mean to the target class mean"
        elif alpha is not None and _close(got, z + (means[target] - means[source])):
            hint = "alpha should scale the step"
        yield case_reweighted(compare_array(label, got, expected, atol=1e-10, rtol=1e-8, hint=hint), weight)


CHECKS: list[Check] = [
    Check("vae.encoder", TOPIC, "Encoder", check_encoder),
    Check("vae.reparameterize", TOPIC, "reparameterize", check_reparameterize),
    Check("vae.kl", TOPIC, "gaussian_kl", check_kl),
    Check("vae.elbo", TOPIC, "vae_loss", check_elbo),
    Check("vae.train", TOPIC, "train_vae", check_train),
    Check("vae.sample", TOPIC, "decode and sample", check_sample),
    Check("vae.interpolate", TOPIC, "interpolate", check_interpolate),
    Check("vae.arithmetic", TOPIC, "class_means and latent_shift", check_arithmetic),
]
