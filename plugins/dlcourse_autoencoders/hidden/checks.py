"""Hidden checks for the autoencoders assignment.

Each check draws fresh inputs, shapes and seeds from ``rng``, sends them to
the student through :class:`dlcourse.checking.Student` (mostly via the
drivers in :mod:`dlcourse_autoencoders.drivers`, since the exercises take
tensors and models) and compares what comes back with its own float64
PyTorch oracle or with a behavioural property measured on data the
student's notebook never saw. Messages say what is wrong and on which
shape, never the expected values.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import torch

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
from dlcourse_autoencoders.data import load_digits, make_telemetry
from dlcourse_autoencoders.drivers import describe, model_from_spec

TOPIC = "autoencoders"
DRIVERS = "dlcourse_autoencoders.drivers"

#: Levels the trained models must reach on held-out data (stated to students).
MIN_STACK_ACCURACY = 0.85
MIN_DETECTOR_F1 = 0.6
MAX_DENOISE_RATIO = 0.6  # denoised error / error of returning the noisy input
MAX_PCA_RATIO = 1.05  # linear autoencoder error / PCA error
MAX_SUBSPACE_SINE = 0.15  # sine of the largest principal angle between decoder span and PCA subspace
SPARSE_RATE_BAND = (0.5, 1.6)  # mean code activation / rho after training with the penalty
PCA_COMPONENTS = 8  # the baseline the detector must beat


# ----------------------------------------------------------------- helpers


#: The student's functions each driver calls, to name them in messages instead of the driver.
_SUBJECTS = {
    "build_report": "build_autoencoder",
    "reconstruction_report": "reconstruction_error",
    "train_report": "train_autoencoder",
    "kl_report": "kl_sparsity",
    "sparse_loss_value": "sparse_loss",
    "sparse_training": "train_autoencoder/sparse_loss",
    "denoising_value": "denoising_loss",
    "denoise_training": "train_autoencoder/denoising_loss",
    "stack_report": "pretrain_stack/fine_tune",
    "detector_report": "fit_detector/detect",
}


def _run(student: Student, driver: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    try:
        return student.run(f"{DRIVERS}:{driver}", *args, **kwargs), None
    except StudentError as error:
        subject = str(args[0]) if driver == "call_with_tensors" and args else _SUBJECTS.get(driver, driver)
        text = str(error).replace(f"`{driver}`", f"`{subject}`")
        _, _, missing = text.partition(" raised NameError: ")
        if missing.endswith("is not defined as a function in your notebook"):
            text = missing  # the driver's own report that a function is missing
        return None, text


def _call(student: Student, name: str, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    """Call the student's ``name`` with the array arguments as tensors."""
    return _run(student, "call_with_tensors", name, *args, **kwargs)


def _array(value: Any) -> np.ndarray | None:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return array


def _close(got: Any, expected: Any, atol: float, rtol: float) -> bool:
    got, expected = _array(got), np.asarray(expected, dtype=np.float64)
    return (got is not None and got.shape == expected.shape
            and bool(np.allclose(got, expected, atol=atol, rtol=rtol)))


def _scalar(value: Any) -> float | None:
    array = _array(value)
    if array is None or array.size != 1:
        return None
    return float(array.reshape(()))


def _linear(rng: np.random.Generator, n_in: int, n_out: int) -> dict[str, Any]:
    """A Linear layer spec drawn like PyTorch's default initialisation."""
    bound = 1.0 / np.sqrt(n_in)
    return {"type": "Linear", "weight": rng.uniform(-bound, bound, size=(n_out, n_in)),
            "bias": rng.uniform(-bound, bound, size=n_out)}


def _fixed_linear(weight: np.ndarray, bias: np.ndarray) -> dict[str, Any]:
    return {"type": "Linear", "weight": np.asarray(weight, dtype=np.float64),
            "bias": np.asarray(bias, dtype=np.float64)}


def _spec_types(spec: Any) -> list[str]:
    return [str(layer.get("type")) for layer in spec] if isinstance(spec, (list, tuple)) else []


def _spec_weights(spec: Any) -> list[np.ndarray]:
    arrays = []
    for layer in spec:
        if layer.get("type") == "Linear":
            arrays += [np.asarray(layer[key], dtype=np.float64) for key in ("weight", "bias")]
    return arrays


def _same_weights(got: Any, expected: Any, atol: float, rtol: float) -> bool:
    try:
        a, b = _spec_weights(got), _spec_weights(expected)
    except (KeyError, TypeError, AttributeError):
        return False
    return len(a) == len(b) and all(x.shape == y.shape and np.allclose(x, y, atol=atol, rtol=rtol)
                                    for x, y in zip(a, b))


def _same_model(got: Any, encoder: Any, decoder: Any, atol: float, rtol: float) -> bool:
    """Whether a reported {"encoder", "decoder"} pair holds the weights of the two specs."""
    return (_same_weights(got.get("encoder"), encoder, atol, rtol)
            and _same_weights(got.get("decoder"), decoder, atol, rtol))


def _f1(pred: np.ndarray, labels: np.ndarray) -> float:
    pred, labels = pred.astype(bool), labels.astype(bool)
    true_pos = float(np.sum(pred & labels))
    flagged, positives = float(np.sum(pred)), float(np.sum(labels))
    precision = true_pos / flagged if flagged else 0.0
    recall = true_pos / positives if positives else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _best_f1(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The best F1 of ``scores > t`` over every useful threshold, and one threshold reaching it."""
    candidates = np.concatenate([[scores.min() - 1.0], np.unique(scores)])
    f1s = [_f1(scores > t, labels) for t in candidates]
    best = int(np.argmax(f1s))
    return float(f1s[best]), float(candidates[best])


def _pca_error(X_train: np.ndarray, X: np.ndarray, k: int, *, centre: str = "train", rows: bool = True,
               reduce: str = "mean", top: bool = True) -> np.ndarray:
    """PCA reconstruction error per row (float64, via torch.linalg.svd); keyword variants give hints."""
    A, B = float64_tensor(X_train), float64_tensor(X)
    means = {"train": A.mean(dim=0), "own": B.mean(dim=0), "none": torch.zeros_like(A[0])}
    mu = means[centre]
    _, _, Vh = torch.linalg.svd(A - mu, full_matrices=False)
    basis = Vh if rows else Vh.T
    V = basis[:k].T if top else basis[-k:].T
    centred = B - mu
    squared = (centred - centred @ V @ V.T) ** 2
    return (squared.mean(dim=1) if reduce == "mean" else squared.sum(dim=1)).numpy()


# ------------------------------------------------------- 1 architecture


def _expected_layers(n_in: int, n_code: int, hidden: Sequence[int], code_activation: str | None):
    sizes = [n_in, *hidden, n_code]
    encoder = [("Linear", (sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]
    encoder_types = []
    for index, (kind, _) in enumerate(encoder):
        encoder_types.append(kind)
        if index < len(encoder) - 1:
            encoder_types.append("ReLU")
    if code_activation is not None:
        encoder_types.append({"sigmoid": "Sigmoid", "relu": "ReLU"}[code_activation])
    back = sizes[::-1]
    decoder = [("Linear", (back[i + 1], back[i])) for i in range(len(back) - 1)]
    decoder_types = []
    for index, (kind, _) in enumerate(decoder):
        decoder_types.append(kind)
        if index < len(decoder) - 1:
            decoder_types.append("ReLU")
    return (encoder_types, [shape for _, shape in encoder]), (decoder_types, [shape for _, shape in decoder])


def _layer_problem(part: str, spec: Any, types: list[str], shapes: list[tuple[int, int]]) -> str | None:
    got_types = _spec_types(spec)
    if got_types != types:
        hint = ""
        if part == "decoder" and got_types[-1:] in (["Sigmoid"], ["ReLU"]):
            hint = " (no activation after the decoder's last Linear)"
        elif part == "encoder" and got_types[-1:] == ["ReLU"] and types[-1] == "Linear":
            hint = " (no activation on the code when code_activation is None)"
        return f"the {part}'s layers are {got_types}, the stated structure gives {types}{hint}"
    got_shapes = [tuple(np.shape(layer["weight"])) for layer in spec if layer.get("type") == "Linear"]
    if got_shapes != shapes:
        readable = lambda s: [f"{w[1]}->{w[0]}" for w in s]  # noqa: E731 - a short local formatter
        return (f"the {part}'s Linear layers map {readable(got_shapes)}, "
                f"the stated structure gives {readable(shapes)}")
    return None


def check_architecture(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n_in = int(rng.integers(6, 13))
    configs = [
        ((), None),
        ((int(rng.integers(4, 9)),), "sigmoid"),
        ((int(rng.integers(6, 10)), int(rng.integers(3, 6))), "relu"),
    ]
    for hidden, code_activation in configs:
        n_code = int(rng.integers(2, 4))
        n = int(rng.integers(3, 9))
        X = rng.normal(size=(n, n_in)).astype(np.float32)
        label = (f"build_autoencoder({n_in}, {n_code}, hidden={hidden}, code_activation={code_activation!r}) "
                 f"on a ({n}, {n_in}) batch")
        got, error = _run(student, "build_report", n_in, n_code, list(hidden), code_activation, X,
                          int(rng.integers(0, 2**31 - 1)))
        if error:
            yield case_failed(label, error, 2.0)
            continue
        expected = _expected_layers(n_in, n_code, hidden, code_activation)
        (enc_types, enc_shapes), (dec_types, dec_shapes) = expected
        problem = (_layer_problem("encoder", got.get("encoder"), enc_types, enc_shapes)
                   or _layer_problem("decoder", got.get("decoder"), dec_types, dec_shapes))
        yield case_verdict(problem is None, label, "layers follow the stated structure", problem or "", 1.0)
        if problem is not None:
            yield case_failed(label, "the forward pass is checked once the layers follow the stated structure", 1.0)
            continue
        model = model_from_spec(got["encoder"], got["decoder"])
        with torch.no_grad():
            code, output = model.encoder(float64_tensor(X)).numpy(), model(float64_tensor(X)).numpy()
        result = compare_array(f"{label} (code)", got.get("code"), code, atol=1e-5, rtol=1e-4,
                               hint="the encoder's layers should run in order: model.encoder(x)")
        if result.passed:
            result = compare_array(f"{label} (reconstruction)", got.get("output"), output, atol=1e-5,
                                   rtol=1e-4, hint="forward(x) should be decoder(encoder(x))")
        yield case_reweighted(result, 1.0)


def check_reconstruction_error(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for hidden in (False, True):
        n, d, k = int(rng.integers(4, 15)), int(rng.integers(3, 9)), int(rng.integers(1, 3))
        if hidden:
            h = int(rng.integers(3, 7))
            encoder = [_linear(rng, d, h), {"type": "ReLU"}, _linear(rng, h, k)]
            decoder = [_linear(rng, k, h), {"type": "ReLU"}, _linear(rng, h, d)]
        else:
            encoder, decoder = [_linear(rng, d, k)], [_linear(rng, k, d)]
        X = rng.normal(size=(n, d))
        label = f"reconstruction_error on a ({n}, {d}) batch, code size {k}"
        got, error = _run(student, "reconstruction_report", encoder, decoder, X)
        if error:
            yield case_failed(label, error, 1.5)
            continue
        with torch.no_grad():
            squared = ((model_from_spec(encoder, decoder)(float64_tensor(X)) - float64_tensor(X)) ** 2).numpy()
        expected = squared.mean(axis=1)
        value = got.get("error")
        hint = "one value per example: the mean over the features of (model(X) - X) ** 2"
        if _close(value, squared.sum(axis=1), 1e-10, 1e-8):
            hint = "looks like the sum over the features: take the mean"
        elif _close(value, np.sqrt(expected), 1e-10, 1e-8):
            hint = "looks like a root mean squared error: do not take the square root"
        elif _scalar(value) is not None:
            hint = "returns a single number: average over the features only (dim=1), one value per example"
        yield case_reweighted(compare_array(label, value, expected, atol=1e-12, rtol=1e-9, hint=hint), 1.5)
        if not hidden:
            yield case_verdict(not got.get("requires_grad"), label, "no gradient tracked",
                           "the result tracks gradients: compute it under torch.no_grad()", 0.5)


# ---------------------------------------------------------- 2 training loop


def _oracle_train(encoder, decoder, X: np.ndarray, *, epochs: int, lr: float, batch_size: int, seed: int,
                  variant: str = "") -> tuple[list[float], list, list]:
    """Replay the stated training loop in float64; ``variant`` reproduces a common mistake."""
    model = model_from_spec(encoder, decoder)
    x = float64_tensor(X)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        if variant == "reseeded":
            generator = torch.Generator().manual_seed(seed)
        if variant == "unshuffled":
            order = torch.arange(x.shape[0])
        else:
            order = torch.randperm(x.shape[0], generator=generator)
        batch_losses = []
        for start in range(0, x.shape[0], batch_size):
            xb = x[order[start:start + batch_size]]
            squared = (model(xb) - xb) ** 2
            loss = squared.sum() if variant == "sum" else squared.mean()
            if variant != "no_zero_grad":
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        losses.append(sum(batch_losses) / len(batch_losses))
    return losses, describe(model.encoder), describe(model.decoder)


def _train_case(student: Student, rng: np.random.Generator, *, full_batch: bool,
                order_hint: bool = True) -> Iterable[CaseResult]:
    """One replayed training run; ``order_hint`` blames the minibatch order when nothing else explains it."""
    d, k = int(rng.integers(3, 7)), int(rng.integers(1, 3))
    if full_batch:
        n = int(rng.integers(12, 30))
        batch_size = n + int(rng.integers(0, 5))
    else:
        batch_size = int(rng.integers(4, 9))
        n = batch_size * int(rng.integers(3, 6)) + int(rng.integers(1, batch_size))  # a smaller last batch
    epochs, lr = int(rng.integers(4, 9)), float(rng.uniform(0.005, 0.05))
    seed = int(rng.integers(0, 2**31 - 1))
    encoder, decoder = [_linear(rng, d, k)], [_linear(rng, k, d)]
    X = rng.normal(size=(n, d))
    settings = dict(epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    what = "one minibatch per epoch" if full_batch else f"minibatches of {batch_size}"
    label = f"train_autoencoder on a ({n}, {d}) batch, {what}, {epochs} epochs"
    got, error = _run(student, "train_report", encoder, decoder, X, **settings)
    if error:
        yield case_failed(label, error, 1.5)
        return
    losses, enc, dec = _oracle_train(encoder, decoder, X, **settings)
    if _same_model(got, enc, dec, 1e-9, 1e-7):
        yield CaseResult(True, f"{label} (weights): ok", 1.0)
    else:
        hint = "Adam with PyTorch's defaults on mse_loss (the mean over all entries), one step per minibatch"
        variants = {
            "no_zero_grad": "gradients accumulate across steps: call optimizer.zero_grad() before backward()",
            "sum": "the default loss should be the mean over all B x D entries, not the sum",
            "reseeded": "create the torch.Generator once, before the loop over epochs",
            "unshuffled": "shuffle every epoch with torch.randperm(N, generator=g)",
        }
        if _same_model(got, encoder, decoder, 0.0, 0.0):
            hint = "the parameters did not change: is optimizer.step() called on the model's parameters?"
        elif not full_batch and order_hint:
            hint = ("the minibatches differ from the stated convention: one torch.Generator seeded with "
                    "seed, torch.randperm(N, generator=g) every epoch, consecutive slices of batch_size")
        for variant, text in variants.items():
            if full_batch and variant in ("reseeded", "unshuffled"):
                continue  # the order of a single minibatch does not matter
            _, v_enc, v_dec = _oracle_train(encoder, decoder, X, variant=variant, **settings)
            if _same_model(got, v_enc, v_dec, 1e-9, 1e-7):
                hint = text
                break
        yield case_failed(f"{label} (weights)", f"the trained weights differ from the stated procedure ({hint})",
                    1.0)
    got_losses = got.get("losses")
    ok = isinstance(got_losses, list) and len(got_losses) == epochs
    ok = ok and _close(got_losses, losses, 1e-10, 1e-7)
    hint = "return one value per epoch: the mean of loss.item() over that epoch's minibatches"
    if isinstance(got_losses, list) and len(got_losses) != epochs:
        hint = "return a list with exactly `epochs` values"
    yield case_verdict(ok, f"{label} (losses)", "ok", f"wrong recorded losses ({hint})", 0.5)


def check_train_loop(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    full = list(_train_case(student, rng, full_batch=True))
    yield from full
    # the minibatch order is to blame only if a single full batch is trained right
    yield from _train_case(student, rng, full_batch=False, order_hint=bool(full) and full[0].passed)
    n, d = int(rng.integers(20, 40)), int(rng.integers(3, 7))
    encoder, decoder = [_linear(rng, d, 2)], [_linear(rng, 2, d)]
    X = rng.normal(size=(n, d))
    label = f"train_autoencoder with a custom loss_fn on a ({n}, {d}) batch"
    got, error = _run(student, "train_report", encoder, decoder, X, loss="zero_output", epochs=30, lr=0.05,
                      batch_size=8, seed=int(rng.integers(0, 2**31 - 1)))
    if error:
        yield case_failed(label, error, 0.5)
        return
    with torch.no_grad():
        before = float((model_from_spec(encoder, decoder)(float64_tensor(X)) ** 2).mean())
    after = _array(got.get("output"))
    ok = after is not None and after.shape == (n, d) and float(np.mean(after**2)) < 0.25 * before
    yield case_verdict(ok, label, "the given loss is minimised",
                   "a loss asking for zero outputs did not shrink the outputs: "
                   "use loss_fn(model, xb) when it is given",
                   0.5)


def _low_rank_data(rng: np.random.Generator, n: int, d: int, k: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    scales = np.concatenate([rng.uniform(1.0, 2.0, size=k), rng.uniform(0.2, 0.4, size=d - k)])
    return (rng.normal(size=(n, d)) * scales) @ q.T + rng.normal(0.0, 0.5, size=d)


def check_linear_pca(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n, d, k = 200, int(rng.integers(6, 13)), int(rng.integers(2, 5))
    X = _low_rank_data(rng, n, d, k).astype(np.float32)
    encoder, decoder = [_linear(rng, d, k)], [_linear(rng, k, d)]
    label = f"a linear autoencoder with a {k}-unit code trained by train_autoencoder on ({n}, {d}) data"
    got, error = _run(student, "train_report", encoder, decoder, X, epochs=300, lr=3e-2, batch_size=n,
                      seed=int(rng.integers(0, 2**31 - 1)))
    if error:
        yield case_failed(label, error, 2.5)
        return
    output = _array(got.get("output"))
    if output is None or output.shape != (n, d) or not np.all(np.isfinite(output)):
        yield case_failed(label, "the trained model's output is missing, misshapen or not finite", 2.5)
        return
    X64 = X.astype(np.float64)
    ratio = float(np.mean((output - X64) ** 2) / np.mean(_pca_error(X64, X64, k)))
    yield case_verdict(ratio <= MAX_PCA_RATIO, label, "reaches PCA's reconstruction error",
                   f"its reconstruction error stays more than {MAX_PCA_RATIO - 1:.0%} above PCA's with {k} "
                   "components (Baldi and Hornik: trained well, it should match) — "
                   "does training update every parameter?",
                   1.5)
    try:
        weight = np.asarray(got["decoder"][0]["weight"], dtype=np.float64)  # (d, k)
        mu = X64.mean(axis=0)
        top = np.linalg.svd(X64 - mu, full_matrices=False)[2][:k].T
        basis, _ = np.linalg.qr(weight)
        cosines = np.linalg.svd(top.T @ basis, compute_uv=False)
        sine = float(np.sqrt(max(0.0, 1.0 - float(np.min(cosines)) ** 2)))
    except (KeyError, IndexError, TypeError, ValueError, np.linalg.LinAlgError):
        sine = 1.0
    yield case_verdict(sine <= MAX_SUBSPACE_SINE, label, "the decoder spans the principal subspace",
                   "the decoder's columns do not span the top principal directions", 1.0)


# ------------------------------------------------------------------ 3 PCA


def check_pca(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for _ in range(2):
        m, d = int(rng.integers(20, 60)), int(rng.integers(4, 11))
        k = int(rng.integers(1, d))
        n = int(rng.integers(5, 15))
        X_train = _low_rank_data(rng, m, d, k) + rng.normal(0.0, 2.0, size=d)
        X = _low_rank_data(rng, n, d, k) * 1.5 + rng.normal(0.0, 1.0, size=d)
        label = f"pca_reconstruction_error with X_train {X_train.shape}, X {X.shape}, k={k}"
        got, error = _call(student, "pca_reconstruction_error", X_train, X, k)
        if error:
            yield case_failed(label, error, 1.5)
            continue
        hint = "x_hat = mu + V V^T (x - mu) with V the top-k right singular vectors of X_train - mu"
        variants = [
            (dict(centre="none"), "centre with the mean of X_train's rows"),
            (dict(centre="own"), "centre with the mean of X_train, not of X"),
            (dict(rows=False), "the principal directions are the rows of Vh (use Vh[:k].T)"),
            (dict(reduce="sum"), "take the mean over the features, not the sum"),
            (dict(top=False), "keep the k directions with the largest singular values"),
        ]
        for options, text in variants:
            if _close(got, _pca_error(X_train, X, k, **options), 1e-9, 1e-6):
                hint = text
                break
        expected = _pca_error(X_train, X, k)
        yield case_reweighted(compare_array(label, got, expected, atol=1e-9, rtol=1e-6, hint=hint), 1.5)
    d = int(rng.integers(3, 7))
    X_train, X = rng.normal(size=(15, d)), rng.normal(size=(4, d))
    label = f"pca_reconstruction_error with k = D = {d}"
    got, error = _call(student, "pca_reconstruction_error", X_train, X, d)
    if error:
        yield case_failed(label, error, 0.5)
    else:
        yield case_verdict(_close(got, np.zeros(4), 1e-9, 0.0), label, "ok",
                       "with every component kept, every point is reconstructed exactly", 0.5)


# ---------------------------------------------------------- 4 KL sparsity


def _kl_oracle(h: np.ndarray, rho: float) -> tuple[float, np.ndarray]:
    ht = float64_tensor(h, grad=True)
    target = torch.distributions.Bernoulli(probs=torch.full((h.shape[1],), rho, dtype=torch.float64))
    estimate = torch.distributions.Bernoulli(probs=ht.mean(dim=0))
    value = torch.distributions.kl_divergence(target, estimate).sum()
    (grad,) = torch.autograd.grad(value, ht)
    return float(value.detach()), grad.numpy()


def _kl_reversed(h: np.ndarray, rho: float) -> float:
    rho_hat = h.mean(axis=0)
    return float(np.sum(rho_hat * np.log(rho_hat / rho) + (1 - rho_hat) * np.log((1 - rho_hat) / (1 - rho))))


def check_kl_sparsity(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n, k = int(rng.integers(3, 20)), int(rng.integers(2, 10))
    h = 1.0 / (1.0 + np.exp(-1.5 * rng.normal(size=(n, k))))
    rho = float(rng.uniform(0.02, 0.3))
    value, grad = _kl_oracle(h, rho)
    label = f"kl_sparsity on h of shape ({n}, {k}), rho={rho:.3f}"
    got, error = _run(student, "kl_report", h, rho)
    if error:
        yield case_failed(label, error, 1.5)
    else:
        hint = "sum over units of KL(rho || rho_hat_j), rho_hat_j the mean of unit j over the batch"
        got_value = got.get("value")
        if got_value is not None and abs(got_value - _kl_reversed(h, rho)) < 1e-9 * max(1.0, abs(got_value)):
            hint = "this is KL(rho_hat || rho): the penalty is KL(rho || rho_hat)"
        elif got_value is not None and abs(got_value * k - value) < 1e-9 * max(1.0, abs(value)):
            hint = "looks like the mean over the units: sum them"
        ok = got_value is not None and abs(got_value - value) <= 1e-10 + 1e-8 * abs(value)
        yield case_verdict(ok, f"{label} (value)", "ok", f"wrong value ({hint})", 1.0)
        if got.get("autograd") is None:
            yield case_failed(f"{label} (differentiable)", "autograd cannot differentiate the result: use torch "
                        "operations on h (no .item(), NumPy or detach) and return a tensor", 0.5)
        else:
            result = compare_array(f"{label} (autograd of your penalty)", got["autograd"], grad, atol=1e-10,
                                   rtol=1e-7, hint="the penalty's gradient is off where its value is")
            yield case_reweighted(result, 0.5)
    n2, k2 = int(rng.integers(3, 20)), int(rng.integers(2, 10))
    other = (1.0 / (1.0 + np.exp(-rng.normal(size=(n2, k2)))), float(rng.uniform(0.02, 0.3)))
    for hh, r in ((h, rho), other):
        _, g_expected = _kl_oracle(hh, r)
        glabel = f"kl_sparsity_grad on h of shape {hh.shape}, rho={r:.3f}"
        g_got, error = _call(student, "kl_sparsity_grad", hh, r)
        if error:
            yield case_failed(glabel, error, 0.75)
            continue
        hint = "d/dh_nj = (-rho/rho_hat_j + (1 - rho)/(1 - rho_hat_j)) / N"
        if _close(g_got, g_expected * hh.shape[0], 1e-10, 1e-7):
            hint = "looks like the gradient without 1/N: rho_hat is a mean over the batch"
        elif _close(g_got, -g_expected, 1e-10, 1e-7):
            hint = "the sign is flipped"
        elif _array(g_got) is not None and _array(g_got).shape == (hh.shape[1],):
            hint = "return one value per entry of h, shape (N, K)"
        yield case_reweighted(compare_array(glabel, g_got, g_expected, atol=1e-10, rtol=1e-7, hint=hint), 0.75)
    n, k = int(rng.integers(4, 12)), int(rng.integers(2, 6))
    rho = float(rng.uniform(0.05, 0.3))
    wiggle = rng.uniform(-0.5, 0.5, size=(n, k)) * rho
    h = rho + wiggle - wiggle.mean(axis=0)  # every unit averages exactly rho
    label = f"kl_sparsity at its minimum (every unit of a ({n}, {k}) h averages rho)"
    got, error = _run(student, "kl_report", h, rho)
    value = None if error else got.get("value")
    yield case_verdict(value is not None and abs(value) < 1e-10, label, "zero",
                   error or "the penalty should be 0 when every unit's average activation equals rho", 0.5)


# ---------------------------------------------------------- 5 sparse autoencoder


def _sparse_oracle(encoder, decoder, X: np.ndarray, beta: float, rho: float) -> float:
    model = model_from_spec(encoder, decoder)
    with torch.no_grad():
        code = model.encoder(float64_tensor(X))
        mse = float(((model.decoder(code) - float64_tensor(X)) ** 2).mean())
    return mse + beta * _kl_oracle(code.numpy(), rho)[0]


def check_sparse_autoencoder(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    b, d, k = int(rng.integers(5, 20)), int(rng.integers(4, 10)), int(rng.integers(3, 12))
    encoder, decoder = [_linear(rng, d, k), {"type": "Sigmoid"}], [_linear(rng, k, d)]
    X = rng.uniform(0.0, 1.0, size=(b, d))
    for beta, weight in ((float(rng.uniform(0.05, 1.0)), 1.0), (0.0, 0.5)):
        rho = float(rng.uniform(0.02, 0.3))
        label = f"sparse_loss on a ({b}, {d}) batch, {k} sigmoid code units, beta={beta:.3f}, rho={rho:.3f}"
        got, error = _run(student, "sparse_loss_value", encoder, decoder, X, beta, rho)
        if error:
            yield case_failed(label, error, weight)
            continue
        expected = _sparse_oracle(encoder, decoder, X, beta, rho)
        hint = ("mse(decoder(code), xb) + beta * kl_sparsity(code, rho) with code = model.encoder(xb)"
                if beta else "with beta = 0 it is the plain reconstruction MSE")
        ok = abs(got - expected) <= 1e-10 + 1e-8 * abs(expected)
        yield case_verdict(ok, label, "ok", f"wrong value ({hint})", weight)
    X_all, _ = load_digits()
    order = rng.permutation(len(X_all))
    train, test = X_all[order[:600]], X_all[order[600:800]]
    rho = float(rng.uniform(0.05, 0.2))
    encoder, decoder = [_linear(rng, 64, 32), {"type": "Sigmoid"}], [_linear(rng, 32, 64)]
    label = f"a sparse autoencoder (32 sigmoid units, rho={rho:.3f}) trained on 600 digits"
    codes, error = _run(student, "sparse_training", encoder, decoder, train, test, beta=0.1, rho=rho,
                        epochs=10, lr=1e-2, batch_size=64, seed=int(rng.integers(0, 2**31 - 1)))
    if error:
        yield case_failed(label, error, 1.5)
        return
    codes = _array(codes)
    if codes is None or codes.shape != (200, 32) or not np.all(np.isfinite(codes)):
        yield case_failed(label, "the trained encoder's codes are missing, misshapen or not finite", 1.5)
        return
    rate = float(codes.mean()) / rho
    low, high = SPARSE_RATE_BAND
    yield case_verdict(low <= rate <= high, label, "held-out average activation is close to rho",
                   f"the average code activation on held-out digits is not within {low:g} to {high:g} times "
                   "rho: is the penalty computed on the code and added to the loss "
                   "(it uses your train_autoencoder)?",
                   1.5)


# ---------------------------------------------------------- 6 denoising


def check_denoising(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    d, b = int(rng.integers(20, 41)), 500
    noise = float(rng.uniform(0.2, 0.6))
    X = rng.uniform(0.0, 1.0, size=(b, d))
    identity = [_fixed_linear(np.eye(d), np.zeros(d))]
    zero = [_fixed_linear(np.zeros((d, d)), np.zeros(d))]
    seed = int(rng.integers(0, 2**31 - 1))

    label = f"denoising_loss of an identity model on a ({b}, {d}) batch, noise_std={noise:.3f}"
    got, error = _run(student, "denoising_value", identity, identity, X, noise, seed)
    if error:
        yield case_failed(label, error, 1.0)
    else:
        ok = abs(got - noise**2) <= 0.1 * noise**2
        hint = "it should be about noise_std ** 2: the identity returns the noisy input"
        if abs(got) < 1e-3 * noise**2:
            hint = "it is zero: add noise to the input and compare the output with the clean xb"
        elif abs(got - noise) <= 0.1 * noise:
            hint = "noise_std is a standard deviation: multiply torch.randn_like(xb) by it"
        yield case_verdict(ok, label, "ok", f"wrong value ({hint})", 1.0)

    label = f"denoising_loss of a model that outputs zeros on a ({b}, {d}) batch, noise_std={noise:.3f}"
    got, error = _run(student, "denoising_value", identity, zero, X, noise, seed)
    if error:
        yield case_failed(label, error, 1.0)
    else:
        expected = float(np.mean(X**2))
        ok = abs(got - expected) <= 1e-10 + 1e-8 * expected
        yield case_verdict(ok, label, "ok", "wrong value (the target is the clean xb, not the noisy one)", 1.0)

    n, k = int(rng.integers(5, 20)), int(rng.integers(2, 5))
    encoder, decoder = [_linear(rng, d, k)], [_linear(rng, k, d)]
    Xs = rng.normal(size=(n, d))
    label = f"denoising_loss with noise_std=0 on a ({n}, {d}) batch"
    got, error = _run(student, "denoising_value", encoder, decoder, Xs, 0.0, seed)
    if error:
        yield case_failed(label, error, 0.5)
    else:
        with torch.no_grad():
            expected = float(((model_from_spec(encoder, decoder)(float64_tensor(Xs)) - float64_tensor(Xs)) ** 2).mean())
        ok = abs(got - expected) <= 1e-10 + 1e-8 * expected
        yield case_verdict(ok, label, "ok", "without noise it should be the mean squared reconstruction error",
                       0.5)

    X_all, _ = load_digits()
    order = rng.permutation(len(X_all))
    train, clean = X_all[order[:800]], X_all[order[800:1000]].astype(np.float64)
    noisy = (clean + 0.3 * rng.normal(size=clean.shape)).astype(np.float32)
    encoder = [_linear(rng, 64, 64), {"type": "ReLU"}, _linear(rng, 64, 32)]
    decoder = [_linear(rng, 32, 64), {"type": "ReLU"}, _linear(rng, 64, 64)]
    label = "a denoising autoencoder trained on 800 digits (noise_std 0.3), on 200 held-out noisy digits"
    got, error = _run(student, "denoise_training", encoder, decoder, train, noisy, noise_std=0.3, epochs=10,
                      lr=1e-2, batch_size=64, seed=int(rng.integers(0, 2**31 - 1)))
    if error:
        yield case_failed(label, error, 1.5)
        return
    output = _array(got)
    if output is None or output.shape != clean.shape or not np.all(np.isfinite(output)):
        yield case_failed(label, "the denoised digits are missing, misshapen or not finite", 1.5)
        return
    ratio = float(np.mean((output - clean) ** 2) / np.mean((noisy - clean) ** 2))
    yield case_verdict(ratio <= MAX_DENOISE_RATIO, label, "beats returning the noisy input",
                   f"its error to the clean digits is not below {MAX_DENOISE_RATIO:g} times that of "
                   "returning the noisy input (it uses your train_autoencoder and denoising_loss)", 1.5)


# ---------------------------------------------------------- 7 stacked


def _stack_structure(pretrained: Any, sizes: Sequence[int], n_in: int) -> str | None:
    if not isinstance(pretrained, list) or len(pretrained) != len(sizes):
        return f"pretrain_stack should return {len(sizes)} autoencoders, one per size"
    previous = n_in
    for index, (ae, size) in enumerate(zip(pretrained, sizes)):
        types = (_spec_types(ae.get("encoder")), _spec_types(ae.get("decoder")))
        if types != (["Linear", "Sigmoid"], ["Linear"]):
            return (f"autoencoder {index + 1} should be build_autoencoder(n_previous, size, "
                    f"code_activation='sigmoid'): encoder Linear, Sigmoid; decoder Linear")
        if np.shape(ae["encoder"][0]["weight"]) != (size, previous):
            return (f"autoencoder {index + 1} should map {previous} inputs (the previous codes) "
                    f"to {size} code units")
        previous = size
    return None


def check_stacked(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    X_all, y_all = load_digits()
    order = rng.permutation(len(X_all))
    train, test = order[:1000], order[1000:1400]
    sizes = [int(rng.integers(24, 41)), int(rng.integers(8, 17))]
    label = f"pretrain_stack with sizes {tuple(sizes)} and fine_tune on 1000 digits"
    got, error = _run(student, "stack_report", X_all[train], y_all[train], X_all[test], sizes=sizes,
                      n_classes=10, pretrain_epochs=10, finetune_epochs=10, lr=3e-2, batch_size=64,
                      seed=int(rng.integers(0, 2**31 - 1)))
    if error:
        yield case_failed(label, error, 5.0)
        return
    problem = _stack_structure(got.get("pretrained"), sizes, 64)
    yield case_verdict(problem is None, label, "the stack has the stated structure", problem or "", 1.0)
    if problem is not None:
        yield case_failed(label, "the other properties are checked once the structure is right", 4.0)
        return
    inputs, greedy = X_all[train].astype(np.float64), True
    for ae in got["pretrained"]:
        with torch.no_grad():
            model = model_from_spec(ae["encoder"], ae["decoder"])
            x = float64_tensor(inputs)
            error_ = float(((model(x) - x) ** 2).mean())
            codes = model.encoder(x).numpy()
        greedy &= bool(np.isfinite(error_)) and error_ < float(inputs.var(axis=0).mean())
        inputs = codes
    yield case_verdict(greedy, label, "each autoencoder reconstructs the codes of the layers below it",
                   "an autoencoder does not reconstruct its inputs better than their mean: train each one, "
                   "on the codes of the (already trained) encoders before it", 1.0)
    untrained, finetuned = got.get("untrained"), got.get("finetuned")
    types = ["Linear", "Sigmoid"] * len(sizes) + ["Linear"]
    starts = (_spec_types(untrained) == types
              and all(_same_weights(untrained[2 * i:2 * i + 1], ae["encoder"][:1], 0.0, 0.0)
                      for i, ae in enumerate(got["pretrained"]))
              and np.shape(untrained[-1]["weight"]) == (10, sizes[-1]))
    yield case_verdict(starts, label, "fine-tuning starts from the pre-trained encoders",
                   "with epochs=0 fine_tune should return nn.Sequential(encoder_1, ..., encoder_L, "
                   "nn.Linear(K_L, n_classes)) holding the pre-trained encoder weights", 0.5)
    changed = (_spec_types(finetuned) == types
               and not any(_same_weights(finetuned[2 * i:2 * i + 1], ae["encoder"][:1], 1e-12, 0.0)
                           for i, ae in enumerate(got["pretrained"])))
    yield case_verdict(changed, label, "fine-tuning trains the encoders too",
                   "after fine-tuning some encoder weights are unchanged: "
                   "train all the classifier's parameters", 0.5)
    logits = _array(got.get("logits"))
    if logits is None or logits.shape != (len(test), 10):
        yield case_failed(label, f"the classifier should map ({len(test)}, 64) to logits ({len(test)}, 10)", 2.0)
        return
    accuracy = float(np.mean(np.argmax(logits, axis=1) == y_all[test]))
    ok = accuracy >= MIN_STACK_ACCURACY
    verdict = f"held-out accuracy {accuracy:.1%} {'meets' if ok else 'is below'} the required"
    advice = "" if ok else " — is the cross-entropy computed on logits?"
    yield CaseResult(ok, f"{label}: {verdict} {MIN_STACK_ACCURACY:.0%}{advice}", 2.0)


# ---------------------------------------------------------- 8 metrics


def _metrics_oracle(pred: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    pred, labels = pred.astype(bool), labels.astype(bool)
    true_pos = float(np.sum(pred & labels))
    precision = true_pos / np.sum(pred) if np.sum(pred) else 0.0
    recall = true_pos / np.sum(labels) if np.sum(labels) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return float(precision), float(recall), float(f1)


def _triple(got: Any) -> tuple[float, float, float] | None:
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return None
    values = [_scalar(v) for v in got]
    return None if any(v is None for v in values) else tuple(values)  # type: ignore[return-value]


def check_metrics(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n = int(rng.integers(15, 50))
    labels = (rng.random(n) < 0.3).astype(np.int64)
    pred = np.where(rng.random(n) < 0.7, labels, 1 - labels).astype(np.int64)
    label = f"precision_recall_f1 on {n} predictions"
    got, error = _call(student, "precision_recall_f1", pred, labels)
    if error:
        yield case_failed(label, error, 1.0)
    else:
        values, expected = _triple(got), _metrics_oracle(pred, labels)
        ok = values is not None and np.allclose(values, expected, atol=1e-12)
        hint = "precision = TP / flagged, recall = TP / anomalies, F1 = 2PR / (P + R)"
        if values is not None and np.allclose(values[:2], expected[1::-1], atol=1e-12):
            hint = "precision and recall are swapped"
        yield case_verdict(ok, label, "ok", "should return (precision, recall, f1) as floats" if values is None
                       else f"wrong values ({hint})", 1.0)
    for what, p, y in (("nothing flagged", np.zeros(8, np.int64), (rng.random(8) < 0.5).astype(np.int64)),
                       ("no anomalies", (rng.random(8) < 0.5).astype(np.int64), np.zeros(8, np.int64))):
        label = f"precision_recall_f1 with {what}"
        got, error = _call(student, "precision_recall_f1", p, y)
        values = None if error else _triple(got)
        ok = values is not None and np.allclose(values, _metrics_oracle(p, y), atol=1e-12)
        yield case_verdict(ok, label, "ok", error or "a ratio with a zero denominator counts as 0 (not NaN)",
                       0.25)
    for ties in (False, True):
        n = int(rng.integers(30, 80))
        labels = (rng.random(n) < 0.3).astype(np.int64)
        scores = rng.normal(size=n) + 1.2 * labels
        if ties:
            scores = np.round(scores, 1)
        label = f"best_threshold on {n} scores" + (" with ties" if ties else "")
        got, error = _call(student, "best_threshold", scores, labels)
        threshold = None if error else _scalar(got)
        if threshold is None:
            yield case_failed(label, error or "should return one threshold (a float)", 0.75)
            continue
        best, _ = _best_f1(scores, labels)
        ok = _f1(scores > threshold, labels) >= best - 1e-12
        hint = "try every distinct score as the threshold (and one below the smallest)"
        if not ok and _f1(scores >= threshold, labels) >= best - 1e-12:
            hint = "it is best for score >= threshold, but the rule is score > threshold"
        yield case_verdict(ok, label, "reaches the best F1",
                       f"the F1 of scores > threshold is not the best one ({hint})", 0.75)


# ---------------------------------------------------------- 9 detector


def check_detector(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    seeds = [int(s) for s in rng.integers(10_000, 2**31 - 1, size=3)]  # never the notebook's seeds
    X_train, _, _ = make_telemetry(2000, anomaly_rate=0.0, seed=seeds[0])
    X_val, y_val, _ = make_telemetry(500, anomaly_rate=0.2, seed=seeds[1])
    X_test, y_test, _ = make_telemetry(1000, anomaly_rate=0.2, seed=seeds[2])
    label = "fit_detector on fresh telemetry, detect on 1000 held-out windows"
    got, error = _run(student, "detector_report", X_train, X_val, y_val, X_test,
                      int(rng.integers(0, 2**31 - 1)))
    if error:
        yield case_failed(label, error, 4.0)
        return
    pred = _array(got.get("predictions"))
    binary = pred is not None and pred.shape == (1000,) and bool(np.all((pred == 0) | (pred == 1)))
    yield case_verdict(binary, label, "predictions are 0/1 of shape (N,)",
                   "detect should return 0/1 labels of shape (N,)", 0.5)
    flags_all, flags_none = _array(got.get("all")), _array(got.get("none"))
    rule = (flags_all is not None and flags_none is not None
            and flags_all.shape == flags_none.shape == (1000,)
            and bool(np.all(flags_all == 1)) and bool(np.all(flags_none == 0)))
    yield case_verdict(rule, label, "flags windows above the threshold",
                   "with a threshold of -inf every window should be flagged, with +inf none", 0.5)
    if not binary:
        yield case_failed(label, "the F1 is measured once the predictions are 0/1 of shape (N,)", 3.0)
        return
    f1 = _f1(pred, y_test)
    ok = f1 >= MIN_DETECTOR_F1
    verdict = f"held-out F1 {f1:.3f} {'meets' if ok else 'is below'} the required {MIN_DETECTOR_F1:g}"
    advice = "" if ok else " — train longer, or check the threshold"
    yield CaseResult(ok, f"{label}: {verdict}{advice}", 2.0)
    flat = lambda X: X.reshape(len(X), -1).astype(np.float64)  # noqa: E731 - a short local helper
    _, pca_threshold = _best_f1(_pca_error(flat(X_train), flat(X_val), PCA_COMPONENTS), y_val)
    pca_f1 = _f1(_pca_error(flat(X_train), flat(X_test), PCA_COMPONENTS) > pca_threshold, y_test)
    yield case_verdict(f1 > pca_f1, label, f"beats the PCA baseline with {PCA_COMPONENTS} components",
                   f"the PCA baseline with {PCA_COMPONENTS} components and its best validation threshold "
                   "does better on the same windows", 1.0)


CHECKS: list[Check] = [
    Check("autoencoders.architecture", TOPIC, "build_autoencoder", check_architecture),
    Check("autoencoders.reconstruction_error", TOPIC, "reconstruction_error", check_reconstruction_error),
    Check("autoencoders.train_loop", TOPIC, "train_autoencoder", check_train_loop),
    Check("autoencoders.linear_pca", TOPIC, "linear autoencoder vs PCA", check_linear_pca),
    Check("autoencoders.pca", TOPIC, "pca_reconstruction_error", check_pca),
    Check("autoencoders.kl_sparsity", TOPIC, "kl_sparsity", check_kl_sparsity),
    Check("autoencoders.sparse_autoencoder", TOPIC, "sparse_loss", check_sparse_autoencoder),
    Check("autoencoders.denoising", TOPIC, "denoising_loss", check_denoising),
    Check("autoencoders.stacked", TOPIC, "pretrain_stack and fine_tune", check_stacked),
    Check("autoencoders.metrics", TOPIC, "precision_recall_f1 and best_threshold", check_metrics),
    Check("autoencoders.detector", TOPIC, "fit_detector and detect", check_detector),
]
