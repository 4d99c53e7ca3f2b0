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
# # Lesson: generative adversarial networks
#
# A generative model learns to produce new samples that look like its
# training data. A **generative adversarial network** (Goodfellow et al.,
# 2014) does it without ever writing down a density: a **generator** $G$
# turns random noise $z \sim \mathcal{N}(0, I)$ into samples $G(z)$, and a
# **discriminator** $D$ learns to tell real samples from generated ones. The
# generator is trained to fool the discriminator. This lesson covers:
#
# 1. the game and its value function;
# 2. the optimal discriminator $D^*$, checked numerically;
# 3. why the generator uses a *non-saturating* loss;
# 4. training a GAN on a ring of eight Gaussians, with an interactive view;
# 5. mode collapse, caused here by a weak discriminator;
# 6. a GAN that draws digits.

# %%
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import dlcourse
from dlcourse_gan.data import load_digits, ring_centres, sample_ring
from dlcourse_gan.widgets import SnapshotRecorder, gan_training_explorer

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # these networks are tiny: one thread avoids threading overhead
np.set_printoptions(precision=3, suppress=True)
import matplotlib.pyplot as plt  # noqa: E402

# %% [markdown]
# ## 1. The game
#
# With $D(x) \in (0, 1)$ the probability that $x$ is real, the two players
# share one value function:
#
# $$V(D, G) = \mathbb{E}_{x \sim p_\text{data}}[\log D(x)]
#   + \mathbb{E}_{z}[\log(1 - D(G(z)))], \qquad \min_G \max_D V(D, G).$$
#
# $D$ maximises $V$: that is logistic regression with real samples labelled 1
# and generated samples labelled 0, so its loss is a binary cross-entropy.
# $G$ minimises $V$: it wants $D(G(z))$ close to 1. Training alternates a
# gradient step for $D$ with a gradient step for $G$; neither player's loss
# goes to zero, because each one's progress is the other's setback.
#
# In code $D$ outputs a **logit** $\ell$, with $D(x) = \sigma(\ell)$. Two
# identities turn the value function into numerically safe expressions,
# $-\log \sigma(\ell) = \operatorname{softplus}(-\ell)$ and
# $-\log(1 - \sigma(\ell)) = \operatorname{softplus}(\ell)$:

# %%
def d_loss_of(real_logits, fake_logits):
    """-V for the discriminator: softplus(-l_real) + softplus(l_fake), each averaged."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss_of(fake_logits):
    """The non-saturating generator loss -log D(G(z)) (section 3 explains the choice)."""
    return F.softplus(-fake_logits).mean()


print("D = 1/2 everywhere (all logits 0): loss", round(d_loss_of(torch.zeros(5), torch.zeros(5)).item(), 4),
      "= 2 log 2 =", round(2 * np.log(2), 4))

# %% [markdown]
# ## 2. The optimal discriminator
#
# Fix the generator, so that generated samples have some density $p_g$.
# Writing both expectations as integrals over $x$,
#
# $$V(D, G) = \int p_\text{data}(x) \log D(x) + p_g(x) \log(1 - D(x)) \, dx.$$
#
# For each $x$ separately, $a \log y + b \log(1 - y)$ is largest at
# $y = a / (a + b)$, so the best discriminator is
#
# $$D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)}.$$
#
# Substituting it back gives
# $V(D^*, G) = -2 \log 2 + 2\,\mathrm{JSD}(p_\text{data} \,\|\, p_g)$, where
# the Jensen–Shannon divergence is 0 exactly when $p_g = p_\text{data}$.
# So a perfect discriminator turns the generator's problem into minimising a
# divergence between the two distributions, and at the end of the game
# $D^* = 1/2$ everywhere and the discriminator's loss is $2 \log 2$.
#
# Let us check it. The "data" below are a mixture of two Gaussians, the
# fixed "generator" is one broad Gaussian; a small network trained as a
# discriminator on samples of each should approach $D^*$.

# %%
def normal_pdf(x, mean, std):
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))


def p_data(x):
    return 0.5 * normal_pdf(x, -1.5, 0.5) + 0.5 * normal_pdf(x, 1.5, 0.5)


def p_g(x):
    return normal_pdf(x, 0.0, 1.2)


rng = np.random.default_rng(0)
n = 2000
x_real = np.where(rng.random(n) < 0.5, -1.5, 1.5) + 0.5 * rng.normal(size=n)
x_fake = 1.2 * rng.normal(size=n)

torch.manual_seed(0)
critic = nn.Sequential(nn.Linear(1, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2),
                       nn.Linear(32, 1))
optimiser = torch.optim.Adam(critic.parameters(), lr=1e-2)
real_t = torch.tensor(x_real, dtype=torch.float32).unsqueeze(1)
fake_t = torch.tensor(x_fake, dtype=torch.float32).unsqueeze(1)
for step in range(400):
    optimiser.zero_grad()
    loss = d_loss_of(critic(real_t).squeeze(1), critic(fake_t).squeeze(1))
    loss.backward()
    optimiser.step()

xs = np.linspace(-3.5, 3.5, 301)
with torch.no_grad():
    d_learned = torch.sigmoid(critic(torch.tensor(xs, dtype=torch.float32).unsqueeze(1))).squeeze(1).numpy()
d_star = p_data(xs) / (p_data(xs) + p_g(xs))
supported = p_data(xs) + p_g(xs) > 0.05
grid = np.linspace(-8, 8, 8001)
mixture = 0.5 * (p_data(grid) + p_g(grid))
integrand = p_data(grid) * np.log(p_data(grid) / mixture) + p_g(grid) * np.log(p_g(grid) / mixture)
jsd = 0.5 * np.sum(integrand) * (grid[1] - grid[0])  # Jensen-Shannon divergence, in nats
print(f"largest |D - D*| where the densities are not tiny: {np.abs(d_learned - d_star)[supported].max():.3f}")
print(f"final discriminator loss {loss.item():.4f}; theory 2 log 2 - 2 JSD = {2 * np.log(2) - 2 * jsd:.4f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
left.plot(xs, p_data(xs), label="p_data")
left.plot(xs, p_g(xs), label="p_g")
left.set_title("two fixed distributions")
left.legend()
right.plot(xs, d_star, "k--", label="D* = p_data / (p_data + p_g)")
right.plot(xs, d_learned, label="trained discriminator")
right.axhline(0.5, color="grey", lw=0.8)
right.set_ylim(0, 1)
right.set_title("the discriminator approaches D*")
right.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# The trained network follows $D^*$ closely wherever there are samples; far
# out in the tails it has no data and extrapolates. Where $p_g$ puts mass
# that the data do not have (around 0), $D^*$ is small: the gradient of $D$
# tells the generator where to move its samples.
#
# ## 3. Why the generator uses the non-saturating loss
#
# Early in training the fakes are poor and $D$ rejects them:
# $D(G(z)) = \sigma(\ell) \approx 0$. The game's generator loss
# $\log(1 - \sigma(\ell))$ then has gradient $-\sigma(\ell) \approx 0$ with
# respect to the logit: the generator learns nothing exactly when it most
# needs to. Goodfellow et al. therefore let the generator maximise
# $\log D(G(z))$ instead, i.e. minimise $-\log \sigma(\ell)$, whose gradient
# $-(1 - \sigma(\ell))$ is close to $-1$ there. Both have the same fixed
# point; only the gradients differ.

# %%
logits = torch.linspace(-8, 8, 161, requires_grad=True)
saturating = torch.autograd.grad(-F.softplus(logits).sum(), logits)[0]  # log(1 - sigmoid(l))
non_saturating = torch.autograd.grad(F.softplus(-logits).sum(), logits)[0]  # -log sigmoid(l)
d_of_fake = torch.sigmoid(logits).detach()

fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.semilogy(d_of_fake, saturating.abs(), label="log(1 - D(G(z)))  (saturating)")
ax.semilogy(d_of_fake, non_saturating.abs(), label="-log D(G(z))  (non-saturating)")
ax.set_xlabel("D(G(z)), the discriminator's verdict on a fake")
ax.set_ylabel("|gradient| w.r.t. the logit")
ax.legend(fontsize=8)
ax.set_title("where D rejects the fakes, only one loss still teaches G")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 4. A GAN on a ring of eight Gaussians
#
# The data are eight small Gaussians on a circle of radius 2. Both networks
# are small MLPs; the discriminator uses LeakyReLU (slope 0.2) so that its
# gradient, which is all the generator sees of the data, is never flat. Adam
# uses $\beta_1 = 0.5$, lower than PyTorch's default 0.9: momentum makes
# the two players overshoot each other (the assignment shows what
# happens with 0.9). The `callback` lets the explorer record snapshots.

# %%
X_ring = torch.from_numpy(sample_ring(2000, seed=0))
RING_CENTRES = ring_centres()


def mlp(sizes, activation):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), activation()]
    return nn.Sequential(*layers[:-1])  # no activation after the last layer


def train_ring_gan(data, steps=1500, seed=0, callback=None, snapshot_every=100, d_hidden=64,
                   batch_size=512, lr=2e-3, betas=(0.5, 0.9)):
    """Alternate one discriminator step and one generator step; return G, D and the losses."""
    data = torch.as_tensor(data, dtype=torch.float32)
    torch.manual_seed(seed)
    G = mlp([2, 64, 64, 2], nn.ReLU)
    D = mlp([2, d_hidden, d_hidden, 1], lambda: nn.LeakyReLU(0.2))
    g_opt = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    d_opt = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    losses = []
    if callback is not None:
        callback(0, G, D)
    for step in range(1, steps + 1):
        real = data[torch.randint(0, len(data), (batch_size,))]
        fake = G(torch.randn(batch_size, 2)).detach()  # no gradient into G during D's step
        d_opt.zero_grad()
        d_loss = d_loss_of(D(real).squeeze(1), D(fake).squeeze(1))
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad()
        g_loss = g_loss_of(D(G(torch.randn(batch_size, 2))).squeeze(1))
        g_loss.backward()
        g_opt.step()
        losses.append((d_loss.item(), g_loss.item()))
        if callback is not None and step % snapshot_every == 0:
            callback(step, G, D)
    return G, D, np.array(losses)


ring_run = SnapshotRecorder(X_ring)
G_ring, D_ring, ring_losses = train_ring_gan(X_ring, callback=ring_run)
ring_frames = ring_run.frames()
print("snapshots at steps", ring_frames["steps"])
print(f"last 100 steps: mean D loss {ring_losses[-100:, 0].mean():.3f} (2 log 2 = {2 * np.log(2):.3f}), "
      f"mean G loss {ring_losses[-100:, 1].mean():.3f} (log 2 = {np.log(2):.3f})")

# %% [markdown]
# Near the end the losses hover around $2 \log 2$ and $\log 2$: the values
# of a discriminator that outputs $1/2$, as the theory predicts at
# equilibrium. The losses alone say little about sample quality, though, so
# GAN practitioners look at samples. Here are four snapshots:

# %%
fig, axes = plt.subplots(1, 4, figsize=(13, 3.4), sharex=True, sharey=True)
for ax, step in zip(axes, (0, 200, 500, 1500)):
    index = int(np.flatnonzero(ring_frames["steps"] == step)[0])
    ax.contourf(ring_frames["xx"], ring_frames["yy"], ring_frames["surface"][index], levels=np.linspace(0, 1, 11),
                cmap="RdBu_r", alpha=0.5)
    ax.scatter(*ring_frames["real"].T, s=3, c="black")
    ax.scatter(*ring_frames["samples"][index].T, s=3, c="#e6550d")
    ax.set_title(f"step {step}")
    ax.set_aspect("equal")
fig.suptitle("real (black) and generated (orange) samples over the discriminator's D(x): red = 'real'")
fig.tight_layout()
plt.show()

# %% [markdown]
# The explorer below shows every snapshot of this run (slider), with or
# without the $D(x)$ surface; the right panel tracks the mean verdict on real
# and on generated samples, which meet near $1/2$. Picking another seed
# trains again (a few seconds): GAN training is sensitive to the seed, so
# compare a few.

# %%
explorer = gan_training_explorer(train_ring_gan, X_ring, frames=ring_frames)
print(explorer.status.value)
explorer

# %% [markdown]
# ## 5. Mode collapse
#
# A generator **collapses** when it maps most noise vectors to one or a few
# modes. Each sample can look fine; the variety is gone. The cause is built
# into the game: against a *fixed* discriminator, the generator's best move
# is to send every sample to the point where $D$ is highest. Spreading out
# only pays because $D$ keeps learning to reject whatever is over-produced.
# If $D$ cannot do that job, nothing stops the collapse.
#
# Below, the same training runs with a discriminator of 8 hidden units per
# layer instead of 64. Such a $D$ can only draw a coarse surface, too coarse
# to mark seven empty modes as "fake" at once; the generator piles into one
# region, $D$ slowly catches up, and the pile moves on. The angle of each
# sample around the circle shows it: eight peaks for a healthy generator, one
# wandering peak for a collapsed one.

# %%
weak_run = SnapshotRecorder(X_ring)
train_ring_gan(X_ring, steps=600, d_hidden=8, callback=weak_run)
weak_frames = weak_run.frames()


def angles(points):
    return np.arctan2(points[:, 1], points[:, 0])


fig, axes = plt.subplots(2, 4, figsize=(13, 5.6))
for column, step in enumerate((100, 200, 400, 600)):
    index = int(np.flatnonzero(weak_frames["steps"] == step)[0])
    samples = weak_frames["samples"][index]
    axes[0, column].scatter(*weak_frames["real"].T, s=3, c="black")
    axes[0, column].scatter(*samples.T, s=3, c="#e6550d")
    axes[0, column].set_xlim(-3, 3)
    axes[0, column].set_ylim(-3, 3)
    axes[0, column].set_aspect("equal")
    axes[0, column].set_title(f"weak D, step {step}")
    axes[1, column].hist(angles(samples), bins=64, range=(-np.pi, np.pi), color="#e6550d")
    axes[1, column].set_xlabel("angle of the generated samples")
axes[1, 0].hist(angles(ring_frames["samples"][-1]), bins=64, range=(-np.pi, np.pi), color="grey", alpha=0.5,
                label="healthy run, step 1500")
axes[1, 0].legend(fontsize=7)
fig.tight_layout()
plt.show()


def sectors(points):
    """How many of eight 45-degree sectors, centred on the modes, hold at least 2% of the points."""
    index = np.round(angles(points) / (np.pi / 4)).astype(int) % 8
    return int(np.sum(np.bincount(index, minlength=8) >= 0.02 * len(points)))


print("sectors occupied over snapshots 100, 200, ..., 600")
print("  healthy run:", [sectors(s) for s in ring_frames["samples"][1:7]])
print("  weak D     :", [sectors(s) for s in weak_frames["samples"][1:]])

# %% [markdown]
# The weak discriminator's generator never spreads over the ring: at any
# moment its samples point in one or two directions, and that direction
# changes from snapshot to snapshot (mode hopping), while the healthy run
# fills all eight sectors. In the assignment you will
# measure coverage properly and meet a second cause, momentum. Remedies
# include a stronger or more often updated discriminator, lower momentum,
# minibatch discrimination, unrolled GANs and Wasserstein losses with a
# gradient penalty.
#
# ## 6. A GAN that draws digits
#
# Nothing above is specific to two dimensions. The same recipe on the
# 8x8 digits (64 pixels scaled to $[-1, 1]$, so the generator ends in a
# tanh) learns digit-like images within a thousand steps (a few seconds).
# Here Adam uses the DCGAN setting $\beta = (0.5, 0.999)$, which kept more
# digit classes alive than $\beta_2 = 0.9$ on this data.

# %%
X_digits, y_digits = load_digits()
X_digits_t = torch.from_numpy(X_digits)
torch.manual_seed(0)
latent = 16
G_digits = nn.Sequential(mlp([latent, 128, 128, 64], nn.ReLU), nn.Tanh())
D_digits = mlp([64, 128, 128, 1], lambda: nn.LeakyReLU(0.2))
g_opt = torch.optim.Adam(G_digits.parameters(), lr=2e-3, betas=(0.5, 0.999))
d_opt = torch.optim.Adam(D_digits.parameters(), lr=2e-3, betas=(0.5, 0.999))
for step in range(1000):
    real = X_digits_t[torch.randint(0, len(X_digits_t), (128,))]
    fake = G_digits(torch.randn(128, latent)).detach()
    d_opt.zero_grad()
    d_loss_of(D_digits(real).squeeze(1), D_digits(fake).squeeze(1)).backward()
    d_opt.step()
    g_opt.zero_grad()
    g_loss_of(D_digits(G_digits(torch.randn(128, latent))).squeeze(1)).backward()
    g_opt.step()

with torch.no_grad():
    generated = G_digits(torch.randn(1000, latent)).numpy()

fig, axes = plt.subplots(2, 1, figsize=(9, 3.6))
for ax, images, title in ((axes[0], X_digits[:16], "real"), (axes[1], generated[:16], "generated")):
    ax.imshow(np.hstack([im.reshape(8, 8) for im in images]), cmap="gray_r", vmin=-1, vmax=1)
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# Are all ten digits there, or has the generator dropped some? A classifier
# trained on the real digits (logistic regression, about 96% accurate on this
# data) labels the generated ones. A fully collapsed generator would fill a
# single bar; small MLP GANs like this one typically over-produce some digits
# and neglect others, a partial mode collapse. The classifier's confidence
# tells how digit-like the samples are.

# %%
from sklearn.linear_model import LogisticRegression  # noqa: E402

classifier = LogisticRegression(max_iter=2000).fit(X_digits, y_digits)
proba = classifier.predict_proba(generated)
class_counts = np.bincount(proba.argmax(axis=1), minlength=10)
print("generated digits per class:", class_counts)
print(f"mean classifier confidence: generated {proba.max(axis=1).mean():.2f}, "
      f"real {classifier.predict_proba(X_digits).max(axis=1).mean():.2f}")

fig, ax = plt.subplots(figsize=(5, 2.8))
ax.bar(range(10), class_counts)
ax.set_xticks(range(10))
ax.set_xlabel("class assigned to a generated digit")
ax.set_ylabel("count of 1000")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Summary
#
# * A GAN is a two-player game: $D$ is a binary classifier of real versus
#   generated samples, $G$ is trained through $D$'s gradient to fool it.
# * For a fixed generator the best discriminator is
#   $D^* = p_\text{data} / (p_\text{data} + p_g)$, and then the generator
#   minimises a Jensen–Shannon divergence; at equilibrium $D = 1/2$.
# * The generator minimises $-\log D(G(z))$, not $\log(1 - D(G(z)))$, so that
#   it still gets gradients when $D$ rejects its samples; both work on logits.
# * Training alternates one step of each player, and balance matters: a weak
#   discriminator or too much momentum lets the generator collapse onto a few
#   modes. Look at samples, and measure their coverage.
