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
# # Assignment: a variational autoencoder for 8×8 digits
#
# You will build a variational autoencoder (VAE) in PyTorch, piece by piece,
# and train it on scikit-learn's handwritten digits:
#
# 1. an encoder that maps an image to a Gaussian over latent codes;
# 2. the reparameterisation trick, so gradients flow through a random sample;
# 3. the closed-form KL divergence between that Gaussian and the prior;
# 4. the VAE loss, the negative evidence lower bound (ELBO);
# 5. training the model;
# 6. generating new digits from the prior;
# 7. walking between two digits in latent space;
# 8. latent arithmetic with class means.
#
# Each exercise is a function or a small class whose docstring states the
# shapes and dtypes it works with. Replace `raise NotImplementedError()` with
# your code, then run the test cell below it. The visible tests use small
# fixed inputs; when you submit, hidden tests call your code on fresh random
# inputs and shapes (so do not hard-code sizes), and they measure your trained
# model on digits that this notebook never loads.
#
# **Conventions used throughout**
#
# * An image is a row of 64 pixel intensities in $[0, 1]$ (an 8×8 image in
#   row-major order); a batch of $N$ images is a float32 tensor `x` of shape
#   `(N, 64)`.
# * The encoder describes $q(z \mid x) = \mathcal{N}\big(\mu, \operatorname{diag}(\sigma^2)\big)$
#   by two tensors of shape `(N, latent_dim)`: `mu` $= \mu$ and
#   `logvar` $= \log \sigma^2$ (the log-**variance**, not the log standard
#   deviation). The prior is $p(z) = \mathcal{N}(0, I)$.
# * The decoder returns **logits** of shape `(N, 64)`. Each pixel is modelled
#   as a Bernoulli variable with mean $\operatorname{sigmoid}(\text{logit})$, so
#   the reconstruction loss is the binary cross-entropy, with the pixel
#   intensities as (soft) targets.
# * Losses **sum over pixels and over latent dimensions, and average over the
#   batch**: their unit is nats per image.

# %% nbgrader="readonly" grade_id="setup"
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import dlcourse
from dlcourse_vae.data import load_digits_split

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # the networks are tiny: one thread avoids threading overhead

X_train, y_train = load_digits_split("train")
print("training digits:", X_train.shape, X_train.dtype, "| pixel range", X_train.min(), "to", X_train.max())


def show_digits(images, title="", columns=10):
    """Draw rows of 64 pixels (array or tensor, shape (n, 64)) as 8x8 images."""
    images = np.asarray(torch.as_tensor(images).detach().cpu(), dtype=np.float64).reshape(-1, 8, 8)
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.8, rows * 0.8 + 0.3), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image in zip(axes.ravel(), images):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
    fig.suptitle(title)
    plt.show()
    plt.close(fig)


show_digits(X_train[:20], "a few training digits")

# %% [markdown]
# ## 1. The encoder (3 points)
#
# A plain autoencoder maps an image to one point $z$. A VAE's encoder maps it
# to a whole Gaussian, described by its mean and its log-variance. Predicting
# $\log \sigma^2$ rather than $\sigma$ keeps the output unconstrained: any real
# number is a valid log-variance, while $\sigma$ would have to stay positive.
#
# Write `Encoder` as an `nn.Module` with exactly these three layers (the
# hidden tests load weights into them by name):
#
# * `self.hidden = nn.Linear(in_dim, hidden_dim)`, followed by a ReLU;
# * two heads that both read the ReLU output:
#   `self.mu = nn.Linear(hidden_dim, latent_dim)` and
#   `self.logvar = nn.Linear(hidden_dim, latent_dim)`, with no activation
#   after them (a log-variance may be negative).
#
# `forward(x)` returns the pair `(mu, logvar)`.

# %% nbgrader="solution" grade_id="encoder"
class Encoder(nn.Module):
    """Encoder of a VAE: x -> (mu, logvar) of a diagonal Gaussian over latent codes.

    Encoder(in_dim, hidden_dim, latent_dim) has three nn.Linear layers named
    hidden (in_dim -> hidden_dim, then ReLU), mu and logvar (hidden_dim -> latent_dim each).
    forward(x): x a float tensor (N, in_dim).
    Returns (mu, logvar): two tensors (N, latent_dim) with the dtype of x.
    """

    def __init__(self, in_dim=64, hidden_dim=128, latent_dim=2):
        super().__init__()
        ### BEGIN SOLUTION
        self.hidden = nn.Linear(in_dim, hidden_dim)
        self.mu = nn.Linear(hidden_dim, latent_dim)
        self.logvar = nn.Linear(hidden_dim, latent_dim)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        h = F.relu(self.hidden(x))
        return self.mu(h), self.logvar(h)
        ### END SOLUTION


# %% nbgrader="tests" grade_id="encoder_tests" points=3 checks=["vae.encoder"]
_enc = Encoder(2, 2, 1)
assert isinstance(_enc, nn.Module), "Encoder should subclass nn.Module"
_names = {name for name, _ in _enc.named_parameters()}
assert _names == {"hidden.weight", "hidden.bias", "mu.weight", "mu.bias", "logvar.weight", "logvar.bias"}, (
    f"Encoder's parameters are {sorted(_names)}: use exactly three nn.Linear layers named hidden, mu and logvar"
)
with torch.no_grad():
    _enc.hidden.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0]]))
    _enc.hidden.bias.zero_()
    _enc.mu.weight.copy_(torch.tensor([[1.0, 1.0]]))
    _enc.mu.bias.zero_()
    _enc.logvar.weight.copy_(torch.tensor([[1.0, -1.0]]))
    _enc.logvar.bias.fill_(-1.0)
    _out = _enc(torch.tensor([[1.0, 2.0], [-1.0, -2.0]]))
assert isinstance(_out, tuple) and len(_out) == 2, "forward should return a pair (mu, logvar)"
_mu, _logvar = _out
assert _mu.shape == (2, 1) and _logvar.shape == (2, 1), "mu and logvar should both have shape (N, latent_dim)"
assert torch.allclose(_mu, torch.tensor([[1.0], [2.0]])), "wrong mu — is a ReLU applied to the hidden layer, and mu read from it?"
assert torch.allclose(_logvar, torch.tensor([[0.0], [-3.0]])), (
    "wrong logvar — it is the raw output of the logvar head on the ReLU features (no exp, no activation)"
)
_mu, _logvar = Encoder(64, 16, 3)(torch.as_tensor(X_train[:5]))
assert _mu.shape == (5, 3) and _logvar.shape == (5, 3), "Encoder(64, 16, 3) should give (5, 3) outputs for 5 digits"
print("Encoder: visible tests passed")

# %% [markdown]
# ## 2. The reparameterisation trick (4 points)
#
# Training needs a sample $z \sim q(z \mid x)$, but a sampler such as
# `torch.normal(mu, std)` gives zero gradients with respect to `mu` and `std`.
# The trick moves the randomness into a separate input:
#
# $$\varepsilon \sim \mathcal{N}(0, I), \qquad z = \mu + \sigma \odot \varepsilon, \qquad \sigma = \exp\big(\tfrac12 \log \sigma^2\big).$$
#
# Now $z$ is a differentiable function of `mu` and `logvar`
# ($\partial z / \partial \mu = 1$ and $\partial z / \partial \log\sigma^2 = \tfrac12 \sigma \varepsilon$),
# and it still has the right distribution. Draw a fresh, independent
# $\varepsilon$ for every entry at every call (`torch.randn_like` does this),
# and do not detach anything.

# %% nbgrader="solution" grade_id="reparameterize"
def reparameterize(mu, logvar):
    """Draw z ~ N(mu, diag(exp(logvar))) so that autograd reaches mu and logvar.

    mu, logvar: float tensors of the same shape (N, latent_dim).
    Returns z: a tensor of that shape and dtype, z = mu + exp(0.5 * logvar) * eps
    with eps ~ N(0, I) drawn afresh at every call.
    """
    ### BEGIN SOLUTION
    std = torch.exp(0.5 * logvar)
    return mu + std * torch.randn_like(std)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="reparameterize_tests" points=4 checks=["vae.reparameterize"]
_mu = torch.tensor([[0.0, 1.0, -2.0]], requires_grad=True)
_logvar = torch.tensor([[-40.0, -40.0, -40.0]], requires_grad=True)
_z = reparameterize(_mu, _logvar)
assert _z.shape == (1, 3), "z should have the shape of mu"
assert torch.allclose(_z, _mu, atol=1e-6), "with a tiny variance (logvar = -40) z should equal mu"
_mu = torch.zeros(4, 2, requires_grad=True)
_logvar = torch.zeros(4, 2, requires_grad=True)
_z = reparameterize(_mu, _logvar)
assert _z.requires_grad, "z is cut off from autograd — no .detach(), torch.no_grad() or NumPy inside"
_z.sum().backward()
assert _mu.grad is not None and torch.allclose(_mu.grad, torch.ones(4, 2)), (
    "dz/dmu should be 1 — write z = mu + std * eps (torch.normal does not pass gradients)"
)
assert _logvar.grad is not None and torch.allclose(_logvar.grad, 0.5 * _z.detach()), (
    "dz/dlogvar should be 0.5 * std * eps — is std = exp(0.5 * logvar)?"
)
_draws = reparameterize(torch.ones(20000, 1), torch.full((20000, 1), float(np.log(4.0))))
assert abs(_draws.mean().item() - 1.0) < 0.07, "the samples' mean should be mu (here 1)"
assert abs(_draws.std().item() - 2.0) < 0.07, "the samples' standard deviation should be exp(0.5 * logvar) (here 2)"
assert not torch.equal(reparameterize(torch.zeros(3, 2), torch.zeros(3, 2)),
                       reparameterize(torch.zeros(3, 2), torch.zeros(3, 2))), "each call should draw new noise"
print("reparameterize: visible tests passed")

# %% [markdown]
# ### The model
#
# The decoder mirrors the encoder and returns pixel logits; `VAE` puts the
# parts together with your `reparameterize`. This cell is given (read it, do
# not change it): `model(x)` returns `(logits, mu, logvar)`.

# %% nbgrader="readonly" grade_id="model"
class Decoder(nn.Module):
    """Decoder of a VAE: codes z (N, latent_dim) -> pixel logits (N, out_dim)."""

    def __init__(self, latent_dim=2, hidden_dim=128, out_dim=64):
        super().__init__()
        self.hidden = nn.Linear(latent_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, out_dim)

    def forward(self, z):
        return self.out(F.relu(self.hidden(z)))


class VAE(nn.Module):
    """Encoder, reparameterised sample and decoder: x (N, in_dim) -> (logits, mu, logvar)."""

    def __init__(self, in_dim=64, hidden_dim=128, latent_dim=2):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = Encoder(in_dim, hidden_dim, latent_dim)
        self.decoder = Decoder(latent_dim, hidden_dim, in_dim)

    def forward(self, x):
        mu, logvar = self.encoder(x)
        z = reparameterize(mu, logvar)
        return self.decoder(z), mu, logvar


# %% [markdown]
# ## 3. The KL divergence to the prior (4 points)
#
# The KL term keeps every $q(z \mid x)$ close to the prior, so that the codes
# fill a region we can later sample from. For one example with diagonal
# covariance it has a closed form, summed over the latent dimensions $j$:
#
# $$\mathrm{KL}\big(\mathcal{N}(\mu, \sigma^2) \,\|\, \mathcal{N}(0, I)\big)
#   = \frac12 \sum_j \big(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\big).$$
#
# Return the **mean over the batch** of this per-example sum, as a 0-d tensor
# built with torch operations (no `.item()` and no NumPy: the loss must stay
# differentiable). Write it out yourself; the hidden tests compare it with
# `torch.distributions.kl_divergence`.

# %% nbgrader="solution" grade_id="gaussian_kl"
def gaussian_kl(mu, logvar):
    """KL(N(mu, diag(exp(logvar))) || N(0, I)), summed over latent dims, averaged over the batch.

    mu, logvar: float tensors (N, latent_dim).
    Returns a 0-d tensor (a scalar) with the dtype of mu, differentiable.
    """
    ### BEGIN SOLUTION
    per_example = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)
    return per_example.mean()
    ### END SOLUTION


# %% nbgrader="tests" grade_id="gaussian_kl_tests" points=4 checks=["vae.kl"]
_kl = gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4))
assert torch.is_tensor(_kl) and _kl.dim() == 0, "return a 0-d tensor: sum over latent dims, then mean over the batch"
assert abs(_kl.item()) < 1e-7, "the KL of the prior to itself should be 0 — check the -1 and the signs"
assert abs(gaussian_kl(torch.tensor([[2.0]]), torch.tensor([[0.0]])).item() - 2.0) < 1e-6, (
    "KL(N(2, 1) || N(0, 1)) should be 2 = 0.5 * mu**2"
)
assert abs(gaussian_kl(torch.tensor([[0.0]]), torch.tensor([[2.0]])).item() - 2.194528) < 1e-5, (
    "KL(N(0, e**2) || N(0, 1)) should be 2.194528 — logvar is log(sigma**2), so sigma**2 = exp(logvar)"
)
assert abs(gaussian_kl(torch.tensor([[2.0, 2.0]]), torch.zeros(1, 2)).item() - 4.0) < 1e-6, (
    "sum over the latent dimensions, do not average them"
)
assert abs(gaussian_kl(torch.tensor([[2.0], [0.0]]), torch.zeros(2, 1)).item() - 1.0) < 1e-6, (
    "average over the batch, do not sum it"
)
_mu = torch.tensor([[1.0, -1.0]], requires_grad=True)
gaussian_kl(_mu, torch.zeros(1, 2)).backward()
assert _mu.grad is not None and torch.allclose(_mu.grad, torch.tensor([[1.0, -1.0]])), "the KL should be differentiable (use torch ops)"
print("gaussian_kl: visible tests passed")

# %% [markdown]
# ## 4. The VAE loss: the negative ELBO (3 points)
#
# The evidence lower bound for one image is
# $\mathrm{ELBO}(x) = \mathbb{E}_{q(z \mid x)}[\log p(x \mid z)] - \mathrm{KL}(q(z \mid x) \,\|\, p(z))$.
# We estimate the expectation with the one reparameterised sample the model
# decoded, and **minimise the negative ELBO**:
#
# $$\text{loss} = \frac1N \sum_{n} \Big[\sum_{i=1}^{64} \mathrm{BCE}(\text{logit}_{n,i}, x_{n,i})\Big]
#   + \beta \cdot \text{gaussian\_kl}(\mu, \log\sigma^2),$$
#
# where $\mathrm{BCE}(\ell, x) = -x \log \operatorname{sigmoid}(\ell) - (1 - x) \log\big(1 - \operatorname{sigmoid}(\ell)\big)$.
# Work on the logits with `F.binary_cross_entropy_with_logits` (stable for
# any logit; choose its `reduction` with care), and reuse your `gaussian_kl`.
# With $\beta = 1$ this is the negative ELBO; other values of $\beta$ trade
# reconstruction for a more regular latent space ($\beta$-VAE).

# %% nbgrader="solution" grade_id="vae_loss"
def vae_loss(x, logits, mu, logvar, beta=1.0):
    """Negative ELBO per image: BCE summed over pixels, mean over the batch, plus beta * KL.

    x: float tensor (N, D) of pixel intensities in [0, 1]; logits: tensor (N, D) from the decoder;
    mu, logvar: tensors (N, latent_dim) from the encoder; beta: float weight of the KL term.
    Returns a 0-d tensor (nats per image), differentiable.
    """
    ### BEGIN SOLUTION
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    return reconstruction + beta * gaussian_kl(mu, logvar)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="vae_loss_tests" points=3 checks=["vae.elbo"]
_x = torch.tensor([[0.0, 1.0, 0.5, 1.0]])
_loss = vae_loss(_x, torch.zeros(1, 4), torch.zeros(1, 2), torch.zeros(1, 2))
assert torch.is_tensor(_loss) and _loss.dim() == 0, "vae_loss should return a 0-d tensor"
assert abs(_loss.item() - 4 * np.log(2)) < 1e-6, (
    "with logits 0 every pixel costs log(2), so the loss is 4 log(2) — sum the BCE over pixels, do not average it"
)
_loss = vae_loss(_x.repeat(3, 1), torch.zeros(3, 4), torch.zeros(3, 2), torch.zeros(3, 2))
assert abs(_loss.item() - 4 * np.log(2)) < 1e-6, "average over the batch (three identical images cost as much as one)"
_loss = vae_loss(_x, torch.zeros(1, 4), torch.tensor([[2.0, 0.0]]), torch.zeros(1, 2))
assert abs(_loss.item() - (4 * np.log(2) + 2.0)) < 1e-6, "add the KL term (here 2)"
_loss = vae_loss(_x, torch.zeros(1, 4), torch.tensor([[2.0, 0.0]]), torch.zeros(1, 2), beta=0.5)
assert abs(_loss.item() - (4 * np.log(2) + 1.0)) < 1e-6, "multiply the KL term by beta"
_loss = vae_loss(torch.tensor([[1.0, 0.0]], dtype=torch.float64), torch.tensor([[-300.0, 300.0]], dtype=torch.float64),
                 torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1, 1, dtype=torch.float64))
assert abs(_loss.item() - 600.0) < 1e-6, "confidently wrong logits of ±300 should cost 300 each — work on the logits"
print("vae_loss: visible tests passed")

# %% [markdown]
# ## 5. Training (5 points)
#
# Write `train_vae`: seed torch with `torch.manual_seed(seed)`, build a
# `VAE(64, hidden_dim, latent_dim)`, and train it with
# `torch.optim.Adam(model.parameters(), lr=lr)` on shuffled minibatches (a new
# order every epoch, e.g. from `torch.randperm`): for each batch compute
# `model(batch)`, your `vae_loss`, then `zero_grad`, `backward` and `step`.
# Record the mean training loss of every epoch (the batch losses weighted by
# their batch sizes).
#
# The test cell trains the model you will use for the rest of the
# assignment (`latent_dim=2`, 30 epochs: a few seconds on a CPU). The hidden
# test measures the negative ELBO of this `vae` on 297 held-out digits, which
# it draws from the same distribution but which this notebook never loads:
# it must be **at most 26.0 nats per image** (a model that ignores its input
# and always draws the average digit scores about 27). It also checks that
# digits of the same class get nearby codes.

# %% nbgrader="solution" grade_id="train_vae"
def train_vae(X, latent_dim=2, hidden_dim=128, epochs=30, batch_size=64, lr=3e-3, beta=1.0, seed=0):
    """Train a VAE with Adam on shuffled minibatches of X.

    X: np.ndarray or tensor (N, 64), float32 pixel intensities in [0, 1].
    latent_dim, hidden_dim, epochs, batch_size: ints; lr, beta: floats; seed: int.
    Returns (model, history): model the trained VAE (float32, on the CPU); history a list of
    `epochs` floats, the mean training loss (negative ELBO, nats per image) of each epoch.
    """
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    X = torch.as_tensor(X, dtype=torch.float32)
    model = VAE(X.shape[1], hidden_dim, latent_dim)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        order = torch.randperm(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            batch = X[order[start:start + batch_size]]
            logits, mu, logvar = model(batch)
            loss = vae_loss(batch, logits, mu, logvar, beta=beta)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        history.append(total / len(X))
    return model, history
    ### END SOLUTION


# %% nbgrader="tests" grade_id="train_vae_tests" points=5 checks=["vae.train"]
vae, history = train_vae(X_train, latent_dim=2, epochs=30, seed=0)
assert isinstance(vae, VAE) and vae.latent_dim == 2, "train_vae should return (model, history) with a VAE of latent_dim 2"
assert len(history) == 30, "history should hold one mean loss per epoch"
assert np.all(np.isfinite(history)), "the loss became NaN or inf — is std = exp(0.5 * logvar)?"
assert history[-1] < history[0] - 5, "the loss barely decreased — does the optimiser step on every batch?"
assert history[-1] < 26.0, (
    f"final training loss {history[-1]:.1f} nats per image is too high: aim below 26 (check vae_loss and the learning rate)"
)
print(f"train_vae: visible tests passed; loss {history[0]:.1f} -> {history[-1]:.1f} nats per image")

# %% [markdown]
# Reconstructions (top: training digits, bottom: the decoder's probabilities
# at the mean code $\mu$) and the codes of all training digits, coloured by
# their class. The model never saw a label, yet classes form regions.

# %%
try:
    with torch.no_grad():
        _mu_train, _ = vae.encoder(torch.as_tensor(X_train))
        _recon = torch.sigmoid(vae.decoder(_mu_train[:10]))
    show_digits(np.vstack([X_train[:10], _recon.numpy()]), "digits and their reconstructions")
    fig, ax = plt.subplots(figsize=(5, 4.5))
    _points = ax.scatter(_mu_train[:, 0], _mu_train[:, 1], c=y_train, cmap="tab10", s=6)
    fig.colorbar(_points, ax=ax, label="digit")
    ax.set_xlabel("$\\mu_1$")
    ax.set_ylabel("$\\mu_2$")
    ax.set_title("codes of the training digits")
    plt.show()
except (NameError, NotImplementedError) as error:
    print("Finish exercises 1-5 first:", type(error).__name__, error)

# %% [markdown]
# ## 6. Generating digits (3 points)
#
# A VAE is a generative model: draw $z$ from the prior $\mathcal{N}(0, I)$
# and decode it. Write `decode`, which turns codes into pixel probabilities
# (the sigmoid of the decoder's logits, with no gradient tracking), and
# `sample`, which draws `n` codes of size `latent_dim` from the prior (float32,
# `torch.randn`) and decodes them with `decode`.

# %% nbgrader="solution" grade_id="sample"
def decode(decoder, z):
    """Pixel probabilities for latent codes.

    decoder: a module mapping codes (N, latent_dim) to logits (N, D); z: float32 tensor (N, latent_dim).
    Returns a float32 tensor (N, D) with values in (0, 1): sigmoid of the logits, computed without gradients.
    """
    ### BEGIN SOLUTION
    with torch.no_grad():
        return torch.sigmoid(decoder(z))
    ### END SOLUTION


def sample(decoder, n, latent_dim):
    """n new images: codes z ~ N(0, I) of shape (n, latent_dim), float32, decoded with decode.

    Returns a float32 tensor (n, D) of pixel probabilities.
    """
    ### BEGIN SOLUTION
    return decode(decoder, torch.randn(n, latent_dim))
    ### END SOLUTION


# %% nbgrader="tests" grade_id="sample_tests" points=3 checks=["vae.sample"]
_decoder = nn.Linear(2, 4)
with torch.no_grad():
    _decoder.weight.zero_()
    _decoder.bias.copy_(torch.tensor([0.0, 100.0, -100.0, np.log(3.0)]))
_p = decode(_decoder, torch.zeros(1, 2))
assert _p.shape == (1, 4), "decode should return (N, D) probabilities"
assert torch.allclose(_p, torch.tensor([[0.5, 1.0, 0.0, 0.75]]), atol=1e-6), "decode should return sigmoid(decoder(z))"
_s = sample(_decoder, 5, 2)
assert _s.shape == (5, 4) and bool(((_s >= 0) & (_s <= 1)).all()), "sample(decoder, n, latent_dim) should return (n, D) probabilities"
_identity = nn.Linear(1, 1)
with torch.no_grad():
    _identity.weight.fill_(1.0)
    _identity.bias.zero_()
_z = torch.logit(sample(_identity, 20000, 1).double())  # undo the sigmoid: these are the codes
assert abs(_z.mean().item()) < 0.05 and abs(_z.std().item() - 1.0) < 0.05, (
    "the codes should come from the prior N(0, I): torch.randn, not torch.rand"
)
print("decode and sample: visible tests passed")

# %% [markdown]
# Digits drawn from your model's prior:

# %%
try:
    show_digits(sample(vae.decoder, 30, vae.latent_dim), "samples from the prior")
except (NameError, NotImplementedError) as error:
    print("Finish exercises 5 and 6 first:", type(error).__name__, error)

# %% [markdown]
# ## 7. Interpolation (2 points)
#
# Because the KL term packs the codes around the origin without big gaps, a
# straight line between two codes decodes to a smooth morph between two
# digits. Write `interpolate(z_a, z_b, steps)`: `steps` evenly spaced points
# from `z_a` to `z_b`, **both ends included**, one per row:
# row $k$ is $z_a + t_k (z_b - z_a)$ with $t_k = k / (\text{steps} - 1)$.

# %% nbgrader="solution" grade_id="interpolate"
def interpolate(z_a, z_b, steps):
    """Evenly spaced codes on the segment from z_a to z_b.

    z_a, z_b: float tensors (latent_dim,); steps: int >= 2.
    Returns a tensor (steps, latent_dim) with the dtype of z_a; row 0 is z_a, the last row is z_b.
    """
    ### BEGIN SOLUTION
    t = torch.linspace(0.0, 1.0, steps, dtype=z_a.dtype).unsqueeze(1)
    return z_a + t * (z_b - z_a)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="interpolate_tests" points=2 checks=["vae.interpolate"]
_path = interpolate(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 2.0]), 3)
assert _path.shape == (3, 2), "interpolate should return (steps, latent_dim)"
assert torch.allclose(_path, torch.tensor([[0.0, 0.0], [0.5, 1.0], [1.0, 2.0]])), (
    "the path should start at z_a, end at z_b and be evenly spaced"
)
_path = interpolate(torch.tensor([1.0]), torch.tensor([-1.0]), 5)
assert torch.allclose(_path.ravel(), torch.tensor([1.0, 0.5, 0.0, -0.5, -1.0])), "wrong path for 5 steps from 1 to -1"
print("interpolate: visible tests passed")

# %% [markdown]
# From a "0" to a "6", through the decoder:

# %%
try:
    with torch.no_grad():
        _ends, _ = vae.encoder(torch.as_tensor(X_train[[int(np.argmax(y_train == 0)), int(np.argmax(y_train == 6))]]))
    show_digits(decode(vae.decoder, interpolate(_ends[0], _ends[1], 10)), "interpolation in latent space")
except (NameError, NotImplementedError) as error:
    print("Finish exercises 5-7 first:", type(error).__name__, error)

# %% [markdown]
# ## 8. Latent arithmetic (3 points)
#
# Directions in latent space carry meaning. The mean code of a class is a
# prototype, and the difference of two class means is a direction that turns
# one class into the other. Write
#
# * `class_means(mu, labels, num_classes)`: row $c$ is the mean of the rows of
#   `mu` whose label is $c$ (every class appears at least once);
# * `latent_shift(z, means, source, target, alpha)`: move every code by
#   `alpha` times the direction from the `source` class mean to the `target`
#   class mean, $z + \alpha\,(\bar\mu_{\text{target}} - \bar\mu_{\text{source}})$.

# %% nbgrader="solution" grade_id="latent_arithmetic"
def class_means(mu, labels, num_classes=10):
    """Mean code of each class.

    mu: float tensor (N, latent_dim); labels: int64 tensor (N,) with values in 0..num_classes-1.
    Returns a tensor (num_classes, latent_dim) with the dtype of mu.
    """
    ### BEGIN SOLUTION
    return torch.stack([mu[labels == c].mean(dim=0) for c in range(num_classes)])
    ### END SOLUTION


def latent_shift(z, means, source, target, alpha=1.0):
    """Move codes along the direction from one class mean to another.

    z: float tensor (M, latent_dim); means: tensor (C, latent_dim) from class_means;
    source, target: int class indices; alpha: float step (1.0 moves by the full difference).
    Returns a tensor (M, latent_dim): z + alpha * (means[target] - means[source]).
    """
    ### BEGIN SOLUTION
    return z + alpha * (means[target] - means[source])
    ### END SOLUTION


# %% nbgrader="tests" grade_id="latent_arithmetic_tests" points=3 checks=["vae.arithmetic"]
_mu = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [0.0, 4.0]])
_means = class_means(_mu, torch.tensor([0, 0, 1, 1]), num_classes=2)
assert _means.shape == (2, 2), "class_means should return (num_classes, latent_dim)"
assert torch.allclose(_means, torch.tensor([[1.0, 0.0], [0.0, 3.0]])), "row c should be the mean of the codes labelled c"
_shifted = latent_shift(torch.tensor([[1.0, 1.0]]), _means, source=0, target=1)
assert torch.allclose(_shifted, torch.tensor([[0.0, 4.0]])), "latent_shift should add means[target] - means[source]"
_shifted = latent_shift(torch.tensor([[1.0, 1.0]]), _means, source=0, target=1, alpha=0.5)
assert torch.allclose(_shifted, torch.tensor([[0.5, 2.5]])), "alpha should scale the step"
print("class_means and latent_shift: visible tests passed")

# %% [markdown]
# Ten "1"s pushed towards the "7"s, half way and all the way:

# %%
try:
    with torch.no_grad():
        _codes, _ = vae.encoder(torch.as_tensor(X_train))
    _means = class_means(_codes, torch.as_tensor(y_train), num_classes=10)
    _ones = _codes[torch.as_tensor(y_train) == 1][:10]
    _rows = [decode(vae.decoder, latent_shift(_ones, _means, 1, 7, alpha)) for alpha in (0.0, 0.5, 1.0)]
    show_digits(torch.cat(_rows), "1 → 7 by latent arithmetic (alpha = 0, 0.5, 1)")
except (NameError, NotImplementedError) as error:
    print("Finish exercises 5-8 first:", type(error).__name__, error)

# %% [markdown]
# ## Explore
#
# The widget below decodes with *your* `decode` and your trained `vae`. Move
# the latent sliders to decode one code live; the grid on the right decodes a
# whole patch of the latent plane (the red cross marks your sliders). Where do
# the classes sit? What do codes far outside the prior (|z| > 3) look like?
# It is not graded.

# %% nbgrader="readonly" grade_id="explore" skip_grading=true
from dlcourse_vae.widgets import latent_explorer


def decode_with_your_model(z):
    return decode(vae.decoder, z)


try:
    explorer = latent_explorer(decode_with_your_model, latent_dim=2)
except Exception as error:  # noqa: BLE001 - the widget is optional
    explorer = None
    print("The explorer could not start:", type(error).__name__, error)
explorer
