# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Deep Learning (PyTorch)
#     language: python
#     name: dlcourse-py3
# ---

# %% [markdown]
# # Assignment: convolutional networks
#
# You will build the pieces of a convolutional network by hand, in NumPy,
# then a LeNet in PyTorch:
#
# 1. a 2-D convolution with stride and padding, written with loops;
# 2. hand-set kernels: a Gaussian blur and the Sobel edge detectors;
# 3. the backward pass of the convolution;
# 4. max and average pooling;
# 5. the backward pass of both poolings;
# 6. a vectorised convolution (im2col) that is much faster than the loops;
# 7. a 1-D convolution for a time series;
# 8. the LeNet-5 architecture in `torch.nn`;
# 9. a small LeNet-style network trained on handwritten digits.
#
# Each exercise is a function (or a class) with a docstring that states the
# shapes and dtypes it works with. Replace `raise NotImplementedError()` with
# your code, then run the test cell below it. The visible tests use small
# fixed inputs; when you submit, hidden tests call your functions on fresh
# random shapes, strides and paddings and compare with PyTorch, so do not
# hard-code sizes. Exercises 1–7 use NumPy only (no `torch` inside them).
#
# **Conventions used throughout**
#
# * Images are **NCHW**: a batch `x` has shape `(N, C, H, W)` (batch,
#   channels, height, width), as in PyTorch, not NHWC. Filters `w` have shape
#   `(F, C, KH, KW)` and biases `b` shape `(F,)`.
# * "Convolution" means what PyTorch's `F.conv2d` computes, a
#   **cross-correlation**: the kernel slides over the input *without* being
#   flipped.
# * `padding` adds that many zeros on every side of H and W; `stride` is the
#   same along H and W; windows that do not fit are dropped, so
#   `H_out = (H + 2 * padding - KH) // stride + 1`.
# * Arrays in exercises 1–7 are `float64`; the networks train in `float32`.

# %% nbgrader="readonly" grade_id="setup"
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import dlcourse
from dlcourse_cnn.data import load_digits_split, load_image, make_series

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # the networks here are tiny: one thread avoids threading overhead
np.set_printoptions(precision=4, suppress=True)

X_train, y_train = load_digits_split("train")
X_val, y_val = load_digits_split("val")
print("digits:", X_train.shape, X_train.dtype, "train,", X_val.shape[0], "validation images")

# %% [markdown]
# ## 1. Convolution with loops (4 points)
#
# For every image `n`, filter `f` and output position `(i, j)`, the output is
# the bias plus the sum, over all input channels, of the filter times the
# window of the (zero-padded) input that starts at `(i * stride, j * stride)`:
#
# $$\text{out}[n, f, i, j] = b[f] + \sum_{c, p, q} w[f, c, p, q]\,
#   x_{\text{pad}}[n, c,\; i \cdot s + p,\; j \cdot s + q].$$
#
# Write it with explicit loops over `n`, `f`, `i` and `j` (NumPy may do the
# sum over one window). `np.pad` adds the zeros. This version is slow; it is
# the reference you will speed up in exercise 6.

# %% nbgrader="solution" grade_id="conv2d"
def conv2d(x, w, b, stride=1, padding=0):
    """2-D convolution (cross-correlation, like F.conv2d) written with loops.

    x: np.ndarray (N, C, H, W) float64, a batch of images.
    w: np.ndarray (F, C, KH, KW) float64, F filters.
    b: np.ndarray (F,) float64, one bias per filter.
    stride: int >= 1; padding: int >= 0 zeros on every side of H and W.
    Returns np.ndarray (N, F, H_out, W_out) float64 with
    H_out = (H + 2*padding - KH) // stride + 1 and W_out likewise.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    N, C, H, W = x.shape
    n_filters, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    H_out = (H + 2 * padding - KH) // stride + 1
    W_out = (W + 2 * padding - KW) // stride + 1
    out = np.zeros((N, n_filters, H_out, W_out))
    for n in range(N):
        for f in range(n_filters):
            for i in range(H_out):
                for j in range(W_out):
                    window = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out
    ### END SOLUTION


# %% nbgrader="tests" grade_id="conv2d_tests" points=4 checks=["cnn.conv2d_forward"]
_x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
_w = np.array([[[[1.0, 2.0], [0.0, -1.0]]]])
_out = conv2d(_x, _w, np.array([0.5]))
assert np.shape(_out) == (1, 1, 3, 3), f"a 4x4 image and a 2x2 kernel give a 3x3 output, got shape {np.shape(_out)}"
assert abs(_out[0, 0, 0, 0] - 13.5) > 1e-9, "out[0, 0, 0, 0] is 13.5: you flipped the kernel — deep-learning convolution is a cross-correlation"
assert abs(_out[0, 0, 0, 0] - (-3.0)) > 1e-9, "out[0, 0, 0, 0] is -3: the bias b[f] is missing"
assert np.allclose(_out[0, 0], [[-2.5, -0.5, 1.5], [5.5, 7.5, 9.5], [13.5, 15.5, 17.5]]), "wrong values for a 4x4 ramp and a 2x2 kernel"
_out = conv2d(_x, _w, np.array([0.0]), stride=2, padding=1)
assert np.shape(_out) == (1, 1, 3, 3), f"with stride 2 and padding 1 the output is 3x3, got shape {np.shape(_out)}"
assert np.allclose(_out[0, 0], [[0.0, -2.0, 0.0], [0.0, 7.0, 7.0], [24.0, 41.0, 15.0]]), "wrong values with stride=2, padding=1 — pad with zeros first, then step by the stride"
_out = conv2d(np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), np.arange(4.0))
assert np.shape(_out) == (2, 4, 3, 3), "shape should be (N, F, H_out, W_out)"
assert np.allclose(_out, 27.0 + np.arange(4.0)[None, :, None, None]), "sum over all input channels of the window, then add b[f] of the filter"
print("conv2d: visible tests passed")

# %% [markdown]
# ## 2. Hand-set kernels (2 points)
#
# Before networks learned their filters, people designed them. Two classics:
#
# * A **Gaussian blur** of odd `size` and width `sigma`: with the centre
#   $c = (\text{size} - 1) / 2$,
#   $g[p, q] \propto \exp\!\big(-((p - c)^2 + (q - c)^2) / (2\sigma^2)\big)$,
#   normalised so that the entries **sum to 1** (a blur keeps a flat image unchanged).
# * The **Sobel** edge detectors combine a central difference $(-1, 0, 1)$
#   along one axis with a smoothing $(1, 2, 1)$ along the other, **unnormalised**
#   (integer entries, as Sobel wrote them: do not divide by 8 or by the sum). `kx` must give
#   a **positive** response where the brightness increases to the right (along
#   W), `ky` where it increases downwards (along H). Remember that `conv2d`
#   does not flip the kernel: think about which side the $+1$ goes on.

# %% nbgrader="solution" grade_id="kernels"
def gaussian_kernel(size=5, sigma=1.0):
    """A normalised Gaussian blur kernel.

    size: odd int >= 1; sigma: float > 0.
    Returns np.ndarray (size, size) float64, symmetric, entries summing to 1.
    """
    ### BEGIN SOLUTION
    offsets = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2.0 * sigma**2))
    return g / g.sum()
    ### END SOLUTION


def sobel_kernels():
    """The Sobel edge detectors for conv2d (cross-correlation).

    Returns (kx, ky), each np.ndarray (3, 3) float64 and unnormalised (the
    outer product of (1, 2, 1) and (-1, 0, 1), entries -2..2): kx responds
    positively where brightness increases along W (to the right), ky where it
    increases along H (downwards).
    """
    ### BEGIN SOLUTION
    kx = np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0])
    return kx, kx.T.copy()
    ### END SOLUTION


# %% nbgrader="tests" grade_id="kernels_tests" points=2 checks=["cnn.kernels"]
_g = gaussian_kernel(3, 1.0)
assert np.shape(_g) == (3, 3), "gaussian_kernel(3, ...) should have shape (3, 3)"
assert abs(np.sum(_g) - 1.0) < 1e-12, "the entries should sum to 1: divide by their sum"
assert np.allclose(_g, _g.T) and np.allclose(_g, _g[::-1, ::-1]), "the kernel should be symmetric about its centre — is c = (size - 1) / 2?"
assert abs(_g[1, 1] - 0.20417996) < 1e-7 and abs(_g[0, 1] - 0.1238414) < 1e-7, "wrong values for size 3, sigma 1 — exp(-d^2 / (2 sigma^2)) with d the distance to the centre"
assert np.shape(gaussian_kernel(7, 2.0)) == (7, 7), "the size argument sets the shape"
_kx, _ky = sobel_kernels()
assert np.shape(_kx) == (3, 3) and np.shape(_ky) == (3, 3), "both Sobel kernels are 3x3"
_ramp = np.tile(np.arange(6.0), (6, 1))[None, None]  # brightness = column index: increases to the right
_rx = conv2d(_ramp, np.asarray(_kx)[None, None], np.zeros(1))
_ry = conv2d(_ramp, np.asarray(_ky)[None, None], np.zeros(1))
assert abs(np.sum(_kx)) < 1e-12, "an edge detector gives 0 on a flat image, so its entries sum to 0"
assert np.all(_rx > 0), "kx should respond positively where brightness increases to the right — sign or orientation?"
assert np.allclose(_rx, 8.0), "on a ramp rising by 1 per column the Sobel kx response is 8: (1, 2, 1) times the central difference 2"
assert np.allclose(_ry, 0.0), "ky should not respond to a left-to-right ramp: did you swap kx and ky?"
print("kernels: visible tests passed")

# %% [markdown]
# ### Try your kernels
#
# The editor below applies a 3×3 kernel to an image with **your** `conv2d`
# (padding 1, so the output keeps the image size). Pick a preset or type your
# own numbers. Which kernels respond to the stripes, and which to the edges
# of the square? What does a kernel whose entries sum to 0 do to a flat
# region? It is not graded.

# %% nbgrader="readonly" grade_id="kernel_editor" skip_grading=true
from dlcourse_cnn.widgets import kernel_editor

try:
    editor = kernel_editor(conv2d, {"shapes": load_image("shapes", 40), "photo": load_image("photo", 48)})
except Exception as error:  # noqa: BLE001 - the widget is optional
    editor = None
    print("The kernel editor could not start:", type(error).__name__, error)
editor

# %% [markdown]
# ## 3. The backward pass of the convolution (4 points)
#
# During backpropagation a layer receives `dout` $= \partial L / \partial\,\text{out}$,
# with the shape of its output, and returns the gradients with respect to its
# inputs. Each output `out[n, f, i, j]` was `b[f]` plus the window times
# `w[f]`, so it sends `dout[n, f, i, j]`
#
# * to `db[f]` (once),
# * to `dw[f]`, multiplied by that input window,
# * to the input window in `dx`, multiplied by `w[f]`.
#
# Windows overlap when `stride < KH`, so **accumulate** (`+=`). Work on a
# padded `dx` and cut the padding off at the end: `dx` has the shape of `x`.

# %% nbgrader="solution" grade_id="conv2d_backward"
def conv2d_backward(dout, x, w, b, stride=1, padding=0):
    """Gradients of conv2d(x, w, b, stride, padding).

    dout: np.ndarray (N, F, H_out, W_out) float64, the gradient of the loss
    with respect to the output; x, w, b, stride, padding: as for conv2d.
    Returns (dx, dw, db): np.ndarrays float64 with the shapes of x, w and b.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    N, C, H, W = x.shape
    n_filters, _, KH, KW = w.shape
    _, _, H_out, W_out = dout.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w, dtype=np.float64)
    db = dout.sum(axis=(0, 2, 3))
    for n in range(N):
        for f in range(n_filters):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + KH)
                    cols = slice(j * stride, j * stride + KW)
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    dx = dxp[:, :, padding:padding + H, padding:padding + W]
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader="tests" grade_id="conv2d_backward_tests" points=4 checks=["cnn.conv2d_backward"]
def _numeric_grad(f, a, h=1e-6):
    """Centred finite differences of the scalar function f at a (a is restored)."""
    grad = np.zeros_like(a)
    for index in np.ndindex(a.shape):
        old = a[index]
        a[index] = old + h
        plus = f()
        a[index] = old - h
        minus = f()
        a[index] = old
        grad[index] = (plus - minus) / (2 * h)
    return grad


def _rel_error(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


_rng = np.random.default_rng(1)
_x, _w, _b = _rng.normal(size=(2, 2, 5, 4)), _rng.normal(size=(3, 2, 3, 2)), _rng.normal(size=3)
_dout = _rng.normal(size=(2, 3, 3, 3))  # the output shape for stride=2, padding=1
_dx, _dw, _db = conv2d_backward(_dout, _x, _w, _b, stride=2, padding=1)
assert np.shape(_dx) == _x.shape, f"dx should have the shape of x {_x.shape} (cut off the padding), got {np.shape(_dx)}"
assert np.shape(_dw) == _w.shape and np.shape(_db) == _b.shape, "dw and db should have the shapes of w and b"
assert np.allclose(_db, _dout.sum(axis=(0, 2, 3))), "db[f] is the sum of dout[:, f] over the batch and all output positions"


def _loss():
    return float(np.sum(conv2d(_x, _w, _b, stride=2, padding=1) * _dout))


_errors = {"dx": _rel_error(_dx, _numeric_grad(_loss, _x)), "dw": _rel_error(_dw, _numeric_grad(_loss, _w))}
assert _errors["dw"] < 1e-6, f"dw disagrees with finite differences (relative error {_errors['dw']:.1e}): dw[f] += dout[n, f, i, j] * window"
assert _errors["dx"] < 1e-6, f"dx disagrees with finite differences (relative error {_errors['dx']:.1e}): accumulate dout[n, f, i, j] * w[f] into each window"
print("conv2d_backward: visible tests passed; relative errors", {k: f"{v:.1e}" for k, v in _errors.items()})

# %% [markdown]
# ## 4. Pooling (2 points)
#
# Pooling summarises each `kernel_size` × `kernel_size` window of every
# channel separately: **max pooling** keeps the largest value, **average
# pooling** the mean. As in PyTorch, `stride` defaults to `kernel_size`
# (`stride=None`), there is no padding, and windows that do not fit are
# dropped: `H_out = (H - kernel_size) // stride + 1`.

# %% nbgrader="solution" grade_id="pooling"
def max_pool2d(x, kernel_size=2, stride=None):
    """Max pooling over square windows, channel by channel.

    x: np.ndarray (N, C, H, W) float64; kernel_size: int; stride: int or
    None (None means kernel_size).
    Returns np.ndarray (N, C, H_out, W_out) float64.
    """
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    N, C, H, W = x.shape
    H_out = (H - kernel_size) // stride + 1
    W_out = (W - kernel_size) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out
    ### END SOLUTION


def avg_pool2d(x, kernel_size=2, stride=None):
    """Average pooling over square windows, channel by channel.

    x: np.ndarray (N, C, H, W) float64; kernel_size: int; stride: int or
    None (None means kernel_size).
    Returns np.ndarray (N, C, H_out, W_out) float64.
    """
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    N, C, H, W = x.shape
    H_out = (H - kernel_size) // stride + 1
    W_out = (W - kernel_size) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size]
            out[:, :, i, j] = window.mean(axis=(2, 3))
    return out
    ### END SOLUTION


# %% nbgrader="tests" grade_id="pooling_tests" points=2 checks=["cnn.pool_forward"]
_x = np.array([[1.0, 3, 2, 0], [4, 2, 1, 5], [0, 1, 3, 2], [2, 6, 1, 1]])[None, None]
_m = max_pool2d(_x)
assert np.shape(_m) == (1, 1, 2, 2), f"2x2 windows with stride 2 (the default) turn 4x4 into 2x2, got {np.shape(_m)}"
assert np.allclose(_m[0, 0], [[4, 5], [6, 3]]), "max_pool2d should keep the largest value of each 2x2 window"
_a = avg_pool2d(_x)
assert np.allclose(_a[0, 0], [[2.5, 2.0], [2.25, 1.75]]), "avg_pool2d should keep the mean of each 2x2 window"
_m = max_pool2d(_x, kernel_size=3, stride=1)
assert np.shape(_m) == (1, 1, 2, 2) and np.allclose(_m[0, 0], [[4, 5], [6, 6]]), "3x3 windows with stride 1 overlap"
_a = avg_pool2d(np.concatenate([_x, -_x], axis=1), kernel_size=3, stride=1)
assert np.shape(_a) == (1, 2, 2, 2) and np.allclose(_a[0, 1], -_a[0, 0]), "pool each channel separately"
assert np.shape(max_pool2d(np.zeros((3, 2, 7, 5)), 2)) == (3, 2, 3, 2), "a window that does not fit is dropped: 7x5 -> 3x2"
print("pooling: visible tests passed")

# %% [markdown]
# ## 5. The backward pass of pooling (3 points)
#
# * **Average pooling** spreads each `dout` value evenly over its window:
#   every input in the window receives `dout / kernel_size**2`.
# * **Max pooling** routes each `dout` value to the one input that was the
#   maximum of its window (on a tie, to the first maximum in row-major order,
#   as PyTorch does); every other input of that window receives nothing.
#
# With overlapping windows (`stride < kernel_size`) an input can belong to
# several windows: accumulate.

# %% nbgrader="solution" grade_id="pooling_backward"
def max_pool2d_backward(dout, x, kernel_size=2, stride=None):
    """Gradient of max_pool2d(x, kernel_size, stride) with respect to x.

    dout: np.ndarray (N, C, H_out, W_out) float64; x: the input (N, C, H, W).
    Returns dx: np.ndarray (N, C, H, W) float64.
    """
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x, dtype=np.float64)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size]
                    p, q = np.unravel_index(np.argmax(window), window.shape)  # first maximum
                    dx[n, c, i * stride + p, j * stride + q] += dout[n, c, i, j]
    return dx
    ### END SOLUTION


def avg_pool2d_backward(dout, x, kernel_size=2, stride=None):
    """Gradient of avg_pool2d(x, kernel_size, stride) with respect to x.

    dout: np.ndarray (N, C, H_out, W_out) float64; x: the input (N, C, H, W).
    Returns dx: np.ndarray (N, C, H, W) float64.
    """
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    _, _, H_out, W_out = dout.shape
    dx = np.zeros_like(x, dtype=np.float64)
    share = dout / kernel_size**2
    for i in range(H_out):
        for j in range(W_out):
            dx[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size] += (
                share[:, :, i, j][:, :, None, None])
    return dx
    ### END SOLUTION


# %% nbgrader="tests" grade_id="pooling_backward_tests" points=3 checks=["cnn.pool_backward"]
_x = np.array([[1.0, 3, 2, 0], [4, 2, 1, 5], [0, 1, 3, 2], [2, 6, 1, 1]])[None, None]
_dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), _x)
assert np.shape(_dx) == _x.shape, "dx should have the shape of x"
assert np.allclose(_dx[0, 0], [[0, 0, 0, 0], [1, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]), "each window's gradient goes to its maximum only"
_dx = max_pool2d_backward(np.ones((1, 1, 2, 2)), _x, kernel_size=3, stride=1)
assert _dx[0, 0, 3, 1] == 2.0, "the 6 at (3, 1) is the maximum of two overlapping windows, so it receives 2: accumulate with +="
_dx = avg_pool2d_backward(np.ones((1, 1, 2, 2)), _x)
assert np.allclose(_dx, 0.25), "average pooling over 2x2 windows sends dout / 4 to each input"
_dx = avg_pool2d_backward(np.ones((1, 1, 2, 2)), _x, kernel_size=3, stride=1)
assert abs(_dx[0, 0, 1, 1] - 4 / 9) < 1e-12 and abs(_dx[0, 0, 0, 0] - 1 / 9) < 1e-12, "overlapping windows: accumulate dout / kernel_size**2 from every window"
print("pooling backward: visible tests passed")

# %% [markdown]
# ## 6. A fast convolution with im2col (3 points)
#
# The loops of exercise 1 run `N * F * H_out * W_out` small NumPy operations.
# **im2col** rearranges the input once so that the whole convolution becomes a
# single matrix product:
#
# 1. gather every window into a column: an array `cols` of shape
#    `(N, C * KH * KW, H_out * W_out)`. You may loop over the `KH * KW` kernel
#    offsets `(p, q)`: for each, the slice
#    `x_pad[:, :, p : p + stride * H_out : stride, q : q + stride * W_out : stride]`
#    holds the entry `(p, q)` of every window at once;
# 2. reshape `w` to `(F, C * KH * KW)` (keep the `(C, KH, KW)` order of the columns!);
# 3. `out = w_matrix @ cols` gives `(N, F, H_out * W_out)`; add the bias and reshape.
#
# No loops over `n`, `f`, `i` or `j`. Aim for at least **20×** faster than
# your `conv2d`; the hidden test asks for 10× on a `(2, 3, 24, 24)` batch with
# eight 3×3 filters, to leave room for a busy machine.

# %% nbgrader="solution" grade_id="conv2d_fast"
def conv2d_fast(x, w, b, stride=1, padding=0):
    """Vectorised conv2d (same arguments, result and conventions), via im2col and one matmul.

    x: np.ndarray (N, C, H, W) float64; w: (F, C, KH, KW); b: (F,).
    Returns np.ndarray (N, F, H_out, W_out) float64, equal to conv2d(x, w, b, stride, padding).
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    N, C, H, W = x.shape
    n_filters, _, KH, KW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    H_out = (H + 2 * padding - KH) // stride + 1
    W_out = (W + 2 * padding - KW) // stride + 1
    cols = np.empty((N, C, KH, KW, H_out, W_out))
    for p in range(KH):
        for q in range(KW):
            cols[:, :, p, q] = xp[:, :, p:p + stride * H_out:stride, q:q + stride * W_out:stride]
    out = w.reshape(n_filters, -1) @ cols.reshape(N, C * KH * KW, H_out * W_out)
    return (out + b[:, None]).reshape(N, n_filters, H_out, W_out)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="conv2d_fast_tests" points=3 checks=["cnn.conv2d_fast"]
_rng = np.random.default_rng(2)
for _stride, _padding, _wshape in [(1, 0, (4, 3, 3, 3)), (2, 1, (2, 3, 3, 2)), (3, 2, (3, 3, 2, 4))]:
    _x, _w, _b = _rng.normal(size=(2, 3, 7, 6)), _rng.normal(size=_wshape), _rng.normal(size=_wshape[0])
    _fast = conv2d_fast(_x, _w, _b, stride=_stride, padding=_padding)
    _slow = conv2d(_x, _w, _b, stride=_stride, padding=_padding)
    assert np.shape(_fast) == np.shape(_slow), f"stride {_stride}, padding {_padding}: shape {np.shape(_fast)}, conv2d gives {np.shape(_slow)}"
    assert np.allclose(_fast, _slow, atol=1e-10), f"stride {_stride}, padding {_padding}, w {_wshape}: conv2d_fast disagrees with conv2d — check the order of (C, KH, KW) in the columns"


def _best_time(run, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)  # other work on the machine only ever adds time


_x, _w, _b = _rng.normal(size=(2, 3, 24, 24)), _rng.normal(size=(8, 3, 3, 3)), _rng.normal(size=8)
_slow_s = _best_time(lambda: conv2d(_x, _w, _b, padding=1), 1)
_fast_s = _best_time(lambda: conv2d_fast(_x, _w, _b, padding=1), 5)
assert _slow_s / _fast_s > 3, f"conv2d_fast is only {_slow_s / _fast_s:.1f}x faster than conv2d: avoid Python loops over n, f, i and j"
print(f"conv2d_fast: visible tests passed; {_slow_s / _fast_s:.0f}x faster than conv2d ({_slow_s * 1e3:.1f} ms vs {_fast_s * 1e3:.2f} ms)")

# %% [markdown]
# ## 7. A 1-D convolution for time series (2 points)
#
# A univariate time series of length `L` is a "1-channel image of height 1":
# in PyTorch's layout a batch of series is `(N, C, L)` and `F.conv1d` slides
# filters `(F, C, K)` along time. Write `conv1d` with the same conventions as
# `conv2d` (cross-correlation, zero padding at both ends, stride,
# `L_out = (L + 2 * padding - K) // stride + 1`). Any implementation is fine,
# loops or vectorised.
#
# The test then uses it on a noisy series with a level shift: a moving average
# smooths it, and a "difference of means" filter finds the jump.

# %% nbgrader="solution" grade_id="conv1d"
def conv1d(x, w, b, stride=1, padding=0):
    """1-D convolution (cross-correlation, like F.conv1d).

    x: np.ndarray (N, C, L) float64; w: np.ndarray (F, C, K) float64;
    b: np.ndarray (F,) float64; stride: int >= 1; padding: int >= 0.
    Returns np.ndarray (N, F, L_out) float64 with L_out = (L + 2*padding - K) // stride + 1.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    N, C, L = x.shape
    n_filters, _, K = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    L_out = (L + 2 * padding - K) // stride + 1
    cols = np.stack([xp[:, :, k:k + stride * L_out:stride] for k in range(K)], axis=2)  # (N, C, K, L_out)
    out = w.reshape(n_filters, -1) @ cols.reshape(N, C * K, L_out)
    return out + b[:, None]
    ### END SOLUTION


# %% nbgrader="tests" grade_id="conv1d_tests" points=2 checks=["cnn.conv1d"]
_out = conv1d(np.array([[[1.0, 2, 3, 4, 5]]]), np.array([[[1.0, 0.0, -1.0]]]), np.zeros(1))
assert np.shape(_out) == (1, 1, 3), f"length 5 and a kernel of 3 give 3 outputs, got shape {np.shape(_out)}"
assert not np.allclose(_out, 2.0), "you flipped the kernel: conv1d is a cross-correlation, out[t] = x[t] - x[t + 2] here"
assert np.allclose(_out, -2.0), "out[t] = sum over k of w[k] * x[t + k]: here x[t] - x[t + 2] = -2"
_out = conv1d(np.ones((2, 3, 8)), np.ones((4, 3, 3)), np.arange(4.0), stride=2, padding=1)
assert np.shape(_out) == (2, 4, 4), f"(8 + 2 - 3) // 2 + 1 = 4 outputs per filter, got shape {np.shape(_out)}"
assert np.allclose(_out[:, :, 1:], 9.0 + np.arange(4.0)[None, :, None]), "sum over all channels and the kernel, then add b[f]"
assert np.allclose(_out[:, :, 0], 6.0 + np.arange(4.0)[None, :]), "the first window covers one padded zero per channel"
_t, _series = make_series(length=200, shift_at=120, seed=0)
_smooth = conv1d(_series[None, None], np.full((1, 1, 9), 1 / 9), np.zeros(1), padding=4)[0, 0]
assert _smooth.shape == _series.shape, "padding (K - 1) / 2 keeps the length of the series"
assert np.std(np.diff(_smooth)) < 0.5 * np.std(np.diff(_series)), "a moving average should smooth the series"
_step = conv1d(_series[None, None], np.r_[-np.ones(10), np.ones(10)][None, None] / 10, np.zeros(1))[0, 0]
_found = int(np.argmax(_step)) + 10  # the window starting at t compares x[t:t+10] with x[t+10:t+20]
assert abs(_found - 120) <= 5, f"the difference-of-means filter should peak at the level shift (index 120), found {_found}"
print(f"conv1d: visible tests passed; level shift found at t = {_found}")

# %% [markdown]
# ## 8. LeNet-5 in PyTorch (3 points)
#
# LeCun et al.'s LeNet-5 (1998) for 28×28 digits, in its common modern form:
#
# | layer | operation | output |
# |---|---|---|
# | `conv1` | `nn.Conv2d(1, 6, kernel_size=5, padding=2)`, then ReLU | 6 @ 28×28 |
# | pool | average pooling 2×2, stride 2 | 6 @ 14×14 |
# | `conv2` | `nn.Conv2d(6, 16, kernel_size=5)`, then ReLU | 16 @ 10×10 |
# | pool | average pooling 2×2, stride 2 | 16 @ 5×5 |
# | flatten | | 400 |
# | `fc1` | `nn.Linear(400, 120)`, then ReLU | 120 |
# | `fc2` | `nn.Linear(120, 84)`, then ReLU | 84 |
# | `fc3` | `nn.Linear(84, n_classes)`, no activation (logits) | n_classes |
#
# Create the five layers in `__init__` **in this order** (conv1, conv2, fc1,
# fc2, fc3): the tests load weights through `model.parameters()`, which
# follows the order in which you create the layers. Pooling and ReLU have no
# weights (`F.avg_pool2d`, `F.relu` or modules, as you like).

# %% nbgrader="solution" grade_id="lenet"
class LeNet(nn.Module):
    """LeNet-5 as in the table above.

    forward(x): x torch.Tensor (N, 1, 28, 28) float32 -> logits (N, n_classes).
    """

    def __init__(self, n_classes=10):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, n_classes)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = F.avg_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
        ### END SOLUTION


# %% nbgrader="tests" grade_id="lenet_tests" points=3 checks=["cnn.lenet"]
_net = LeNet()
_shapes = [tuple(p.shape) for p in _net.parameters()]
assert len(_shapes) == 10, f"LeNet should have 10 parameter tensors (a weight and a bias for 5 layers), got {len(_shapes)}"
assert _shapes[0] == (6, 1, 5, 5) and _shapes[2] == (16, 6, 5, 5), "create conv1 then conv2 first, with 5x5 kernels"
assert _shapes[4] == (120, 400), f"fc1 should map 16 * 5 * 5 = 400 features to 120, its weight has shape {_shapes[4]}"
_count = sum(p.numel() for p in _net.parameters())
assert _count == 61706, f"LeNet-5 has 61706 parameters, yours has {_count}"
with torch.no_grad():
    _logits = _net(torch.zeros(3, 1, 28, 28))
assert tuple(_logits.shape) == (3, 10), f"output should be (N, n_classes) = (3, 10), got {tuple(_logits.shape)}"
with torch.no_grad():
    assert tuple(LeNet(n_classes=4)(torch.zeros(2, 1, 28, 28)).shape) == (2, 4), "use n_classes for fc3"
print(f"LeNet: visible tests passed; {_count} parameters")

# %% [markdown]
# ## 9. Train a LeNet-style network on digits (3 points)
#
# LeNet expects 28×28 inputs; scikit-learn's digits are 8×8 (already
# standardised, `X_train` has shape (1000, 1, 8, 8), `float32`). Build a
# smaller network in the same spirit and train it:
#
# * `make_digits_cnn(seed)` seeds torch with `torch.manual_seed(seed)` and
#   returns a `nn.Module` mapping (N, 1, 8, 8) to logits (N, 10), with at least
#   one `nn.Conv2d`. A good start: conv 3×3 (padding 1) with 8 channels, ReLU,
#   2×2 max pooling, conv 3×3 (padding 1) with 16 channels, ReLU, 2×2 max
#   pooling, then `nn.Linear(64, 64)`, ReLU, `nn.Linear(64, 10)`;
# * `train_classifier` runs `epochs` passes of mini-batch training with
#   `torch.optim.Adam(model.parameters(), lr=lr)` on the mean cross-entropy
#   (`F.cross_entropy` on the logits), visiting the examples in a new random
#   order each epoch (use `torch.Generator().manual_seed(seed)`), and returns
#   the mean training loss of each epoch;
# * `predict` returns the predicted labels (the arg-max of the logits) of a
#   NumPy batch, without tracking gradients.
#
# The test trains for 15 epochs (a few seconds). The hidden test gives
# `predict` digits that are in none of the splits you load here and requires
# an accuracy of at least 92% on them.

# %% nbgrader="solution" grade_id="digits_cnn"
def make_digits_cnn(seed=0):
    """A small LeNet-style CNN for 8x8 digits.

    seed: int, passed to torch.manual_seed before the layers are created.
    Returns an nn.Module: float32 (N, 1, 8, 8) -> logits (N, 10).
    """
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 8 @ 4x4
        nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16 @ 2x2
        nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10),
    )
    ### END SOLUTION


def train_classifier(model, X, y, epochs=15, lr=3e-3, batch_size=32, seed=0):
    """Train model in place with Adam on the mean cross-entropy.

    model: nn.Module; X: np.ndarray (N, 1, 8, 8) float32; y: np.ndarray (N,) int64.
    epochs, batch_size: int; lr: float; seed: int for the shuffling.
    Returns a list of `epochs` floats: the mean training loss of each epoch.
    """
    ### BEGIN SOLUTION
    X_t, y_t = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(y_t), generator=generator)
        total = 0.0
        for start in range(0, len(y_t), batch_size):
            batch = order[start:start + batch_size]
            optimiser.zero_grad()
            loss = F.cross_entropy(model(X_t[batch]), y_t[batch])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        history.append(total / len(y_t))
    return history
    ### END SOLUTION


def predict(model, X):
    """Predicted labels.

    model: a trained nn.Module; X: np.ndarray (N, 1, 8, 8) float32.
    Returns np.ndarray (N,) int64, the arg-max of the logits.
    """
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(X, dtype=torch.float32))
    return logits.argmax(dim=1).numpy().astype(np.int64)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="digits_cnn_tests" points=3 checks=["cnn.digits_cnn"]
digits_model = make_digits_cnn(seed=0)
assert any(isinstance(m, nn.Conv2d) for m in digits_model.modules()), "the network should contain at least one nn.Conv2d"
with torch.no_grad():
    assert tuple(digits_model(torch.as_tensor(X_train[:5])).shape) == (5, 10), "the network should map (N, 1, 8, 8) to logits (N, 10)"
history = train_classifier(digits_model, X_train, y_train, epochs=15, lr=3e-3, batch_size=32, seed=0)
assert len(history) == 15, "train_classifier should return one mean loss per epoch"
assert history[-1] < 0.5 * history[0], "the training loss should fall by more than half in 15 epochs — is optimiser.step() called on every batch?"
_pred = predict(digits_model, X_val)
assert np.shape(_pred) == (200,) and np.issubdtype(np.asarray(_pred).dtype, np.integer), "predict should return (N,) integer labels"
_val_acc = float(np.mean(_pred == y_val))
assert _val_acc >= 0.9, f"validation accuracy {_val_acc:.1%} is below 90% — check the architecture, the learning rate and the loss"
print(f"digits CNN: visible tests passed; loss {history[0]:.3f} -> {history[-1]:.3f}, validation accuracy {_val_acc:.1%}")

# %% [markdown]
# ## Explore: what the first layer sees
#
# Each filter of the first convolution turns an input digit into a feature
# map. Move the slider to pick a validation digit: which filters respond to
# strokes of a given direction, which to the background? It is not graded.

# %% nbgrader="readonly" grade_id="feature_maps" skip_grading=true
from dlcourse_cnn.widgets import feature_map_viewer

try:
    viewer = feature_map_viewer(globals().get("digits_model"), X_val, y_val)
except Exception as error:  # noqa: BLE001 - the widget is optional
    viewer = None
    print("The feature-map viewer could not start:", type(error).__name__, error)
viewer
