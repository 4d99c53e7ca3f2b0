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
# # Assignment: optimizers — SGD, momentum, RMSProp and Adam
#
# You will write the optimizers that train almost every network, as real
# PyTorch optimizers that plug into any model:
#
# 1. a mini-batch iterator (batches, iterations and epochs);
# 2. SGD with weight decay, then with momentum and Nesterov momentum;
# 3. RMSProp;
# 4. Adam with bias correction;
# 5. a learning-rate schedule: linear warm-up, then cosine decay;
# 6. a training loop, used to compare the optimizers on a small network.
#
# Each exercise is a function or a class with a docstring that states shapes
# and dtypes. Replace `raise NotImplementedError()` with your code, then run
# the test cell below it. The visible tests use small fixed inputs; when you
# submit, hidden tests run your code on fresh random parameters, shapes and
# hyper-parameters and compare every step with PyTorch's own `torch.optim`
# classes in float64, so follow the conventions below exactly.
#
# ### Conventions (PyTorch's)
#
# For a parameter $\theta$ with gradient $g$ and learning rate $\eta$:
#
# | optimizer | update, applied at every `step()` |
# |---|---|
# | weight decay $\lambda$ (all three) | $g \leftarrow g + \lambda\theta$ first: **L2, added to the gradient** (not AdamW's decoupled decay) |
# | SGD | $\theta \leftarrow \theta - \eta g$ |
# | momentum $\mu$ | $v \leftarrow \mu v + g$ (at the first step $v = g$), $\theta \leftarrow \theta - \eta v$ |
# | Nesterov | $v$ as above, $\theta \leftarrow \theta - \eta\,(g + \mu v)$ |
# | RMSProp | $s \leftarrow \alpha s + (1-\alpha) g^2$ ($s$ starts at 0), $\theta \leftarrow \theta - \eta\, g / (\sqrt{s} + \varepsilon)$ |
# | Adam | $t \leftarrow t + 1$, $m \leftarrow \beta_1 m + (1-\beta_1) g$, $v \leftarrow \beta_2 v + (1-\beta_2) g^2$, $\hat m = m / (1-\beta_1^t)$, $\hat v = v / (1-\beta_2^t)$, $\theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \varepsilon)$ |
#
# Squares, square roots and divisions are elementwise. $m$, $v$, $s$ start at
# zero and $t$ at 0, so the first Adam step uses $t = 1$. $\varepsilon$ is
# added **outside** the square root. The momentum buffer holds gradients, not
# steps: the learning rate multiplies it only in the update, so a schedule
# that changes $\eta$ acts at once. Defaults are PyTorch's: RMSProp
# $\alpha = 0.99$, $\varepsilon = 10^{-8}$; Adam $\beta = (0.9, 0.999)$,
# $\varepsilon = 10^{-8}$ (fast.ai uses $\beta_2 = 0.99$, $\varepsilon = 10^{-5}$: not here).

# %% nbgrader="readonly" grade_id="setup"
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

import dlcourse
from dlcourse_optimizers.data import load_moons, make_quadratic
from dlcourse_optimizers.models import make_mlp

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # the networks here are tiny: one thread avoids threading overhead
np.set_printoptions(precision=4, suppress=True)

X_train, y_train = (torch.from_numpy(a) for a in load_moons(n_samples=250, noise=0.2, seed=0))
X_val, y_val = (torch.from_numpy(a) for a in load_moons(n_samples=1000, noise=0.2, seed=1))
print("moons: train", tuple(X_train.shape), X_train.dtype, "| validation", tuple(X_val.shape))


def accuracy(model, X, y):
    """Accuracy of a classifier: the fraction of rows of X whose largest logit is the label."""
    with torch.no_grad():
        return float((model(X).argmax(dim=1) == y).float().mean())


def quadratic_steps(optimizer_class, x0, steps=3, scale=1.0, **options):
    """Minimise f(x) = scale * sum(x**2) / 2 from x0 with optimizer_class([x], **options).

    The gradient of f is scale * x. Returns the iterates as a float64 array
    (steps + 1, len(x0)); row 0 is x0.
    """
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    optimizer = optimizer_class([x], **options)
    iterates = [x.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        (scale * 0.5 * (x**2).sum()).backward()
        optimizer.step()
        iterates.append(x.detach().clone())
    return torch.stack(iterates).numpy()


def difference_from_torch(mine, theirs, steps=5, group2=None, **options):
    """Run two optimizer classes on the same small regression network; return the max |difference|.

    The network has parameters W1 (3, 4), b1 (4,), W2 (4, 2), b2 (2,) in float64,
    and a parameter `unused` (3,) that the loss ignores (its .grad stays None).
    The first param group holds W1 and b1; the second W2, b2 and `unused`, with
    the extra options in `group2`. Every step is zero_grad, backward, step.
    """
    results = []
    for optimizer_class in (mine, theirs):
        generator = torch.Generator().manual_seed(0)
        shapes = {"W1": (3, 4), "b1": (4,), "W2": (4, 2), "b2": (2,), "unused": (3,)}
        params = {name: torch.randn(*shape, generator=generator, dtype=torch.float64).requires_grad_()
                  for name, shape in shapes.items()}
        X = torch.randn(8, 3, generator=generator, dtype=torch.float64)
        Y = torch.randn(8, 2, generator=generator, dtype=torch.float64)
        groups = [{"params": [params["W1"], params["b1"]]},
                  {"params": [params["W2"], params["b2"], params["unused"]], **(group2 or {})}]
        optimizer = optimizer_class(groups, **options)
        for _ in range(steps):
            optimizer.zero_grad()
            hidden = torch.tanh(X @ params["W1"] + params["b1"])
            loss = ((hidden @ params["W2"] + params["b2"] - Y) ** 2).mean()
            loss.backward()
            optimizer.step()
        results.append(torch.cat([p.detach().reshape(-1) for p in params.values()]))
    return float((results[0] - results[1]).abs().max())


# %% [markdown]
# ## 1. Mini-batches (3 points)
#
# Gradient descent on the whole training set computes the exact gradient of
# the mean loss, but each step costs a pass over all $N$ examples. Stochastic
# gradient descent estimates the gradient from a **mini-batch** of $B$
# examples instead. One update is an **iteration**; one pass over the data is
# an **epoch**, which takes $\lceil N / B \rceil$ iterations. $B = N$ is
# full-batch gradient descent, $B = 1$ is "pure" SGD.
#
# Write a generator that yields the mini-batches of one epoch:
#
# * with `shuffle=True`, visit the examples in the order `rng.permutation(N)`
#   — call it **once** per call of `minibatches`, on the `rng` you are given,
#   so that every epoch gets a new order from the same generator;
# * with `shuffle=False`, visit them in their original order;
# * every batch holds `batch_size` examples except possibly the last, which
#   holds the `N % batch_size` left over (keep it, do not drop it);
# * keep `X` and `y` rows together, and do not copy the whole data set:
#   index it with the batch's indices. `X` and `y` may be NumPy arrays or
#   torch tensors (indexing with an integer array works for both).

# %% nbgrader="solution" grade_id="minibatches"
def minibatches(X, y, batch_size, *, shuffle=True, rng=None):
    """Yield the (X_batch, y_batch) pairs of one epoch.

    X: np.ndarray or torch.Tensor (N, ...); y: np.ndarray or torch.Tensor (N,).
    batch_size: int B >= 1.
    shuffle: bool; rng: np.random.Generator used to shuffle (a fresh default_rng() if None).
    Yields X_batch (B, ...) and y_batch (B,), of the type of X and y; the last batch
    has N % B rows when B does not divide N.
    """
    ### BEGIN SOLUTION
    n = len(X)
    if shuffle:
        rng = np.random.default_rng() if rng is None else rng
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        yield X[index], y[index]
    ### END SOLUTION


# %% nbgrader="tests" grade_id="minibatches_tests" points=3 checks=["optimizers.minibatches"]
_X = np.arange(20.0).reshape(10, 2)
_y = np.arange(10)
_batches = list(minibatches(_X, _y, 4, shuffle=False))
assert len(_batches) == 3, f"10 examples in batches of 4 make 3 batches (4, 4, 2), got {len(_batches)}"
assert [len(_yb) for _, _yb in _batches] == [4, 4, 2], "the batch sizes should be 4, 4, 2: keep the last, smaller batch"
assert np.array_equal(np.concatenate([_yb for _, _yb in _batches]), _y), "with shuffle=False the order is 0, 1, ..., N-1"
assert np.array_equal(_batches[2][0], _X[8:]), "X_batch should hold the rows of X that match y_batch"
_rng = np.random.default_rng(3)
_epoch1 = np.concatenate([_yb for _, _yb in minibatches(_X, _y, 3, shuffle=True, rng=_rng)])
_epoch2 = np.concatenate([_yb for _, _yb in minibatches(_X, _y, 3, shuffle=True, rng=_rng)])
assert sorted(_epoch1) == list(range(10)), "each epoch must visit every example exactly once"
assert np.array_equal(_epoch1, np.random.default_rng(3).permutation(10)), "shuffle with rng.permutation(N), called once"
assert not np.array_equal(_epoch1, _epoch2), "the second epoch should get a new order from the same rng (do not reseed)"
for _xb, _yb in minibatches(_X, _y, 3, shuffle=True, rng=_rng):
    assert np.array_equal(_xb, _X[_yb]), "rows of X and y must stay together when shuffling"
_xb, _yb = next(iter(minibatches(X_train, y_train, 32, rng=np.random.default_rng(0))))
assert isinstance(_xb, torch.Tensor) and _xb.shape == (32, 2) and _yb.shape == (32,), "tensors in, tensors out"
print(f"minibatches: visible tests passed; {math.ceil(len(X_train) / 32)} iterations per epoch of batch size 32")

# %% [markdown]
# ## 2. SGD, momentum and Nesterov, as a `torch.optim.Optimizer` (3 + 4 points)
#
# A PyTorch optimizer keeps its parameters in `self.param_groups`: a list of
# dicts, each with a list of tensors under `"params"` and its own
# hyper-parameters (`"lr"`, `"momentum"`, ...). The base class fills every
# group's missing keys from the defaults given to `__init__`, so
# `SGD([{"params": body}, {"params": head, "lr": 0.1}], lr=0.01)` trains the
# head ten times faster. Per-parameter memory (a momentum buffer) lives in
# `self.state[p]`, a dict that starts empty for every parameter `p`.
#
# `__init__` is written for you. Write `step()`: for every group and every
# parameter `p` **whose `p.grad` is not None** (a frozen or unused parameter
# has no gradient: skip it), apply the updates of the conventions table:
# weight decay, then momentum (when `momentum != 0`), plain or Nesterov, then
# the step. Read the hyper-parameters from the group at every step: schedulers
# change `group["lr"]` between steps. The `@torch.no_grad()` decorator lets
# you update `p` in place (`p.add_(...)`, `p.sub_(...)`, `p -= ...`); a
# statement like `p = p - lr * g` would only rebind a local name.
#
# Why momentum helps: on a long narrow valley the gradient points mostly
# across it. The buffer $v$ sums recent gradients, so the zig-zag across the
# valley cancels while the small, steady component along it accumulates.

# %% nbgrader="solution" grade_id="sgd"
class SGD(torch.optim.Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    params: an iterable of tensors or of param-group dicts.
    lr: float; momentum: float mu >= 0; nesterov: bool (needs momentum > 0);
    weight_decay: float lambda >= 0, added to the gradient as lambda * p.
    Works for parameters of any shape and floating dtype; matches torch.optim.SGD
    with dampening=0.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError("lr, momentum and weight_decay must be non-negative")
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        defaults = {"lr": lr, "momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return the closure's loss (or None)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        ### BEGIN SOLUTION
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if wd != 0:
                    g = g + wd * p
                if mu != 0:
                    state = self.state[p]
                    if "velocity" not in state:
                        state["velocity"] = g.clone()  # the first step: v = g
                    else:
                        state["velocity"].mul_(mu).add_(g)
                    v = state["velocity"]
                    g = g + mu * v if group["nesterov"] else v
                p.add_(g, alpha=-lr)
        ### END SOLUTION
        return loss


# %% nbgrader="tests" grade_id="sgd_tests" points=3 checks=["optimizers.sgd"]
_path = quadratic_steps(SGD, [1.0, -2.0], steps=2, lr=0.1)
assert _path.shape == (3, 2), "quadratic_steps should return 3 iterates: is step() updating x in place?"
assert np.allclose(_path[1], [0.9, -1.8]), "one SGD step on f(x) = |x|^2/2 (gradient x) with lr=0.1 should give 0.9 * x0"
assert np.allclose(_path[2], [0.81, -1.62]), "the second step should multiply x by 0.9 again"
_path = quadratic_steps(SGD, [1.0], steps=1, lr=0.1, weight_decay=0.5)
assert np.allclose(_path[1], [0.85]), "with weight_decay=0.5 the gradient is x + 0.5 x, so x becomes 1 - 0.1 * 1.5 = 0.85"
_difference = difference_from_torch(SGD, torch.optim.SGD, lr=0.1, weight_decay=0.1, group2={"lr": 0.3})
assert _difference < 1e-12, f"differs from torch.optim.SGD with two param groups by {_difference:.1e}: read group['lr']"
print("SGD: visible tests passed")

# %% nbgrader="tests" grade_id="momentum_tests" points=4 checks=["optimizers.momentum"]
_path = quadratic_steps(SGD, [1.0], steps=3, lr=0.1, momentum=0.9)
assert np.isclose(_path[1, 0], 0.9), "the first momentum step is a plain SGD step (v = g): x should be 0.9"
assert np.isclose(_path[2, 0], 0.72), "second step: v = 0.9 * 1 + 0.9 = 1.8, x = 0.9 - 0.18 = 0.72 (no (1 - mu) factor)"
assert np.isclose(_path[3, 0], 0.486), "third step: v = 0.9 * 1.8 + 0.72 = 2.34, x = 0.72 - 0.234 = 0.486"
_path = quadratic_steps(SGD, [1.0], steps=2, lr=0.1, momentum=0.9, nesterov=True)
assert np.isclose(_path[1, 0], 0.81), "Nesterov's first step uses g + mu*v = 1 + 0.9 = 1.9, so x = 0.81"
assert np.isclose(_path[2, 0], 0.5751), "Nesterov's second step: v = 0.9 + 0.81 = 1.71, x = 0.81 - 0.1*(0.81 + 0.9*1.71)"
for _options in ({"momentum": 0.9}, {"momentum": 0.8, "nesterov": True},
                 {"momentum": 0.9, "weight_decay": 0.05}):
    _difference = difference_from_torch(SGD, torch.optim.SGD, lr=0.05, group2={"momentum": 0.5}, **_options)
    assert _difference < 1e-12, f"differs from torch.optim.SGD with {_options} by {_difference:.1e}"
print("SGD with momentum: visible tests passed")

# %% [markdown]
# ### Momentum on an ill-conditioned quadratic
#
# On $f(x) = \tfrac12 x^\top A x$ whose curvatures (the eigenvalues of $A$)
# lie in $[\mu, L]$, the condition number is $\kappa = L/\mu$. Gradient
# descent with its best step $\eta = 2/(L+\mu)$ shrinks the error by a factor
# $(\kappa-1)/(\kappa+1)$ per step. Polyak's heavy ball, with
# $\eta = 4/(\sqrt L + \sqrt\mu)^2$ and momentum
# $\left((\sqrt\kappa-1)/(\sqrt\kappa+1)\right)^2$, shrinks it by
# $(\sqrt\kappa-1)/(\sqrt\kappa+1)$: for $\kappa = 100$, 0.82 instead of 0.98,
# about ten times fewer steps for the same accuracy. The hidden tests measure
# this rate with your `SGD`. Here is the experiment:

# %%
A = torch.from_numpy(make_quadratic(dim=10, kappa=100.0, seed=0))
root_kappa = 10.0
settings = {
    "gradient descent": {"lr": 2 / 101, "momentum": 0.0},
    "heavy ball": {"lr": 4 / (root_kappa + 1) ** 2, "momentum": ((root_kappa - 1) / (root_kappa + 1)) ** 2},
}
try:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for (name, options), rate in zip(settings.items(), (99 / 101, 9 / 11)):
        x = torch.ones(10, dtype=torch.float64, requires_grad=True)
        optimizer = SGD([x], **options)
        norms = [x.norm().item()]
        for _ in range(200):
            optimizer.zero_grad()
            (0.5 * x @ A @ x).backward()
            optimizer.step()
            norms.append(x.norm().item())
        measured = (norms[200] / norms[100]) ** (1 / 100)
        ax.semilogy(norms, label=f"{name}: measured rate {measured:.3f}, theory {rate:.3f}")
    ax.set_xlabel("step")
    ax.set_ylabel("distance to the minimum")
    ax.set_title("condition number 100")
    ax.legend()
    plt.show()
except NotImplementedError:
    print("Write SGD.step above to run this experiment.")

# %% [markdown]
# ## 3. RMSProp (3 points)
#
# Momentum fixes the direction; RMSProp fixes the **scale**. It keeps a
# running average $s$ of the squared gradient of every coordinate and divides
# the step by $\sqrt{s}$, so coordinates with large gradients take smaller
# steps and flat coordinates larger ones. Follow the conventions table
# ($s$ starts at zero and there is no bias correction, as in PyTorch: so the
# first step is $\eta / \sqrt{1-\alpha}$ in size, ten times `lr` for $\alpha = 0.99$).

# %% nbgrader="solution" grade_id="rmsprop"
class RMSprop(torch.optim.Optimizer):
    """RMSProp with L2 weight decay (no momentum, not centred), as torch.optim.RMSprop.

    params: an iterable of tensors or of param-group dicts.
    lr: float; alpha: float in [0, 1), the decay of the running average of g**2;
    eps: float > 0, added outside the square root; weight_decay: float >= 0.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0):
        if lr < 0 or not 0 <= alpha < 1 or eps < 0 or weight_decay < 0:
            raise ValueError("invalid RMSprop hyper-parameter")
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return the closure's loss (or None)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        ### BEGIN SOLUTION
        for group in self.param_groups:
            lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if wd != 0:
                    g = g + wd * p
                state = self.state[p]
                if "square_avg" not in state:
                    state["square_avg"] = torch.zeros_like(p)
                square_avg = state["square_avg"]
                square_avg.mul_(alpha).add_((1 - alpha) * g * g)
                p.sub_(lr * g / (square_avg.sqrt() + eps))
        ### END SOLUTION
        return loss


# %% nbgrader="tests" grade_id="rmsprop_tests" points=3 checks=["optimizers.rmsprop"]
_path = quadratic_steps(RMSprop, [1.0, -4.0], steps=2, lr=0.01)
assert np.allclose(_path[1], [0.9, -3.9]), (
    "the first RMSprop step is lr * g / sqrt(0.01 * g**2) = 10 * lr * sign(g): x should move by 0.1 towards 0"
)
assert np.allclose(_path[2, 0], 0.9 - 0.01 * 0.9 / np.sqrt(0.99 * 0.01 + 0.01 * 0.81)), "wrong second step: s = alpha*s + (1 - alpha)*g**2"
_path = quadratic_steps(RMSprop, [1.0], steps=1, lr=0.01, eps=1.0)
assert np.isclose(_path[1, 0], 1 - 0.01 / 1.1), "eps goes outside the square root: g / (sqrt(s) + eps)"
for _options in ({}, {"alpha": 0.9, "eps": 0.1}, {"weight_decay": 0.1}):
    _difference = difference_from_torch(RMSprop, torch.optim.RMSprop, lr=0.01, group2={"lr": 0.03},
                                        **_options)
    assert _difference < 1e-12, f"differs from torch.optim.RMSprop with {_options} by {_difference:.1e}"
print("RMSprop: visible tests passed")

# %% [markdown]
# ## 4. Adam (4 points)
#
# Adam combines both ideas: a momentum-like average $m$ of the gradient and
# an RMSProp-like average $v$ of its square. Both start at zero, so in the
# first steps they are biased towards zero; dividing by $1-\beta^t$ corrects
# that exactly for a constant gradient. Keep a step counter $t$ per parameter
# in `self.state[p]` (increment it **before** using it, so the first step has
# $t = 1$). Because the step is $\hat m / \sqrt{\hat v}$, a ratio of two
# quantities with the units of the gradient, Adam's trajectory does not
# change when the loss is multiplied by a constant (up to $\varepsilon$): the
# hidden tests check that too.

# %% nbgrader="solution" grade_id="adam"
class Adam(torch.optim.Optimizer):
    """Adam with bias correction and L2 weight decay, as torch.optim.Adam (amsgrad=False).

    params: an iterable of tensors or of param-group dicts.
    lr: float; betas: (beta1, beta2), floats in [0, 1); eps: float > 0, added to
    sqrt(v_hat); weight_decay: float >= 0, added to the gradient as weight_decay * p.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        if lr < 0 or not all(0 <= beta < 1 for beta in betas) or eps < 0 or weight_decay < 0:
            raise ValueError("invalid Adam hyper-parameter")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return the closure's loss (or None)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        ### BEGIN SOLUTION
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if wd != 0:
                    g = g + wd * p
                state = self.state[p]
                if not state:
                    state["t"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["t"] += 1
                t, m, v = state["t"], state["m"], state["v"]
                m.mul_(beta1).add_((1 - beta1) * g)
                v.mul_(beta2).add_((1 - beta2) * g * g)
                m_hat = m / (1 - beta1**t)
                v_hat = v / (1 - beta2**t)
                p.sub_(lr * m_hat / (v_hat.sqrt() + eps))
        ### END SOLUTION
        return loss


# %% nbgrader="tests" grade_id="adam_tests" points=4 checks=["optimizers.adam"]
_path = quadratic_steps(Adam, [1.0, -3.0], steps=2, lr=0.1)
assert np.allclose(_path[1], [0.9, -2.9]), (
    "with bias correction the first Adam step is lr * g / (|g| + eps), about lr * sign(g): x should move by 0.1"
)
assert np.allclose(_path[2, 0], 0.80041223, atol=1e-8), "wrong second step: check m, v and the bias correction with t = 2"
_path = quadratic_steps(Adam, [1.0], steps=1, lr=0.1, eps=1.0)
assert np.isclose(_path[1, 0], 1 - 0.1 / 2.0), "eps goes outside the square root: m_hat / (sqrt(v_hat) + eps)"
_small = quadratic_steps(Adam, [1.0, -3.0], steps=5, lr=0.1)
_large = quadratic_steps(Adam, [1.0, -3.0], steps=5, lr=0.1, scale=1000.0)
assert np.allclose(_small, _large, atol=1e-6), "multiplying the loss by 1000 should not change Adam's trajectory"
for _options in ({}, {"betas": (0.8, 0.95), "eps": 0.1}, {"weight_decay": 0.1}):
    _difference = difference_from_torch(Adam, torch.optim.Adam, lr=0.01,
                                        group2={"lr": 0.03, "betas": (0.5, 0.9)}, **_options)
    assert _difference < 1e-12, f"differs from torch.optim.Adam with {_options} by {_difference:.1e}"
print("Adam: visible tests passed")

# %% [markdown]
# ## 5. A learning-rate schedule (2 points)
#
# Large steps early make fast progress; small steps late let the parameters
# settle instead of bouncing around the minimum (with mini-batches, the
# gradient noise never vanishes). A popular schedule warms up linearly, then
# decays along half a cosine. For a step counter `step` = 0, 1, 2, ...:
#
# * if `step < warmup_steps`: `lr = base_lr * (step + 1) / warmup_steps`;
# * otherwise, with `progress = min(1, (step - warmup_steps) / max(1, total_steps - warmup_steps))`:
#   `lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * progress)) / 2`.
#
# So the lr reaches `base_lr` at the end of the warm-up, decays towards
# `min_lr`, and stays at `min_lr` from `step = total_steps` on. This is the
# same as PyTorch's `SequentialLR` of a `LinearLR` warm-up and a `CosineAnnealingLR`.

# %% nbgrader="solution" grade_id="schedule"
def warmup_cosine_lr(step, *, base_lr, total_steps, warmup_steps=0, min_lr=0.0):
    """The learning rate at step `step` (int >= 0) of a linear warm-up + cosine schedule.

    base_lr, min_lr: floats; total_steps, warmup_steps: ints with 0 <= warmup_steps < total_steps.
    Returns a Python float.
    """
    ### BEGIN SOLUTION
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))
    ### END SOLUTION


# %% nbgrader="tests" grade_id="schedule_tests" points=2 checks=["optimizers.schedule"]
_lrs = [warmup_cosine_lr(t, base_lr=1.0, total_steps=10, warmup_steps=4) for t in range(12)]
assert np.allclose(_lrs[:4], [0.25, 0.5, 0.75, 1.0]), "the warm-up should be base_lr * (step + 1) / warmup_steps"
assert np.isclose(_lrs[4], 1.0), "the cosine part starts at base_lr (progress 0)"
assert np.isclose(_lrs[7], 0.5), "halfway through the cosine part (progress 1/2) the lr is (base_lr + min_lr) / 2"
assert np.allclose(_lrs[10:], 0.0), "from step total_steps on the lr stays at min_lr"
_lrs = [warmup_cosine_lr(t, base_lr=0.5, total_steps=5, min_lr=0.1) for t in range(6)]
assert np.isclose(_lrs[0], 0.5) and np.isclose(_lrs[5], 0.1), "without warm-up: start at base_lr, end at min_lr"
print("warmup_cosine_lr: visible tests passed")

# %% [markdown]
# ## 6. A training loop, and the comparison (5 points)
#
# Put it together. `train_model` trains a classifier on the **mean
# cross-entropy** (`F.cross_entropy(logits, y)`) with mini-batches from your
# `minibatches` (`shuffle=True`, one `np.random.default_rng(seed)` created at
# the start and used for every epoch). At every iteration: if an
# `lr_schedule` is given, first set `group["lr"] = lr_schedule(t)` in every
# param group, where `t` counts the optimizer steps of the whole run from 0;
# then `zero_grad()`, forward, `backward()`, `step()`, and record the loss as a
# Python float. It must work with any optimizer: yours or PyTorch's.
#
# The hidden tests train a fresh network with your loop on moons data that
# you never see and measure the accuracy on held-out points (at least 85%
# with `torch.optim.Adam(lr=0.01)`, 20 epochs of batch size 32); they run your
# loop with a schedule; and they compare your `SGD`, `SGD` with momentum 0.9
# and `Adam`, all with `lr=0.01`, after the same budget: the final training
# loss must rank Adam < momentum < SGD.

# %% nbgrader="solution" grade_id="train_model"
def train_model(model, optimizer, X, y, *, epochs, batch_size, seed=0, lr_schedule=None):
    """Train `model` by mini-batch gradient descent on the mean cross-entropy.

    model: torch.nn.Module mapping (B, D) float32 inputs to (B, C) logits.
    optimizer: a torch.optim.Optimizer over model.parameters().
    X: torch.Tensor (N, D) float32; y: torch.Tensor (N,) int64 labels in 0..C-1.
    epochs, batch_size: ints; seed: int for np.random.default_rng(seed) (the shuffling).
    lr_schedule: None, or a function t -> lr applied to every param group before step t.
    Returns a list of epochs * ceil(N / batch_size) floats: the mini-batch loss of every step.
    """
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    losses = []
    t = 0
    model.train()
    for _ in range(epochs):
        for X_batch, y_batch in minibatches(X, y, batch_size, shuffle=True, rng=rng):
            if lr_schedule is not None:
                lr = lr_schedule(t)
                for group in optimizer.param_groups:
                    group["lr"] = lr
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            t += 1
    return losses
    ### END SOLUTION


# %% nbgrader="tests" grade_id="train_model_tests" points=5 checks=["optimizers.train"]
_model = make_mlp(hidden=8, seed=0)
_losses = train_model(_model, torch.optim.SGD(_model.parameters(), lr=0.1), X_train[:50], y_train[:50],
                      epochs=3, batch_size=16, seed=0)
assert isinstance(_losses, list) and len(_losses) == 12, "50 examples in batches of 16 make 4 steps per epoch: 12 losses"
assert all(isinstance(_v, float) for _v in _losses), "record each loss as a Python float (float(loss))"
_model = make_mlp(hidden=8, seed=0)
_frozen = [p.detach().clone() for p in _model.parameters()]
train_model(_model, torch.optim.SGD(_model.parameters(), lr=0.1), X_train[:50], y_train[:50], epochs=2,
            batch_size=16, lr_schedule=lambda t: 0.0)
assert all(torch.equal(_a, _b) for _a, _b in zip(_frozen, _model.parameters())), "an lr_schedule of 0 should freeze the model"
_model = make_mlp(hidden=32, seed=0)
_losses = train_model(_model, torch.optim.Adam(_model.parameters(), lr=0.01), X_train, y_train, epochs=20,
                      batch_size=32, seed=0)
_acc = accuracy(_model, X_val, y_val)
assert np.mean(_losses[-8:]) < 0.5 * np.mean(_losses[:8]), "the loss should fall by more than half over 20 epochs with Adam"
assert _acc >= 0.85, f"validation accuracy {_acc:.1%} after 20 epochs with Adam: check the loop"
print(f"train_model: visible tests passed (Adam: validation accuracy {_acc:.1%})")

# %% [markdown]
# ### The comparison
#
# Same network, same initialisation, same mini-batches, same budget and the
# same learning rate 0.01: only the optimizer changes. Look at the loss
# curves. Which one is noisier, and why is plain SGD so slow with this lr?
# (Momentum 0.9 behaves roughly like SGD with a ten times larger lr.) The
# last run adds the warm-up + cosine schedule to Adam with a larger peak lr.

# %%
runs = {
    "SGD": lambda params: SGD(params, lr=0.01),
    "momentum 0.9": lambda params: SGD(params, lr=0.01, momentum=0.9),
    "RMSprop": lambda params: RMSprop(params, lr=0.01),
    "Adam": lambda params: Adam(params, lr=0.01),
    "Adam + schedule": lambda params: Adam(params, lr=0.03),
}
steps_per_epoch = math.ceil(len(X_train) / 32)
try:
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, make_optimizer in runs.items():
        model = make_mlp(hidden=32, seed=0)
        schedule = None
        if "schedule" in name:
            schedule = lambda t: warmup_cosine_lr(t, base_lr=0.03, total_steps=20 * steps_per_epoch,  # noqa: E731
                                                  warmup_steps=steps_per_epoch)
        losses = train_model(model, make_optimizer(model.parameters()), X_train, y_train, epochs=20,
                             batch_size=32, seed=0, lr_schedule=schedule)
        smooth = np.convolve(losses, np.ones(steps_per_epoch) / steps_per_epoch, mode="valid")
        ax.plot(smooth, label=f"{name}: validation accuracy {accuracy(model, X_val, y_val):.1%}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("mini-batch loss (moving average over an epoch)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    plt.show()
except NotImplementedError:
    print("Finish the exercises above to run the comparison.")

# %% [markdown]
# ## Explore
#
# The widget below runs *your* `SGD`, `RMSprop` and `Adam` on three
# two-dimensional surfaces: a long narrow valley, Rosenbrock's banana and a
# saddle. Try: momentum 0 vs 0.9 on the valley; a learning rate of 0.5 for
# SGD on the valley (why does it diverge across, not along?); Adam on the
# saddle, where the gradient is tiny; beta1 = 0 (Adam becomes RMSProp with
# bias correction). It is not graded.

# %% nbgrader="readonly" grade_id="explore" skip_grading=true
from dlcourse_optimizers.widgets import trajectory_explorer

try:
    explorer = trajectory_explorer(SGD, RMSprop, Adam, surface="quadratic", lr=0.05, steps=150)
except Exception as error:  # noqa: BLE001 - the widget is optional
    explorer = None
    print("The explorer could not start:", type(error).__name__, error)
explorer
