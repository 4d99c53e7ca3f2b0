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
# # Assignment: regularisation
#
# An MLP trained on the 3 000 MNIST-1D training signals reaches 100% training
# accuracy and only about 60% on new signals: it memorises. In this
# assignment you build the usual remedies yourself, in NumPy, then combine
# them in one PyTorch training loop that generalises much better:
#
# 1. the L2 penalty and 2. the L1 penalty, with their gradients;
# 3. weight decay with Adam: L2 in the loss versus decoupled decay (AdamW);
# 4. inverted dropout, forward and backward, with a train/eval switch;
# 5. batch normalisation, forward with running statistics, and 6. backward;
# 7. early stopping with patience that keeps the best weights;
# 8. Gaussian input noise;
# 9. shift-and-scale augmentation of 1-D signals;
# 10. a regularised MLP on MNIST-1D, checked on signals it never saw.
#
# Each exercise is a function (or a small class) whose docstring states the
# shapes and dtypes it works with. Replace `raise NotImplementedError()` with
# your code, then run the test cell below it. The visible tests use small
# fixed inputs; when you submit, hidden tests call your functions on fresh
# random inputs and shapes, so do not hard-code sizes.
#
# Conventions used throughout: NumPy arrays are `float64` unless stated
# otherwise; a batch of `N` examples with `D` features is an array of shape
# `(N, D)`; random numbers come **only** from the `rng` argument
# (a `np.random.Generator`), never from `np.random.*` directly, so that a
# given seed always gives the same result.

# %% nbgrader="readonly" grade_id="setup"
import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import dlcourse
from dlcourse_regularisation.data import load_mnist1d_split

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # the networks here are small: one thread avoids threading overhead
np.set_printoptions(precision=4, suppress=True)

X_train, y_train, X_val, y_val, X_test, y_test = load_mnist1d_split(n_train=3000)
print("MNIST-1D train", X_train.shape, "validation", X_val.shape, "test", X_test.shape,
      "| dtype", X_train.dtype, "| classes", np.unique(y_train))

# %% [markdown]
# ## 1. The L2 penalty (2 points)
#
# An L2 penalty adds $\frac{\lambda}{2} \sum_W \lVert W \rVert^2$ (the sum of
# all squared weights, times $\lambda/2$) to the loss. Its gradient with
# respect to a weight array is simply $\lambda W$: every step pulls every
# weight towards zero in proportion to its size, which favours smooth
# functions built from many small weights.
#
# Parameters live in a dict `name -> array`. **Only weights are penalised**:
# by convention their names start with `"W"` (`"W1"`, `"W2"`, ...); biases
# (`"b1"`, ...) are left alone. A bias only shifts a unit's input, so shrinking
# it does not make the function any smoother, it only biases the outputs.

# %% nbgrader="solution" grade_id="l2_penalty"
def l2_penalty(params, lam):
    """L2 penalty (lam / 2) * (sum of all squared weights) and its gradient.

    params: dict name -> np.ndarray (any shapes, float64). Names that start
        with "W" are weights and are penalised; all other entries are not.
    lam: float >= 0, the penalty strength.
    Returns (penalty, grads): penalty a Python float; grads a dict with the
    same keys and shapes as params, float64: d penalty / d param (all zeros
    for the entries that are not penalised).
    """
    ### BEGIN SOLUTION
    penalty = 0.0
    grads = {}
    for name, value in params.items():
        value = np.asarray(value, dtype=np.float64)
        if name.startswith("W"):
            penalty += 0.5 * lam * float(np.sum(value**2))
            grads[name] = lam * value
        else:
            grads[name] = np.zeros_like(value)
    return float(penalty), grads
    ### END SOLUTION


# %% nbgrader="tests" grade_id="l2_penalty_tests" points=2 checks=["regularisation.l2_penalty"]
_params = {"W1": np.array([[1.0, -2.0], [3.0, 0.0]]), "b1": np.array([5.0, 5.0]), "W2": np.array([[0.5], [-1.0]])}
_penalty, _grads = l2_penalty(_params, 0.1)
assert isinstance(_penalty, float), "the penalty should be a Python float (use float(...))"
assert isinstance(_grads, dict) and set(_grads) == set(_params), "grads should be a dict with the keys of params"
for _name, _value in _params.items():
    assert np.shape(_grads[_name]) == np.shape(_value), f"grads[{_name!r}] should have the shape of params[{_name!r}]"
assert abs(_penalty - 2 * 0.7625) > 1e-9, "the penalty has a factor 1/2: (lam / 2) * sum of squares"
assert abs(_penalty - (0.7625 + 0.05 * 50)) > 1e-9, "biases (names not starting with 'W') are not penalised"
assert abs(_penalty - 0.7625) < 1e-12, "wrong penalty: expected 0.05 * (1 + 4 + 9 + 0 + 0.25 + 1) = 0.7625"
assert np.allclose(_grads["W1"], 0.1 * _params["W1"]), "the gradient of (lam / 2) * ||W||^2 is lam * W"
assert np.all(_grads["b1"] == 0), "the gradient for a bias should be zero: biases are not penalised"
assert l2_penalty({"b": np.ones(3)}, 1.0)[0] == 0.0, "a dict with only biases has no penalty"
print("l2_penalty: visible tests passed")

# %% [markdown]
# ## 2. The L1 penalty (2 points)
#
# An L1 penalty adds $\lambda \sum_W \sum_{ij} |W_{ij}|$ (no factor 1/2 here).
# Its (sub)gradient is $\lambda\, \mathrm{sign}(W)$, taking the value 0 at
# $W_{ij} = 0$ as `np.sign` and PyTorch's autograd do. The pull towards zero
# has the same strength for a tiny weight as for a big one, which is why L1
# drives many weights to exactly zero (sparse models) where L2 only shrinks
# them. The same naming convention applies: only `"W..."` entries.

# %% nbgrader="solution" grade_id="l1_penalty"
def l1_penalty(params, lam):
    """L1 penalty lam * (sum of all absolute weights) and its subgradient.

    params: dict name -> np.ndarray (any shapes, float64); names starting
        with "W" are penalised, all other entries are not.
    lam: float >= 0.
    Returns (penalty, grads): penalty a Python float; grads a dict with the
    keys and shapes of params, float64, equal to lam * sign(W) for weights
    (0 where a weight is exactly 0) and zeros for the other entries.
    """
    ### BEGIN SOLUTION
    penalty = 0.0
    grads = {}
    for name, value in params.items():
        value = np.asarray(value, dtype=np.float64)
        if name.startswith("W"):
            penalty += lam * float(np.sum(np.abs(value)))
            grads[name] = lam * np.sign(value)
        else:
            grads[name] = np.zeros_like(value)
    return float(penalty), grads
    ### END SOLUTION


# %% nbgrader="tests" grade_id="l1_penalty_tests" points=2 checks=["regularisation.l1_penalty"]
_params = {"W1": np.array([[1.0, -2.0], [3.0, 0.0]]), "b1": np.array([5.0, -5.0]), "W2": np.array([[0.5], [-1.0]])}
_penalty, _grads = l1_penalty(_params, 0.1)
assert isinstance(_penalty, float), "the penalty should be a Python float"
assert isinstance(_grads, dict) and set(_grads) == set(_params), "grads should be a dict with the keys of params"
assert abs(_penalty - 0.1 * 7.5 - 0.1 * 10) > 1e-9, "biases (names not starting with 'W') are not penalised"
assert abs(_penalty - 0.75) < 1e-12, "wrong penalty: expected 0.1 * (1 + 2 + 3 + 0 + 0.5 + 1) = 0.75"
assert np.allclose(_grads["W1"], [[0.1, -0.1], [0.1, 0.0]]), (
    "the subgradient is lam * sign(W), and 0 where the weight is exactly 0"
)
assert np.allclose(_grads["W2"], [[0.1], [-0.1]]) and np.all(_grads["b1"] == 0), "wrong gradient for W2 or b1"
print("l1_penalty: visible tests passed")

# %% [markdown]
# ## 3. Weight decay with Adam: in the loss or decoupled? (3 points)
#
# With plain SGD, "add $\frac{\lambda}{2}\lVert w\rVert^2$ to the loss" and
# "shrink the weights by a factor $(1 - \eta\lambda)$ at every step" are the
# same thing. With an adaptive optimiser such as Adam they are not:
#
# * **L2 in the loss** (`torch.optim.Adam(weight_decay=lam)`): the decay
#   enters the gradient, $g \leftarrow g + \lambda w$, and then goes through
#   Adam's per-coordinate normalisation. A weight whose gradients are large
#   gets *less* decay than one whose gradients are small.
# * **Decoupled weight decay** (`torch.optim.AdamW(weight_decay=lam)`,
#   Loshchilov and Hutter): shrink the weights directly,
#   $w \leftarrow w\,(1 - \eta\lambda)$, then take the Adam step of the data
#   gradient $g$ alone. Every weight decays at the same relative rate.
#
# The cell below gives you Adam's update direction for one array (exactly
# PyTorch's arithmetic: bias-corrected moments, `eps` outside the square
# root). It keeps its moments in a `state` dict that you pass along
# unchanged. Write one Adam step with weight decay, in both variants:
#
# $$w_{\text{new}} = w - \eta\, \mathrm{adam\_direction}(g + \lambda w) \qquad\text{or}\qquad
#   w_{\text{new}} = w\,(1 - \eta\lambda) - \eta\, \mathrm{adam\_direction}(g).$$

# %% nbgrader="readonly" grade_id="adam_helper"
def adam_direction(grad, state, betas=(0.9, 0.999), eps=1e-8):
    """Adam's update direction for one parameter array (as in torch.optim.Adam).

    grad: np.ndarray, the gradient used for this step.
    state: dict holding "t", "m" and "v"; empty on the first call, updated in place.
    Returns m_hat / (sqrt(v_hat) + eps), an array shaped like grad. The step is
    w - lr * adam_direction(grad, state).
    """
    if not state:
        state.update(t=0, m=np.zeros_like(grad), v=np.zeros_like(grad))
    state["t"] += 1
    state["m"] = betas[0] * state["m"] + (1 - betas[0]) * grad
    state["v"] = betas[1] * state["v"] + (1 - betas[1]) * grad**2
    m_hat = state["m"] / (1 - betas[0] ** state["t"])
    v_hat = state["v"] / (1 - betas[1] ** state["t"])
    return m_hat / (np.sqrt(v_hat) + eps)


# %% nbgrader="solution" grade_id="weight_decay"
def weight_decay_step(w, grad, state, lr, lam, decoupled):
    """One Adam step with weight decay, as L2 in the loss or decoupled.

    w, grad: np.ndarray of the same (any) shape, float64; grad is the gradient
        of the data loss only.
    state: the Adam state dict; pass it to adam_direction unchanged.
    lr: float learning rate; lam: float >= 0 decay strength.
    decoupled: False for L2 in the loss (like torch.optim.Adam(weight_decay=lam)),
        True for decoupled weight decay (like torch.optim.AdamW(weight_decay=lam)).
    Returns the new weights, a new np.ndarray shaped like w (w itself is not changed).
    """
    ### BEGIN SOLUTION
    w = np.asarray(w, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    if decoupled:
        return w * (1.0 - lr * lam) - lr * adam_direction(grad, state)
    return w - lr * adam_direction(grad + lam * w, state)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="weight_decay_tests" points=3 checks=["regularisation.weight_decay"]
_w = np.array([1.0, -2.0, 0.0])
_zero = np.zeros(3)
_l2 = weight_decay_step(_w, _zero, {}, lr=0.1, lam=0.5, decoupled=False)
_dec = weight_decay_step(_w, _zero, {}, lr=0.1, lam=0.5, decoupled=True)
assert np.shape(_l2) == (3,) and np.shape(_dec) == (3,), "return the new weights with the shape of w"
assert np.array_equal(_w, [1.0, -2.0, 0.0]), "do not change w in place: return a new array"
assert np.allclose(_dec, [0.95, -1.9, 0.0]), (
    "decoupled: with a zero data gradient the step is just w * (1 - lr * lam), which shrinks every weight by 5%"
)
assert np.allclose(_l2, [0.9, -1.9, 0.0], atol=1e-6), (
    "L2 in the loss: adam_direction(grad + lam * w) is about sign(w) at the first step, "
    "so every nonzero weight moves by lr, whatever its size"
)
_state = {}
_w1 = weight_decay_step(_w, np.array([0.3, -0.1, 0.2]), _state, lr=0.01, lam=0.0, decoupled=True)
_w2 = weight_decay_step(_w1, np.array([0.3, -0.1, 0.2]), _state, lr=0.01, lam=0.0, decoupled=True)
assert _state.get("t") == 2, "pass the same state dict to adam_direction at every step"
assert np.allclose(_w2, _w - 0.02 * np.sign([0.3, -0.1, 0.2]), atol=1e-6), "with lam = 0 both variants are plain Adam"
print("weight_decay_step: visible tests passed")

# %% [markdown]
# ## 4. Inverted dropout (3 points)
#
# During training, dropout sets each unit to zero independently with
# probability `p` and multiplies the surviving units by $1/(1-p)$ ("inverted"
# dropout), so that the expected value of every unit is unchanged. At
# prediction time (`training=False`) it does nothing at all: the output is the
# input. **Here `p` is the probability of dropping a unit**, as in
# `torch.nn.Dropout(p)`; some texts use the keep probability instead.
#
# `dropout_forward` returns the output and the `mask` it multiplied by:
# an array shaped like `x` holding `0.0` for a dropped entry and `1/(1-p)`
# for a kept one (all ones when not training), so `out = x * mask`. Draw a
# fresh mask at every call from `rng`, e.g. `rng.random(x.shape) >= p` marks
# the kept entries. `dropout_backward` uses that mask: since the forward pass
# multiplies by a constant mask, so does the backward pass.

# %% nbgrader="solution" grade_id="dropout"
def dropout_forward(x, p, training, rng):
    """Inverted dropout with drop probability p.

    x: np.ndarray of any shape, float64.
    p: float in [0, 1), the probability of DROPPING each entry.
    training: bool; when False the layer is the identity.
    rng: np.random.Generator to draw the mask from.
    Returns (out, mask), both np.ndarray shaped like x, float64: mask holds
    0.0 (dropped) or 1 / (1 - p) (kept), all ones when not training; out = x * mask.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    if not training or p == 0:
        return x.copy(), np.ones_like(x)
    mask = (rng.random(x.shape) >= p) / (1.0 - p)
    return x * mask, mask
    ### END SOLUTION


def dropout_backward(dout, mask):
    """Gradient of the loss with respect to dropout's input.

    dout: np.ndarray, the gradient with respect to out (any shape, float64).
    mask: the mask returned by dropout_forward, shaped like dout.
    Returns dx, an np.ndarray shaped like dout.
    """
    ### BEGIN SOLUTION
    return np.asarray(dout, dtype=np.float64) * mask
    ### END SOLUTION


# %% nbgrader="tests" grade_id="dropout_tests" points=3 checks=["regularisation.dropout"]
_x = np.ones((200, 50))
_out, _mask = dropout_forward(_x, 0.3, True, np.random.default_rng(0))
assert _out.shape == _x.shape and _mask.shape == _x.shape, "out and mask should have the shape of x"
_dropped = float(np.mean(_out == 0))
assert abs(_dropped - 0.7) > 0.05, "p is the probability of DROPPING a unit, not of keeping it"
assert abs(_dropped - 0.3) < 0.02, f"about 30% of the entries should be zero with p = 0.3, got {_dropped:.1%}"
assert np.allclose(_out[_out != 0], 1 / 0.7), "kept entries should be scaled by 1 / (1 - p) (inverted dropout)"
assert np.allclose(_out, _x * _mask), "out should equal x * mask"
assert abs(_out.mean() - 1.0) < 0.03, "inverted dropout keeps the mean of the input"
_eval, _eval_mask = dropout_forward(_x, 0.3, False, np.random.default_rng(0))
assert np.array_equal(_eval, _x) and np.all(_eval_mask == 1), "with training=False dropout is the identity"
_rng = np.random.default_rng(1)
assert not np.array_equal(dropout_forward(_x, 0.5, True, _rng)[1], dropout_forward(_x, 0.5, True, _rng)[1]), (
    "draw a new mask from rng at every call"
)
_dout = np.arange(6.0).reshape(2, 3)
_fixed = np.array([[0.0, 2.0, 2.0], [2.0, 0.0, 2.0]])
assert np.allclose(dropout_backward(_dout, _fixed), _dout * _fixed), "the gradient is dout * mask"
print("dropout: visible tests passed")

# %% [markdown]
# ## 5. Batch normalisation, forward (3 points)
#
# For a batch `x` of shape `(N, D)`, batch normalisation normalises every
# feature (column) with the mean $\mu$ and the **biased** variance
# $\sigma^2 = \frac1N\sum_n (x_n - \mu)^2$ of the batch, then scales and shifts:
#
# $$\hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad \text{out} = \gamma \hat x + \beta.$$
#
# It also keeps running estimates for prediction time, updated as PyTorch
# does: `running = (1 - momentum) * running + momentum * batch_statistic`.
# **PyTorch's `running_var` uses the unbiased variance** (divide by
# $N - 1$), even though the normalisation itself uses the biased one.
# With `training=False` the layer normalises with the running estimates
# instead and leaves them unchanged. Return new running arrays rather than
# relying on in-place changes; the `cache` is anything your backward pass needs.

# %% nbgrader="solution" grade_id="batchnorm_forward"
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):
    """Batch normalisation of a batch x with PyTorch's conventions.

    x: np.ndarray (N, D) float64; gamma, beta: np.ndarray (D,) scale and shift.
    running_mean, running_var: np.ndarray (D,) running estimates.
    training: bool; momentum: float weight of the new batch statistic; eps: float.
    Returns (out, new_running_mean, new_running_var, cache): out (N, D); the
    running arrays (D,) (unchanged when not training); cache for batchnorm_backward.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    if training:
        n = x.shape[0]
        mean = x.mean(axis=0)
        var = x.var(axis=0)  # biased: used to normalise
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var * n / (n - 1)  # unbiased estimate
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = np.array(running_mean, dtype=np.float64), np.array(running_var, dtype=np.float64)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, new_mean, new_var, {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}
    ### END SOLUTION


# %% nbgrader="tests" grade_id="batchnorm_forward_tests" points=3 checks=["regularisation.batchnorm_forward"]
_x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 40.0], [7.0, 20.0]])
_out, _rm, _rv, _ = batchnorm_forward(_x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), training=True)
assert _out.shape == (4, 2), "out should have the shape of x"
assert np.allclose(_out.mean(axis=0), 0, atol=1e-12), "each feature (column) should have mean 0 after normalising"
assert np.allclose(_out.std(axis=0), 1, atol=1e-3), (
    "each column should have a (biased) standard deviation of about 1: normalise with the biased batch variance"
)
assert np.allclose(_rm, [0.4, 2.0]), "running_mean = 0.9 * running_mean + 0.1 * batch mean"
assert not np.allclose(_rv, 0.9 + 0.1 * _x.var(axis=0)), (
    "running_var uses the UNBIASED batch variance (divide by N - 1), as in PyTorch"
)
assert np.allclose(_rv, 0.9 + 0.1 * _x.var(axis=0, ddof=1)), "running_var = 0.9 * running_var + 0.1 * unbiased variance"
_out2, _, _, _ = batchnorm_forward(_x, np.array([2.0, 1.0]), np.array([0.0, -3.0]), np.zeros(2), np.ones(2))
assert np.allclose(_out2[:, 0], 2 * _out[:, 0]) and np.allclose(_out2[:, 1], _out[:, 1] - 3), (
    "out = gamma * x_hat + beta, per feature"
)
_ev, _rm2, _rv2, _ = batchnorm_forward(_x, np.ones(2), np.zeros(2), np.array([1.0, 2.0]), np.array([4.0, 9.0]),
                                       training=False)
assert np.allclose(_ev, (_x - [1.0, 2.0]) / np.sqrt(np.array([4.0, 9.0]) + 1e-5)), (
    "with training=False normalise with the running statistics"
)
assert np.allclose(_rm2, [1.0, 2.0]) and np.allclose(_rv2, [4.0, 9.0]), "with training=False the running statistics do not change"
print("batchnorm_forward: visible tests passed")

# %% [markdown]
# ## 6. Batch normalisation, backward (3 points)
#
# Given `dout` $= \partial L / \partial\, \text{out}$ (shape `(N, D)`) and your
# cache from a **training-mode** forward pass, return
# $\partial L / \partial x$, $\partial L / \partial \gamma$ and
# $\partial L / \partial \beta$. The last two are sums over the batch. For
# $x$, remember that every $x_n$ also moves the batch mean and variance,
# so the gradient has three terms. With $d\hat x = \text{dout} \cdot \gamma$
# they simplify, per feature, to
#
# $$\frac{\partial L}{\partial x} = \frac{1}{N\sqrt{\sigma^2 + \epsilon}}
#   \Big(N\, d\hat x - \textstyle\sum_n d\hat x_n - \hat x \sum_n d\hat x_n \hat x_n\Big).$$
#
# Derive it if you can; in any case check your result against autograd.

# %% nbgrader="solution" grade_id="batchnorm_backward"
def batchnorm_backward(dout, cache):
    """Backward pass of a training-mode batchnorm_forward.

    dout: np.ndarray (N, D) float64, the gradient with respect to out.
    cache: what batchnorm_forward returned.
    Returns (dx, dgamma, dbeta): dx (N, D), dgamma (D,), dbeta (D,), float64.
    """
    ### BEGIN SOLUTION
    x_hat, inv_std, gamma = cache["x_hat"], cache["inv_std"], cache["gamma"]
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, dgamma, dbeta
    ### END SOLUTION


# %% nbgrader="tests" grade_id="batchnorm_backward_tests" points=3 checks=["regularisation.batchnorm_backward"]
_rng = np.random.default_rng(0)
_x = _rng.normal(2.0, 3.0, size=(5, 3))
_gamma, _beta = _rng.normal(size=3), _rng.normal(size=3)
_dout = _rng.normal(size=(5, 3))
_, _, _, _cache = batchnorm_forward(_x, _gamma, _beta, np.zeros(3), np.ones(3), training=True)
_dx, _dgamma, _dbeta = batchnorm_backward(_dout, _cache)
assert np.shape(_dx) == (5, 3) and np.shape(_dgamma) == (3,) and np.shape(_dbeta) == (3,), (
    "return dx (N, D), dgamma (D,) and dbeta (D,)"
)
assert np.allclose(_dbeta, _dout.sum(axis=0)), "dbeta is the sum of dout over the batch"
assert np.allclose(_dx.sum(axis=0), 0, atol=1e-10), (
    "the columns of dx should sum to zero (shifting a whole column does not change x_hat): "
    "did you leave out the path through the batch mean?"
)
_xt = torch.tensor(_x, requires_grad=True)
_gt = torch.tensor(_gamma, requires_grad=True)
_bt = torch.tensor(_beta, requires_grad=True)
_auto = torch.autograd.grad((F.batch_norm(_xt, None, None, _gt, _bt, training=True) * torch.tensor(_dout)).sum(),
                            (_xt, _gt, _bt))
assert np.allclose(_dgamma, _auto[1].numpy()), "wrong dgamma: it is the sum over the batch of dout * x_hat"
assert np.allclose(_dx, _auto[0].numpy(), atol=1e-10), "wrong dx: compare with the formula above, term by term"
print("batchnorm_backward: visible tests passed; max |dx - autograd| =", f"{np.abs(_dx - _auto[0].numpy()).max():.1e}")

# %% [markdown]
# ## 7. Early stopping (3 points)
#
# Training longer lowers the training loss but, past some epoch, raises the
# validation loss. Early stopping watches the validation loss after every
# epoch and stops once it has not improved for `patience` epochs in a row,
# then **goes back to the best weights seen**. The rules used by the tests:
#
# * an epoch *improves* when `val_loss < best_loss - min_delta` (a tie is not
#   an improvement); the first call always improves (`best_loss` starts at
#   `float("inf")`);
# * on an improvement, remember `best_loss`, `best_epoch` (the 0-based index
#   of this call to `step`) and a **copy** of the parameters, and reset the
#   count of bad epochs; otherwise add one to that count;
# * `step` returns `True` (stop now) as soon as that count reaches `patience`,
#   otherwise `False`.
#
# The parameters may be a dict of NumPy arrays or a PyTorch `state_dict()`:
# both hold *references* to arrays that the optimiser keeps changing in
# place, so store `copy.deepcopy(params)`, not `params`.

# %% nbgrader="solution" grade_id="early_stopping"
class EarlyStopping:
    """Stop training when the validation loss stops improving; keep the best parameters.

    EarlyStopping(patience=5, min_delta=0.0); call step(val_loss, params) once per epoch.
    Attributes: best_loss (float, inf before the first step), best_epoch (int,
    -1 before the first step), best_params (a deep copy of the params of the best epoch, or None).
    """

    def __init__(self, patience=5, min_delta=0.0):
        ### BEGIN SOLUTION
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = float("inf")
        self.best_epoch = -1
        self.best_params = None
        self.epoch = -1
        self.bad_epochs = 0
        ### END SOLUTION

    def step(self, val_loss, params):
        """Record one epoch's validation loss (float) and parameters (dict); return True to stop."""
        ### BEGIN SOLUTION
        self.epoch += 1
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss = float(val_loss)
            self.best_epoch = self.epoch
            self.best_params = copy.deepcopy(params)
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience
        ### END SOLUTION


# %% nbgrader="tests" grade_id="early_stopping_tests" points=3 checks=["regularisation.early_stopping"]
_stopper = EarlyStopping(patience=2)
_params = {"W": np.zeros(2)}
_decisions = []
for _epoch, _loss in enumerate([1.0, 0.8, 0.9, 0.85, 0.7]):
    _params["W"][:] = _epoch  # an optimiser changes the weights in place
    _decisions.append(_stopper.step(_loss, _params))
    if _decisions[-1]:
        break
assert _decisions == [False, False, False, True], (
    f"with patience 2 the losses 1.0, 0.8, 0.9, 0.85 should stop at the 4th call, got {_decisions}"
)
assert _stopper.best_epoch == 1 and _stopper.best_loss == 0.8, "the best epoch is 1 (loss 0.8), counting from 0"
assert np.array_equal(_stopper.best_params["W"], [1.0, 1.0]), (
    "best_params changed after it was saved: store copy.deepcopy(params), not params itself"
)
_stopper = EarlyStopping(patience=3, min_delta=0.05)
assert [_stopper.step(_loss, {}) for _loss in [1.0, 0.97, 0.96, 1.0]] == [False, False, False, True], (
    "an epoch only improves when val_loss < best_loss - min_delta"
)
_stopper = EarlyStopping(patience=1)
assert [_stopper.step(_loss, {}) for _loss in [1.0, 1.0]] == [False, True], "a tie is not an improvement"
print("EarlyStopping: visible tests passed")

# %% [markdown]
# ## 8. Gaussian input noise (2 points)
#
# Adding a little noise to every training input means the network never sees
# exactly the same example twice, and must give the same answer for
# neighbouring inputs: a smoothness prior (for a linear model it is
# equivalent to an L2 penalty). During training return
# `x + sigma * z` with `z` drawn from a standard normal distribution with
# `rng` (a fresh draw at every call, one value per entry); at prediction time
# (`training=False`) return `x` unchanged. `sigma` is the **standard
# deviation** of the noise. Do not change `x` in place.

# %% nbgrader="solution" grade_id="gaussian_noise"
def add_gaussian_noise(x, sigma, rng, training=True):
    """Add independent N(0, sigma^2) noise to every entry of x during training.

    x: np.ndarray of any shape (float32 or float64).
    sigma: float >= 0, the standard deviation of the noise.
    rng: np.random.Generator; training: bool (False: return x unchanged).
    Returns a new np.ndarray shaped like x.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x)
    if not training or sigma == 0:
        return x.copy()
    return x + sigma * rng.standard_normal(x.shape)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="gaussian_noise_tests" points=2 checks=["regularisation.gaussian_noise"]
_x = np.full((400, 50), 2.0)
_noisy = add_gaussian_noise(_x, 0.5, np.random.default_rng(0))
assert _noisy.shape == _x.shape, "the output should have the shape of x"
assert np.all(_x == 2.0), "do not change x in place: return x + noise"
assert abs((_noisy - _x).mean()) < 0.02, "the noise should have mean 0"
assert abs((_noisy - _x).std() - 0.25) > 0.02, "sigma is the standard deviation, not the variance: multiply by sigma"
assert abs((_noisy - _x).std() - 0.5) < 0.02, "the noise should have standard deviation sigma"
assert np.array_equal(add_gaussian_noise(_x, 0.5, np.random.default_rng(0), training=False), _x), (
    "with training=False the input is returned unchanged"
)
print("add_gaussian_noise: visible tests passed")

# %% [markdown]
# ## 9. Shift-and-scale augmentation (2 points)
#
# A digit in MNIST-1D is still the same digit when it is moved a little
# along the sequence or made a little taller or flatter. Augmentation turns
# that knowledge into new training examples. For a batch `x` of shape `(N, L)`
# (N signals of length L), transform **each signal independently**:
#
# * draw an integer shift $s$ uniformly from $\{-m, \dots, m\}$ (`m = max_shift`,
#   both ends included) and shift the signal circularly: `np.roll(signal, s)`;
# * draw a factor $a$ uniformly from $[1 - c,\, 1 + c]$ (`c = max_scale`) and
#   multiply the shifted signal by it.
#
# Use `rng` for all draws (one shift and one factor per signal) and return a
# new array; `x` itself stays unchanged.

# %% nbgrader="solution" grade_id="augment"
def augment_shift_scale(x, max_shift, max_scale, rng):
    """Random circular shift and amplitude scaling of each 1-D signal.

    x: np.ndarray (N, L), float32 or float64.
    max_shift: int >= 0; each signal is rolled by its own s in {-max_shift, ..., max_shift}.
    max_scale: float in [0, 1); each signal is multiplied by its own a in [1 - max_scale, 1 + max_scale].
    rng: np.random.Generator.
    Returns a new np.ndarray (N, L).
    """
    ### BEGIN SOLUTION
    x = np.asarray(x)
    n, length = x.shape
    shifts = rng.integers(-max_shift, max_shift + 1, size=n)
    scales = rng.uniform(1.0 - max_scale, 1.0 + max_scale, size=(n, 1))
    index = (np.arange(length)[None, :] - shifts[:, None]) % length  # row i is np.roll(x[i], shifts[i])
    return np.take_along_axis(x, index, axis=1) * scales
    ### END SOLUTION


# %% nbgrader="tests" grade_id="augment_tests" points=2 checks=["regularisation.augment"]
_x = np.tile(np.arange(10.0), (300, 1))
_aug = augment_shift_scale(_x, 2, 0.1, np.random.default_rng(0))
assert np.shape(_aug) == (300, 10), "the output should have the shape of x"
assert np.array_equal(_x, np.tile(np.arange(10.0), (300, 1))), "do not change x in place"
assert np.array_equal(augment_shift_scale(_x, 0, 0.0, np.random.default_rng(0)), _x), (
    "with max_shift = 0 and max_scale = 0 the signals are unchanged"
)
_shifts, _scales = [], []
for _row, _orig in zip(_aug, _x):
    _fits = [_s for _s in range(-2, 3) if np.allclose(_row / _row.max() * 9.0, np.roll(_orig, _s))]
    assert _fits, "each row should be np.roll(signal, s) with |s| <= max_shift, times one factor"
    _shifts.append(_fits[0])
    _scales.append(_row.max() / np.roll(_orig, _fits[0]).max())
assert set(_shifts) == {-2, -1, 0, 1, 2}, "draw each shift from -max_shift to max_shift, both included, per signal"
assert 0.9 - 1e-9 <= min(_scales) and max(_scales) <= 1.1 + 1e-9, "factors should lie in [1 - max_scale, 1 + max_scale]"
assert np.std(_scales) > 0.03, "draw a separate factor for each signal"
print("augment_shift_scale: visible tests passed")

# %% [markdown]
# ## 10. A regularised MLP on MNIST-1D (4 points)
#
# Now combine the pieces in a PyTorch training loop. The network is given
# below (`make_mlp`): two hidden layers of ReLU units, each followed by
# `nn.Dropout(p_drop)`, which is exactly your inverted dropout with `p` the
# drop probability (PyTorch's version works with autograd). Write
# `train_regularised`:
#
# 1. `rng = np.random.default_rng(seed)`, `torch.manual_seed(seed)`,
#    `model = make_mlp(hidden, p_drop)`, and
#    `torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)`
#    (decoupled weight decay, exercise 3);
# 2. for each of at most `epochs` epochs: `model.train()`; visit the training
#    set in a fresh random order (`rng.permutation`) in mini-batches of
#    `batch_size`; to each mini-batch of inputs apply, in this order, your
#    `augment_shift_scale(xb, max_shift, max_scale, rng)` (only if `augment`)
#    and your `add_gaussian_noise(xb, sigma, rng)`; convert to a `float32`
#    tensor; take an AdamW step on the mean cross-entropy (`F.cross_entropy`
#    of the logits);
# 3. after each epoch: `model.eval()`, compute the mean cross-entropy and the
#    accuracy on the whole validation set (under `torch.no_grad()`), and
#    append the epoch's mean training mini-batch loss, the validation loss and
#    the validation accuracy to `history["train_loss"]`, `history["val_loss"]`
#    and `history["val_acc"]`;
# 4. if `patience` is not `None`, give the validation loss and
#    `model.state_dict()` to your `EarlyStopping(patience)` and stop when it
#    says so; at the end, load its best weights back into the model
#    (`model.load_state_dict(stopper.best_params)`).
#
# `predict` returns the predicted classes. It must switch the model to
# evaluation mode itself (dropout off at prediction time!), whatever mode
# the model was left in.
#
# The test cell trains your network once with the default settings (about
# 5 s on one CPU core), keeps it as `final_model`, and reports its accuracy.
# The hidden test measures the accuracy of `final_model` on freshly
# generated MNIST-1D signals that you never saw: at least 68% earns full
# credit (an unregularised MLP gets about 60%), at least 55% part of it.

# %% nbgrader="readonly" grade_id="make_mlp"
def make_mlp(hidden=256, p_drop=0.0, n_inputs=40, n_classes=10):
    """The MLP of exercise 10: 40 -> hidden -> hidden -> 10 logits, ReLU and dropout after each hidden layer."""
    return nn.Sequential(
        nn.Linear(n_inputs, hidden), nn.ReLU(), nn.Dropout(p_drop),
        nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(p_drop),
        nn.Linear(hidden, n_classes),
    )


# %% nbgrader="solution" grade_id="train_regularised"
def train_regularised(X, y, X_val, y_val, *, hidden=256, p_drop=0.1, sigma=0.1, augment=True, max_shift=4,
                      max_scale=0.2, weight_decay=1e-2, lr=2e-3, epochs=50, batch_size=100, patience=10, seed=0):
    """Train make_mlp(hidden, p_drop) with augmentation, input noise, AdamW and early stopping.

    X: np.ndarray (N, 40) float32 training signals; y: np.ndarray (N,) int64 labels 0-9.
    X_val, y_val: the validation set, same layout.
    patience: int, or None for no early stopping. Other arguments as described above.
    Returns (model, history): model a torch.nn.Module (with the best weights when
    patience is not None) mapping a float32 tensor (M, 40) to logits (M, 10); history a
    dict of lists with one float per epoch run: "train_loss", "val_loss", "val_acc".
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = make_mlp(hidden, p_drop)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    y_t = torch.as_tensor(np.asarray(y), dtype=torch.long)
    X_val_t = torch.as_tensor(np.asarray(X_val), dtype=torch.float32)
    y_val_t = torch.as_tensor(np.asarray(y_val), dtype=torch.long)
    stopper = EarlyStopping(patience) if patience is not None else None
    history = {"train_loss": [], "val_loss": [], "val_acc": []}
    for _ in range(epochs):
        model.train()
        batch_losses = []
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            xb = X[batch]
            if augment:
                xb = augment_shift_scale(xb, max_shift, max_scale, rng)
            xb = add_gaussian_noise(xb, sigma, rng)
            loss = F.cross_entropy(model(torch.as_tensor(xb, dtype=torch.float32)), y_t[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            batch_losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            logits = model(X_val_t)
            history["train_loss"].append(float(np.mean(batch_losses)))
            history["val_loss"].append(F.cross_entropy(logits, y_val_t).item())
            history["val_acc"].append((logits.argmax(dim=1) == y_val_t).float().mean().item())
        if stopper is not None and stopper.step(history["val_loss"][-1], model.state_dict()):
            break
    if stopper is not None:
        model.load_state_dict(stopper.best_params)
    model.eval()
    return model, history
    ### END SOLUTION


def predict(model, X):
    """Predicted classes of model for inputs X.

    model: a torch.nn.Module as returned by train_regularised (in any mode).
    X: np.ndarray (M, 40), float32 or float64.
    Returns np.ndarray (M,) of int64 labels 0-9, computed with dropout off.
    """
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        logits = model(torch.as_tensor(np.asarray(X), dtype=torch.float32))
    return logits.argmax(dim=1).numpy().astype(np.int64)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="train_regularised_tests" points=4 checks=["regularisation.train"]
final_model, final_history = train_regularised(X_train, y_train, X_val, y_val, seed=0)
assert isinstance(final_model, nn.Module), "train_regularised should return (model, history) with a torch model"
assert isinstance(final_history, dict) and {"train_loss", "val_loss", "val_acc"} <= set(final_history), (
    "history should be a dict with the lists 'train_loss', 'val_loss' and 'val_acc'"
)
_epochs = len(final_history["val_loss"])
assert 1 <= _epochs <= 50 and len(final_history["train_loss"]) == len(final_history["val_acc"]) == _epochs, (
    "history needs one value per epoch run in each list"
)
_pred = predict(final_model, X_test)
assert np.shape(_pred) == (len(X_test),) and set(np.unique(_pred)) <= set(range(10)), (
    "predict should return one label 0-9 per signal, shape (M,)"
)
final_model.train()
assert np.array_equal(predict(final_model, X_test[:300]), predict(final_model, X_test[:300])), (
    "predict gives different answers on the same inputs: switch dropout off with model.eval() inside predict"
)
with torch.no_grad():
    final_model.eval()
    _val_loss = F.cross_entropy(final_model(torch.as_tensor(X_val)), torch.as_tensor(y_val)).item()
assert abs(_val_loss - min(final_history["val_loss"])) < 1e-3 * (1 + _val_loss), (
    "the returned model should have the best validation loss seen: load stopper.best_params at the end"
)
_train_acc = float(np.mean(predict(final_model, X_train) == y_train))
_test_acc = float(np.mean(_pred == y_test))
assert _test_acc >= 0.65, f"test accuracy {_test_acc:.1%} is low: follow the recipe above step by step"
print(f"train_regularised: visible tests passed after {_epochs} epochs: "
      f"train {_train_acc:.1%}, validation {max(final_history['val_acc']):.1%}, test {_test_acc:.1%}")

# %% [markdown]
# ## Explore
#
# The widget below trains small versions of *your* network (600 training
# signals, 128 hidden units, 30 epochs, no augmentation, no early stopping)
# with your `train_regularised` and `predict`, and shows the training and
# validation loss curves, and the final training and validation accuracy
# along a whole range of one setting. Move the sliders: where is the gap
# between training and validation accuracy largest? At which strength does
# validation accuracy peak (with so few signals the peak is shallow), and what
# happens to both curves beyond it? It is not graded.

# %% nbgrader="readonly" grade_id="explore" skip_grading=true
from dlcourse_regularisation.widgets import regularisation_explorer

try:
    explorer = regularisation_explorer(train_regularised, predict, sweep="p_drop")
except Exception as error:  # noqa: BLE001 - the widget is optional
    explorer = None
    print("The explorer could not start:", type(error).__name__, error)
explorer
