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
# # Lesson: how optimizers move — SGD, momentum, RMSProp and Adam
#
# Training a network means minimising a loss $L(\theta)$ over millions of
# parameters with nothing but gradients. This lesson builds up the optimizers
# in everyday use, one problem at a time:
#
# 1. gradient descent, and why the step size is bounded by the curvature;
# 2. mini-batches: batch size, iterations and epochs, and the noise they bring;
# 3. momentum, and the speed-up it buys on an ill-conditioned problem;
# 4. RMSProp and Adam: a step size per coordinate;
# 5. Adam's bias correction;
# 6. a problem on which Adam provably fails, and the AMSGrad fix;
# 7. an interactive view of the trajectories.
#
# Everything here uses PyTorch's own `torch.optim` classes; in the assignment
# you write them yourself.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

import dlcourse
from dlcourse_optimizers.data import load_moons, make_quadratic
from dlcourse_optimizers.models import make_mlp
from dlcourse_optimizers.surfaces import SURFACES
from dlcourse_optimizers.widgets import optimizer_paths, plot_paths

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # tiny problems: one thread avoids threading overhead
np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Gradient descent and the step size
#
# Gradient descent repeats $\theta \leftarrow \theta - \eta \nabla L(\theta)$.
# Near a minimum the loss looks like a quadratic
# $\tfrac12 (\theta-\theta^*)^\top H (\theta-\theta^*)$, and along an
# eigenvector of the Hessian $H$ with curvature $\lambda$ one step multiplies
# the error by $1 - \eta\lambda$. So:
#
# * the step must satisfy $\eta < 2/\lambda_{\max}$, or the steepest
#   direction blows up;
# * with such a step, the flattest direction shrinks by only
#   $1 - \eta\lambda_{\min} \approx 1 - 2/\kappa$ per step, where
#   $\kappa = \lambda_{\max}/\lambda_{\min}$ is the **condition number**.
#
# Our first surface is a valley with curvatures 0.2 and 5 ($\kappa = 25$).
# Three learning rates, 60 steps each:

# %%
valley = SURFACES["quadratic"]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for ax, lr in zip(axes, (0.05, 0.35, 0.41)):
    result = optimizer_paths("quadratic", {"SGD": lambda p, lr=lr: torch.optim.SGD(p, lr=lr)}, steps=60)
    ax.contour(result["xx"], result["yy"], result["zz"], levels=20, cmap="Greys")
    path = result["paths"]["SGD"]
    ax.plot(path[:, 0], path[:, 1], ".-", color="C0")
    ax.set_title(f"lr = {lr}: loss {result['losses']['SGD'][-1]:.2g} after {len(path) - 1} steps")
    ax.set_xlim(valley.xlim)
    ax.set_ylim(valley.ylim)
fig.tight_layout()
plt.show()

# %% [markdown]
# With $\eta = 0.05$ the path is smooth but crawls along the valley floor
# (the error along $x$ shrinks by $1 - 0.05 \cdot 0.2 = 0.99$ per step). Near
# $\eta = 2/5 = 0.4$ it zig-zags across the valley, and just above it the
# zig-zag grows: the steep direction limits the step, the flat direction
# pays for it.
#
# ## 2. Mini-batches, iterations and epochs
#
# The loss of a network is a mean over $N$ training examples, and so is its
# gradient. **Mini-batch SGD** estimates the gradient from $B$ examples drawn
# without replacement: one update is an **iteration**, one pass over the data
# an **epoch** of $\lceil N/B \rceil$ iterations. The estimate is unbiased but
# noisy (its variance shrinks like $1/B$), and an epoch with small batches
# makes many cheap updates instead of one expensive one.
#
# Below, the same network is trained for 10 epochs on 250 moons points with
# three batch sizes and a learning rate of 0.05 (momentum 0.9).

# %%
X_moons, y_moons = (torch.from_numpy(a) for a in load_moons(n_samples=250, noise=0.2, seed=0))


def full_loss(model):
    with torch.no_grad():
        return F.cross_entropy(model(X_moons), y_moons).item()


batch_curves = {}
for batch_size in (250, 32, 4):
    model = make_mlp(hidden=32, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    generator = np.random.default_rng(0)
    curve = [full_loss(model)]
    for epoch in range(10):
        order = generator.permutation(len(X_moons))
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            optimizer.zero_grad()
            F.cross_entropy(model(X_moons[index]), y_moons[index]).backward()
            optimizer.step()
        curve.append(full_loss(model))
    batch_curves[batch_size] = curve
    print(f"B = {batch_size:3d}: {math.ceil(250 / batch_size):2d} iterations per epoch, "
          f"{10 * math.ceil(250 / batch_size):3d} updates in 10 epochs, final training loss {curve[-1]:.3f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
for batch_size, curve in batch_curves.items():
    ax.plot(curve, marker="o", label=f"batch size {batch_size}")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss (whole set)")
ax.set_yscale("log")
ax.legend()
plt.show()

# %% [markdown]
# Per epoch, small batches win: they make more updates for the same number
# of gradient evaluations. Per update, large batches win: each step is more
# accurate. On a GPU a batch of 256 costs about as much time as a batch of 4,
# which is why practice settles in between.
#
# ## 3. Momentum
#
# Heavy-ball momentum keeps a running sum of gradients,
# $v \leftarrow \mu v + g$, and steps along it,
# $\theta \leftarrow \theta - \eta v$ (PyTorch's form). Across the valley the
# gradient changes sign at every step and cancels in $v$; along the valley it
# keeps its sign and accumulates, up to $1/(1-\mu)$ times. Polyak showed that
# on a quadratic with condition number $\kappa$, with
# $\eta = 4/(\sqrt{\lambda_{\max}} + \sqrt{\lambda_{\min}})^2$ and
# $\mu = \big((\sqrt\kappa-1)/(\sqrt\kappa+1)\big)^2$, the error contracts by
# $(\sqrt\kappa-1)/(\sqrt\kappa+1)$ per step, against
# $(\kappa-1)/(\kappa+1)$ for gradient descent with its best step. For
# $\kappa = 100$ that is 0.818 against 0.980. Let us measure it in 10
# dimensions.

# %%
kappa = 100.0
A = torch.from_numpy(make_quadratic(dim=10, kappa=kappa, seed=0))
root = math.sqrt(kappa)
rates = {
    "gradient descent": ({"lr": 2 / (kappa + 1), "momentum": 0.0}, (kappa - 1) / (kappa + 1)),
    "heavy ball": ({"lr": 4 / (root + 1) ** 2, "momentum": ((root - 1) / (root + 1)) ** 2},
                   (root - 1) / (root + 1)),
}
measured_rates = {}
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, (options, theory) in rates.items():
    x = torch.ones(10, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([x], **options)
    norms = [x.norm().item()]
    for _ in range(300):
        optimizer.zero_grad()
        (0.5 * x @ A @ x).backward()
        optimizer.step()
        norms.append(x.norm().item())
    measured_rates[name] = (norms[300] / norms[100]) ** (1 / 200)
    ax.semilogy(norms, label=f"{name}: measured {measured_rates[name]:.3f}, theory {theory:.3f}")
    ax.semilogy(norms[0] * theory ** np.arange(301), "--", color="grey", lw=0.8)
ax.set_xlabel("step")
ax.set_ylabel("distance to the minimum")
ax.set_title("condition number 100 (dashed: theory)")
ax.legend()
plt.show()

# %% [markdown]
# The measured rates sit just above theory (the optimal tuning makes a
# repeated root, which adds a factor linear in the step count). Reaching
# $10^{-6}$ takes about 70 heavy-ball steps instead of about 700.
#
# ## 4. A step size per coordinate: RMSProp and Adam
#
# Momentum still uses one learning rate for all coordinates. **RMSProp**
# keeps a running average of squared gradients per coordinate,
# $s \leftarrow \alpha s + (1-\alpha) g^2$, and divides the step by
# $\sqrt{s} + \varepsilon$: steep coordinates take smaller steps, flat ones
# larger steps. **Adam** adds momentum on top, with running averages
# $m$ (of $g$) and $v$ (of $g^2$) and the step $\eta\,\hat m / (\sqrt{\hat v} + \varepsilon)$.
# Since that ratio has no units, each coordinate moves by roughly $\eta$ per
# step whatever the scale of its gradient.
#
# Four optimizers, one learning rate (0.05), 150 steps, three surfaces: the
# valley, Rosenbrock's banana (a curved valley) and a saddle point.

# %%
contenders = {
    "SGD": lambda p: torch.optim.SGD(p, lr=0.05),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    "RMSprop": lambda p: torch.optim.RMSprop(p, lr=0.05),
    "Adam": lambda p: torch.optim.Adam(p, lr=0.05),
}
final_losses = {}
for name in SURFACES:
    result = optimizer_paths(name, contenders, steps=150, grid_size=60)
    final_losses[name] = {optimizer: float(values[-1]) for optimizer, values in result["losses"].items()}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.3, 1]})
    plot_paths(result, SURFACES[name].title, axes=axes)
    fig.tight_layout()
    plt.show()
    print(name, {optimizer: round(value, 4) for optimizer, value in final_losses[name].items()})

# %% [markdown]
# Things to notice:
#
# * **valley**: SGD crawls along the flat direction; momentum overshoots and
#   oscillates but covers the distance; RMSProp and Adam first head
#   diagonally, since both coordinates move by about $\eta$ per step.
# * **Rosenbrock**: the valley floor is curved and flat. SGD barely moves
#   along it; momentum reaches the minimum first; Adam and RMSProp follow.
#   RMSProp's first step is $\eta/\sqrt{1-\alpha} = 10\eta$ long: its average
#   of squared gradients starts at zero and, unlike Adam's, is not corrected.
# * **saddle**: starting almost on the ridge ($y = 10^{-3}$), the gradient
#   along $y$ is tiny and grows by a factor $1 + \eta$ per step, so SGD needs
#   about $\ln(1000)/\eta \approx 140$ steps to escape. Adam and RMSProp
#   rescale the tiny gradient and leave at once.
#
# Adaptive methods are not magic: they follow the coordinate axes (rotate the
# valley and the advantage of RMSProp shrinks), and their steps never shrink
# on their own, which is why they are usually paired with a decaying
# learning rate.
#
# ## 5. Adam's bias correction
#
# $m$ and $v$ start at zero. With a constant gradient $g$, after $t$ steps
# $m_t = (1-\beta_1^t)\, g$: for $\beta_1 = 0.9$, only $0.1\,g$ at the first
# step. Dividing by $1-\beta_1^t$ (and $v$ by $1-\beta_2^t$) removes that bias
# exactly. Without it the first steps would have the wrong size: $m$ is too
# small by a factor $1-\beta_1 = 0.1$, but $\sqrt v$ by $\sqrt{1-\beta_2} \approx 0.03$,
# so the raw first step $m/\sqrt v$ is about 3.2 times too *large*, and the
# excess grows for a while before it fades over thousands of steps. The
# corrected step has the right size (here exactly 1, in units of $\eta$)
# from the first step on.

# %%
beta1, beta2, g = 0.9, 0.999, 1.0
print(" t   m_t      m_hat   v_t        v_hat   raw step m/sqrt(v)   corrected step")
m = v = 0.0
for t in range(1, 6):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    print(f"{t:2d}   {m:.4f}   {m_hat:.3f}   {v:.6f}   {v_hat:.3f}   {m / math.sqrt(v):17.3f}   "
          f"{m_hat / math.sqrt(v_hat):.3f}")

# %% [markdown]
# ## 6. When Adam fails: Reddi, Kale and Kumar's counter-example
#
# Adam forgets old squared gradients quickly ($\beta_2 < 1$), so a large but
# rare gradient is soon drowned out by many small ones. Reddi et al. (ICLR
# 2018) built an online problem on $x \in [-1, 1]$ where this matters: at
# step $t$ the loss is $f_t(x) = 1010\,x$ when $t \bmod 101 = 1$ and
# $f_t(x) = -10\,x$ otherwise. Over a cycle of 101 steps the total loss is
# $(1010 - 100 \cdot 10)\,x = 10\,x$, minimised at $x = -1$. Adam with
# $\beta_1 = 0.9$, $\beta_2 = 0.99$ and step $\eta_t = 0.5/\sqrt t$ drifts to
# $+1$, the *worst* point: after the large gradient, $v$ is large for only a
# few steps, so the $-10$ gradients push almost as hard as the $+1010$ one.
# **AMSGrad** divides by the running *maximum* of $v$ instead, so the big
# gradient is never forgotten, and it goes to $-1$.
#
# Twenty thousand steps of PyTorch's `Adam` would take a few seconds, so we
# write the same update for one scalar in plain Python, check it against
# `torch.optim.Adam(amsgrad=False/True)` on the first 300 steps, and then run
# it for 20 000 steps.

# %%
def reddi_gradient(t):
    """The gradient of f_t at any x: 1010 once every 101 steps, else -10 (t = 1, 2, ...)."""
    return 1010.0 if t % 101 == 1 else -10.0


def adam_on_reddi(steps, amsgrad, alpha=0.5, beta1=0.9, beta2=0.99, eps=1e-8):
    """Projected Adam (or AMSGrad, PyTorch's variant) with lr alpha / sqrt(t); returns x after every step."""
    x = m = v = v_max = 0.0
    xs = np.empty(steps)
    for t in range(1, steps + 1):
        g = reddi_gradient(t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)
        denominator = math.sqrt(v_max if amsgrad else v) / math.sqrt(1 - beta2**t) + eps
        x -= (alpha / math.sqrt(t)) * (m / (1 - beta1**t)) / denominator
        x = min(1.0, max(-1.0, x))  # projection onto the feasible set [-1, 1]
        xs[t - 1] = x
    return xs


def torch_on_reddi(steps, amsgrad, alpha=0.5):
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([x], lr=alpha, betas=(0.9, 0.99), eps=1e-8, amsgrad=amsgrad)
    xs = np.empty(steps)
    for t in range(1, steps + 1):
        optimizer.param_groups[0]["lr"] = alpha / math.sqrt(t)
        x.grad = torch.full_like(x, reddi_gradient(t))  # f_t is linear: its gradient does not depend on x
        optimizer.step()
        with torch.no_grad():
            x.clamp_(-1.0, 1.0)
        xs[t - 1] = x.item()
    return xs


for amsgrad in (False, True):
    gap = np.max(np.abs(adam_on_reddi(300, amsgrad) - torch_on_reddi(300, amsgrad)))
    print(f"amsgrad={amsgrad}: max |plain Python - torch.optim.Adam| over 300 steps = {gap:.1e}")

reddi_adam = adam_on_reddi(20_000, amsgrad=False)
reddi_amsgrad = adam_on_reddi(20_000, amsgrad=True)
print(f"after 20 000 steps: Adam x = {reddi_adam[-1]:+.3f}, AMSGrad x = {reddi_amsgrad[-1]:+.3f} "
      "(optimum -1)")

fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(np.arange(1, 20_001), reddi_adam, label="Adam")
ax.plot(np.arange(1, 20_001), reddi_amsgrad, label="AMSGrad")
ax.axhline(-1.0, color="k", ls=":", label="optimum x = -1")
ax.set_xscale("log")
ax.set_xlabel("step t")
ax.set_ylabel("x")
ax.set_title("Reddi et al.'s online problem")
ax.legend()
plt.show()

# %% [markdown]
# In practice Adam with $\beta_2 = 0.999$ rarely meets such adversarial
# gradient sequences, and AMSGrad seldom beats it on real networks. The
# lesson is that an adaptive method's memory ($\beta_2$) is a modelling
# choice: a gradient that is rare but important can be averaged away.
#
# ## 7. Explore
#
# The explorer runs `torch.optim.SGD` (with and without momentum),
# `RMSprop` and `Adam` on a surface you choose. Try: a learning rate of 0.4
# on the valley; momentum 0.99 on Rosenbrock; beta2 = 0.5 for Adam on the
# saddle; beta1 = 0. In the assignment, the same widget runs *your* optimizers.

# %%
from dlcourse_optimizers.widgets import trajectory_explorer  # noqa: E402

explorer = trajectory_explorer(torch.optim.SGD, torch.optim.RMSprop, torch.optim.Adam, surface="rosenbrock",
                               lr=0.05, steps=150)
print(explorer.status.value)
explorer

# %% [markdown]
# ## Summary
#
# * The largest stable step of gradient descent is set by the steepest
#   curvature, its speed by the flattest: the condition number rules.
# * Mini-batches trade gradient accuracy for more updates per epoch.
# * Momentum sums gradients, cancelling oscillations and accumulating steady
#   progress: $\sqrt\kappa$ instead of $\kappa$ on quadratics.
# * RMSProp and Adam rescale each coordinate by its gradient's size; Adam's
#   bias correction fixes the zero start of its averages.
# * Adaptive methods can forget rare, large gradients (Reddi et al.); AMSGrad
#   keeps the maximum.
