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
# # Assignment: a generative adversarial network, piece by piece
#
# A GAN trains two networks against each other. The **generator** $G$ turns
# random noise $z$ into samples; the **discriminator** $D$ looks at a sample
# and says how likely it is to be real. Goodfellow et al. (2014) wrote the
# game as
#
# $$\min_G \max_D \; V(D, G) = \mathbb{E}_{x \sim p_\text{data}}[\log D(x)]
#   + \mathbb{E}_{z \sim p_z}[\log(1 - D(G(z)))].$$
#
# You will build it in PyTorch and train it on a ring of eight Gaussians,
# the standard test for **mode collapse** (a generator that produces only
# some of the modes):
#
# 1. the generator and the discriminator networks;
# 2. the discriminator loss and the non-saturating generator loss, on logits;
# 3. one training step for each network;
# 4. a measure of mode coverage;
# 5. the alternating training loop, then mode collapse in action.
#
# Each exercise is a function or class whose docstring states the shapes and
# dtypes. Replace `raise NotImplementedError()` with your code and run the
# test cell below it. The visible tests use small fixed inputs; when you
# submit, hidden tests use fresh random sizes and inputs (and float64
# tensors), so do not hard-code sizes or dtypes.
#
# Conventions used throughout:
#
# * the discriminator returns **logits** of shape `(N,)`; $D(x) = \sigma(\text{logit})$;
# * real samples have label 1, generated samples label 0;
# * losses are **means over the batch**, returned as 0-dim tensors;
# * training uses `float32` tensors; a batch of `N` points in `d` dimensions
#   has shape `(N, d)`.

# %% nbgrader="readonly" grade_id="setup"
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import dlcourse
from dlcourse_gan.data import ring_centres, sample_ring
from dlcourse_gan.widgets import SnapshotRecorder

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # these networks are tiny: one thread avoids threading overhead

X_ring = torch.from_numpy(sample_ring(2000, seed=0))  # (2000, 2) float32
RING_CENTRES = ring_centres()  # (8, 2) float64, radius 2
print("ring:", tuple(X_ring.shape), X_ring.dtype, "| modes:", len(RING_CENTRES))

# %% [markdown]
# ## 1. The two networks (3 + 3 points)
#
# Both are small multi-layer perceptrons. Build them from `nn.Linear` layers
# **defined in the order data flows through them** (an `nn.Sequential` is the
# easiest way) and keep PyTorch's default initialisation.
#
# * `Generator(latent_dim, hidden_dim, out_dim)`:
#   `Linear(latent_dim, hidden_dim)` → ReLU → `Linear(hidden_dim, hidden_dim)` → ReLU →
#   `Linear(hidden_dim, out_dim)`. No activation at the end: the ring's points
#   lie outside $[-1, 1]$, so a tanh output could not reach them.
# * `Discriminator(in_dim, hidden_dim)`:
#   `Linear(in_dim, hidden_dim)` → LeakyReLU(0.2) → `Linear(hidden_dim, hidden_dim)` →
#   LeakyReLU(0.2) → `Linear(hidden_dim, 1)`, returning **logits of shape `(N,)`**
#   (squeeze the last dimension; no sigmoid). The leaky slope
#   (`negative_slope=0.2`, not PyTorch's default 0.01) keeps gradients flowing
#   to the generator where a ReLU would be flat.

# %% nbgrader="solution" grade_id="generator"
class Generator(nn.Module):
    """Maps noise to samples: Linear → ReLU → Linear → ReLU → Linear.

    latent_dim, hidden_dim, out_dim: ints.
    forward(z): z a float tensor (N, latent_dim); returns a tensor (N, out_dim)
    of the same dtype, with no activation after the last layer.
    """

    def __init__(self, latent_dim, hidden_dim, out_dim=2):
        super().__init__()
        ### BEGIN SOLUTION
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
            nn.Linear(hidden_dim, out_dim),
        )
        ### END SOLUTION

    def forward(self, z):
        ### BEGIN SOLUTION
        return self.net(z)
        ### END SOLUTION


# %% nbgrader="tests" grade_id="generator_tests" points=3 checks=["gan.generator"]
torch.manual_seed(0)
_G = Generator(latent_dim=3, hidden_dim=5, out_dim=2)
_shapes = [tuple(p.shape) for p in _G.parameters()]
assert _shapes == [(5, 3), (5,), (5, 5), (5,), (2, 5), (2,)], (
    f"parameter shapes {_shapes}: expected three nn.Linear layers 3 → 5 → 5 → 2, defined in that order"
)
with torch.no_grad():  # fixed weights, so that the output is known
    for _p in _G.parameters():
        _p.copy_(torch.linspace(-1.0, 1.0, _p.numel()).reshape(_p.shape))
_out = _G(torch.tensor([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]]))
assert isinstance(_out, torch.Tensor) and _out.shape == (2, 2), "the output should have shape (N, out_dim)"
assert _out.dtype == torch.float32, "a float32 input should give a float32 output"
assert torch.allclose(_out[1], torch.tensor([-1.833333, 4.611111]), atol=1e-5), (
    "with z = 0 only the biases matter — are they used?"
)
assert torch.allclose(_out, torch.tensor([[-2.75, 8.337301], [-1.833333, 4.611111]]), atol=1e-5), (
    "wrong output — Linear → ReLU → Linear → ReLU → Linear, with no activation at the end"
)
print("Generator: visible tests passed")

# %% nbgrader="solution" grade_id="discriminator"
class Discriminator(nn.Module):
    """Scores samples: Linear → LeakyReLU(0.2) → Linear → LeakyReLU(0.2) → Linear.

    in_dim, hidden_dim: ints.
    forward(x): x a float tensor (N, in_dim); returns the logits, a tensor (N,)
    of the same dtype (no sigmoid: D(x) = torch.sigmoid(logits)).
    """

    def __init__(self, in_dim, hidden_dim):
        super().__init__()
        ### BEGIN SOLUTION
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(0.2),
            nn.Linear(hidden_dim, 1),
        )
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.net(x).squeeze(-1)
        ### END SOLUTION


# %% nbgrader="tests" grade_id="discriminator_tests" points=3 checks=["gan.discriminator"]
torch.manual_seed(0)
_D = Discriminator(in_dim=2, hidden_dim=4)
_shapes = [tuple(p.shape) for p in _D.parameters()]
assert _shapes == [(4, 2), (4,), (4, 4), (4,), (1, 4), (1,)], (
    f"parameter shapes {_shapes}: expected three nn.Linear layers 2 → 4 → 4 → 1, defined in that order"
)
with torch.no_grad():
    for _p in _D.parameters():
        _p.copy_(torch.linspace(-1.0, 1.0, _p.numel()).reshape(_p.shape))
_logits = _D(torch.tensor([[1.0, -2.0], [0.5, 0.5], [-1.0, 3.0]]))
assert _logits.shape == (3,), (
    f"the logits should have shape (N,), got {tuple(_logits.shape)} — squeeze the last dimension"
)
assert not ((_logits > 0) & (_logits < 1)).all(), "these look like probabilities: return logits, without a sigmoid"
assert torch.allclose(_logits, torch.tensor([-0.018836, 2.974603, 5.78654]), atol=1e-5), (
    "wrong logits — Linear → LeakyReLU(0.2) → Linear → LeakyReLU(0.2) → Linear (negative_slope=0.2, not 0.01)"
)
print("Discriminator: visible tests passed")

# %% [markdown]
# ## 2. The losses, on logits (3 + 2 points)
#
# **Discriminator.** $D$ maximises $V$, that is, it minimises the binary
# cross-entropy of calling real samples real (label 1) and generated samples
# fake (label 0). With $\ell$ the logits, the loss is the **sum of two
# means**, one over each batch:
#
# $$L_D = -\frac{1}{N}\sum_{i=1}^{N} \log \sigma(\ell^\text{real}_i)
#         -\frac{1}{M}\sum_{j=1}^{M} \log\big(1 - \sigma(\ell^\text{fake}_j)\big).$$
#
# When $D$ cannot tell the two apart ($\sigma(\ell) = 1/2$ everywhere) this is $2 \log 2$.
#
# **Generator.** Minimising $\log(1 - D(G(z)))$, as in the game, *saturates*:
# early in training $D$ easily rejects the fakes, $\sigma(\ell) \approx 0$, and
# the gradient $\partial/\partial \ell \,\log(1 - \sigma(\ell)) = -\sigma(\ell)$
# vanishes. The **non-saturating** loss has the same fixed points but a
# gradient $-(1 - \sigma(\ell)) \approx -1$ there: the generator maximises
# $\log D(G(z))$, i.e. it minimises the cross-entropy of calling its samples real:
#
# $$L_G = -\frac{1}{M}\sum_{j=1}^{M} \log \sigma(\ell^\text{fake}_j).$$
#
# Work on the logits: `torch.log(torch.sigmoid(l))` gives `-inf` once
# `sigmoid` rounds to 0 (try `l = -200`). Use
# `F.binary_cross_entropy_with_logits` (labels from `torch.ones_like` /
# `torch.zeros_like`, so that they follow the logits' dtype) or `F.logsigmoid`.

# %% nbgrader="solution" grade_id="d_loss"
def discriminator_loss(real_logits, fake_logits):
    """Binary cross-entropy of the discriminator: real → 1, fake → 0.

    real_logits: tensor (N,), D's logits on real samples.
    fake_logits: tensor (M,), D's logits on generated samples (M may differ from N).
    Returns a 0-dim tensor: mean over the real batch + mean over the fake batch,
    differentiable with respect to both inputs.
    """
    ### BEGIN SOLUTION
    real_term = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake_term = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real_term + fake_term
    ### END SOLUTION


# %% nbgrader="tests" grade_id="d_loss_tests" points=3 checks=["gan.d_loss"]
_loss = discriminator_loss(torch.zeros(3), torch.zeros(5))
assert isinstance(_loss, torch.Tensor) and _loss.ndim == 0, "return a 0-dim tensor (no .item())"
assert abs(_loss.item() - 2 * np.log(2)) < 1e-6, "with all logits 0 (D = 1/2) the loss is log 2 + log 2 = 2 log 2"
_loss = discriminator_loss(torch.tensor([2.0, -1.0]), torch.tensor([0.5]))
assert abs(_loss.item() - 1.694172) < 1e-5, (
    "wrong loss for real logits [2, -1] and fake logits [0.5]: real → label 1, fake → label 0, "
    "and add the two means"
)
_loss = discriminator_loss(torch.tensor([-200.0]), torch.tensor([200.0]))
assert torch.isfinite(_loss) and abs(_loss.item() - 400.0) < 1e-3, (
    "a confidently wrong discriminator (logits ∓200) should get a finite loss of about 400 — work on logits"
)
_real = torch.zeros(2, requires_grad=True)
_fake = torch.zeros(4, requires_grad=True)
discriminator_loss(_real, _fake).backward()
assert _real.grad is not None and torch.allclose(_real.grad, torch.full((2,), -0.25)), (
    "d loss / d real_logits at 0 should be (sigmoid(0) - 1) / N = -0.25 — is the real term a mean?"
)
assert torch.allclose(_fake.grad, torch.full((4,), 0.125)), (
    "d loss / d fake_logits at 0 should be sigmoid(0) / M = 0.125"
)
print("discriminator_loss: visible tests passed")

# %% nbgrader="solution" grade_id="g_loss"
def generator_loss(fake_logits):
    """Non-saturating generator loss: the cross-entropy of calling fakes real.

    fake_logits: tensor (M,), D's logits on generated samples.
    Returns a 0-dim tensor, the mean of -log sigmoid(fake_logits), differentiable.
    """
    ### BEGIN SOLUTION
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    ### END SOLUTION


# %% nbgrader="tests" grade_id="g_loss_tests" points=2 checks=["gan.g_loss"]
_loss = generator_loss(torch.zeros(4))
assert isinstance(_loss, torch.Tensor) and _loss.ndim == 0, "return a 0-dim tensor (no .item())"
assert abs(_loss.item() - np.log(2)) < 1e-6, "with all logits 0 (D = 1/2) the loss is log 2"
assert abs(generator_loss(torch.tensor([2.0])).item() - 0.126928) < 1e-5, (
    "generator_loss([2]) should be -log sigmoid(2) ≈ 0.1269: the generator wants its samples called real"
)
_fake = torch.full((4,), -10.0, requires_grad=True)  # D confidently rejects every fake
generator_loss(_fake).backward()
assert torch.allclose(_fake.grad, torch.full((4,), -0.25), atol=1e-4), (
    "where D rejects the fakes the gradient should be about -1/M; a tiny gradient means the saturating loss"
)
assert torch.isfinite(generator_loss(torch.tensor([-200.0]))), (
    "the loss should be finite for logit -200 — work on logits"
)
print("generator_loss: visible tests passed")

# %% [markdown]
# ## 3. One training step for each network (4 + 3 points)
#
# Training alternates: a step of the discriminator on a real batch and a
# fake batch, then a step of the generator. Each step follows the usual
# pattern *zero the gradients → loss → `backward()` → `optimizer.step()`*.
#
# * `discriminator_step(D, d_opt, real, fake)` must not send gradients into
#   the generator that produced `fake`: use `fake.detach()`.
# * `generator_step(G, D, g_opt, z)` backpropagates through $D$ into $G$;
#   `g_opt` holds only $G$'s parameters, so $D$ does not change. ($D$'s
#   parameters do collect gradients here; that is harmless because the next
#   discriminator step starts by zeroing them.)
#
# Both return the loss computed **before** the update, as a Python float
# (`loss.item()`). `D` and `G` may be any modules with the interfaces above:
# the hidden tests also use other small networks. One hidden test trains a
# discriminator with your step against a *fixed* generator and checks that it
# approaches the optimal discriminator $D^*(x) = p_\text{data}(x) / (p_\text{data}(x) + p_g(x))$.

# %% nbgrader="solution" grade_id="d_step"
def discriminator_step(D, d_opt, real, fake):
    """One gradient step on the discriminator.

    D: module mapping (N, d) to logits (N,); d_opt: optimizer over D's parameters.
    real: tensor (N, d); fake: tensor (M, d) from the generator (may carry gradient history).
    Returns the discriminator loss before the update, a Python float.
    """
    ### BEGIN SOLUTION
    d_opt.zero_grad()
    loss = discriminator_loss(D(real), D(fake.detach()))
    loss.backward()
    d_opt.step()
    return loss.item()
    ### END SOLUTION


# %% nbgrader="tests" grade_id="d_step_tests" points=4 checks=["gan.d_step", "gan.d_optimum"]
_D = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))  # a tiny test discriminator: (N, 2) → logits (N,)
with torch.no_grad():
    _D[0].weight.copy_(torch.tensor([[0.5, -0.25]]))
    _D[0].bias.fill_(0.1)
_opt = torch.optim.SGD(_D.parameters(), lr=0.5)
_real = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
_source = torch.tensor([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], requires_grad=True)
_fake = _source * 1.0  # carries gradient history, as G(z) would
_before = discriminator_loss(_D(_real), _D(_fake)).item()
_loss = discriminator_step(_D, _opt, _real, _fake)
assert isinstance(_loss, float), "return the loss as a Python float (loss.item())"
assert abs(_loss - _before) < 1e-6, "return the loss computed before the update"
assert _source.grad is None, "gradients reached the fake batch: detach it in discriminator_step"
_w, _b = _D[0].weight.detach().ravel(), _D[0].bias.item()
assert torch.allclose(_w, torch.tensor([0.557702, -0.115643]), atol=1e-5) and abs(_b - 0.060519) < 1e-5, (
    "wrong parameters after one step — zero_grad, discriminator_loss(D(real), D(fake)), backward, d_opt.step()"
)
_loss2 = discriminator_step(_D, _opt, _real, _fake)
assert _loss2 < _loss, "a second step on the same batches should lower the loss"
assert torch.allclose(_D[0].weight.detach().ravel(), torch.tensor([0.604438, -0.000388]), atol=1e-5), (
    "wrong parameters after a second step — are gradients zeroed before each backward?"
)
print("discriminator_step: visible tests passed")

# %% nbgrader="solution" grade_id="g_step"
def generator_step(G, D, g_opt, z):
    """One gradient step on the generator with the non-saturating loss.

    G: module mapping noise (M, k) to samples (M, d); D: module mapping (M, d) to logits (M,).
    g_opt: optimizer over G's parameters only; z: tensor (M, k) of noise.
    Returns the generator loss before the update, a Python float.
    """
    ### BEGIN SOLUTION
    g_opt.zero_grad()
    loss = generator_loss(D(G(z)))
    loss.backward()
    g_opt.step()
    return loss.item()
    ### END SOLUTION


# %% nbgrader="tests" grade_id="g_step_tests" points=3 checks=["gan.g_step"]
_G = nn.Linear(1, 2)  # a tiny test generator: 1-D noise → 2-D points
with torch.no_grad():
    _G.weight.copy_(torch.tensor([[1.0], [-0.5]]))
    _G.bias.copy_(torch.tensor([0.0, 0.2]))
_D = nn.Sequential(nn.Linear(2, 1), nn.Flatten(0))  # the same tiny test discriminator
with torch.no_grad():
    _D[0].weight.copy_(torch.tensor([[0.5, -0.25]]))
    _D[0].bias.fill_(0.1)
_opt = torch.optim.SGD(_G.parameters(), lr=0.5)
_z = torch.tensor([[1.0], [-2.0], [0.5]])
_before = generator_loss(_D(_G(_z))).item()
_loss = generator_step(_G, _D, _opt, _z)
assert isinstance(_loss, float), "return the loss as a Python float (loss.item())"
assert abs(_loss - _before) < 1e-6, "return the loss computed before the update"
assert torch.allclose(_D[0].weight.detach(), torch.tensor([[0.5, -0.25]])) and abs(_D[0].bias.item() - 0.1) < 1e-7, (
    "generator_step changed the discriminator: only g_opt.step() may update parameters"
)
assert torch.allclose(_G.weight.detach().ravel(), torch.tensor([0.917125, -0.458563]), atol=1e-5), (
    "wrong generator weights after one step — zero_grad, generator_loss(D(G(z))), backward, g_opt.step()"
)
assert torch.allclose(_G.bias.detach(), torch.tensor([0.126355, 0.136823]), atol=1e-5), (
    "wrong generator bias after one step"
)
_loss2 = generator_step(_G, _D, _opt, _z)
assert _loss2 < _loss, "a second step on the same noise should lower the generator's loss"
assert torch.allclose(_G.bias.detach(), torch.tensor([0.248303, 0.075848]), atol=1e-5), (
    "wrong generator bias after a second step — are gradients zeroed before each backward?"
)
print("generator_step: visible tests passed")

# %% [markdown]
# ## 4. Measuring mode coverage (2 points)
#
# To see mode collapse we need a number for it. Given samples and the
# centres of the modes, a sample is **near** when its nearest centre is
# closer than `radius`. A mode is **covered** when at least `min_share * N`
# of the `N` samples are near it (a single stray sample does not count).
# Return the number of covered modes and the fraction of all samples that are
# near some mode. For the ring (modes 1.5 apart, standard deviation 0.05) we
# use `radius=0.25`, five standard deviations.

# %% nbgrader="solution" grade_id="mode_coverage"
def mode_coverage(samples, centres, radius, min_share=0.02):
    """Which modes a set of samples covers.

    samples: np.ndarray (N, d) float; centres: np.ndarray (K, d) float;
    radius: float > 0; min_share: float in (0, 1].
    Returns (covered, near_fraction): covered an int in [0, K], the number of
    centres that are the nearest centre of at least min_share * N samples lying
    within radius of it; near_fraction a float in [0, 1], the fraction of the
    N samples within radius of their nearest centre.
    """
    ### BEGIN SOLUTION
    samples = np.asarray(samples, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    distances = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=2)  # (N, K)
    near = distances.min(axis=1) < radius
    counts = np.bincount(distances.argmin(axis=1)[near], minlength=len(centres))
    return int(np.sum(counts >= min_share * len(samples))), float(np.mean(near))
    ### END SOLUTION


# %% nbgrader="tests" grade_id="mode_coverage_tests" points=2 checks=["gan.mode_coverage"]
_centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
_samples = np.array([[0.1, 0.0], [0.0, -0.1], [-0.05, 0.05], [4.1, 0.1], [9.0, 9.0], [0.0, 3.0]])
# three samples near centre 0, one near centre 1, one far away, one 1.0 from centre 2
_covered, _near = mode_coverage(_samples, _centres, radius=0.5, min_share=0.1)
assert isinstance(_covered, (int, np.integer)), "covered should be an int"
assert _covered == 2, f"with radius 0.5 and min_share 0.1 centres 0 and 1 are covered, got {_covered}"
assert abs(_near - 4 / 6) < 1e-12, "near_fraction should be the fraction of samples near a centre: 4 of 6 here"
_covered, _ = mode_coverage(_samples, _centres, radius=0.5, min_share=0.25)
assert _covered == 1, "with min_share 0.25 a mode needs at least 1.5 of the 6 samples: only centre 0 qualifies"
_covered, _near = mode_coverage(_samples, _centres, radius=2.0, min_share=0.1)
assert _covered == 3 and abs(_near - 5 / 6) < 1e-12, "with radius 2 the sample (0, 3) is near centre 2 as well"
print("mode_coverage: visible tests passed")

# %% [markdown]
# ## 5. The training loop (5 points)
#
# Put the pieces together. `train_gan` must, in this order:
#
# 1. convert `data` to a float32 tensor and call `torch.manual_seed(seed)`;
# 2. build `G = Generator(latent_dim, hidden_dim, d)` and `D = Discriminator(d, hidden_dim)`;
# 3. make one `torch.optim.Adam(..., lr=lr, betas=betas)` for each network
#    (the default `betas=(0.5, 0.9)`: GAN practice uses $\beta_1 = 0.5$, not
#    PyTorch's default 0.9, and you will see why);
# 4. call `callback(0, G, D)` if a callback is given;
# 5. for each of the `steps` iterations: draw a batch of `batch_size` real
#    points with `torch.randint`, generate a fake batch from fresh noise
#    `torch.randn(batch_size, latent_dim)`, take one `discriminator_step`, then
#    one `generator_step` on new noise; record both losses; after update
#    number `t` call `callback(t, G, D)` whenever `t % snapshot_every == 0`.
#
# The test cell trains on the ring with the settings below and keeps the
# snapshots for the explorer. The hidden test draws 5 000 fresh noise
# vectors, feeds them to `G_ring` and counts the modes it covers, as your
# `mode_coverage` would with `radius=0.25` and `min_share=0.02`: at least 5
# of the 8 modes are needed, with at least half of the samples near a mode.
# Training takes a few seconds.

# %% nbgrader="solution" grade_id="train_gan"
def train_gan(data, steps=1500, batch_size=512, latent_dim=2, hidden_dim=64, lr=2e-3, betas=(0.5, 0.9),
              seed=0, callback=None, snapshot_every=100):
    """Train a GAN on data by alternating one discriminator step and one generator step.

    data: tensor or np.ndarray (N, d), converted to float32.
    steps, batch_size, latent_dim, hidden_dim, snapshot_every: ints; lr: float;
    betas: Adam's (beta1, beta2); seed: int for torch.manual_seed;
    callback: None or a function callback(step, G, D), called at step 0 and
    after every snapshot_every updates.
    Returns (G, D, history): the trained Generator(latent_dim, hidden_dim, d) and
    Discriminator(d, hidden_dim), and history, a dict whose "d_loss" and "g_loss"
    are lists of `steps` floats.
    """
    ### BEGIN SOLUTION
    data = torch.as_tensor(data, dtype=torch.float32)
    torch.manual_seed(seed)
    G = Generator(latent_dim, hidden_dim, data.shape[1])
    D = Discriminator(data.shape[1], hidden_dim)
    g_opt = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    d_opt = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    history = {"d_loss": [], "g_loss": []}
    if callback is not None:
        callback(0, G, D)
    for step in range(1, steps + 1):
        real = data[torch.randint(0, len(data), (batch_size,))]
        fake = G(torch.randn(batch_size, latent_dim))
        history["d_loss"].append(discriminator_step(D, d_opt, real, fake))
        history["g_loss"].append(generator_step(G, D, g_opt, torch.randn(batch_size, latent_dim)))
        if callback is not None and step % snapshot_every == 0:
            callback(step, G, D)
    return G, D, history
    ### END SOLUTION


# %% nbgrader="tests" grade_id="train_gan_tests" points=5 checks=["gan.ring"]
recorder = SnapshotRecorder(X_ring)  # keeps snapshots for the explorer below
G_ring, D_ring, history_ring = train_gan(X_ring, steps=1500, batch_size=512, latent_dim=2, hidden_dim=64,
                                         lr=2e-3, betas=(0.5, 0.9), seed=0, callback=recorder,
                                         snapshot_every=100)
assert isinstance(G_ring, nn.Module) and isinstance(D_ring, nn.Module), "train_gan should return (G, D, history)"
assert len(history_ring["d_loss"]) == 1500 and len(history_ring["g_loss"]) == 1500, (
    "history['d_loss'] and history['g_loss'] should hold one float per step"
)
assert recorder.steps == list(range(0, 1501, 100)), (
    f"callback(step, G, D) should be called at steps 0, 100, ..., 1500; it was called {len(recorder)} times"
)
with torch.no_grad():
    _samples = G_ring(torch.randn(2000, 2))
assert _samples.shape == (2000, 2) and torch.isfinite(_samples).all(), "G_ring should give finite (N, 2) samples"
_radius = _samples.norm(dim=1).median().item()
assert 1.8 < _radius < 2.2, (
    f"the median distance of the generated samples from the origin is {_radius:.2f}, the ring's radius is 2: "
    "is the generator trained?"
)
_covered, _near = mode_coverage(_samples.numpy(), RING_CENTRES, radius=0.25, min_share=0.02)
print(f"train_gan: visible tests passed; {_covered} of 8 modes covered, {_near:.0%} of the samples near a mode")

# %% [markdown]
# ## Explore
#
# The explorer replays the training run above: move the slider through the
# snapshots to watch the generated points (orange) find the modes, while
# the discriminator's $D(x)$ (red: "real", blue: "fake") reshapes itself
# around them. At the end $D$ is close to $1/2$ on the data: it can no longer
# tell real from generated there. Choosing another seed trains again with
# your `train_gan` (a few seconds). It is not graded.

# %% nbgrader="readonly" grade_id="explore" skip_grading=true
from dlcourse_gan.widgets import gan_training_explorer

try:
    explorer = gan_training_explorer(train_gan, X_ring, frames=globals().get("recorder"))
except Exception as error:  # noqa: BLE001 - the widget is optional
    explorer = None
    print("The explorer could not start:", type(error).__name__, error)
explorer

# %% [markdown]
# ## Mode collapse
#
# A generator **collapses** when it maps most of the noise to one or a few
# modes: each sample looks real, but the variety of the data is lost. Why
# would it? For a *fixed* discriminator the generator's best answer is to
# put all its samples where $D$ is highest: a single point. Only because
# $D$ keeps adapting (it learns to reject whatever the generator
# over-produces) does spreading out pay off. When the two players are out of
# balance the generator chases $D$'s current weak spot from mode to mode
# instead.
#
# One small change is enough to see this: train again with PyTorch's default
# Adam momentum, $\beta_1 = 0.9$, instead of 0.5. Momentum keeps pushing each
# player in the direction that paid off a while ago, after the other player
# has already moved; the two start to circle each other. The cell below
# trains for 400 steps and compares the first 400 steps of both runs with
# your `mode_coverage`. It is not graded.

# %% nbgrader="readonly" grade_id="mode_collapse" skip_grading=true
import matplotlib.pyplot as plt  # noqa: E402

try:
    collapsed = SnapshotRecorder(X_ring)
    train_gan(X_ring, steps=400, betas=(0.9, 0.9), seed=0, callback=collapsed, snapshot_every=100)
    runs = {"betas (0.5, 0.9)": recorder.frames(), "betas (0.9, 0.9)": collapsed.frames()}
    fig, axes = plt.subplots(2, 4, figsize=(11, 5.8), sharex=True, sharey=True)
    for row, (name, frames) in zip(axes, runs.items()):
        for ax, step in zip(row, (100, 200, 300, 400)):
            index = int(np.flatnonzero(frames["steps"] == step)[0])
            covered, near = mode_coverage(frames["samples"][index], RING_CENTRES, radius=0.25)
            ax.scatter(*X_ring.numpy().T, s=2, c="black")
            ax.scatter(*frames["samples"][index].T, s=3, c="#e6550d", alpha=0.6)
            ax.set_title(f"{name}, step {step}\n{covered} modes covered, {near:.0%} near", fontsize=8)
    fig.tight_layout()
    plt.show()
except (NameError, IndexError, NotImplementedError) as error:
    print("Finish train_gan and mode_coverage (and run their test cells) to run this experiment:",
          type(error).__name__, error)

# %% [markdown]
# With $\beta_1 = 0.9$ the generated points gather in one narrow clump or
# streak that jumps from place to place between snapshots, covering at most
# a mode at a time: the generator has collapsed, and it chases the
# discriminator's current weak spot instead of spreading out. In practice
# the symptoms are a discriminator loss that oscillates instead of settling
# and a grid of samples that are near-copies of each other. Remedies act on the balance of the game or reward
# variety directly: a smaller learning rate or momentum (as here), more
# discriminator updates, minibatch discrimination (Salimans et al., 2016),
# unrolled discriminators (Metz et al., 2017), or losses with better
# gradients far from the data such as the Wasserstein GAN with gradient
# penalty (Gulrajani et al., 2017). The lesson shows a second cause: a
# discriminator too weak to notice the missing modes.
