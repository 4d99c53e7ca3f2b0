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
# # Lesson: convolutional networks
#
# A fully connected layer compares every input with every output. Images and
# signals have more structure: nearby values belong together, and a pattern
# means the same thing wherever it appears. A **convolution** builds both
# ideas into a layer: a small filter looks at one local window at a time, and
# the *same* filter slides over every position. This lesson covers:
#
# 1. 2-D convolution as a sliding window, and hand-made kernels (blur, edges);
# 2. output sizes: padding and stride;
# 3. max and average pooling;
# 4. 1-D convolution for a time series;
# 5. the LeNet-5 architecture, and how few weights a convolution needs;
# 6. a 1-D CNN against a fully connected network on MNIST-1D;
# 7. deeper networks and residual connections;
# 8. interactive views: a kernel editor and a network's feature maps.

# %%
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import dlcourse
from dlcourse_cnn.data import load_digits_split, load_image, load_mnist1d, make_series

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # small networks: one thread avoids threading overhead
np.set_printoptions(precision=3, suppress=True)
import matplotlib.pyplot as plt  # noqa: E402

# %% [markdown]
# ## 1. Convolution is a sliding window
#
# For an input `x` of shape (C, H, W) and a filter `w` of shape (C, KH, KW),
# the output at position (i, j) is the sum of the filter times the window of
# `x` whose top-left corner is (i, j), plus a bias:
#
# $$\text{out}[i, j] = b + \sum_{c, p, q} w[c, p, q]\; x[c, i + p, j + q].$$
#
# Strictly speaking this is a *cross-correlation* (a mathematical convolution
# flips the kernel first); deep-learning libraries all compute it this way and
# call it convolution. With several filters you get several output
# **channels**, and a batch adds a leading dimension: PyTorch's layout is
# **NCHW**. Let us check the formula for one image and one filter against
# `F.conv2d`.

# %%
def correlate_one(x, w, b):
    """The formula for one image x (C, H, W) and one filter w (C, KH, KW): an (H-KH+1, W-KW+1) map."""
    _, H, W = x.shape
    _, KH, KW = w.shape
    out = np.zeros((H - KH + 1, W - KW + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[:, i:i + KH, j:j + KW] * w) + b
    return out


rng = np.random.default_rng(0)
x_demo, w_demo, b_demo = rng.normal(size=(3, 6, 5)), rng.normal(size=(3, 3, 2)), 0.5
ours = correlate_one(x_demo, w_demo, b_demo)
theirs = F.conv2d(torch.from_numpy(x_demo)[None], torch.from_numpy(w_demo)[None],
                  torch.tensor([b_demo], dtype=torch.float64))[0, 0].numpy()
print("output shape", ours.shape, "| max difference to F.conv2d:", np.abs(ours - theirs).max())

# %% [markdown]
# ### Hand-made kernels
#
# Before networks learned their filters, image processing designed them. A
# **blur** averages a neighbourhood (entries positive, summing to 1). An
# **edge detector** sums to 0, so it ignores flat regions and responds where
# the brightness changes: the Prewitt kernel `px` repeats a difference
# $(-1, 0, 1)$ along W on three rows (the Sobel kernel of the assignment
# weights the middle row twice). Because nothing is flipped, `px` is positive
# where the image gets brighter to the right. The Laplacian compares a pixel
# with its four neighbours and responds to edges of any direction.

# %%
photo = load_image("photo", 96)
prewitt_x = np.tile([-1.0, 0.0, 1.0], (3, 1))
kernels = {"box blur 5x5": np.full((5, 5), 1 / 25), "Prewitt x": prewitt_x, "Prewitt y": prewitt_x.T,
           "Laplacian": np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])}


def filtered(image, kernel):
    """The image convolved with one kernel, zero-padded to keep its size."""
    x = torch.from_numpy(image)[None, None]
    return F.conv2d(x, torch.from_numpy(kernel)[None, None], padding=kernel.shape[0] // 2)[0, 0].numpy()


fig, axes = plt.subplots(1, 5, figsize=(15, 3))
axes[0].imshow(photo, cmap="gray")
axes[0].set_title(f"input {photo.shape}")
for axis, (name, kernel) in zip(axes[1:], kernels.items()):
    response = filtered(photo, kernel)
    axis.imshow(response, cmap="gray" if "blur" in name else "RdBu_r")
    axis.set_title(name)
for axis in axes:
    axis.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# The thin frame along the borders is an artefact of the zero padding that
# keeps the output the size of the input: next to the border the window
# sees zeros, which look like a dark edge.
#
# ## 2. Padding and stride
#
# A K×K filter fits into an H×W image at only (H − K + 1) × (W − K + 1)
# positions, so every layer would shrink the image. **Padding** adds P zeros
# around the border; **stride** S moves the filter S pixels at a time
# (downsampling). The output size along each axis is
#
# $$H_{out} = \left\lfloor \frac{H + 2P - K}{S} \right\rfloor + 1.$$
#
# "Same" padding, P = (K − 1) / 2 for odd K with S = 1, keeps the size.

# %%
x_size = torch.zeros(1, 1, 28, 28)
print(" K  P  S  -> output")
for K, P, S in [(5, 0, 1), (5, 2, 1), (3, 1, 2), (3, 0, 2), (7, 3, 4)]:
    shape = tuple(F.conv2d(x_size, torch.zeros(1, 1, K, K), padding=P, stride=S).shape[2:])
    formula = (28 + 2 * P - K) // S + 1
    print(f"{K:2d} {P:2d} {S:2d}  -> {shape}  (formula: {formula})")
    assert shape == (formula, formula)

# %% [markdown]
# ## 3. Pooling
#
# A pooling layer summarises each window of each channel: **max pooling**
# keeps the strongest response, **average pooling** the mean. Neither has
# weights. With a 2×2 window and stride 2 it halves the height and width, and
# makes the features a little insensitive to small shifts: the maximum of a
# window does not care where in the window the feature was.

# %%
edges = torch.from_numpy(np.abs(filtered(photo, prewitt_x)))[None, None]
pooled = {"max 2x2": F.max_pool2d(edges, 2), "avg 2x2": F.avg_pool2d(edges, 2),
          "max 4x4": F.max_pool2d(edges, 4), "avg 4x4": F.avg_pool2d(edges, 4)}
fig, axes = plt.subplots(1, 5, figsize=(15, 3))
axes[0].imshow(edges[0, 0], cmap="magma")
axes[0].set_title(f"|Prewitt x| {tuple(edges.shape[2:])}")
for axis, (name, value) in zip(axes[1:], pooled.items()):
    axis.imshow(value[0, 0], cmap="magma")
    axis.set_title(f"{name} {tuple(value.shape[2:])}")
for axis in axes:
    axis.axis("off")
fig.tight_layout()
plt.show()

# a one-pixel shift changes few max-pooled values
shifted = torch.roll(edges, shifts=1, dims=3)
for name, pool in (("no pooling", lambda t: t), ("max 4x4", lambda t: F.max_pool2d(t, 4))):
    a, b = pool(edges), pool(shifted)
    change = float((a - b).abs().mean() / a.abs().mean())
    print(f"{name:>10}: mean relative change after a one-pixel shift = {change:.2f}")

# %% [markdown]
# ## 4. One dimension: convolution over time
#
# A univariate time series is a one-channel signal of length L. In PyTorch a
# batch of series has shape (N, C, L) and `F.conv1d` slides filters of shape
# (F, C, K) along time. Hand-made 1-D filters already do useful work: a
# **moving average** removes noise, and a **difference of means** (−1 on the
# first half, +1 on the second) responds most strongly at a level shift.

# %%
t, series = make_series(length=200, shift_at=120, seed=0)
signal = torch.from_numpy(series)[None, None]
smooth = F.conv1d(signal, torch.full((1, 1, 9), 1 / 9, dtype=torch.float64), padding=4)[0, 0].numpy()
step_filter = torch.cat([-torch.ones(10), torch.ones(10)]).double()[None, None] / 10
step = F.conv1d(signal, step_filter)[0, 0].numpy()
found = int(np.argmax(step)) + 10  # the window starting at t compares x[t:t+10] with x[t+10:t+20]
print(f"level shift found at t = {found} (true: 120)")

fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 4.5), sharex=True)
top.plot(t, series, lw=0.8, label="series")
top.plot(t, smooth, lw=2, label="moving average (K = 9)")
top.legend(loc="upper left")
bottom.plot(t[10:10 + len(step)], step, color="C2", label="difference of means (K = 20)")
bottom.axvline(found, color="k", ls="--", lw=1)
bottom.legend(loc="upper left")
bottom.set_xlabel("time step")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5. LeNet-5
#
# LeCun et al. (1998) stacked convolutions, pooling and a few dense layers to
# read handwritten digits. In its common modern form (ReLU, average pooling),
# for 28×28 inputs:
#
# | layer | output |
# |---|---|
# | conv 5×5, 6 filters, padding 2, ReLU | 6 @ 28×28 |
# | average pool 2×2 | 6 @ 14×14 |
# | conv 5×5, 16 filters, ReLU | 16 @ 10×10 |
# | average pool 2×2 | 16 @ 5×5 |
# | dense 400 → 120, ReLU | 120 |
# | dense 120 → 84, ReLU | 84 |
# | dense 84 → 10 | 10 |
#
# Let us build it and follow a batch through it.

# %%
lenet = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
    nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.AvgPool2d(2),
    nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
)
h = torch.zeros(8, 1, 28, 28)
for layer in lenet:
    h = layer(h)
    if not isinstance(layer, nn.ReLU):
        print(f"{type(layer).__name__:>10} -> {tuple(h.shape)}")
lenet_parameters = sum(p.numel() for p in lenet.parameters())
dense_equivalent = (28 * 28) * (6 * 28 * 28)
print(f"LeNet-5 has {lenet_parameters} parameters.")
print(f"A dense layer from 28x28 pixels to 6 x 28 x 28 outputs would need {dense_equivalent:,} weights; "
      f"the first convolution needs {6 * 25 + 6}.")

# %% [markdown]
# The first convolution produces as many outputs as a dense layer of 4 704
# units, with 150 weights instead of 3.7 million: every output shares the
# same small filter (**weight sharing**), and looks only at a 5×5 window
# (**local connectivity**). Stacking layers grows the window each unit sees
# (its *receptive field*): a unit after the second convolution sees 14×14
# input pixels.
#
# ## 6. Convolutions need spatial structure: MNIST-1D
#
# MNIST-1D (Greydanus, 2020) is a small benchmark of 40-step sequences, one
# per digit template, randomly shifted, scaled, sheared and noised. It is
# generated locally in a few seconds. We train the same way, with Adam on
# mini-batches of 100, a small 1-D CNN (three strided convolutions) and a
# fully connected network (MLP) of similar size.

# %%
X_train, y_train, X_test, y_test = load_mnist1d()
print("MNIST-1D:", X_train.shape, "train,", X_test.shape, "test")


def make_cnn1d(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Unflatten(1, (1, 40)),  # (N, 40) -> (N, 1, 40)
        nn.Conv1d(1, 25, 5, stride=2, padding=1), nn.ReLU(),  # -> 25 @ 19
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),  # -> 25 @ 10
        nn.Conv1d(25, 25, 3, stride=2, padding=1), nn.ReLU(),  # -> 25 @ 5
        nn.Flatten(), nn.Linear(125, 10),
    )


def make_mlp(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10))


def fit(model, X, y, X_eval, y_eval, steps=1200, lr=1e-2, batch_size=100, seed=0):
    """Adam on random mini-batches; returns the accuracy on (X_eval, y_eval)."""
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        batch = torch.randint(0, len(y), (batch_size,), generator=generator)
        optimiser.zero_grad()
        F.cross_entropy(model(X[batch]), y[batch]).backward()
        optimiser.step()
    with torch.no_grad():
        return float((model(torch.as_tensor(X_eval)).argmax(1).numpy() == y_eval).mean())


started = time.perf_counter()
cnn_model = make_cnn1d(0)
results = {"1-D CNN": fit(cnn_model, X_train, y_train, X_test, y_test)}
results["MLP"] = fit(make_mlp(0), X_train, y_train, X_test, y_test, lr=1e-3)
for name, model in (("1-D CNN", cnn_model), ("MLP", make_mlp(0))):
    print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters")
print({name: f"{acc:.1%}" for name, acc in results.items()}, f"({time.perf_counter() - started:.0f} s)")

# %% [markdown]
# The CNN is far more accurate with fewer parameters. Is that because
# convolutions suit *sequences*, or just a better model? Shuffle the 40 time
# steps with one fixed permutation (the same for every example): no
# information is lost, and an MLP would not notice at all, since its first
# layer simply permutes its weights. But neighbouring steps are no longer
# neighbours, and the CNN's local filters lose their advantage.

# %%
permutation = np.random.default_rng(1).permutation(40)
results["1-D CNN, shuffled time"] = fit(make_cnn1d(0), X_train[:, permutation], y_train,
                                        X_test[:, permutation], y_test)
print({name: f"{acc:.1%}" for name, acc in results.items()})

fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(list(results), [100 * v for v in results.values()], color=["C0", "C1", "C2"])
for index, value in enumerate(results.values()):
    ax.text(100 * value + 1, index, f"{value:.0%}", va="center")
ax.set_xlim(0, 105)
ax.set_xlabel("test accuracy (%)")
ax.set_title("MNIST-1D, 1 200 training steps")
fig.tight_layout()
plt.show()
assert results["1-D CNN"] > results["MLP"] + 0.15

# %% [markdown]
# ## 7. Deeper networks and residual connections
#
# Deeper stacks of convolutions see larger windows and compute richer
# features (VGG, 2014, used 16–19 layers of 3×3 convolutions). But in a plain
# deep stack, the gradient reaching the first layers is a product of one
# factor per layer, and it can vanish. **Residual connections** (He et al.,
# 2015) make each block compute `h + f(h)` instead of `f(h)`: the identity
# path carries the signal, and the gradient, past every block unchanged.
#
# Below, the norm of the loss gradient with respect to the *first* layer's
# weights, at initialisation, for stacks of 16-channel 1-D
# convolutions of growing depth, with and without skip connections.

# %%
class Block(nn.Module):
    """A 1-D convolution block: plain relu(conv(h)) or residual h + conv(relu(h))."""

    def __init__(self, channels, residual):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=1)
        self.residual = residual

    def forward(self, h):
        return h + self.conv(F.relu(h)) if self.residual else F.relu(self.conv(h))


def deep_net(depth, residual, channels=16, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Unflatten(1, (1, 40)), nn.Conv1d(1, channels, 5, padding=2),
                         *[Block(channels, residual) for _ in range(depth)],
                         nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(channels, 10))


xb, yb = torch.as_tensor(X_train[:256]), torch.as_tensor(y_train[:256])
depths = [1, 2, 4, 8, 16, 32]
grad_norms = {}
for residual in (False, True):
    norms = []
    for depth in depths:
        net = deep_net(depth, residual)
        first = net[1].weight
        (grad,) = torch.autograd.grad(F.cross_entropy(net(xb), yb), [first])
        norms.append(max(float(grad.norm()), 1e-30))
    grad_norms["residual" if residual else "plain"] = norms
    print("residual" if residual else "plain   ", " ".join(f"{v:.0e}" for v in norms))

fig, ax = plt.subplots(figsize=(6, 3.2))
for name, norms in grad_norms.items():
    ax.semilogy(depths, norms, marker="o", label=name)
ax.set_xscale("log", base=2)
ax.set_xlabel("number of blocks")
ax.set_ylabel("|gradient| at the first layer")
ax.legend()
fig.tight_layout()
plt.show()
assert grad_norms["plain"][-1] < 1e-6 * grad_norms["residual"][-1]

# %% [markdown]
# In the plain stack the gradient at the first layer falls by orders of
# magnitude as blocks are added: those layers would barely learn. With skip
# connections it does not vanish; it even grows with depth, since every block
# adds to `h` (real ResNets put batch normalisation inside each block to keep
# the scale in check). This is what made networks of 100+ layers trainable.
#
# ## 8. Explore
#
# **Kernel editor.** Type any 3×3 kernel, or pick a preset, and see its
# response on a scene of shapes or on the photo (here computed with
# `F.conv2d`; in the assignment the same editor runs on *your* `conv2d`).
# Try a kernel whose entries sum to 0, then add 1 to the centre.

# %%
from dlcourse_cnn.widgets import feature_map_viewer, kernel_editor  # noqa: E402


def torch_conv2d(x, w, b, stride=1, padding=0):
    """F.conv2d on NumPy arrays, with the conv2d signature of the assignment."""
    return F.conv2d(torch.as_tensor(x), torch.as_tensor(w), torch.as_tensor(b), stride=stride,
                    padding=padding).numpy()


editor = kernel_editor(torch_conv2d)
print(editor.status.value)
editor

# %% [markdown]
# **Feature maps.** A small CNN trained on 8×8 digits for a few seconds. The
# viewer shows its eight first-layer filters and what each makes of the
# digit you pick: you will find stroke detectors of several orientations.

# %%
X_digits, y_digits = load_digits_split("train")
X_check, y_check = load_digits_split("val")
torch.manual_seed(0)
digits_cnn = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(64, 10),
)
digits_accuracy = fit(digits_cnn, X_digits, y_digits, X_check, y_check, steps=400, lr=3e-3, batch_size=50)
print(f"digits CNN: validation accuracy {digits_accuracy:.1%}")
viewer = feature_map_viewer(digits_cnn, X_check, y_check)
viewer

# %% [markdown]
# ## Summary
#
# * A convolution slides one small filter over every position: local
#   connectivity and weight sharing make it cheap, and it finds a pattern
#   wherever it is. Deep-learning convolution is a cross-correlation (no
#   flip) on NCHW tensors.
# * Padding and stride set the output size,
#   $\lfloor (H + 2P - K) / S \rfloor + 1$; pooling shrinks feature maps and
#   adds a little shift invariance.
# * The same ideas work in 1-D, for time series: a CNN beats an MLP by a
#   wide margin on MNIST-1D, and the advantage disappears when the order of
#   the time steps is scrambled.
# * Skip connections keep gradients alive in deep stacks.
