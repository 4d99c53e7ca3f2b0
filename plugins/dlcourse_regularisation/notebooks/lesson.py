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
# # Lesson: regularisation
#
# A network with enough parameters can fit its training set perfectly, noise
# and all, and still do badly on new data. *Regularisation* is everything we
# do to make it generalise instead: penalise large weights, inject noise,
# drop units at random, stop early, normalise activations, and show it more
# (synthetic) data. This lesson measures each of them on one data set where
# the effects are large enough to see:
#
# 1. an MLP that memorises MNIST-1D, and the bias-variance trade-off;
# 2. L2 and L1 penalties, and why Adam needs *decoupled* weight decay;
# 3. noise injection, dropout and data augmentation;
# 4. early stopping;
# 5. batch normalisation;
# 6. an interactive view of training and validation curves.

# %%
import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import dlcourse
from dlcourse_regularisation.data import load_digits_split, load_mnist1d_split

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # these networks are small: one thread avoids threading overhead
np.set_printoptions(precision=3, suppress=True)
import matplotlib.pyplot as plt

# %% [markdown]
# ## 1. MNIST-1D, and an MLP that memorises it
#
# MNIST-1D (Greydanus, 2020) is a one-dimensional cousin of MNIST: each of the
# ten digits is a short template curve that has been padded, shifted,
# sheared, rescaled and corrupted with correlated noise, then resampled to 40
# points. It is generated on your machine in about a second. We split its
# 4 000 training signals into 3 000 for training and 1 000 for
# *validation* (to make choices such as when to stop), and keep its 1 000
# test signals for the final verdict.

# %%
X_train, y_train, X_val, y_val, X_test, y_test = load_mnist1d_split(n_train=3000)
print("train", X_train.shape, "validation", X_val.shape, "test", X_test.shape, X_train.dtype)

fig, axes = plt.subplots(2, 5, figsize=(11, 3.6), sharex=True, sharey=True)
for digit, ax in enumerate(axes.ravel()):
    for signal in X_train[y_train == digit][:3]:
        ax.plot(signal, lw=1)
    ax.set_title(f"digit {digit}", fontsize=9)
fig.suptitle("three training signals per class")
fig.tight_layout()
plt.show()

# %% [markdown]
# One training function serves the whole lesson: an MLP with two hidden
# ReLU layers, trained with AdamW on mini-batches of 100, with optional
# dropout, input noise, augmentation, weight decay and early stopping. After
# every epoch it records the mean training loss and the validation loss and
# accuracy, so that we can watch generalisation happen (or not).

# %%
def make_mlp(hidden=256, p_drop=0.0):
    return nn.Sequential(nn.Linear(40, hidden), nn.ReLU(), nn.Dropout(p_drop),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(p_drop),
                         nn.Linear(hidden, 10))


def shift_and_scale(xb, generator, max_shift=4, max_scale=0.2):
    """Roll each signal by its own random shift and multiply it by its own random factor."""
    n, length = xb.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 1), generator=generator)
    factors = 1 + max_scale * (2 * torch.rand(n, 1, generator=generator) - 1)
    index = (torch.arange(length) - shifts) % length
    return torch.gather(xb, 1, index) * factors


def train_mlp(X, y, X_val, y_val, *, hidden=256, p_drop=0.0, sigma=0.0, augment=False, weight_decay=0.0,
              lr=2e-3, epochs=40, batch_size=100, patience=None, seed=0, keep_states=False):
    """Train make_mlp(hidden, p_drop); return (model, history). history lists one value per epoch."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = make_mlp(hidden, p_drop)
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    X, y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    X_val, y_val = torch.as_tensor(X_val, dtype=torch.float32), torch.as_tensor(y_val)
    history = {"train_loss": [], "val_loss": [], "val_acc": [], "states": []}
    best, bad = float("inf"), 0
    for _ in range(epochs):
        model.train()
        losses = []
        for batch in torch.randperm(len(X), generator=generator).split(batch_size):
            xb = X[batch]
            if augment:
                xb = shift_and_scale(xb, generator)
            if sigma:
                xb = xb + sigma * torch.randn(xb.shape, generator=generator)
            loss = F.cross_entropy(model(xb), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            logits = model(X_val)
        history["train_loss"].append(float(np.mean(losses)))
        history["val_loss"].append(F.cross_entropy(logits, y_val).item())
        history["val_acc"].append((logits.argmax(1) == y_val).float().mean().item())
        if keep_states:
            history["states"].append(copy.deepcopy(model.state_dict()))
        if patience is not None:  # early stopping (section 4): keep the best weights
            if history["val_loss"][-1] < best:
                best, bad, best_state = history["val_loss"][-1], 0, copy.deepcopy(model.state_dict())
            else:
                bad += 1
                if bad >= patience:
                    break
    if patience is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, history


def predict(model, X):
    model.eval()
    with torch.no_grad():
        return model(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()


def accuracy(model, X, y):
    return float(np.mean(predict(model, X) == y))


# %% [markdown]
# A network with two hidden layers of 256 units has about 79 000 parameters
# for 3 000 training signals. Forty epochs later:

# %%
baseline, base_history = train_mlp(X_train, y_train, X_val, y_val, keep_states=True)
results = {"none": (accuracy(baseline, X_train, y_train), accuracy(baseline, X_test, y_test))}
print(f"no regularisation: train accuracy {results['none'][0]:.1%}, test accuracy {results['none'][1]:.1%}")

tiny, tiny_history = train_mlp(X_train, y_train, X_val, y_val, hidden=8)
tiny_acc = (accuracy(tiny, X_train, y_train), accuracy(tiny, X_test, y_test))
print(f"8 hidden units:    train accuracy {tiny_acc[0]:.1%}, test accuracy {tiny_acc[1]:.1%}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
left.plot(base_history["train_loss"], label="training loss")
left.plot(base_history["val_loss"], label="validation loss")
left.set_xlabel("epoch")
left.set_ylabel("cross-entropy")
left.set_title("256 hidden units: memorisation")
left.legend()
right.plot(tiny_history["train_loss"], label="training loss")
right.plot(tiny_history["val_loss"], label="validation loss")
right.set_xlabel("epoch")
right.set_title("8 hidden units: underfitting")
right.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# The big network reaches 100% training accuracy and about 60% on the test
# set: it has memorised the training signals, noise included. Its training
# loss goes to zero while the validation loss, after a few epochs, *rises*.
# This is high **variance**: the fitted function depends strongly on which
# 3 000 signals we happened to draw. The tiny network shows the opposite
# failure, high **bias**: it cannot even fit the training set, and its
# training and test accuracies are both low and close together.
#
# For squared error this is an identity: the expected test error of a
# learning method is $\text{bias}^2 + \text{variance} + \text{noise}$. More
# capacity lowers the bias and raises the variance. Regularisation keeps the
# capacity but restricts how it is used, trading a little bias for a large
# cut in variance. Every method below is measured by the same yardstick: the
# gap between training and test accuracy, and the test accuracy itself.

# %% [markdown]
# ## 2. Weight penalties
#
# ### L2: prefer small weights
#
# Adding $\frac{\lambda}{2}\lVert w\rVert^2$ to the loss pulls every weight
# towards zero with a force proportional to its size. The classic picture is
# polynomial regression: a degree-9 polynomial through 12 noisy points of a
# sine wave. Ridge regression (least squares plus the L2 penalty) has the
# closed form $w = (\Phi^\top\Phi + \lambda I)^{-1}\Phi^\top y$.

# %%
rng = np.random.default_rng(3)
x_pts = np.sort(rng.uniform(-1, 1, 12))
y_pts = np.sin(np.pi * x_pts) + rng.normal(0, 0.2, size=12)
x_grid = np.linspace(-1, 1, 200)


def features(x, degree=9):
    return np.vander(x, degree + 1, increasing=True)


fig, ax = plt.subplots(figsize=(6, 3.6))
ax.scatter(x_pts, y_pts, color="k", zorder=3, label="training points")
ax.plot(x_grid, np.sin(np.pi * x_grid), "k:", label="true function")
for lam in (0.0, 1e-3, 1.0):
    Phi = features(x_pts)
    w = np.linalg.solve(Phi.T @ Phi + lam * np.eye(Phi.shape[1]), Phi.T @ y_pts)
    ax.plot(x_grid, features(x_grid) @ w, label=f"λ = {lam:g}, |w| = {np.linalg.norm(w):.1f}")
ax.set_ylim(-2, 2)
ax.legend(fontsize=8)
ax.set_title("degree-9 polynomial, L2 penalty")
fig.tight_layout()
plt.show()

# %% [markdown]
# Without a penalty the polynomial passes through every point with huge,
# cancelling coefficients (high variance); a large $\lambda$ flattens it
# (high bias); in between it follows the sine.
#
# ### L1: prefer few weights
#
# The penalty $\lambda \sum_i |w_i|$ pulls with the same force $\lambda$ on
# every nonzero weight, however small, so it drives many of them to exactly
# zero. Its gradient does not exist at 0, so we use proximal gradient descent
# (ISTA): a gradient step on the squared error, then "soft-thresholding",
# which moves every weight $\eta\lambda$ towards zero and stops at zero.

# %%
Phi = features(x_pts) / np.linalg.norm(features(x_pts), axis=0)  # columns of equal norm
step = 1.0 / np.linalg.norm(Phi, 2) ** 2
w_l1 = np.zeros(Phi.shape[1])
for _ in range(3000):
    w_l1 = w_l1 - step * Phi.T @ (Phi @ w_l1 - y_pts)
    w_l1 = np.sign(w_l1) * np.maximum(np.abs(w_l1) - step * 0.05, 0.0)  # soft-thresholding, λ = 0.05
w_l2 = np.linalg.solve(Phi.T @ Phi + 0.05 * np.eye(Phi.shape[1]), Phi.T @ y_pts)
print("L2 weights:", w_l2, f"({np.sum(np.abs(w_l2) < 1e-8)} exactly zero)")
print("L1 weights:", w_l1, f"({np.sum(w_l1 == 0)} exactly zero)")

# %% [markdown]
# ### Weight decay and Adam
#
# With plain SGD, the L2 penalty's gradient $\lambda w$ makes every step
# multiply the weights by $(1 - \eta\lambda)$: "weight decay". Adam divides
# every gradient coordinate by a running estimate of its size, and if the
# decay goes through that division (`torch.optim.Adam(weight_decay=λ)`, L2 in
# the loss), weights with large gradients are hardly decayed while weights
# with tiny gradients are decayed at the full step size. Loshchilov and
# Hutter's *decoupled* weight decay (`torch.optim.AdamW`) applies
# $w \leftarrow w(1 - \eta\lambda)$ outside Adam, at the same relative rate
# for every weight. Below, two weights start at 1 and receive random
# gradients of very different sizes (10 and 0.01) that average to zero:

# %%
def decay_paths(optimiser_class, steps=300, lr=0.01, lam=0.5):
    w = torch.ones(2, requires_grad=True)
    optimiser = optimiser_class([w], lr=lr, weight_decay=lam)
    noise = torch.Generator().manual_seed(0)
    path = []
    for _ in range(steps):
        w.grad = torch.randn(2, generator=noise) * torch.tensor([10.0, 0.01])
        optimiser.step()
        path.append(w.detach().clone())
    return torch.stack(path).numpy()


fig, ax = plt.subplots(figsize=(6, 3.4))
for optimiser_class, style in ((torch.optim.Adam, "-"), (torch.optim.AdamW, "--")):
    path = decay_paths(optimiser_class)
    ax.plot(path[:, 0], style, color="C0", label=f"{optimiser_class.__name__}: large gradients")
    ax.plot(path[:, 1], style, color="C1", label=f"{optimiser_class.__name__}: small gradients")
ax.plot((1 - 0.01 * 0.5) ** np.arange(1, 301), "k", lw=0.8, label="(1 - ηλ)^t")
ax.set_xlabel("step")
ax.set_ylabel("weight")
ax.legend(fontsize=8)
ax.set_title("L2 in the loss (Adam) vs decoupled decay (AdamW)")
fig.tight_layout()
plt.show()

# %% [markdown]
# With Adam, the decay term dominates the small gradients, and Adam's
# normalisation turns it into a full-size step: that weight is driven to zero
# within a couple of hundred steps. For the weight with large gradients the
# decay is divided by a large $\sqrt{\hat v}$ and it does not decay at all.
# With AdamW both follow the curve $(1-\eta\lambda)^t$ (black), up to the
# noise of the large gradients. On our MNIST-1D network a
# weight decay alone changes little (try it in the explorer at the end):
# the network memorises with small weights too. The next three methods work
# on the *data* instead.

# %% [markdown]
# ## 3. Noise, dropout and augmentation
#
# **Input noise.** Add $\sigma z$, $z \sim \mathcal N(0, I)$, to every
# training input, freshly at every step. The network must give nearby inputs
# the same answer; for a linear model with squared error this is exactly an
# L2 penalty (Bishop, 1995).
#
# **Dropout** (Srivastava et al., 2014) zeroes every hidden unit independently
# with probability $p$ during training, so no unit can rely on a particular
# other unit being present: it trains an ensemble of thinned networks that
# share weights. PyTorch's `nn.Dropout(p)` uses the *drop* probability $p$
# and the *inverted* form: kept units are multiplied by $1/(1-p)$ during
# training, so that at prediction time dropout is simply switched off
# (`model.eval()`) without rescaling anything:

# %%
dropout = nn.Dropout(p=0.3)
ones = torch.ones(100_000)
dropout.train()
out = dropout(ones)
print(f"training: {float((out == 0).float().mean()):.3f} of the units dropped, "
      f"kept units equal {out.max().item():.4f} = 1/(1 - 0.3), mean {out.mean().item():.4f}")
dropout.eval()
print("evaluation: identity?", torch.equal(dropout(ones), ones))

# %% [markdown]
# **Data augmentation** encodes what we know does *not* change the label. A
# digit moved by a few samples, or drawn a little taller or flatter, is the
# same digit: roll each training signal by a random shift in
# $\{-4, \dots, 4\}$ and multiply it by a random factor in $[0.8, 1.2]$, anew
# at every epoch.

# %%
examples = torch.as_tensor(X_train[:1]).repeat(5, 1)
augmented = shift_and_scale(examples, torch.Generator().manual_seed(1))
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(X_train[0], "k", lw=2.5, label=f"original (digit {y_train[0]})")
for row in augmented:
    ax.plot(row.numpy(), lw=1)
ax.set_title("five augmented copies of one signal")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Now train the same network with each method on its own, with the same
# seed and budget as the baseline:

# %%
settings = {"dropout p = 0.3": {"p_drop": 0.3}, "input noise σ = 0.3": {"sigma": 0.3},
            "shift + scale": {"augment": True}}
for name, kwargs in settings.items():
    model, _ = train_mlp(X_train, y_train, X_val, y_val, **kwargs)
    results[name] = (accuracy(model, X_train, y_train), accuracy(model, X_test, y_test))
    print(f"{name:20s} train {results[name][0]:.1%}  test {results[name][1]:.1%}")

fig, ax = plt.subplots(figsize=(7, 3.4))
names = list(results)
positions = np.arange(len(names))
ax.bar(positions - 0.2, [results[n][0] for n in names], 0.4, label="train")
ax.bar(positions + 0.2, [results[n][1] for n in names], 0.4, label="test")
ax.set_xticks(positions, names)
ax.set_ylim(0, 1.05)
ax.set_ylabel("accuracy")
ax.legend()
ax.set_title("MNIST-1D, 3 000 training signals, MLP 2 x 256")
fig.tight_layout()
plt.show()

# %% [markdown]
# All three lower the training accuracy and raise the test accuracy: less
# variance for a little bias. Dropout and noise gain a few points;
# augmentation gains the most (about ten points), because it adds
# knowledge about the problem rather than a generic preference. In the
# assignment you combine all of them and reach about 74% on new signals.

# %% [markdown]
# ## 4. Early stopping
#
# Look again at the baseline's validation loss: it is lowest after a few
# epochs and rises afterwards. Early stopping keeps the weights of the best
# validation epoch and stops once there has been no improvement for
# `patience` epochs. The validation set chooses the epoch, so it is no
# longer an unbiased estimate: the test set gives the verdict.

# %%
patience = 5
best_epoch, stop_epoch, best_loss = 0, None, float("inf")
for epoch, loss in enumerate(base_history["val_loss"]):
    if loss < best_loss:
        best_epoch, best_loss = epoch, loss
    elif epoch - best_epoch >= patience:
        stop_epoch = epoch
        break
stopped = make_mlp()
stopped.load_state_dict(base_history["states"][best_epoch])
stopped_acc = (accuracy(stopped, X_train, y_train), accuracy(stopped, X_test, y_test))
best_acc_epoch = int(np.argmax(base_history["val_acc"]))
stopped.load_state_dict(base_history["states"][best_acc_epoch])
by_accuracy = accuracy(stopped, X_test, y_test)
print(f"best validation loss after epoch {best_epoch + 1}; with patience {patience} training stops after "
      f"epoch {stop_epoch + 1} instead of {len(base_history['val_loss'])}")
print(f"weights of the best-loss epoch: train {stopped_acc[0]:.1%}, test {stopped_acc[1]:.1%} "
      f"(last epoch: train {results['none'][0]:.1%}, test {results['none'][1]:.1%})")
print(f"weights of the best validation-accuracy epoch ({best_acc_epoch + 1}): test {by_accuracy:.1%}")

fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(np.arange(1, len(base_history["val_loss"]) + 1), base_history["val_loss"], label="validation loss")
ax.plot(np.arange(1, len(base_history["train_loss"]) + 1), base_history["train_loss"], label="training loss")
ax.axvline(best_epoch + 1, color="g", linestyle="--", label="best epoch (weights kept)")
ax.axvline(stop_epoch + 1, color="r", linestyle=":", label=f"stop (patience {patience})")
ax.set_xlabel("epoch")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Early stopping saves most of the training time and keeps a validation
# loss far below the final one. Its test *accuracy*, though, is no better
# here: after the best-loss epoch the memorising network still gets a few
# more examples right while growing over-confident on the ones it gets
# wrong, so loss and accuracy disagree. Stopping on the quantity you care
# about (here validation accuracy) is a legitimate choice; either way early
# stopping limits how far the weights travel from their small initial values
# (for a quadratic loss, stopping gradient descent after $t$ steps acts much
# like an L2 penalty with $\lambda \approx 1/(\eta t)$), and it combines
# well with the other regularisers, as in the assignment.

# %% [markdown]
# ## 5. Batch normalisation
#
# Batch normalisation (Ioffe and Szegedy, 2015) normalises every feature of a
# layer's input over the mini-batch, then applies a learned scale $\gamma$
# and shift $\beta$:
#
# $$\hat x = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad y = \gamma \hat x + \beta.$$
#
# At prediction time there may be no batch, so the layer keeps running
# averages of $\mu_B$ and $\sigma^2_B$ during training and uses those in
# `eval()` mode. A detail that trips many people up: PyTorch normalises with
# the biased variance (divide by $N$) but stores the **unbiased** one (divide
# by $N-1$) in `running_var`:

# %%
layer = nn.BatchNorm1d(3, momentum=0.1)
batch = torch.randn(8, 3) * torch.tensor([1.0, 5.0, 0.1]) + 2.0
output = layer(batch)
print("output mean per feature", output.mean(0).detach().numpy(),
      "| biased std per feature", output.std(0, unbiased=False).detach().numpy())
print("running_var equals 0.9 * 1 + 0.1 * unbiased variance:",
      torch.allclose(layer.running_var, 0.9 + 0.1 * batch.var(0, unbiased=True)))

# %% [markdown]
# Batch norm was proposed to speed up training, and it also regularises a
# little (each example's output depends on the random batch it is in). Its
# most visible effect is robustness to the scale of the weights. Here are
# eight-layer ReLU networks on scikit-learn's digits, initialised with weight
# standard deviations 0.01, 0.1 and 1, trained for five epochs with and
# without a batch-norm layer after each hidden linear layer:

# %%
Xd_train, yd_train, Xd_test, yd_test = map(torch.as_tensor, load_digits_split())


def deep_net(std, batch_norm, depth=8, width=64):
    layers, fan_in = [], 64
    for _ in range(depth - 1):
        linear = nn.Linear(fan_in, width)
        nn.init.normal_(linear.weight, 0.0, std)
        nn.init.zeros_(linear.bias)
        layers += [linear] + ([nn.BatchNorm1d(width)] if batch_norm else []) + [nn.ReLU()]
        fan_in = width
    return nn.Sequential(*layers, nn.Linear(fan_in, 10))


bn_results = {}
for std in (0.01, 0.1, 1.0):
    for batch_norm in (False, True):
        torch.manual_seed(0)
        net = deep_net(std, batch_norm)
        optimiser = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        generator = torch.Generator().manual_seed(0)
        for _ in range(5):
            net.train()
            for batch in torch.randperm(len(yd_train), generator=generator).split(64):
                loss = F.cross_entropy(net(Xd_train[batch]), yd_train[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        net.eval()
        with torch.no_grad():
            bn_results[std, batch_norm] = float((net(Xd_test).argmax(1) == yd_test).float().mean())
for std in (0.01, 0.1, 1.0):
    print(f"weight std {std:<5g} test accuracy without BN {bn_results[std, False]:.1%}, "
          f"with BN {bn_results[std, True]:.1%}")

# %% [markdown]
# Without batch norm, a small initial scale makes the signal vanish through
# the eight layers (chance accuracy, 10%) and a large one makes it explode;
# only a well-chosen scale trains, slowly. With batch norm every layer's
# input is re-normalised, and all three scales train. Remember to call
# `model.eval()` before predicting: otherwise batch norm uses the statistics
# of whatever batch you predict on, and dropout keeps dropping.

# %% [markdown]
# ## 6. Exploring the trade-off
#
# The explorer trains small versions of the MLP (600 training signals, 128
# hidden units, 30 epochs) and shows their loss curves, and the final
# training and validation accuracy along the whole range of one setting:
# weight decay λ, dropout p, or input noise σ. Runs are cached, so going back
# to a setting is instant. Where is the gap (variance) largest? Where does
# the validation accuracy peak before bias takes over? With only 600
# training signals that peak is shallow (a few points): the gap is what
# changes most. In the assignment the same widget runs on *your* training
# function.

# %%
from dlcourse_regularisation.widgets import regularisation_explorer

explorer = regularisation_explorer(train_mlp, predict, sweep="sigma")
print(explorer.status.value)
explorer

# %% [markdown]
# ## Summary
#
# * Overfitting is high variance: training accuracy far above test accuracy.
#   Regularisation trades a little bias for less variance.
# * L2 shrinks weights, L1 zeroes them. With Adam, prefer decoupled weight
#   decay (AdamW) to an L2 term in the loss.
# * Input noise, dropout (drop probability $p$, inverted, off at prediction
#   time) and data augmentation each close part of the gap on MNIST-1D;
#   augmentation, which encodes real knowledge, helps most.
# * Early stopping keeps the weights of the best validation epoch.
# * Batch norm makes deep networks trainable across weight scales; its
#   `running_var` is unbiased, and `eval()` switches it to running statistics.
