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
# # Lesson: recurrent networks, backpropagation through time and the LSTM
#
# A feed-forward network sees its whole input at once. A **recurrent**
# network reads a sequence one step at a time and carries a summary of the
# past, its hidden state, from step to step. This lesson follows that idea
# from the simplest recurrent cell to the LSTM:
#
# 1. a recurrent layer is a loop over time that reuses the same weights;
# 2. backpropagation through time (BPTT) multiplies one Jacobian per step,
#    so gradients vanish or explode; clipping tames the explosion;
# 3. the LSTM adds a cell state and three gates, and gives the gradient a
#    path along which it survives;
# 4. on the adding problem a vanilla RNN fails where an LSTM succeeds;
# 5. an interactive view of the gates, the cell state and the gradient per
#    time step.

# %%
import numpy as np
import torch
from torch import nn

import dlcourse
from dlcourse_rnn.data import ADDING_BASELINE_MSE, make_adding_problem
from dlcourse_rnn.widgets import gate_trace, random_lstm_params

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # these networks are tiny: one thread avoids threading overhead
np.set_printoptions(precision=3, suppress=True)
import matplotlib.pyplot as plt  # noqa: E402

# %% [markdown]
# ## 1. A recurrent layer is a loop
#
# The vanilla (Elman) RNN updates its hidden state $h_t \in \mathbb{R}^H$ from
# the input $x_t \in \mathbb{R}^D$ and the previous state:
#
# $$h_t = \tanh\big(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}\big).$$
#
# The **same** $W_{ih}$, $W_{hh}$ and biases are used at every step, so a
# layer with a few hundred parameters reads sequences of any length. This is
# PyTorch's `nn.RNN`, with its conventions: the weight matrices are stored as
# `(H, D)` and `(H, H)` and used transposed, there are two bias vectors, and
# with `batch_first=True` a batch of sequences has shape `(N, T, D)`. Written
# as a Python loop it gives exactly the same numbers:

# %%
torch.manual_seed(0)
rnn = nn.RNN(input_size=1, hidden_size=8, batch_first=True).double()
t = torch.arange(48, dtype=torch.float64)
x = torch.stack([torch.sin(2 * torch.pi * t / 16), (t == 6).double()])[:, :, None]  # (N=2, T=48, D=1)

h = torch.zeros(2, 8, dtype=torch.float64)
states = []
for step in range(x.shape[1]):
    h = torch.tanh(x[:, step] @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
    states.append(h)
by_loop = torch.stack(states, dim=1)  # (N, T, H)
by_torch, h_last = rnn(x)
print("max |loop - nn.RNN| =", (by_loop - by_torch).abs().max().item())
assert torch.allclose(by_loop, by_torch, atol=1e-12)
print("number of parameters:", sum(p.numel() for p in rnn.parameters()))

fig, axes = plt.subplots(2, 2, figsize=(10, 4.5), sharex=True, height_ratios=[1, 2])
for column, name in enumerate(["a sine wave", "a single pulse at step 6"]):
    axes[0, column].plot(x[column, :, 0].numpy())
    axes[0, column].set_title(f"input: {name}")
    axes[1, column].imshow(by_torch[column].detach().numpy().T, aspect="auto", origin="lower", cmap="RdBu_r",
                           vmin=-1, vmax=1)
    axes[1, column].set_xlabel("time step")
    axes[1, column].set_ylabel("hidden unit")
fig.tight_layout()
plt.show()

# %% [markdown]
# On the right, the pulse at step 6 leaves a trace in the hidden state that
# fades within a few steps: this untrained RNN forgets quickly.
#
# ## 2. Backpropagation through time
#
# Unrolled over $T$ steps, the RNN is a deep feed-forward network whose
# layers share their weights. Backpropagation through it is called
# **backpropagation through time**. Write $a_t$ for the pre-activation, so
# $h_t = \tanh(a_t)$. The gradient of a loss at the last step with respect to
# an earlier state is a product of one Jacobian per step:
#
# $$\frac{\partial h_T}{\partial h_t} = \prod_{s=t+1}^{T} \operatorname{diag}\big(1 - h_s^2\big)\, W_{hh}.$$
#
# Each factor has a norm of at most $\lVert W_{hh} \rVert$ (the tanh
# derivative is at most 1). If the recurrent weights are small the product
# shrinks exponentially with the distance $T - t$ (**vanishing gradients**);
# if they are large it can grow exponentially (**exploding gradients**).
# Below, $W_{hh}$ is an orthogonal matrix times a scale, the loss is
# $L = \sum_k h_{T,k}$, and autograd measures
# $\lVert \partial L / \partial x_t \rVert$ for every step $t$.

# %%
torch.manual_seed(1)
T, H = 60, 32
x_probe = torch.randn(1, T, 1, dtype=torch.float64)
orthogonal, _ = torch.linalg.qr(torch.randn(H, H, dtype=torch.float64))


def input_gradient_norms(cell, x):
    """||d sum(h_T) / d x_t|| for every step t, by autograd."""
    x = x.clone().requires_grad_(True)
    hs, _ = cell(x)
    (grad,) = torch.autograd.grad(hs[0, -1].sum(), x)
    return grad[0].norm(dim=1).numpy()


scales = (0.5, 1.0, 1.5, 3.0)
norms = {}
for scale in scales:
    probe = nn.RNN(1, H, batch_first=True).double()
    with torch.no_grad():
        probe.weight_hh_l0.copy_(scale * orthogonal)
        probe.weight_ih_l0.normal_(0.0, 0.5)
        probe.bias_ih_l0.zero_()
        probe.bias_hh_l0.zero_()
    norms[scale] = input_gradient_norms(probe, x_probe)

fig, ax = plt.subplots(figsize=(6, 3.5))
for scale in scales:
    ax.semilogy(norms[scale], label=f"W_hh = {scale} x orthogonal")
ax.set_xlabel("time step t")
ax.set_ylabel("||dL/dx_t||")
ax.set_title("how much the loss at step 59 reacts to each input")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
for scale in scales:
    print(f"scale {scale}: gradient at t = 0 is {norms[scale][0] / norms[scale][-1]:.1e} times the one at t = 59")

# %% [markdown]
# With scale 0.5 the first input receives a gradient more than twenty orders
# of magnitude smaller than the last one: gradient descent cannot learn that
# it mattered. With scale 1 it is still about seven orders smaller. With
# scale 3 the gradient grows by about nine orders of magnitude instead.
#
# ### Gradient clipping
#
# The standard remedy for exploding gradients is to **clip by the global
# norm**: if $\lVert g \rVert$, the norm of all parameter gradients taken
# together, exceeds a threshold, scale all of them by the same factor.
# `torch.nn.utils.clip_grad_norm_` does that in place and returns the norm
# before clipping. The step keeps its direction; only its length is capped.

# %%
exploding = nn.RNN(1, H, batch_first=True).double()
with torch.no_grad():
    exploding.weight_hh_l0.copy_(3.0 * orthogonal)
hs, _ = exploding(x_probe)
hs[0, -1].sum().backward()
before = torch.cat([p.grad.flatten() for p in exploding.parameters()]).clone()
total = nn.utils.clip_grad_norm_(exploding.parameters(), max_norm=1.0)
after = torch.cat([p.grad.flatten() for p in exploding.parameters()])
cosine = torch.dot(before, after) / (before.norm() * after.norm())
print(f"norm before {total.item():.3g}, after {after.norm().item():.3f}, cosine between the two {cosine.item():.6f}")

# %% [markdown]
# Clipping cannot fix vanishing gradients: scaling a tiny gradient up would
# amplify noise as much as signal. That needs a different architecture.
#
# ## 3. The LSTM cell
#
# The long short-term memory (Hochreiter and Schmidhuber, 1997; the forget
# gate is from Gers et al., 2000) keeps a second state, the **cell** $c_t$,
# and three **gates** with values in (0, 1):
#
# | | | role |
# |---|---|---|
# | $i_t = \sigma(x_t W_{ii}^\top + b_{ii} + h_{t-1} W_{hi}^\top + b_{hi})$ | input gate | how much of the candidate to write |
# | $f_t = \sigma(x_t W_{if}^\top + b_{if} + h_{t-1} W_{hf}^\top + b_{hf})$ | forget gate | how much of the old cell to keep |
# | $g_t = \tanh(x_t W_{ig}^\top + b_{ig} + h_{t-1} W_{hg}^\top + b_{hg})$ | candidate | what could be written |
# | $o_t = \sigma(x_t W_{io}^\top + b_{io} + h_{t-1} W_{ho}^\top + b_{ho})$ | output gate | how much of the cell to show |
#
# $$c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t).$$
#
# PyTorch stacks the four blocks in one `weight_ih` of shape `(4H, D)`, one
# `weight_hh` of shape `(4H, H)` and two biases of shape `(4H,)`, **in the
# order i, f, g, o**. Other texts use other orders (i, f, o, g is common), so
# check the convention before you copy weights between libraries. Here is the
# cell written out, checked against `nn.LSTMCell`:

# %%
def lstm_gates_torch(x_t, h_prev, params):
    """The gate activations (i, f, g, o), each (N, H), from PyTorch-layout parameters."""
    pre = x_t @ params["W_ih"].T + params["b_ih"] + h_prev @ params["W_hh"].T + params["b_hh"]
    a_i, a_f, a_g, a_o = pre.chunk(4, dim=1)
    return torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)


def lstm_step_torch(x_t, h_prev, c_prev, params):
    i, f, g, o = lstm_gates_torch(x_t, h_prev, params)
    c = f * c_prev + i * g
    return o * torch.tanh(c), c


torch.manual_seed(2)
cell = nn.LSTMCell(3, 5).double()
cell_params = {"W_ih": cell.weight_ih, "W_hh": cell.weight_hh, "b_ih": cell.bias_ih, "b_hh": cell.bias_hh}
x_t, h_prev, c_prev = (torch.randn(4, n, dtype=torch.float64) for n in (3, 5, 5))
h_ours, c_ours = lstm_step_torch(x_t, h_prev, c_prev, cell_params)
h_ref, c_ref = cell(x_t, (h_prev, c_prev))
print("max |ours - nn.LSTMCell|: h", (h_ours - h_ref).abs().max().item(), " c", (c_ours - c_ref).abs().max().item())

# %% [markdown]
# ### Why the gradient survives
#
# Along the cell state, one step back multiplies the gradient by the forget
# gate only: $\partial c_t / \partial c_{t-1} = \operatorname{diag}(f_t)$ on
# this path, with no weight matrix and no squashing in between. When the
# network learns to hold $f_t \approx 1$, information and gradient travel
# across many steps (the "constant error carousel"). A common trick
# (Jozefowicz et al., 2015) starts the forget-gate bias at 1 or more so the
# cell remembers by default.
#
# `gate_trace` from this topic's widgets runs an LSTM step function over one
# sequence and returns the gates, the states and
# $\lVert \partial \sum h_T / \partial x_t \rVert$ per step (by centred
# finite differences through the step function). We give it the cell above,
# wrapped for NumPy arrays, with random weights, on the same noise input as
# the RNNs of section 2, once with a forget-gate bias of 0 and once with +3.

# %%
def as_torch(params):
    return {key: torch.as_tensor(value, dtype=torch.float64) for key, value in params.items()}


def lstm_gates_np(x_t, h_prev, params):
    gates = lstm_gates_torch(torch.as_tensor(x_t), torch.as_tensor(h_prev), as_torch(params))
    return tuple(gate.numpy() for gate in gates)


def lstm_step_np(x_t, h_prev, c_prev, params):
    h, c = lstm_step_torch(torch.as_tensor(x_t), torch.as_tensor(h_prev), torch.as_tensor(c_prev), as_torch(params))
    return h.numpy(), c.numpy()


traces = {}
for forget_bias in (0.0, 3.0):
    lstm_random = random_lstm_params(1, H, seed=3, forget_bias=forget_bias)
    traces[forget_bias] = gate_trace(x_probe[0].numpy(), lstm_random, lstm_gates=lstm_gates_np,
                                     lstm_step=lstm_step_np)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
for ax, forget_bias in zip(axes[:2], traces):
    image = ax.imshow(traces[forget_bias]["c"].T, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-1.5,
                      vmax=1.5)
    ax.set_title(f"cell state, forget bias {forget_bias:+g} (mean f = {traces[forget_bias]['f'].mean():.2f})",
                 fontsize=9)
    ax.set_xlabel("time step")
    ax.set_ylabel("unit")
fig.colorbar(image, ax=axes[1], fraction=0.04)
relative = {f"LSTM, forget bias {fb:+g}": trace["lstm_grad"] / trace["lstm_grad"][-1] for fb, trace in traces.items()}
relative["vanilla RNN, scale 1 (section 2)"] = norms[1.0] / norms[1.0][-1]
for name, curve in relative.items():
    axes[2].semilogy(curve, label=name)
axes[2].set_xlabel("time step t")
axes[2].set_title("||d sum(h_T) / d x_t||, relative to t = 59", fontsize=9)
axes[2].legend(fontsize=7)
fig.tight_layout()
plt.show()
for name, curve in relative.items():
    print(f"{name}: gradient at t = 0 is {curve[0]:.1e} times the one at t = 59")

# %% [markdown]
# With forget gates around 0.5 this random LSTM forgets even faster than the
# RNN: the gates decide, and a trained LSTM learns to open them where memory
# pays. With the forget gate mostly open (+3, $f \approx 0.95$) the cell
# integrates its input over long stretches, and the first step gets as much
# gradient as the last one.
#
# ## 4. The adding problem
#
# Each sequence has $T = 50$ steps with two features: a random number in
# [0, 1] and a marker that is 1 at exactly two steps (one in each half). The
# target is the sum of the two marked numbers. Always predicting the mean,
# 1.0, gives a mean squared error of $1/6 \approx 0.167$; to do better a
# network must notice the first marked number and keep it for up to 49 steps.
# We train a vanilla RNN and an LSTM of the same width with the same recipe:
# Adam, minibatches of 64, clipping at norm 1, 800 steps each; the LSTM's
# forget-gate bias starts at +2 (without it, the LSTM sometimes needs more
# steps to leave the plateau).

# %%
X_add, y_add = make_adding_problem(n=3000, length=50, seed=0)
X_test, y_test = make_adding_problem(n=1000, length=50, seed=1)
X_add_t, y_add_t = torch.from_numpy(X_add), torch.from_numpy(y_add)
X_test_t, y_test_t = torch.from_numpy(X_test), torch.from_numpy(y_test)


class LastStepRegressor(nn.Module):
    """A recurrent layer and a linear read-out of the state after the last step."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.readout = nn.Linear(layer.hidden_size, 1)

    def forward(self, x):
        states, _ = self.layer(x)
        return self.readout(states[:, -1]).squeeze(-1)


def train(model, steps=800, lr=0.01, seed=0):
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    curve = []
    for _ in range(steps):
        rows = torch.randint(0, len(X_add_t), (64,), generator=generator)
        loss = nn.functional.mse_loss(model(X_add_t[rows]), y_add_t[rows])
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        curve.append(loss.item())
    with torch.no_grad():
        return curve, nn.functional.mse_loss(model(X_test_t), y_test_t).item()


torch.manual_seed(0)
models = {"vanilla RNN": LastStepRegressor(nn.RNN(2, 32, batch_first=True)),
          "LSTM": LastStepRegressor(nn.LSTM(2, 32, batch_first=True))}
with torch.no_grad():
    models["LSTM"].layer.bias_ih_l0[32:64] += 2.0  # forget-gate bias +2: remember by default
curves, test_mse = {}, {}
for name, model in models.items():
    curves[name], test_mse[name] = train(model)
    print(f"{name}: test MSE {test_mse[name]:.4f} (predicting the mean: {ADDING_BASELINE_MSE:.4f})")
assert test_mse["LSTM"] < 0.05 and test_mse["vanilla RNN"] > 0.12, test_mse

fig, ax = plt.subplots(figsize=(6, 3.5))
window = np.ones(25) / 25  # a moving average makes the minibatch curves readable
for name, curve in curves.items():
    ax.plot(np.convolve(curve, window, mode="valid"), label=name)
ax.axhline(ADDING_BASELINE_MSE, color="gray", linestyle="--", label="predict the mean")
ax.set_yscale("log")
ax.set_xlabel("training step")
ax.set_ylabel("minibatch MSE")
ax.set_title("the adding problem, T = 50")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# The vanilla RNN stays at the level of predicting the mean: it cannot learn
# to keep the first marked number because the gradient that would teach it
# has vanished by the time it reaches that step. The LSTM sits on the same
# plateau for a while, then finds the solution and its error falls by two
# orders of magnitude. (A GRU, with a similar gated path, succeeds too.)
#
# ## 5. Exploring gates over time
#
# The explorer below runs the LSTM cell of section 3 (random weights, 8
# units, forget-gate bias +1) on an input you choose, and draws the four
# gates, the cell state and the gradient norm per time step, next to a
# vanilla RNN whose recurrent weights you can rescale. Try a pulse with the
# forget bias shifted by -3 and by +5; try an RNN scale of 0.5 and of 1.5. In the assignment, the same widget runs
# on *your* functions and on the weights of the LSTM you train.

# %%
from dlcourse_rnn.widgets import gate_explorer  # noqa: E402


def rnn_forward_autograd(x, h0, params):
    """A vanilla RNN in torch; the cache keeps the graph for rnn_backward_autograd."""
    x = torch.as_tensor(x, dtype=torch.float64).requires_grad_(True)
    h0 = torch.as_tensor(h0, dtype=torch.float64).requires_grad_(True)
    p = as_torch(params)
    h, states = h0, []
    for step in range(x.shape[1]):
        h = torch.tanh(x[:, step] @ p["W_ih"].T + p["b_ih"] + h @ p["W_hh"].T + p["b_hh"])
        states.append(h)
    hs = torch.stack(states, dim=1)
    return hs.detach().numpy(), (x, h0, hs)


def rnn_backward_autograd(dhs, cache):
    x, h0, hs = cache
    dx, dh0 = torch.autograd.grad(hs, (x, h0), grad_outputs=torch.as_tensor(dhs))
    return {"x": dx.numpy(), "h0": dh0.numpy()}


explorer = gate_explorer(lstm_gates_np, lstm_step_np, rnn_forward_autograd, rnn_backward_autograd, hidden=8)
print(explorer.status.value)
explorer

# %% [markdown]
# ## Summary
#
# * A recurrent layer applies the same cell at every step; PyTorch's
#   `nn.RNN` and `nn.LSTM` store weights as `(G*H, D)` and `(G*H, H)`, use
#   two bias vectors and, for the LSTM, stack the gates as (i, f, g, o).
# * Backpropagation through time multiplies one Jacobian per step: gradients
#   vanish or explode exponentially with the distance between steps.
# * Clipping by the global norm caps exploding gradients without changing
#   their direction; it does nothing for vanishing ones.
# * The LSTM's cell state is updated additively and scaled only by the forget
#   gate, so gradients survive across many steps; on the adding problem it
#   succeeds where a vanilla RNN stays at the trivial solution.
