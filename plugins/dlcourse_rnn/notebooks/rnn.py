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
# # Assignment: recurrent networks, backpropagation through time and the LSTM
#
# You will build recurrent networks from their equations, then train them
# with PyTorch:
#
# 1. one step of a vanilla RNN;
# 2. the RNN over a whole sequence;
# 3. backpropagation through time (BPTT) by hand;
# 4. gradient clipping by the global norm;
# 5. the four gates of an LSTM cell;
# 6. one LSTM step;
# 7. the LSTM over a whole sequence;
# 8. a sequence model in PyTorch;
# 9. training it to forecast noisy sine waves, and on the adding problem,
#    where a vanilla RNN fails and the LSTM succeeds.
#
# Each exercise is a function or class with a docstring that states the
# shapes and dtypes it works with. Replace `raise NotImplementedError()` with
# your code, then run the test cell below it. The visible tests use small
# fixed inputs; when you submit, hidden tests call your functions on fresh
# random inputs and shapes, so do not hard-code sizes.
#
# **Conventions used throughout** (they are PyTorch's, so your functions can
# be checked against `nn.RNN`, `nn.LSTMCell` and `nn.LSTM`):
#
# * exercises 1–7 use NumPy arrays of dtype `float64`;
# * a batch of `N` sequences of `T` steps with `D` features is an array `x` of
#   shape `(N, T, D)` (*batch first*); one time step `x[:, t]` has shape
#   `(N, D)`; a hidden state has shape `(N, H)`;
# * parameters live in a dict with the keys `W_ih` `(G*H, D)`, `W_hh`
#   `(G*H, H)`, `b_ih` `(G*H,)` and `b_hh` `(G*H,)`, where `G = 1` for a
#   vanilla RNN and `G = 4` for an LSTM. The weights multiply from the right
#   **transposed**: `x_t @ W_ih.T`. There are **two** bias vectors and both are
#   added.

# %% nbgrader="readonly" grade_id="setup"
import numpy as np
import torch
from torch import nn

import dlcourse
from dlcourse_rnn.data import ADDING_BASELINE_MSE, load_noisy_sines, make_adding_problem

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # the networks here are tiny: one thread is the fastest
np.set_printoptions(precision=4, suppress=True)


def sigmoid(z):
    """Numerically stable logistic sigmoid of an array (given: use it for the LSTM gates)."""
    z = np.asarray(z, dtype=np.float64)
    small = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + small), small / (1.0 + small))


def example_params(input_size, hidden_size, gates=1, seed=0, scale=0.5):
    """Random parameters in PyTorch's layout: W_ih (G*H, D), W_hh (G*H, H), b_ih, b_hh (G*H,)."""
    rng = np.random.default_rng(seed)
    rows = gates * hidden_size
    return {
        "W_ih": scale * rng.normal(size=(rows, input_size)),
        "W_hh": scale * rng.normal(size=(rows, hidden_size)),
        "b_ih": scale * rng.normal(size=rows),
        "b_hh": scale * rng.normal(size=rows),
    }


def torch_copy(module, params):
    """A float64 copy of a PyTorch RNNCell/RNN/LSTMCell/LSTM module holding `params` (for comparisons)."""
    module = module.double()
    suffix = "_l0" if isinstance(module, (nn.RNN, nn.LSTM)) else ""
    with torch.no_grad():
        for key, name in [("W_ih", "weight_ih"), ("W_hh", "weight_hh"), ("b_ih", "bias_ih"), ("b_hh", "bias_hh")]:
            getattr(module, name + suffix).copy_(torch.from_numpy(np.asarray(params[key], dtype=np.float64)))
    return module


def numerical_gradient(f, x, h=1e-5):
    """Centred finite differences of a scalar function f at x (any shape); x is left unchanged."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + h
        f_plus = f(x)
        x[index] = old - h
        f_minus = f(x)
        x[index] = old
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b):
    """max |a - b| / max(1e-8, |a| + |b|): below about 1e-7 means two gradients agree."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


# %% [markdown]
# ## 1. One step of a vanilla RNN (2 points)
#
# A recurrent network reads a sequence one step at a time and carries a
# hidden state from step to step. The vanilla (Elman) RNN computes
#
# $$h_t = \tanh\big(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}\big),$$
#
# exactly what `nn.RNNCell` does. The same parameters are used at every step.

# %% nbgrader="solution" grade_id="rnn_step"
def rnn_step(x_t, h_prev, params):
    """One step of a tanh RNN.

    x_t: np.ndarray (N, D) float64, the inputs at this step.
    h_prev: np.ndarray (N, H) float64, the previous hidden state.
    params: dict with W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,).
    Returns h: np.ndarray (N, H) float64, the new hidden state.
    """
    ### BEGIN SOLUTION
    return np.tanh(x_t @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"])
    ### END SOLUTION


# %% nbgrader="tests" grade_id="rnn_step_tests" points=2 checks=["rnn.rnn_step"]
_P = example_params(2, 3, seed=1)
_h = rnn_step(np.zeros((4, 2)), np.zeros((4, 3)), _P)
assert np.shape(_h) == (4, 3), "rnn_step should return the new hidden state with shape (N, H)"
assert np.allclose(_h, np.tanh(_P["b_ih"] + _P["b_hh"])), (
    "with x = 0 and h_prev = 0 the state is tanh(b_ih + b_hh): are both biases added?"
)
_x, _h0 = np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([[0.1, 0.2, -0.3], [0.0, 0.0, 0.0]])
_h = rnn_step(_x, _h0, _P)
_expected = torch_copy(nn.RNNCell(2, 3), _P)(torch.tensor(_x), torch.tensor(_h0)).detach().numpy()
assert np.allclose(_h, _expected, atol=1e-12), (
    "rnn_step differs from nn.RNNCell with the same weights: multiply by the transposed weights, "
    "x_t @ W_ih.T and h_prev @ W_hh.T"
)
print("rnn_step: visible tests passed")

# %% [markdown]
# ## 2. The RNN over a sequence (2 points)
#
# Start from the state `h0` and apply `rnn_step` to `x[:, 0]`, `x[:, 1]`, ...
# in turn. Return every hidden state, `hs[:, t]` being the state **after**
# reading `x[:, t]` (this is the `output` of `nn.RNN(batch_first=True)`), and
# a `cache`: anything you will need in exercise 3 to run backwards (for
# example the inputs, `h0`, the parameters and all the states).

# %% nbgrader="solution" grade_id="rnn_forward"
def rnn_forward(x, h0, params):
    """Run a tanh RNN over a batch of sequences.

    x: np.ndarray (N, T, D) float64; h0: np.ndarray (N, H) float64, the initial state.
    params: dict with W_ih (H, D), W_hh (H, H), b_ih (H,), b_hh (H,).
    Returns (hs, cache): hs np.ndarray (N, T, H) float64 with hs[:, t] the state
    after step t; cache whatever rnn_backward needs.
    """
    ### BEGIN SOLUTION
    N, T, _ = x.shape
    hs = np.zeros((N, T, h0.shape[1]))
    h = h0
    for t in range(T):
        h = rnn_step(x[:, t], h, params)
        hs[:, t] = h
    return hs, {"x": x, "h0": h0, "hs": hs, "params": params}
    ### END SOLUTION


# %% nbgrader="tests" grade_id="rnn_forward_tests" points=2 checks=["rnn.rnn_forward"]
_P = example_params(2, 3, seed=2)
_x = np.linspace(-1.0, 1.0, 2 * 5 * 2).reshape(2, 5, 2)
_h0 = np.array([[0.5, -0.5, 0.0], [0.0, 0.1, 0.2]])
_hs, _cache = rnn_forward(_x, _h0, _P)
assert np.shape(_hs) == (2, 5, 3), "hs should have shape (N, T, H): one state per time step"
assert np.allclose(_hs[:, 0], rnn_step(_x[:, 0], _h0, _P)), "hs[:, 0] is the state after the first step, from h0"
_expected = torch_copy(nn.RNN(2, 3, batch_first=True), _P)(torch.tensor(_x), torch.tensor(_h0)[None])[0]
assert np.allclose(_hs, _expected.detach().numpy(), atol=1e-12), (
    "rnn_forward differs from nn.RNN(batch_first=True): carry each new state into the next step"
)
print("rnn_forward: visible tests passed")

# %% [markdown]
# ## 3. Backpropagation through time (5 points)
#
# Suppose a loss $L$ depends on the hidden states and you are given
# `dhs[:, t]` $= \partial L / \partial h_t$, the gradient that reaches $h_t$
# **directly** (from a read-out at step $t$; zero where there is none). Write
# $a_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}$, so $h_t = \tanh(a_t)$.
#
# $h_t$ also influences the loss through $h_{t+1}, h_{t+2}, \dots$, so its
# *total* gradient is `dhs[:, t]` plus what flows back from step $t+1$. Walk
# backwards from $t = T-1$ to $0$, carrying that extra gradient along:
#
# * $\tanh'(a) = 1 - \tanh(a)^2$, so $\partial L / \partial a_t = (\text{total gradient at } h_t) \odot (1 - h_t^2)$;
# * for a linear map $a = u W^\top$ with $u$ of shape (N, K): $\partial L / \partial u = (\partial L / \partial a)\, W$
#   and $\partial L / \partial W = (\partial L / \partial a)^\top u$;
# * the parameters are **shared across time**, so their gradients are sums over all steps;
#   a bias gradient also sums over the batch;
# * what flows from step 0 into $h_{-1}$ is the gradient with respect to `h0`.
#
# Return a dict with the keys `x`, `h0`, `W_ih`, `W_hh`, `b_ih`, `b_hh`, each
# with the shape of the corresponding array.

# %% nbgrader="solution" grade_id="rnn_backward"
def rnn_backward(dhs, cache):
    """Backpropagation through time for rnn_forward.

    dhs: np.ndarray (N, T, H) float64, dL/dh_t arriving directly at every step.
    cache: what rnn_forward returned with the states.
    Returns a dict of float64 arrays: x (N, T, D), h0 (N, H), W_ih (H, D),
    W_hh (H, H), b_ih (H,), b_hh (H,), the gradients of L.
    """
    ### BEGIN SOLUTION
    x, h0, hs, params = cache["x"], cache["h0"], cache["hs"], cache["params"]
    T = x.shape[1]
    grads = {key: np.zeros_like(value, dtype=np.float64) for key, value in params.items()}
    dx = np.zeros_like(x, dtype=np.float64)
    dh_next = np.zeros_like(h0, dtype=np.float64)  # gradient arriving at h_t from step t + 1
    for t in reversed(range(T)):
        h_prev = hs[:, t - 1] if t > 0 else h0
        da = (dhs[:, t] + dh_next) * (1.0 - hs[:, t] ** 2)  # (N, H)
        dx[:, t] = da @ params["W_ih"]
        grads["W_ih"] += da.T @ x[:, t]
        grads["W_hh"] += da.T @ h_prev
        grads["b_ih"] += da.sum(axis=0)
        grads["b_hh"] += da.sum(axis=0)
        dh_next = da @ params["W_hh"]
    grads["x"] = dx
    grads["h0"] = dh_next
    return grads
    ### END SOLUTION


# %% nbgrader="tests" grade_id="rnn_backward_tests" points=5 checks=["rnn.rnn_backward"]
_rng = np.random.default_rng(3)
_P = example_params(2, 3, seed=3)
_x, _h0 = _rng.normal(size=(2, 4, 2)), _rng.normal(size=(2, 3))
_dhs = _rng.normal(size=(2, 4, 3))
_hs, _cache = rnn_forward(_x, _h0, _P)
_grads = rnn_backward(_dhs, _cache)
_shapes = {"x": _x.shape, "h0": _h0.shape, **{key: value.shape for key, value in _P.items()}}
assert isinstance(_grads, dict) and set(_grads) >= set(_shapes), f"rnn_backward should return a dict with keys {sorted(_shapes)}"
for _key, _shape in _shapes.items():
    assert np.shape(_grads[_key]) == _shape, f"grads[{_key!r}] should have shape {_shape}"
_last_only = np.zeros_like(_dhs)
_last_only[:, -1] = _dhs[:, -1]
_g_last = rnn_backward(_last_only, rnn_forward(_x, _h0, _P)[1])
assert np.any(np.abs(_g_last["x"][:, 0]) > 1e-6), (
    "with a gradient only at the last step, the first input still gets a gradient: carry it back through time"
)
_inputs = {"x": _x, "h0": _h0, **_P}
for _key in _shapes:
    def _loss(value, key=_key):
        args = dict(_inputs, **{key: value})
        params = {name: args[name] for name in _P}
        return float(np.sum(rnn_forward(args["x"], args["h0"], params)[0] * _dhs))
    _err = rel_error(numerical_gradient(_loss, _inputs[_key].copy()), _grads[_key])
    assert _err < 1e-7, (
        f"d{_key}: relative error {_err:.1e} against finite differences — check the tanh derivative, "
        "the gradient carried back from step t+1 and the sums over time"
    )
print("rnn_backward: visible tests passed")

# %% [markdown]
# ### Vanishing and exploding gradients
#
# Every step back multiplies the gradient by $\operatorname{diag}(1 - h_t^2)\, W_{hh}$.
# Over many steps that product shrinks towards zero when the recurrent
# weights are small (vanishing gradients: early inputs stop mattering for
# learning) and can blow up when they are large (exploding gradients).
# Your `rnn_backward` shows it: below, the loss is the sum of the last hidden
# state, and we print how strongly each input step is pushed.

# %%
try:
    _x = np.random.default_rng(4).normal(size=(1, 30, 1))
    for _scale in (0.5, 1.0, 2.5):
        _P = example_params(1, 16, seed=5, scale=_scale / 4)  # W_hh has spectral radius about _scale
        _hs, _cache = rnn_forward(_x, np.zeros((1, 16)), _P)
        _dhs = np.zeros_like(_hs)
        _dhs[:, -1] = 1.0
        _norms = np.linalg.norm(rnn_backward(_dhs, _cache)["x"][0], axis=1)
        print(f"weight scale {_scale}: |dL/dx_t| at t = 0, 10, 20, 29:", ", ".join(f"{v:.1e}" for v in _norms[[0, 10, 20, 29]]))
except NotImplementedError:
    print("Write rnn_forward and rnn_backward above to run this experiment.")

# %% [markdown]
# ## 4. Gradient clipping by the global norm (2 points)
#
# Exploding gradients are tamed by **clipping**: if the norm of the *whole*
# gradient (all parameters together) exceeds `max_norm`, scale every gradient
# by the same factor so that the norm becomes `max_norm`. This keeps the
# direction of the step and bounds its size. Follow
# `torch.nn.utils.clip_grad_norm_` exactly:
#
# * `total_norm` $= \sqrt{\sum_k \lVert g_k \rVert_2^2}$ over every array in `grads`;
# * `coef = max_norm / (total_norm + 1e-6)`; if `coef < 1`, multiply every
#   gradient by `coef`, otherwise leave them as they are;
# * return new arrays (do not change the arrays in `grads`) and `total_norm`
#   measured **before** clipping.

# %% nbgrader="solution" grade_id="clip_grad_norm"
def clip_grad_norm(grads, max_norm):
    """Clip a dict of gradients by their global L2 norm, like torch.nn.utils.clip_grad_norm_.

    grads: dict name -> np.ndarray (any shapes) float64; max_norm: float > 0.
    Returns (clipped, total_norm): clipped a new dict with the same keys and
    shapes; total_norm a Python float, the global norm before clipping.
    """
    ### BEGIN SOLUTION
    total_norm = float(np.sqrt(sum(np.sum(np.asarray(g, dtype=np.float64) ** 2) for g in grads.values())))
    coef = min(1.0, max_norm / (total_norm + 1e-6))
    clipped = {key: np.asarray(value, dtype=np.float64) * coef for key, value in grads.items()}
    return clipped, total_norm
    ### END SOLUTION


# %% nbgrader="tests" grade_id="clip_grad_norm_tests" points=2 checks=["rnn.clip"]
_g = {"a": np.array([3.0, 0.0]), "b": np.array([[0.0], [4.0]])}
_clipped, _total = clip_grad_norm(_g, max_norm=1.0)
assert isinstance(_total, float) and abs(_total - 5.0) < 1e-12, "the global norm of (3, 0) and (0, 4) is 5: sum the squares of all arrays"
assert set(_clipped) == {"a", "b"} and np.shape(_clipped["b"]) == (2, 1), "return a dict with the same keys and shapes"
assert np.allclose(_clipped["a"], [3.0 / (5 + 1e-6), 0.0]) and np.allclose(_clipped["b"].ravel(), [0.0, 4.0 / (5 + 1e-6)]), (
    "every array is scaled by the same factor max_norm / (total_norm + 1e-6)"
)
assert np.array_equal(_g["a"], [3.0, 0.0]), "clip_grad_norm must not change the arrays it is given"
_clipped, _total = clip_grad_norm(_g, max_norm=10.0)
assert np.allclose(_clipped["a"], _g["a"]) and np.allclose(_clipped["b"], _g["b"]), "below max_norm the gradients are unchanged"
print("clip_grad_norm: visible tests passed")

# %% [markdown]
# ## 5. The gates of an LSTM cell (2 points)
#
# The LSTM keeps a second state, the **cell** $c_t$, and three gates decide
# what to write to it, what to keep and what to show:
#
# $$\begin{aligned}
# i_t &= \sigma(x_t W_{ii}^\top + b_{ii} + h_{t-1} W_{hi}^\top + b_{hi}) && \text{input gate}\\
# f_t &= \sigma(x_t W_{if}^\top + b_{if} + h_{t-1} W_{hf}^\top + b_{hf}) && \text{forget gate}\\
# g_t &= \tanh(x_t W_{ig}^\top + b_{ig} + h_{t-1} W_{hg}^\top + b_{hg}) && \text{candidate values}\\
# o_t &= \sigma(x_t W_{io}^\top + b_{io} + h_{t-1} W_{ho}^\top + b_{ho}) && \text{output gate}
# \end{aligned}$$
#
# PyTorch stores the four blocks stacked in **one** matrix, in the order
# **(i, f, g, o)**: rows `0:H` of `W_ih` are $W_{ii}$, rows `H:2H` are
# $W_{if}$, rows `2H:3H` are $W_{ig}$ and rows `3H:4H` are $W_{io}$; the same
# for `W_hh`, `b_ih` and `b_hh`. (Some texts use another order, for example
# i, f, o, g: not here.) Compute all four pre-activations with one matrix
# product, split them, and apply `sigmoid` (given in the setup cell) to i, f,
# o and `tanh` to g.

# %% nbgrader="solution" grade_id="lstm_gates"
def lstm_gates(x_t, h_prev, params):
    """The four gate activations of an LSTM cell, in PyTorch's (i, f, g, o) layout.

    x_t: np.ndarray (N, D) float64; h_prev: np.ndarray (N, H) float64.
    params: dict with W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,).
    Returns (i, f, g, o): four np.ndarray (N, H) float64; i, f, o in (0, 1), g in (-1, 1).
    """
    ### BEGIN SOLUTION
    a = x_t @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"]
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    return sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="lstm_gates_tests" points=2 checks=["rnn.lstm_gates"]
_P = {key: np.zeros_like(value) for key, value in example_params(2, 3, gates=4).items()}
_P["b_ih"] = np.repeat([1.0, 2.0, 3.0, 4.0], 3)  # one constant per gate block
_gates = lstm_gates(np.ones((2, 2)), np.ones((2, 3)), _P)
assert isinstance(_gates, (tuple, list)) and len(_gates) == 4, "return the four gates as a tuple (i, f, g, o)"
assert all(np.shape(_gate) == (2, 3) for _gate in _gates), "each gate should have shape (N, H)"
_i, _f, _g, _o = _gates
assert np.allclose(_i, sigmoid(1.0)) and np.allclose(_f, sigmoid(2.0)), (
    "rows 0:H belong to the input gate i and rows H:2H to the forget gate f (both sigmoid)"
)
assert np.allclose(_g, np.tanh(3.0)), "rows 2H:3H are the candidate g, with tanh: gate order (i, f, g, o)?"
assert np.allclose(_o, sigmoid(4.0)), "rows 3H:4H are the output gate o, with a sigmoid: gate order (i, f, g, o)?"
_P = example_params(2, 3, gates=4, seed=6)
_P_no_hh = dict(_P, b_hh=np.zeros(12))
assert not np.allclose(lstm_gates(np.zeros((1, 2)), np.zeros((1, 3)), _P)[0],
                       lstm_gates(np.zeros((1, 2)), np.zeros((1, 3)), _P_no_hh)[0]), "add both biases, b_ih and b_hh"
print("lstm_gates: visible tests passed")

# %% [markdown]
# ## 6. One LSTM step (2 points)
#
# With the gates of exercise 5, the cell forgets part of its old content and
# writes part of the candidate; the hidden state is a gated view of the cell:
#
# $$c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t).$$
#
# This is `nn.LSTMCell`. Because $c_t$ depends on $c_{t-1}$ through a
# multiplication by $f_t$ only (no weight matrix, no squashing), gradients
# can travel back along the cell for many steps when the forget gate stays
# near 1.

# %% nbgrader="solution" grade_id="lstm_step"
def lstm_step(x_t, h_prev, c_prev, params):
    """One step of an LSTM cell, like nn.LSTMCell.

    x_t: np.ndarray (N, D) float64; h_prev, c_prev: np.ndarray (N, H) float64.
    params: dict with W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,), gates (i, f, g, o).
    Returns (h, c): the new hidden and cell states, np.ndarray (N, H) float64 each.
    """
    ### BEGIN SOLUTION
    i, f, g, o = lstm_gates(x_t, h_prev, params)
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c
    ### END SOLUTION


# %% nbgrader="tests" grade_id="lstm_step_tests" points=2 checks=["rnn.lstm_step"]
_P = example_params(2, 3, gates=4, seed=7)
_x = np.array([[1.0, -1.0], [0.5, 2.0]])
_h0, _c0 = np.array([[0.1, -0.2, 0.3], [0.0, 0.5, -0.5]]), np.array([[1.0, -1.0, 0.5], [0.2, 0.0, -2.0]])
_out = lstm_step(_x, _h0, _c0, _P)
assert isinstance(_out, (tuple, list)) and len(_out) == 2, "lstm_step should return the pair (h, c)"
_h, _c = _out
assert np.shape(_h) == (2, 3) and np.shape(_c) == (2, 3), "h and c should both have shape (N, H)"
_i, _f, _g, _o = lstm_gates(_x, _h0, _P)
assert np.allclose(_c, _f * _c0 + _i * _g), "c should be f * c_prev + i * g"
assert np.allclose(_h, _o * np.tanh(_c)), "h should be o * tanh(c), with the new c"
_h_ref, _c_ref = torch_copy(nn.LSTMCell(2, 3), _P)(torch.tensor(_x), (torch.tensor(_h0), torch.tensor(_c0)))
assert np.allclose(_h, _h_ref.detach().numpy(), atol=1e-12) and np.allclose(_c, _c_ref.detach().numpy(), atol=1e-12), (
    "lstm_step differs from nn.LSTMCell with the same weights: check the gate order (i, f, g, o) and both biases"
)
print("lstm_step: visible tests passed")

# %% [markdown]
# ## 7. The LSTM over a sequence (3 points)
#
# Run `lstm_step` over the sequence from `(h0, c0)` and return all hidden
# states and all cell states. `hs` is the `output` of
# `nn.LSTM(batch_first=True)`, and `hs[:, -1]`, `cs[:, -1]` are its final
# `(h_n, c_n)`.

# %% nbgrader="solution" grade_id="lstm_forward"
def lstm_forward(x, h0, c0, params):
    """Run an LSTM over a batch of sequences, like nn.LSTM(batch_first=True).

    x: np.ndarray (N, T, D) float64; h0, c0: np.ndarray (N, H) float64.
    params: dict with W_ih (4H, D), W_hh (4H, H), b_ih (4H,), b_hh (4H,).
    Returns (hs, cs): np.ndarray (N, T, H) float64 each, the hidden and cell
    states after every step.
    """
    ### BEGIN SOLUTION
    N, T, _ = x.shape
    hs = np.zeros((N, T, h0.shape[1]))
    cs = np.zeros((N, T, h0.shape[1]))
    h, c = h0, c0
    for t in range(T):
        h, c = lstm_step(x[:, t], h, c, params)
        hs[:, t], cs[:, t] = h, c
    return hs, cs
    ### END SOLUTION


# %% nbgrader="tests" grade_id="lstm_forward_tests" points=3 checks=["rnn.lstm_forward"]
_P = example_params(2, 3, gates=4, seed=8)
_x = np.linspace(-2.0, 2.0, 2 * 6 * 2).reshape(2, 6, 2)
_h0, _c0 = np.full((2, 3), 0.1), np.full((2, 3), -0.2)
_hs, _cs = lstm_forward(_x, _h0, _c0, _P)
assert np.shape(_hs) == (2, 6, 3) and np.shape(_cs) == (2, 6, 3), "hs and cs should have shape (N, T, H)"
assert np.allclose(_hs[:, 0], lstm_step(_x[:, 0], _h0, _c0, _P)[0]), "hs[:, 0] is the state after the first step, from (h0, c0)"
_out, (_hn, _cn) = torch_copy(nn.LSTM(2, 3, batch_first=True), _P)(torch.tensor(_x), (torch.tensor(_h0)[None], torch.tensor(_c0)[None]))
assert np.allclose(_hs, _out.detach().numpy(), atol=1e-12), "hs differs from nn.LSTM(batch_first=True): carry (h, c) from step to step"
assert np.allclose(_cs[:, -1], _cn[0].detach().numpy(), atol=1e-12), "cs[:, -1] should be the final cell state c_n"
print("lstm_forward: visible tests passed")

# %% [markdown]
# ## 8. A sequence model in PyTorch (2 points)
#
# From now on PyTorch does the work: `nn.LSTM` and `nn.RNN` compute what
# you just wrote, and autograd does BPTT. Write a module that reads a batch of
# sequences and predicts **one number per sequence** from the hidden state
# after the last step:
#
# * `cell="lstm"` uses `nn.LSTM(input_size, hidden_size, batch_first=True)`,
#   `cell="rnn"` uses `nn.RNN(input_size, hidden_size, batch_first=True)`
#   (tanh), one layer each;
# * a read-out `nn.Linear(hidden_size, 1)` on the last hidden state;
# * `forward(x)` takes a float32 tensor `(N, T, D)` and returns a tensor `(N,)`.
#
# Mind `batch_first=True`: without it PyTorch reads `(N, T, D)` as `(T, N, D)`
# and mixes up the sequences of a batch.

# %% nbgrader="solution" grade_id="regressor"
class SequenceRegressor(nn.Module):
    """A one-layer recurrent network with a linear read-out of its last hidden state.

    input_size: D; hidden_size: H; cell: "lstm" (nn.LSTM) or "rnn" (nn.RNN, tanh).
    forward(x): x torch.Tensor (N, T, D) float32 -> torch.Tensor (N,) float32.
    """

    def __init__(self, input_size, hidden_size, cell="lstm"):
        super().__init__()
        ### BEGIN SOLUTION
        layers = {"lstm": nn.LSTM, "rnn": nn.RNN}
        if cell not in layers:
            raise ValueError(f"cell must be 'lstm' or 'rnn', got {cell!r}")
        self.recurrent = layers[cell](input_size, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, 1)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        states, _ = self.recurrent(x)
        return self.readout(states[:, -1]).squeeze(-1)
        ### END SOLUTION


# %% nbgrader="tests" grade_id="regressor_tests" points=2 checks=["rnn.regressor"]
torch.manual_seed(0)
_model = SequenceRegressor(2, 5, cell="lstm")
_x = torch.linspace(-1, 1, 3 * 7 * 2).reshape(3, 7, 2)
_y = _model(_x)
assert isinstance(_y, torch.Tensor) and _y.shape == (3,), "forward should return a tensor of shape (N,)"
_n_params = sum(p.numel() for p in _model.parameters())
assert _n_params == 4 * 5 * (2 + 5) + 8 * 5 + 5 + 1, (
    "an LSTM(2, 5) with a Linear(5, 1) read-out has 4*H*(D+H) + 8*H + H + 1 = 186 parameters"
)
assert torch.allclose(_model(_x[1:2]), _y[1:2], atol=1e-6), "each sequence must be read on its own: batch_first=True?"
_rnn = SequenceRegressor(2, 5, cell="rnn")
assert any(isinstance(m, nn.RNN) for m in _rnn.modules()), 'cell="rnn" should use nn.RNN'
assert sum(p.numel() for p in _rnn.parameters()) == 5 * (2 + 5) + 2 * 5 + 5 + 1, "an RNN(2, 5) + Linear(5, 1) has 51 parameters"
print("SequenceRegressor: visible tests passed")

# %% [markdown]
# ## 9. Training: forecasting noisy sine waves (4 points)
#
# Each example is a window of 24 past values of a noisy sine wave (random
# frequency, phase and amplitude, noise standard deviation 0.1), shaped
# `(24, 1)`; the target is the next value. Even a perfect forecaster keeps a
# mean squared error of about $0.1^2 = 0.01$ (the noise); repeating the last
# value gives about 0.07 to 0.12.
#
# Write the training loop: at every step draw a random minibatch of
# `batch_size` rows, compute the **mean squared error**, backpropagate, clip
# the gradient by its global norm with
# `torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)` (what you
# wrote in exercise 4), and take a step of `torch.optim.Adam` with learning
# rate `lr`. Use a `torch.Generator` seeded with `seed` for the minibatches. Then
# write `predict`, which evaluates the model without tracking gradients.
#
# The test cell trains an LSTM with 32 hidden units for 500 steps (a few
# seconds on a CPU). The hidden test measures the forecasting error of your
# trained `forecaster` on sine waves it never saw: aim for a mean squared
# error below 0.045.

# %% nbgrader="solution" grade_id="train_regressor"
def train_regressor(model, X, y, steps=500, lr=0.01, batch_size=64, max_norm=1.0, seed=0):
    """Train model in place with Adam on the mean squared error of minibatches.

    model: a SequenceRegressor; X: np.ndarray (M, T, D) float32; y: np.ndarray (M,) float32.
    steps: number of Adam steps; lr: learning rate; batch_size: rows per step;
    max_norm: gradient clipping threshold; seed: seeds the minibatch draws.
    Returns losses: a list of `steps` Python floats, the minibatch loss at each step.
    """
    ### BEGIN SOLUTION
    X_t = torch.as_tensor(np.asarray(X, dtype=np.float32))
    y_t = torch.as_tensor(np.asarray(y, dtype=np.float32))
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        rows = torch.randint(0, len(X_t), (batch_size,), generator=generator)
        loss = nn.functional.mse_loss(model(X_t[rows]), y_t[rows])
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimiser.step()
        losses.append(loss.item())
    return losses
    ### END SOLUTION


def predict(model, X):
    """The model's predictions for a batch of sequences, without gradients.

    model: a trained SequenceRegressor; X: np.ndarray (M, T, D) float32.
    Returns np.ndarray (M,) float32.
    """
    ### BEGIN SOLUTION
    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(X, dtype=np.float32))).numpy()
    ### END SOLUTION


# %% nbgrader="tests" grade_id="forecast_tests" points=4 checks=["rnn.forecast"]
X_sine, y_sine = load_noisy_sines(window=24, n_series=20, length=200, noise=0.1, seed=0)
X_sine_val, y_sine_val = load_noisy_sines(window=24, n_series=5, length=200, noise=0.1, seed=1)
torch.manual_seed(0)
forecaster = SequenceRegressor(1, 32, cell="lstm")
sine_losses = train_regressor(forecaster, X_sine, y_sine, steps=500, lr=0.01, seed=0)
assert len(sine_losses) == 500 and all(isinstance(v, float) for v in sine_losses), "train_regressor should return one float per step"
assert np.mean(sine_losses[-50:]) < np.mean(sine_losses[:50]), "the training loss should go down"
_pred = predict(forecaster, X_sine_val)
assert isinstance(_pred, np.ndarray) and _pred.shape == y_sine_val.shape, "predict should return a NumPy array of shape (M,)"
sine_mse = float(np.mean((_pred - y_sine_val) ** 2))
_last_value_mse = float(np.mean((X_sine_val[:, -1, 0] - y_sine_val) ** 2))
assert sine_mse < _last_value_mse, f"validation MSE {sine_mse:.3f} does not beat repeating the last value ({_last_value_mse:.3f})"
print(f"forecaster: validation MSE {sine_mse:.4f} (noise floor 0.01, repeating the last value {_last_value_mse:.4f})")

# %% [markdown]
# ## 10. The adding problem: memory over 30 steps (3 points)
#
# Each sequence has 30 steps and two features: a random number in [0, 1] and
# a marker that is 1 at exactly two steps (one in each half). The target is
# the sum of the two marked numbers. Predicting the mean, 1.0, gives a mean
# squared error of 1/6 ≈ 0.167; to do better the network must remember a
# number for up to 29 steps. Your `SequenceRegressor` and `train_regressor`
# train an LSTM on it below. The hidden test measures its error on fresh
# sequences: aim for a mean squared error below 0.05.

# %% nbgrader="tests" grade_id="adding_tests" points=3 checks=["rnn.adding"]
X_add, y_add = make_adding_problem(n=3000, length=30, seed=0)
X_add_val, y_add_val = make_adding_problem(n=500, length=30, seed=1)
torch.manual_seed(0)
adder = SequenceRegressor(2, 32, cell="lstm")
adding_losses = train_regressor(adder, X_add, y_add, steps=600, lr=0.01, seed=0)
adding_mse = float(np.mean((predict(adder, X_add_val) - y_add_val) ** 2))
assert adding_mse < ADDING_BASELINE_MSE, (
    f"validation MSE {adding_mse:.3f} is no better than always predicting 1.0 ({ADDING_BASELINE_MSE:.3f})"
)
print(f"LSTM on the adding problem: validation MSE {adding_mse:.4f} (predicting the mean: {ADDING_BASELINE_MSE:.3f})")

# %% [markdown]
# ### The vanilla RNN on the same task
#
# Same data, same training, same number of hidden units, but `cell="rnn"`.
# Its error stays near the 0.167 of predicting the mean: the gradient that
# would teach it to keep the first marked number fades away over the steps
# in between (exercise 3). The LSTM's cell state is the path along which
# the gradient survives. This cell is not graded.

# %% nbgrader="readonly" grade_id="vanilla_adding" skip_grading=true
try:
    torch.manual_seed(0)
    adder_rnn = SequenceRegressor(2, 32, cell="rnn")
    train_regressor(adder_rnn, X_add, y_add, steps=600, lr=0.01, seed=0)
    adding_rnn_mse = float(np.mean((predict(adder_rnn, X_add_val) - y_add_val) ** 2))
    print(f"validation MSE: vanilla RNN {adding_rnn_mse:.4f}, LSTM {adding_mse:.4f}, "
          f"predicting the mean {ADDING_BASELINE_MSE:.4f}")
except (NotImplementedError, NameError):
    print("Finish exercises 8 and 9 to run this comparison.")

# %% [markdown]
# ## Explore
#
# The widget below runs *your* `lstm_gates` and `lstm_step` with the weights
# of your trained `forecaster` on an input you choose, and draws the four
# gates and the cell state over time. The last panel shows the gradient norm
# per time step, $\lVert \partial \sum h_T / \partial x_t \rVert$: for the
# LSTM by finite differences through your functions, for a vanilla RNN with
# random weights by your `rnn_backward`. Shift the forget-gate bias up: the
# cell keeps its content longer and the LSTM's curve flattens. Scale the
# RNN's recurrent weights: below 1 its gradient vanishes exponentially. It is
# not graded.

# %% nbgrader="readonly" grade_id="explore" skip_grading=true
from dlcourse_rnn.widgets import gate_explorer, lstm_params_of

try:
    explorer = gate_explorer(lstm_gates, lstm_step, rnn_forward, rnn_backward,
                             lstm_params=lstm_params_of(globals().get("forecaster")), length=40)
except Exception as error:  # noqa: BLE001 - the widget is optional
    explorer = None
    print("The explorer could not start:", type(error).__name__, error)
explorer
