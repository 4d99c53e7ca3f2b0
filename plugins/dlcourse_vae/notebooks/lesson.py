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
# # Lesson: variational autoencoders
#
# An autoencoder squeezes an image through a small code and rebuilds it. That
# makes a good compressor, but not a generator: nothing says where in code
# space the images live, so we do not know which codes to decode. A
# variational autoencoder (VAE) fixes this by encoding every image as a
# *Gaussian* over codes and pulling those Gaussians towards a fixed prior.
# This lesson follows that idea on 8×8 digits:
#
# 1. a plain autoencoder, and why decoding random codes goes wrong;
# 2. Gaussian encoders, the reparameterisation trick and the KL penalty;
# 3. the evidence lower bound (ELBO) that a VAE maximises;
# 4. the VAE as a generator, compared with the autoencoder;
# 5. a structured latent space: the latent manifold, interpolation and
#    latent arithmetic;
# 6. what the KL term costs, and an interactive view of the latent space.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.neighbors import NearestNeighbors
from torch import nn
from torch.distributions import Normal, kl_divergence

import dlcourse
from dlcourse_vae.data import load_digits_split
from dlcourse_vae.widgets import latent_explorer, latent_grid

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # these networks are tiny: one thread avoids threading overhead
np.set_printoptions(precision=3, suppress=True)

X_train, y_train = load_digits_split("train")
X_test, y_test = load_digits_split("heldout")
X_t = torch.from_numpy(X_train)
print("train", X_train.shape, "held out", X_test.shape, "| pixels in [0, 1], float32")


def show_rows(rows, titles, figsize=None):
    """Draw each entry of ``rows`` (an (n, 64) array or tensor) as one row of 8x8 images."""
    rows = [np.asarray(torch.as_tensor(r).detach(), dtype=np.float64).reshape(-1, 8, 8) for r in rows]
    columns = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), columns, figsize=figsize or (columns * 0.7, len(rows) * 0.95),
                             squeeze=False, gridspec_kw={"hspace": 0.5, "wspace": 0.1})
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.9)
    for ax in axes.ravel():
        ax.axis("off")
    for row, (images, title) in enumerate(zip(rows, titles)):
        for ax, image in zip(axes[row], images):
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
        axes[row, 0].text(0.0, 1.1, title, transform=axes[row, 0].transAxes, ha="left", va="bottom", fontsize=9)
    plt.show()


# %% [markdown]
# ## 1. A plain autoencoder
#
# The encoder maps 64 pixels to a code $z$ of `latent_dim` numbers; the
# decoder maps the code back to 64 pixel **logits**. Each pixel is treated as
# a Bernoulli variable with mean $\operatorname{sigmoid}(\text{logit})$, so the
# reconstruction loss is the binary cross-entropy, summed over the 64 pixels
# and averaged over the batch (nats per image).
#
# One small training function serves the whole lesson. With `vae=False` it
# trains a plain autoencoder; the VAE branch is explained in section 2.

# %%
def mlp(n_in, n_hidden, n_out):
    return nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))


def fit(latent_dim, vae=True, beta=1.0, epochs=30, seed=0):
    """Train an autoencoder (vae=False) or a VAE on the training digits; return (encoder, decoder)."""
    torch.manual_seed(seed)
    encoder = mlp(64, 128, 2 * latent_dim if vae else latent_dim)  # a VAE also outputs log-variances
    decoder = mlp(latent_dim, 128, 64)
    optimiser = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=3e-3)
    for _ in range(epochs):
        for batch in X_t[torch.randperm(len(X_t))].split(64):
            if vae:
                mu, logvar = encoder(batch).chunk(2, dim=1)
                q = Normal(mu, torch.exp(0.5 * logvar))
                z = q.rsample()  # the reparameterised sample: mu + sigma * eps
                kl = kl_divergence(q, Normal(0.0, 1.0)).sum(dim=1).mean()
            else:
                z, kl = encoder(batch), 0.0
            loss = F.binary_cross_entropy_with_logits(decoder(z), batch, reduction="sum") / len(batch) + beta * kl
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return encoder, decoder


def codes(encoder, X, latent_dim):
    """The code of each image: z for an autoencoder, the mean mu for a VAE."""
    with torch.no_grad():
        return encoder(torch.as_tensor(X))[:, :latent_dim]


def pixels(decoder, z):
    with torch.no_grad():
        return torch.sigmoid(decoder(torch.as_tensor(z, dtype=torch.float32)))


ae2 = fit(2, vae=False)
ae_codes = codes(ae2[0], X_train, 2)
print("autoencoder, 2-D codes: mean", ae_codes.mean(0).numpy(), "std", ae_codes.std(0).numpy())

# %% [markdown]
# The reconstructions are good, so the codes hold the digits' information.
# But look at where the codes lie: the scale and the position of each class
# are whatever training happened to produce, with gaps between the classes.
# A decoder has never seen a code from a gap, so nothing tells us what it will
# draw there.

# %%
show_rows([X_train[:12], pixels(ae2[1], ae_codes[:12])], ["digits", "autoencoder reconstructions"])
fig, ax = plt.subplots(figsize=(5, 4.5))
points = ax.scatter(ae_codes[:, 0], ae_codes[:, 1], c=y_train, cmap="tab10", s=6)
fig.colorbar(points, ax=ax, label="digit")
ax.set_title("autoencoder codes of the training digits")
plt.show()

# %% [markdown]
# To generate new digits we must pick codes. With 8-D codes the problem is
# sharper: the codes fill a thin, curved region of the 8-D space, and even a
# Gaussian fitted to them puts much of its mass where there are no codes.
# We measure the realism of a generated image by its distance (in pixel
# space) to the nearest real training digit; real held-out digits set the
# reference.

# %%
ae8 = fit(8, vae=False)
nearest_real = NearestNeighbors(n_neighbors=1).fit(X_train)


def realism(images):
    """Mean distance from each image to its nearest training digit (lower is more realistic)."""
    return float(nearest_real.kneighbors(np.asarray(images, dtype=np.float32))[0].mean())


ae8_codes = codes(ae8[0], X_train, 8)
torch.manual_seed(1)
fitted = torch.distributions.MultivariateNormal(ae8_codes.mean(0), torch.cov(ae8_codes.T))
ae_prior_samples = pixels(ae8[1], torch.randn(1000, 8))
ae_fitted_samples = pixels(ae8[1], fitted.sample((1000,)))
print(f"real held-out digits:                         {realism(X_test):.2f}")
print(f"autoencoder, codes from N(0, I):              {realism(ae_prior_samples):.2f}")
print(f"autoencoder, codes from a Gaussian fit:       {realism(ae_fitted_samples):.2f}")

# %% [markdown]
# ## 2. From points to Gaussians
#
# A VAE's encoder outputs, for each image $x$, the mean $\mu(x)$ and the
# log-variance $\log \sigma^2(x)$ of a Gaussian
# $q(z \mid x) = \mathcal{N}(\mu, \operatorname{diag} \sigma^2)$, and the
# decoder reconstructs from a **sample** of it. Two ingredients make this
# trainable and useful.
#
# **The reparameterisation trick.** We need gradients of the loss with respect
# to $\mu$ and $\sigma$ through a random sample. Writing the sample as
# $z = \mu + \sigma \odot \varepsilon$ with $\varepsilon \sim \mathcal{N}(0, I)$
# drawn independently of the parameters makes $z$ a differentiable function
# of them ($\partial z / \partial \mu = 1$, $\partial z / \partial \sigma = \varepsilon$).
# `torch.distributions.Normal(mu, std).rsample()` does exactly this;
# `.sample()` and `torch.normal` do not pass gradients.

# %%
mu = torch.tensor([0.5, -1.0], requires_grad=True)
log_var = torch.tensor([0.0, 1.0], requires_grad=True)
eps = torch.randn(2)
z = mu + torch.exp(0.5 * log_var) * eps
z.sum().backward()
print("dz/dmu     =", mu.grad.numpy(), "(ones)")
print("dz/dlogvar =", log_var.grad.numpy(), "= 0.5 * sigma * eps =", (0.5 * torch.exp(0.5 * log_var) * eps).detach().numpy())

# %% [markdown]
# **The KL penalty.** Without a constraint, the encoder could make every
# $\sigma$ tiny and spread the means anywhere: a plain autoencoder again. The
# VAE adds the KL divergence from $q(z \mid x)$ to a fixed prior
# $p(z) = \mathcal{N}(0, I)$. For diagonal Gaussians it has a closed form,
# summed over the latent dimensions:
#
# $$\mathrm{KL}(q \,\|\, p) = \tfrac12 \sum_j \big(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\big).$$
#
# It is 0 only when $\mu = 0$ and $\sigma = 1$: it pulls the means towards the
# origin and keeps the variances from shrinking, so the Gaussians of
# different images overlap and fill the region around the origin without
# gaps. Check the closed form against PyTorch:

# %%
def kl_closed_form(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(dim=1)


g = torch.Generator().manual_seed(0)
mu_r, logvar_r = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g, dtype=torch.float64)
reference = kl_divergence(Normal(mu_r, torch.exp(0.5 * logvar_r)), Normal(0.0, 1.0)).sum(dim=1)
print("max |closed form - torch.distributions| =", (kl_closed_form(mu_r, logvar_r) - reference).abs().max().item())
print("KL(N(2, 1) || N(0, 1)) =", kl_closed_form(torch.tensor([[2.0]]), torch.tensor([[0.0]])).item())
print("KL(N(0, e^2) || N(0, 1)) =", round(kl_closed_form(torch.tensor([[0.0]]), torch.tensor([[2.0]])).item(), 6))

# %% [markdown]
# ## 3. The evidence lower bound
#
# Why this particular loss? For any $q$, Jensen's inequality gives a lower
# bound on the log-likelihood of an image, the ELBO:
#
# $$\log p(x) \;\ge\; \mathbb{E}_{q(z \mid x)}\big[\log p(x \mid z)\big] - \mathrm{KL}\big(q(z \mid x) \,\|\, p(z)\big) = \mathrm{ELBO}(x),$$
#
# and the gap is exactly $\mathrm{KL}(q(z \mid x) \,\|\, p(z \mid x))$, the error
# of the encoder as an approximate posterior. Maximising the ELBO therefore
# trains the decoder as a generative model *and* the encoder as an inference
# network. The first term is the (negative) reconstruction loss, estimated
# with one reparameterised sample; the second is the KL penalty. The training
# loss is their difference with the sign flipped, the negative ELBO, and a
# weight $\beta$ on the KL gives the $\beta$-VAE (`fit` above does all this
# with `vae=True`).
#
# ## 4. The VAE as a generator
#
# Train VAEs with 8-D and 2-D codes (about a second each) and measure the
# negative ELBO on the held-out digits:

# %%
def negative_elbo(model, X, latent_dim, samples=4):
    """Held-out negative ELBO in nats per image: reconstruction + KL, averaged over reparameterised samples."""
    encoder, decoder = model
    x = torch.as_tensor(X)
    with torch.no_grad():
        mu, logvar = encoder(x).chunk(2, dim=1)
        q = Normal(mu, torch.exp(0.5 * logvar))
        kl = kl_divergence(q, Normal(0.0, 1.0)).sum(dim=1).mean().item()
        reconstruction = np.mean([F.binary_cross_entropy_with_logits(decoder(q.sample()), x, reduction="sum").item()
                                  / len(x) for _ in range(samples)])
    return reconstruction + kl, reconstruction, kl


vae8, vae2 = fit(8), fit(2)
for name, model, dim in (("8-D", vae8, 8), ("2-D", vae2, 2)):
    total, reconstruction, kl = negative_elbo(model, X_test, dim)
    print(f"VAE with {name} codes: held-out -ELBO {total:.1f} nats per image = reconstruction {reconstruction:.1f} + KL {kl:.1f}")
baseline = F.binary_cross_entropy(torch.from_numpy(X_train).mean(0).expand(len(X_test), 64).clamp(1e-6, 1 - 1e-6),
                                  torch.from_numpy(X_test), reduction="sum").item() / len(X_test)
print(f"always the average training digit: {baseline:.1f} nats per image")

# %% [markdown]
# The decoder of a VAE was trained on samples from Gaussians that the KL term
# kept close to $\mathcal{N}(0, I)$, so we can generate by decoding codes drawn
# from the prior, with no fitting at all:

# %%
torch.manual_seed(2)
vae_samples = pixels(vae8[1], torch.randn(1000, 8))
print(f"VAE, codes from the prior N(0, I):            {realism(vae_samples):.2f}")
print(f"autoencoder, codes from a Gaussian fit:       {realism(ae_fitted_samples):.2f}")
print(f"autoencoder, codes from N(0, I):              {realism(ae_prior_samples):.2f}")
assert realism(vae_samples) < realism(ae_prior_samples)
show_rows([ae_prior_samples[:14], ae_fitted_samples[:14], vae_samples[:14]],
          ["autoencoder, z ~ N(0, I)", "autoencoder, z ~ Gaussian fitted to its codes", "VAE, z ~ N(0, I)"])

# %% [markdown]
# The VAE's samples are blurry (we show the decoder's mean, and 8×8 digits
# are tiny) but they look like digits far more often than the autoencoder's.
#
# ## 5. A structured latent space
#
# With 2-D codes we can look at the whole latent space. On the left, the
# means $\mu(x)$ of the training digits: unlike the autoencoder's codes they
# sit in a round cloud around the origin, and although the model never saw a
# label, the classes form neighbouring regions. On the right, the *latent
# manifold*: the decoder's output on a grid of codes (computed by
# `latent_grid`, the function behind the widget at the end).

# %%
vae_codes = codes(vae2[0], X_train, 2)
grid = latent_grid(lambda z: pixels(vae2[1], z), latent_dim=2, span=2.5, grid_size=12)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
points = left.scatter(vae_codes[:, 0], vae_codes[:, 1], c=y_train, cmap="tab10", s=6)
fig.colorbar(points, ax=left, label="digit")
left.set_title("VAE: means of the training digits")
right.imshow(grid["canvas"], cmap="gray_r", vmin=0, vmax=1, extent=(-2.7, 2.7, -2.7, 2.7))
right.set_title("decoded grid of codes in [-2.5, 2.5]²")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Interpolation.** A straight line between the codes of two digits stays in
# the region the decoder knows, so it decodes to a smooth morph. The same walk
# between the autoencoder's codes can cross a gap.

# %%
first_0, first_6 = int(np.argmax(y_train == 0)), int(np.argmax(y_train == 6))
t = torch.linspace(0, 1, 10).unsqueeze(1)


def walk(model, dim):
    ends = codes(model[0], X_train[[first_0, first_6]], dim)
    return pixels(model[1], ends[0] + t * (ends[1] - ends[0]))


show_rows([walk(ae2, 2), walk(vae2, 2)], ["autoencoder: 0 → 6", "VAE: 0 → 6"])

# %% [markdown]
# **Latent arithmetic.** Directions carry meaning too. The mean code of a
# class is a prototype; adding the difference of two class means to a code
# moves it from one class towards the other, as in "smiling woman − woman +
# man" for faces. Here, in the 8-D VAE, "1"s are pushed towards "7"s:

# %%
codes8 = codes(vae8[0], X_train, 8)
means = torch.stack([codes8[torch.from_numpy(y_train) == c].mean(0) for c in range(10)])
ones = codes8[torch.from_numpy(y_train) == 1][:10]
show_rows([pixels(vae8[1], ones + alpha * (means[7] - means[1])) for alpha in (0.0, 0.5, 1.0)],
          ["alpha = 0 (the 1s)", "alpha = 0.5", "alpha = 1: 1 + (mean 7 - mean 1)"])

# %% [markdown]
# ## 6. What the KL term costs
#
# The KL term is paid per latent dimension. A dimension whose Gaussians all
# equal the prior costs nothing and carries no information; the VAE switches
# off the dimensions it cannot afford. The average KL of each dimension of
# the 8-D model on the held-out digits:

# %%
with torch.no_grad():
    mu8, logvar8 = vae8[0](torch.from_numpy(X_test)).chunk(2, dim=1)
kl_per_dim = (0.5 * (mu8**2 + logvar8.exp() - 1.0 - logvar8)).mean(dim=0)  # the closed form, not summed
print("KL per latent dimension (nats):", kl_per_dim.numpy().round(2))
print("dimensions in use (KL > 0.1 nat):", int((kl_per_dim > 0.1).sum()), "of 8")

# %% [markdown]
# Only a few dimensions are used: the rest collapsed to the prior, because the
# reconstruction they would buy is worth less than their KL. This is the
# trade-off the ELBO makes, and $\beta$ moves it (larger $\beta$: smoother,
# blurrier; smaller: sharper, with a less regular latent space).
#
# ## 7. Explore the latent space
#
# The explorer decodes the sliders' code live with the 2-D VAE, next to the
# manifold (the red cross marks the sliders). Where are the 0s, the 1s, the
# 7s? What happens far from the origin, where the prior has little mass? In
# the assignment the same widget runs on *your* decoder.

# %%
explorer = latent_explorer(lambda z: pixels(vae2[1], z), latent_dim=2, span=2.5)
print(explorer.status.value)
explorer

# %% [markdown]
# ## Summary
#
# * A plain autoencoder compresses well but does not say which codes to
#   decode; random codes often fall where the decoder has never been trained.
# * A VAE encodes a Gaussian per image, samples it with the reparameterisation
#   trick $z = \mu + \sigma \odot \varepsilon$, and pays the closed-form KL to
#   the prior $\mathcal{N}(0, I)$; the loss is the negative ELBO.
# * The prior then becomes a generator, and the latent space becomes
#   structured: nearby codes decode to similar digits, straight lines morph
#   one digit into another, and class-mean differences act as directions.
# * The KL term switches off the latent dimensions the data cannot pay for.
