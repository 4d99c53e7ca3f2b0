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
# # Lesson: perceptrons, XOR and backpropagation
#
# A single artificial neuron computes a weighted sum of its inputs and
# thresholds it. This lesson follows the idea from Rosenblatt's learning rule
# to a small network trained by backpropagation:
#
# 1. the perceptron learns any linearly separable data, with a provable limit
#    on how many mistakes it makes;
# 2. it cannot learn XOR, the simplest data that no line separates;
# 3. one hidden layer of four units solves XOR;
# 4. backpropagation is the chain rule, and we check ours against PyTorch's
#    autograd;
# 5. an interactive view of a network's decision boundary.

# %%
import numpy as np
import torch

import dlcourse
from dlcourse_perceptron.data import load_blobs, load_moons, load_xor

dlcourse.seed_everything(0)
torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)  # these networks are tiny: one thread avoids threading overhead
np.set_printoptions(precision=3, suppress=True)
import matplotlib.pyplot as plt  # noqa: E402

# %% [markdown]
# ## 1. The perceptron on separable data
#
# The perceptron predicts $\hat y = \operatorname{sign}(w \cdot x + b)$ with
# labels $y \in \{-1, +1\}$. A convenient trick folds the bias into the
# weights: append a constant 1 to every input, $\tilde x = (x, 1)$ and
# $\tilde w = (w, b)$. The learning rule is then a single line: whenever
# $y\, \tilde w \cdot \tilde x \le 0$ (a mistake), set
# $\tilde w \leftarrow \tilde w + y \tilde x$. Each update tilts the boundary
# towards classifying that point correctly.
#
# Below, the points are visited in a fresh random order at every pass.

# %%
X_blobs, y_blobs, (w_true, b_true) = load_blobs(n_samples=120, margin=0.4, seed=3, signed=True, return_separator=True)


def perceptron_mistakes(X, y, passes, rng):
    """Run the rule on shuffled passes; return the augmented weights and the mistake count."""
    X_aug = np.hstack([X, np.ones((len(X), 1))])
    w_aug, mistakes = np.zeros(X_aug.shape[1]), 0
    for _ in range(passes):
        errors_this_pass = 0
        for i in rng.permutation(len(X)):
            if y[i] * (w_aug @ X_aug[i]) <= 0:
                w_aug += y[i] * X_aug[i]
                errors_this_pass += 1
        mistakes += errors_this_pass
        if errors_this_pass == 0:
            break
    return w_aug, mistakes


w_aug, mistakes = perceptron_mistakes(X_blobs, y_blobs, passes=100, rng=np.random.default_rng(0))
accuracy = np.mean(np.sign(np.hstack([X_blobs, np.ones((len(X_blobs), 1))]) @ w_aug) == y_blobs)
print(f"learned weights {w_aug}, mistakes {mistakes}, training accuracy {accuracy:.0%}")

# %% [markdown]
# ### Novikoff's mistake bound
#
# Suppose a unit vector $\tilde u$ separates the data with margin
# $\gamma = \min_i y_i\, \tilde u \cdot \tilde x_i > 0$, and every
# $\|\tilde x_i\| \le R$. Two facts about $\tilde w_k$, the weights after $k$
# mistakes:
#
# * each mistake adds at least $\gamma$ to $\tilde u \cdot \tilde w$, so
#   $\tilde u \cdot \tilde w_k \ge k\gamma$;
# * each mistake adds at most $R^2$ to $\|\tilde w\|^2$ (the cross term is
#   $\le 0$ on a mistake), so $\|\tilde w_k\| \le \sqrt{k}\, R$.
#
# Cauchy–Schwarz gives $k\gamma \le \sqrt{k} R$, that is
# $k \le (R/\gamma)^2$, **whatever the order of the points**. We know a
# separator of our blobs, so we can compute a bound and compare it with the
# mistakes made under different orderings.

# %%
X_aug = np.hstack([X_blobs, np.ones((len(X_blobs), 1))])
u = np.append(w_true, b_true)
u = u / np.linalg.norm(u)
gamma = np.min(y_blobs * (X_aug @ u))
R = np.max(np.linalg.norm(X_aug, axis=1))
counts = [perceptron_mistakes(X_blobs, y_blobs, 100, np.random.default_rng(s))[1] for s in range(20)]
print(f"R = {R:.2f}, gamma = {gamma:.3f}, bound (R/gamma)^2 = {(R / gamma) ** 2:.0f}")
print(f"mistakes over 20 random orders: min {min(counts)}, max {max(counts)}")
assert max(counts) <= (R / gamma) ** 2

# %% [markdown]
# The bound is loose (it holds for the worst order and uses one particular
# separator), but it is finite: on separable data the perceptron always stops.

# %% [markdown]
# ## 2. XOR: where a single neuron fails
#
# XOR labels (0, 1) and (1, 0) positive, (0, 0) and (1, 1) negative. A line
# separating them would need $b \le 0$, $w_1 + b > 0$, $w_2 + b > 0$ and
# $w_1 + w_2 + b \le 0$; adding the middle two gives $w_1 + w_2 + 2b > 0$, so
# $w_1 + w_2 + b > -b \ge 0$, a contradiction. With no separator there is no
# bound, and the rule never settles:

# %%
X_xor, y_xor = load_xor(signed=True)
per_pass = [perceptron_mistakes(X_xor, y_xor, passes, np.random.default_rng(0))[1] for passes in (10, 100, 1000)]
print("mistakes after 10, 100, 1000 passes:", per_pass)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
xs = np.linspace(X_blobs[:, 0].min() - 0.5, X_blobs[:, 0].max() + 0.5, 2)
axes[0].scatter(X_blobs[:, 0], X_blobs[:, 1], c=y_blobs, cmap="coolwarm", s=14)
axes[0].plot(xs, -(w_aug[0] * xs + w_aug[2]) / w_aug[1], "k-", label="perceptron boundary")
axes[0].set_ylim(X_blobs[:, 1].min() - 0.5, X_blobs[:, 1].max() + 0.5)
axes[0].set_title(f"separable blobs: {mistakes} mistakes, then stops")
axes[0].legend(loc="lower right")
axes[1].scatter(X_xor[:, 0], X_xor[:, 1], c=y_xor, cmap="coolwarm", s=200)
axes[1].set_title("XOR: no line separates red from blue")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. A 2-4-1 network solves XOR
#
# Add a hidden layer: $h = \sigma(X W_1 + b_1)$ with 4 units, then
# $p = \sigma(h W_2 + b_2)$. The hidden units compute new features of the
# input (one may act like OR, another like AND), and in that feature space
# XOR *is* linearly separable. We train it with PyTorch and plain gradient
# descent on the mean binary cross-entropy.

# %%
X_t = torch.tensor(load_xor()[0])
y_t = torch.tensor(load_xor()[1], dtype=torch.float64)

torch.manual_seed(1)
xor_net = {
    "W1": torch.randn(2, 4) * 1.5,
    "b1": torch.zeros(4),
    "W2": torch.randn(4, 1),
    "b2": torch.zeros(1),
}
for value in xor_net.values():
    value.requires_grad_(True)


def xor_forward(params, X):
    hidden = torch.sigmoid(X @ params["W1"] + params["b1"])
    return hidden, torch.sigmoid(hidden @ params["W2"] + params["b2"]).squeeze(1)


def bce(p, y):
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


losses = []
for step in range(3000):
    _, p = xor_forward(xor_net, X_t)
    loss = bce(p, y_t)
    grads = torch.autograd.grad(loss, list(xor_net.values()))
    with torch.no_grad():
        for value, grad in zip(xor_net.values(), grads):
            value -= 2.0 * grad
    losses.append(loss.item())

hidden, p = xor_forward(xor_net, X_t)
print("inputs\n", X_t.numpy(), "\nprobabilities", p.detach().numpy().round(3), "labels", y_t.numpy())
print("hidden features (one row per input):\n", hidden.detach().numpy().round(2))
assert torch.equal((p > 0.5).double(), y_t), "the network should classify all four XOR points"

# %% [markdown]
# ## 4. Backpropagation by hand
#
# Autograd did the gradients above. Here is what it computes, layer by
# layer, for the same network on a batch of $N$ points (rows are examples):
#
# | forward | backward |
# |---|---|
# | $a_1 = X W_1 + b_1$, $h = \sigma(a_1)$ | $\delta_1 = (\delta_2 W_2^\top) \odot h \odot (1 - h)$, $\partial L/\partial W_1 = X^\top \delta_1$, $\partial L/\partial b_1 = \sum_n \delta_1$ |
# | $z = h W_2 + b_2$, $p = \sigma(z)$ | $\delta_2 = \partial L / \partial z = (p - y)/N$, $\partial L/\partial W_2 = h^\top \delta_2$, $\partial L/\partial b_2 = \sum_n \delta_2$ |
#
# The output formula is why cross-entropy pairs so well with a sigmoid: the
# $\sigma'$ factors cancel. The hidden formula uses $\sigma'(a) = \sigma(a)(1 - \sigma(a))$.
# Let us verify every entry against autograd at a random point.

# %%
torch.manual_seed(2)
probe = {"W1": torch.randn(2, 4), "b1": torch.randn(4), "W2": torch.randn(4, 1), "b2": torch.randn(1)}
X_probe = torch.randn(6, 2)
y_probe = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])

with torch.no_grad():
    h, p = xor_forward(probe, X_probe)
    delta2 = ((p - y_probe) / len(y_probe)).unsqueeze(1)  # (N, 1)
    delta1 = (delta2 @ probe["W2"].T) * h * (1 - h)  # (N, 4)
    by_hand = {"W1": X_probe.T @ delta1, "b1": delta1.sum(0), "W2": h.T @ delta2, "b2": delta2.sum(0)}

for value in probe.values():
    value.requires_grad_(True)
auto = dict(zip(probe, torch.autograd.grad(bce(xor_forward(probe, X_probe)[1], y_probe), list(probe.values()))))
for name in probe:
    print(f"{name}: max |by hand - autograd| = {(by_hand[name] - auto[name]).abs().max().item():.1e}")

# %% [markdown]
# Differences around 1e-16 are float64 rounding: the two agree. In the
# assignment you will write this backward pass in NumPy (with a `tanh` hidden
# layer) and check it with finite differences instead of autograd.
#
# The loss curve of the XOR training run shows the typical plateau while the
# hidden units are still undecided, followed by a sharp drop:

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(losses)
ax.set_xlabel("gradient step")
ax.set_ylabel("mean BCE")
ax.set_title("training a 2-4-1 network on XOR")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Exploring decision boundaries
#
# The two-moons data set needs a curved boundary. The explorer below trains a
# small `tanh` network (written here with `torch.nn`) for the settings you
# choose and draws its decision boundary and training loss. Try 1 hidden unit
# (a single bend is not enough), then 2, 4 and 16; try a tiny and a huge
# learning rate. In the assignment, the same widget runs on *your* functions.

# %%
from dlcourse_perceptron.widgets import decision_boundary_explorer  # noqa: E402

X_moons, y_moons = load_moons(n_samples=200, noise=0.2, seed=0)


def torch_train(X, y, hidden, lr, epochs, seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    X_t, y_t = torch.as_tensor(X), torch.as_tensor(y, dtype=torch.float64)
    for _ in range(epochs):
        optimiser.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(model(X_t).squeeze(1), y_t).backward()
        optimiser.step()
    return model


def torch_predict(model, X):
    with torch.no_grad():
        return (model(torch.as_tensor(X)).squeeze(1) > 0).long().numpy()


def torch_loss(model, X, y):
    with torch.no_grad():
        logits = model(torch.as_tensor(X)).squeeze(1)
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.as_tensor(y, dtype=torch.float64)).item()


explorer = decision_boundary_explorer(torch_train, torch_predict, X_moons, y_moons, loss_fn=torch_loss,
                                      hidden=8, lr=1.0, epochs=300)
print(explorer.status.value)
explorer

# %% [markdown]
# ## Summary
#
# * The perceptron rule finds a separating line whenever one exists, after at
#   most $(R/\gamma)^2$ mistakes.
# * XOR has no separating line; one hidden layer fixes that by learning
#   features in which the classes become separable.
# * Backpropagation applies the chain rule layer by layer, reusing the
#   forward pass's intermediate values; autograd does the same bookkeeping.
