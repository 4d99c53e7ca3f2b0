"""Hidden checks for the convolutional-networks assignment.

Each check draws fresh shapes, strides, paddings and inputs from ``rng``,
sends them to the student through :class:`dlcourse.checking.Student` and
compares what comes back with its own float64 PyTorch oracle (``F.conv2d``,
``F.conv1d``, ``F.max_pool2d``, ``F.avg_pool2d``, autograd) or with a
behavioural property (speed-up, held-out accuracy). Messages say what is
wrong and on which shape, never the expected values.
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

TOPIC = "cnn"
DRIVERS = "dlcourse_cnn.drivers"

#: conv2d_fast must beat the loop version by this factor in the hidden test
#: (the notebook asks for 20x; the reference reaches several hundred).
MIN_SPEEDUP = 10.0
#: held-out accuracy the trained digits network must reach (the reference
#: reaches 96.5-98.3% on all 597 held-out digits over seeds 0-4).
MIN_DIGITS_ACCURACY = 0.92
HELDOUT_SAMPLE = 400


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


def _close(got: Any, expected: np.ndarray, atol: float = 1e-9, rtol: float = 1e-7) -> bool:
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == expected.shape and bool(np.allclose(got, expected, atol=atol, rtol=rtol))


def _compare(label: str, got: Any, expected: np.ndarray, *, atol: float, rtol: float,
             hint: str = "") -> CaseResult:
    """:func:`compare_array`, with the hint also on a wrong shape."""
    result = compare_array(label, got, expected, atol=atol, rtol=rtol, hint=hint)
    if not result.passed and hint and hint not in result.message:
        return CaseResult(False, f"{result.message} ({hint})", result.weight)
    return result


def _conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: int, padding: int) -> np.ndarray:
    bias = None if b is None else float64_tensor(b)
    return F.conv2d(float64_tensor(x), float64_tensor(w), bias, stride=stride, padding=padding).numpy()


def _conv_case(rng: np.random.Generator, *, max_n: int = 3, max_size: int = 9,
               max_filters: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random x (N, C, H, W), w (F, C, KH, KW), b (F,) whose output has at least one position."""
    n, c, f = (int(rng.integers(1, top + 1)) for top in (max_n, 3, max_filters))
    kh, kw = (int(k) for k in rng.integers(1, 5, size=2))
    h, w_ = (int(s) for s in rng.integers(max(kh, kw) + 1, max_size + 1, size=2))
    return rng.normal(size=(n, c, h, w_)), rng.normal(size=(f, c, kh, kw)), rng.normal(size=f)


def _conv_hint(got: Any, x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int) -> str:
    """A diagnosis of a wrong convolution, from the usual mistakes."""
    if _close(got, _conv2d(x, w[:, :, ::-1, ::-1].copy(), b, stride, padding)):
        return "you flipped the kernel: deep-learning convolution is a cross-correlation"
    if _close(got, _conv2d(x, w, None, stride, padding)):
        return "the bias is missing: add b[f] to every output of filter f"
    return "out[n, f, i, j] = b[f] + sum of w[f] times the padded window at (i * stride, j * stride)"


# ------------------------------------------------------------ 1 conv2d


def _conv_forward_cases(student: Student, rng: np.random.Generator, name: str) -> Iterable[CaseResult]:
    settings = [(1, 0, 1.5), (2, 1, 1.5), (int(rng.integers(2, 4)), 2, 1.0)]
    for stride, padding, weight in settings:
        x, w, b = _conv_case(rng)
        label = f"{name} on x {x.shape}, w {w.shape}, stride={stride}, padding={padding}"
        got, error = _call(student, name, x, w, b, stride=stride, padding=padding)
        if error:
            yield case_failed(label, error, weight)
            continue
        expected = _conv2d(x, w, b, stride, padding)
        hint = _conv_hint(got, x, w, b, stride, padding)
        yield case_reweighted(_compare(label, got, expected, atol=1e-10, rtol=1e-8, hint=hint), weight)


def check_conv2d_forward(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    yield from _conv_forward_cases(student, rng, "conv2d")
    x, w, b = _conv_case(rng)
    x = np.zeros_like(x)
    label = f"conv2d on an all-zero x {x.shape}, w {w.shape}, padding=1"
    got, error = _call(student, "conv2d", x, w, b, stride=1, padding=1)
    if error:
        yield case_failed(label, error, 0.5)
    else:
        hint = "with x = 0 every output of filter f is b[f] — is the bias added?"
        yield case_reweighted(_compare(label, got, _conv2d(x, w, b, 1, 1), atol=1e-12, rtol=1e-10, hint=hint), 0.5)


# ------------------------------------------------------------ 2 kernels


def _gaussian(size: int, sigma: float) -> np.ndarray:
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma**2))
    return (g / g.sum()).numpy()


def check_kernels(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for _ in range(2):
        size = int(rng.choice([3, 5, 7, 9]))
        sigma = float(np.round(rng.uniform(0.5, 3.0), 2))
        label = f"gaussian_kernel({size}, {sigma:g})"
        got, error = _call(student, "gaussian_kernel", size, sigma)
        if error:
            yield case_failed(label, error)
            continue
        expected = _gaussian(size, sigma)
        hint = "g[p, q] proportional to exp(-((p - c)^2 + (q - c)^2) / (2 sigma^2)) with c = (size - 1) / 2"
        try:
            array = np.asarray(got, dtype=np.float64)
            if array.shape == expected.shape and abs(array.sum() - 1.0) > 1e-9:
                hint = "the entries should sum to 1: divide by their sum"
        except (TypeError, ValueError):
            pass
        yield _compare(label, got, expected, atol=1e-12, rtol=1e-9, hint=hint)

    got, error = _call(student, "sobel_kernels")
    label = "sobel_kernels()"
    if error:
        yield case_failed(label, error, 2.0)
        return
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        yield case_failed(label, "should return a pair (kx, ky)", 2.0)
        return
    kx = np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])
    for name, kernel, other in (("kx", kx, kx.T), ("ky", kx.T, kx)):
        hint = (f"{name} is the central difference (-1, 0, 1) along its axis "
                "times the smoothing (1, 2, 1) across it")
        if _close(got[0 if name == "kx" else 1], -kernel, 1e-12, 1e-12):
            hint = ("the sign is flipped: conv2d does not flip the kernel, so the +1 side must face "
                    "the direction in which brightness increases")
        elif _close(got[0 if name == "kx" else 1], other, 1e-12, 1e-12):
            hint = "kx and ky are swapped: kx measures change along W (columns), ky along H (rows)"
        elif _scalar_multiple(got[0 if name == "kx" else 1], kernel):
            hint = ("a scalar multiple of the expected kernel: the Sobel kernels are unnormalised, "
                    "entries from -2 to 2")
        yield _compare(f"{label}: {name}", got[0 if name == "kx" else 1], kernel, atol=1e-12, rtol=1e-12,
                            hint=hint)


def _scalar_multiple(got: Any, kernel: np.ndarray) -> bool:
    """Whether ``got`` is ``c * kernel`` for some ``c`` other than 0 and 1 (e.g. normalised by 8)."""
    try:
        array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if array.shape != kernel.shape or not np.all(np.isfinite(array)):
        return False
    scale = float(np.sum(array * kernel) / np.sum(kernel * kernel))
    return abs(scale) > 1e-9 and abs(scale - 1.0) > 1e-9 and bool(np.allclose(array, scale * kernel,
                                                                              atol=1e-12, rtol=1e-9))


# ------------------------------------------------------------ 3 conv2d backward


def _conv_backward_oracle(dout, x, w, b, stride, padding) -> dict[str, np.ndarray]:
    xt, wt, bt = float64_tensor(x, True), float64_tensor(w, True), float64_tensor(b, True)
    out = F.conv2d(xt, wt, bt, stride=stride, padding=padding)
    grads = torch.autograd.grad((out * float64_tensor(dout)).sum(), [xt, wt, bt])
    return dict(zip(("dx", "dw", "db"), (g.numpy() for g in grads)))


_BACKWARD_HINTS = {
    "dx": "accumulate (+=) dout[n, f, i, j] * w[f] into each (padded) input window, then cut the padding off",
    "dw": "dw[f] accumulates dout[n, f, i, j] times the padded input window",
    "db": "db[f] is the sum of dout[:, f] over the batch and all output positions",
}


def check_conv2d_backward(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for stride, padding in ((1, 1), (2, int(rng.integers(0, 3)))):
        x, w, b = _conv_case(rng, max_size=8)
        out_shape = F.conv2d(float64_tensor(x), float64_tensor(w), stride=stride, padding=padding).shape
        dout = rng.normal(size=tuple(out_shape))
        where = f"x {x.shape}, w {w.shape}, stride={stride}, padding={padding}"
        got, error = _call(student, "conv2d_backward", dout, x, w, b, stride=stride, padding=padding)
        if error:
            yield case_failed(f"conv2d_backward on {where}", error, 2.5)
            continue
        if not (isinstance(got, (tuple, list)) and len(got) == 3):
            yield case_failed(f"conv2d_backward on {where}", "should return a triple (dx, dw, db)", 2.5)
            continue
        expected = _conv_backward_oracle(dout, x, w, b, stride, padding)
        for (key, weight), value in zip((("dx", 1.0), ("dw", 1.0), ("db", 0.5)), got):
            hint = _BACKWARD_HINTS[key]
            if key == "dx" and padding and np.shape(value) == (*x.shape[:2], x.shape[2] + 2 * padding,
                                                                 x.shape[3] + 2 * padding):
                hint = "dx has the padded shape: cut the padding off so that dx has the shape of x"
            result = _compare(f"conv2d_backward: {key} on {where}", value, expected[key],
                                   atol=1e-10, rtol=1e-8, hint=hint)
            yield case_reweighted(result, weight)


# ------------------------------------------------------------ 4 + 5 pooling


def _pool_settings(rng: np.random.Generator) -> list[tuple[int, int | None, str]]:
    """(kernel_size, stride or None for the default, description)."""
    return [
        (int(rng.integers(2, 4)), None, "default stride"),
        (3, int(rng.integers(1, 3)), "overlapping windows"),
    ]


def _pool_input(rng: np.random.Generator, kernel: int) -> np.ndarray:
    n, c = (int(v) for v in rng.integers(1, 4, size=2))
    h, w = (int(v) for v in rng.integers(kernel + 1, kernel + 7, size=2))
    return rng.normal(size=(n, c, h, w))


def _torch_pool(kind: str, x: torch.Tensor, kernel: int, stride: int | None) -> torch.Tensor:
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    return pool(x, kernel, stride=stride if stride is not None else kernel)


def _pool_kwargs(stride: int | None) -> dict[str, int]:
    return {} if stride is None else {"stride": stride}


def check_pool_forward(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for kind in ("max", "avg"):
        other = "avg" if kind == "max" else "max"
        for kernel, stride, what in _pool_settings(rng):
            x = _pool_input(rng, kernel)
            name = f"{kind}_pool2d"
            label = f"{name} on x {x.shape}, kernel_size={kernel}, {what}" + (
                f" (stride={stride})" if stride else "")
            got, error = _call(student, name, x, kernel, **_pool_kwargs(stride))
            if error:
                yield case_failed(label, error)
                continue
            expected = _torch_pool(kind, float64_tensor(x), kernel, stride).numpy()
            hint = "pool each window of each channel separately; windows that do not fit are dropped"
            if _close(got, _torch_pool(other, float64_tensor(x), kernel, stride).numpy(), 1e-12, 1e-10):
                hint = f"this is {other} pooling"
            elif stride is None:
                hint = "stride=None means stride = kernel_size, as in PyTorch"
            yield _compare(label, got, expected, atol=1e-12, rtol=1e-10, hint=hint)


def check_pool_backward(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for kind in ("max", "avg"):
        for kernel, stride, what in _pool_settings(rng):
            x = _pool_input(rng, kernel)
            xt = float64_tensor(x, True)
            out = _torch_pool(kind, xt, kernel, stride)
            dout = rng.normal(size=tuple(out.shape))
            (expected,) = torch.autograd.grad((out * float64_tensor(dout)).sum(), [xt])
            name = f"{kind}_pool2d_backward"
            label = f"{name} on x {x.shape}, kernel_size={kernel}, {what}" + (
                f" (stride={stride})" if stride else "")
            got, error = _call(student, name, dout, x, kernel, **_pool_kwargs(stride))
            if error:
                yield case_failed(label, error, 1.5 if stride else 1.0)
                continue
            if kind == "max":
                hint = "send each dout value to the position of its window's maximum only"
            else:
                hint = "every input of a window receives dout / kernel_size**2"
            if stride is not None:
                hint += "; windows overlap here: accumulate with +="
            yield case_reweighted(_compare(label, got, expected.numpy(), atol=1e-12, rtol=1e-10, hint=hint),
                          1.5 if stride else 1.0)


# ------------------------------------------------------------ 6 conv2d_fast


def check_conv2d_fast(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for stride, padding in ((1, 0), (2, 1), (int(rng.integers(2, 4)), int(rng.integers(0, 3)))):
        x, w, b = _conv_case(rng, max_n=4, max_size=14, max_filters=6)
        label = f"conv2d_fast on x {x.shape}, w {w.shape}, stride={stride}, padding={padding}"
        got, error = _call(student, "conv2d_fast", x, w, b, stride=stride, padding=padding)
        if error:
            yield case_failed(label, error)
            continue
        hint = _conv_hint(got, x, w, b, stride, padding)
        if "out[n, f, i, j]" in hint:
            hint = "keep the (C, KH, KW) order of the columns the same as in w.reshape(F, -1)"
        yield _compare(label, got, _conv2d(x, w, b, stride, padding), atol=1e-10, rtol=1e-8, hint=hint)

    x, w, b = rng.normal(size=(2, 3, 24, 24)), rng.normal(size=(8, 3, 3, 3)), rng.normal(size=8)
    label = f"conv2d_fast speed on x {x.shape}, w {w.shape}, padding=1"
    got, error = _run(student, "conv_speedup", x, w, b, stride=1, padding=1)
    if error:
        yield case_failed(label, f"{error} (the speed is measured against your conv2d)")
        return
    try:
        naive, fast = float(got["naive_seconds"]), float(got["fast_seconds"])
        difference = float(got["max_difference"])
    except (KeyError, TypeError, ValueError):
        yield case_failed(label, "could not be timed")
        return
    if not difference <= 1e-8:
        yield case_failed(label, "conv2d and conv2d_fast disagree on this input, so the speed was not compared")
        return
    speedup = naive / max(fast, 1e-9)
    yield case_verdict(
        speedup >= MIN_SPEEDUP, label, f"{speedup:.0f}x faster than conv2d",
        f"only {speedup:.1f}x faster than conv2d (at least {MIN_SPEEDUP:.0f}x needed): "
        "no Python loops over n, f, i or j, one matrix product",
    )


# ------------------------------------------------------------ 7 conv1d


def check_conv1d(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    for stride, padding, channels in ((1, 0, None), (2, 1, None), (int(rng.integers(1, 4)), 2, 1)):
        n = int(rng.integers(1, 4))
        c = channels or int(rng.integers(1, 4))
        f, k = int(rng.integers(1, 5)), int(rng.integers(1, 6))
        length = int(rng.integers(k + 2, 30))
        x, w, b = rng.normal(size=(n, c, length)), rng.normal(size=(f, c, k)), rng.normal(size=f)
        what = "a univariate series batch" if channels == 1 else "x"
        label = f"conv1d on {what} {x.shape}, w {w.shape}, stride={stride}, padding={padding}"
        got, error = _call(student, "conv1d", x, w, b, stride=stride, padding=padding)
        if error:
            yield case_failed(label, error)
            continue
        expected = F.conv1d(float64_tensor(x), float64_tensor(w), float64_tensor(b), stride=stride, padding=padding).numpy()
        hint = "out[n, f, t] = b[f] + sum over c, k of w[f, c, k] * x_pad[n, c, t * stride + k]"
        if _close(got, F.conv1d(float64_tensor(x), float64_tensor(w).flip(-1), float64_tensor(b), stride=stride, padding=padding).numpy()):
            hint = "you flipped the kernel: conv1d is a cross-correlation"
        elif _close(got, F.conv1d(float64_tensor(x), float64_tensor(w), None, stride=stride, padding=padding).numpy()):
            hint = "the bias is missing: add b[f] to every output of filter f"
        yield _compare(label, got, expected, atol=1e-10, rtol=1e-8, hint=hint)


# ------------------------------------------------------------ 8 LeNet

LENET_SHAPES = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,),
                (10, 84), (10,)]


def _lenet_oracle(params: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    w1, b1, w2, b2, f1, c1, f2, c2, f3, c3 = (float64_tensor(p) for p in params)
    h = F.avg_pool2d(F.relu(F.conv2d(float64_tensor(x), w1, b1, padding=2)), 2)
    h = F.avg_pool2d(F.relu(F.conv2d(h, w2, b2)), 2).flatten(1)
    h = F.relu(F.linear(h, f1, c1))
    h = F.relu(F.linear(h, f2, c2))
    return F.linear(h, f3, c3).numpy()


def _lenet_params(rng: np.random.Generator) -> list[np.ndarray]:
    """Random parameters at PyTorch's default scale, uniform in +-1/sqrt(fan_in)."""
    params = []
    for shape in LENET_SHAPES:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else int(np.prod(params[-1].shape[1:]))
        params.append(rng.uniform(-1.0, 1.0, size=shape) / np.sqrt(fan_in))
    return params


def _shape_text(shapes: Any) -> str:
    return ", ".join("(" + ", ".join(str(int(d)) for d in shape) + ")" for shape in shapes)


def check_lenet(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    n = int(rng.integers(1, 5))
    x = rng.normal(size=(n, 1, 28, 28)).astype(np.float32)
    report, error = _run(student, "lenet_report", x)
    label = "LeNet()"
    if error:
        yield case_failed(label, error, 3.0)
        return
    shapes = [tuple(int(d) for d in shape) for shape in report["parameter_shapes"]]
    ok = shapes == LENET_SHAPES
    yield case_verdict(ok, label, "parameter shapes ok",
                   f"parameter shapes in model.parameters() order are {_shape_text(shapes)}; "
                   "create conv1, conv2, fc1, fc2, fc3 in this order with the sizes of the table", 1.0)
    classes = int(rng.integers(2, 20))
    report_k, error = _run(student, "lenet_report", x, n_classes=classes)
    label_k = f"LeNet(n_classes={classes}) on a batch of shape {x.shape}"
    if error:
        yield case_failed(label_k, error, 0.5)
    else:
        got_shape = tuple(int(d) for d in report_k["output_shape"])
        yield case_verdict(got_shape == (n, classes), label_k, "output shape ok",
                       f"output shape {got_shape}: it should be (N, n_classes)", 0.5)
    label = f"LeNet forward on a batch of shape {x.shape} with given weights"
    if not ok:
        yield case_failed(label, "not compared, the parameter shapes differ", 1.5)
        return
    params = _lenet_params(rng)
    got, error = _run(student, "lenet_forward", params, x.astype(np.float64))
    if error:
        yield case_failed(label, error, 1.5)
        return
    hint = ("ReLU after conv1, conv2, fc1 and fc2, then 2x2 average pooling after each convolution's ReLU; "
            "padding 2 only in conv1; no activation after fc3")
    yield case_reweighted(_compare(label, got, _lenet_oracle(params, x), atol=1e-10, rtol=1e-7, hint=hint), 1.5)


# ------------------------------------------------------------ 9 digits network


def check_digits_cnn(student: Student, rng: np.random.Generator) -> Iterable[CaseResult]:
    from dlcourse_cnn.data import load_digits_split

    X, y = load_digits_split("heldout")  # never loaded by the assignment
    pick = rng.choice(len(y), size=HELDOUT_SAMPLE, replace=False)
    X, y = X[pick], y[pick]
    label = f"digits_model on {HELDOUT_SAMPLE} held-out digits"
    got, error = _run(student, "digits_report", X)
    if error:
        yield case_failed(label, error, 3.0)
        return
    layers = [str(name) for name in got.get("layers", [])]
    yield case_verdict("Conv2d" in layers, label, "contains a convolution",
                   "the network should contain at least one nn.Conv2d", 0.5)
    try:
        labels = np.asarray(got["labels"])
        shape_ok = labels.shape == (HELDOUT_SAMPLE,) and labels.dtype.kind in "iu"
    except (KeyError, TypeError, ValueError):
        labels, shape_ok = np.zeros(0), False
    yield case_verdict(shape_ok, label, "predict returns (N,) integer labels",
                   f"predict returned shape {np.shape(labels)}: it should return (N,) integer labels", 0.5)
    if labels.shape != (HELDOUT_SAMPLE,):
        yield case_failed(label, "accuracy not measured", 2.0)
        return
    accuracy = float(np.mean(labels == y))
    ok = accuracy >= MIN_DIGITS_ACCURACY
    verdict = (f"held-out accuracy {accuracy:.1%} {'meets' if ok else 'is below'} "
               f"the required {MIN_DIGITS_ACCURACY:.0%}")
    advice = " — check the architecture, the learning rate, the loss and that predict takes the arg-max"
    yield CaseResult(ok, f"{label}: {verdict}{'' if ok else advice}", 2.0)


CHECKS: list[Check] = [
    Check("cnn.conv2d_forward", TOPIC, "conv2d", check_conv2d_forward),
    Check("cnn.kernels", TOPIC, "gaussian_kernel and sobel_kernels", check_kernels),
    Check("cnn.conv2d_backward", TOPIC, "conv2d_backward", check_conv2d_backward),
    Check("cnn.pool_forward", TOPIC, "max_pool2d and avg_pool2d", check_pool_forward),
    Check("cnn.pool_backward", TOPIC, "max_pool2d_backward and avg_pool2d_backward", check_pool_backward),
    Check("cnn.conv2d_fast", TOPIC, "conv2d_fast", check_conv2d_fast),
    Check("cnn.conv1d", TOPIC, "conv1d", check_conv1d),
    Check("cnn.lenet", TOPIC, "LeNet", check_lenet),
    Check("cnn.digits_cnn", TOPIC, "the trained digits network", check_digits_cnn),
]
