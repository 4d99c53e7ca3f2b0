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
# # Lesson: autoencoders, and finding anomalies with them
#
# An autoencoder is a network trained to reproduce its input. That sounds
# useless until the network is prevented from copying: then, to reconstruct
# well, it has to learn what the data look like. This lesson covers
#
# 1. the undercomplete autoencoder, and its code space on handwritten digits;
# 2. the linear autoencoder, which learns exactly what PCA finds;
# 3. sparse and denoising autoencoders, which regularise instead of narrowing;
# 4. stacked autoencoders: greedy layer-wise pre-training and fine-tuning;
# 5. anomaly detection on spacecraft-like telemetry, with PCA as the baseline;
# 6. why a plain autoencoder is a poor generator;
# 7. an interactive explorer.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import precision_recall_curve, precision_recall_fscore_support
from torch import nn

import dlcourse
from dlcourse_autoencoders.data import ANOMALY_KINDS, CHANNELS, load_digits, make_telemetry, split
from dlcourse_autoencoders.models import Autoencoder

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # these networks are tiny: one thread avoids threading overhead
np.set_printoptions(precision=3, suppress=True)

X_np, y_np = load_digits()
Xtr_np, Xte_np, ytr_np, yte_np = split(X_np, y_np, n_test=397, seed=0)
X_train, X_test = torch.from_numpy(Xtr_np), torch.from_numpy(Xte_np)
y_train, y_test = torch.from_numpy(ytr_np), torch.from_numpy(yte_np)


def fit(model, X, loss_fn, steps=600, lr=1e-2, batch=128, seed=0):
    """Adam on random minibatches of X (rows); returns the loss every 50 steps."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for step in range(steps):
        xb = X[torch.randint(len(X), (batch,), generator=generator)]
        loss = loss_fn(model, xb)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 50 == 0:
            history.append(loss.item())
    return history


def reconstruction_loss(model, xb):
    return F.mse_loss(model(xb), xb)


def per_example_error(model, X):
    with torch.no_grad():
        return ((model(X) - X) ** 2).mean(dim=1)


def tile(images, columns=8):
    """Arrange (N, 64) images as 8x8 tiles with 1-pixel gaps, ready for imshow."""
    images = np.asarray(images, dtype=np.float64).reshape(-1, 8, 8)
    rows = -(-len(images) // columns)
    canvas = np.full((rows * 9 + 1, columns * 9 + 1), np.nan)  # NaN gaps are drawn blank
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        canvas[1 + 9 * row:9 + 9 * row, 1 + 9 * column:9 + 9 * column] = image
    return canvas


# %% [markdown]
# ## 1. An undercomplete autoencoder
#
# The encoder $f$ squeezes each 64-pixel digit into a code of $K = 2$
# numbers; the decoder $g$ maps the code back to 64 pixels; training
# minimises the reconstruction error $\frac1N\sum_n \|x_n - g(f(x_n))\|^2$.
# No labels are used, yet the code space organises itself by digit class:
# the easiest way to reconstruct a "0" well is to give it a code near other
# zeros.

# %%
torch.manual_seed(0)
ae2 = Autoencoder(
    nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2)),
    nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 64)),
)
history = fit(ae2, X_train, reconstruction_loss, steps=800)
with torch.no_grad():
    codes = ae2.encoder(X_test).numpy()
print(f"held-out reconstruction error with a 2-number code: {per_example_error(ae2, X_test).mean():.4f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
points = left.scatter(codes[:, 0], codes[:, 1], c=yte_np, cmap="tab10", s=10)
fig.colorbar(points, ax=left, ticks=range(10))
left.set_title("2-D codes of held-out digits (colour: class, never seen in training)")
with torch.no_grad():
    right.imshow(tile(torch.cat([X_test[:8], ae2(X_test[:8])])), cmap="gray_r")
right.set_title("top: inputs, bottom: reconstructions")
right.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# Two numbers are not enough for crisp digits (the reconstructions are
# blurry averages), but similar digits land close together: the code is a
# compressed description of the input.
#
# ## 2. A linear autoencoder learns PCA
#
# Remove every non-linearity: $f(x) = W_1 x + b_1$, $g(z) = W_2 z + b_2$.
# Then $g(f(x))$ is an affine map of rank at most $K$, and the best rank-$K$
# reconstruction under squared error is PCA's projection onto the top-$K$
# principal subspace (Eckart–Young). Baldi and Hornik (1989) proved more:
# every local minimum of the linear autoencoder is a global one, where
# $W_2$ spans the principal subspace. Gradient descent therefore finds PCA's
# error, but not PCA's orthonormal, variance-ordered axes: any basis of the
# subspace will do.

# %%
pca2 = PCA(n_components=2).fit(Xtr_np)
pca_error = float(np.mean((pca2.inverse_transform(pca2.transform(Xtr_np)) - Xtr_np) ** 2))
torch.manual_seed(0)
linear2 = Autoencoder(nn.Linear(64, 2), nn.Linear(2, 64))
fit(linear2, X_train, reconstruction_loss, steps=400, lr=3e-2, batch=len(X_train))
linear_error = float(per_example_error(linear2, X_train).mean())
# principal angles between the decoder's columns and PCA's two directions
decoder_basis = torch.linalg.qr(linear2.decoder.weight.detach().double())[0].numpy()
cosines = np.linalg.svd(pca2.components_ @ decoder_basis, compute_uv=False)
print(f"training error: PCA {pca_error:.5f}, linear autoencoder {linear_error:.5f} "
      f"(ratio {linear_error / pca_error:.4f})")
print(f"cosines of the principal angles between the two subspaces: {cosines} (1 = same subspace)")
deep_error = float(per_example_error(ae2, X_train).mean())
print(f"the non-linear autoencoder of section 1, same code size: {deep_error:.5f}")

# %% [markdown]
# With the same two numbers per digit, the non-linear autoencoder beats PCA
# (and so every linear autoencoder): it can bend its two-dimensional code
# surface through the data.
#
# ## 3. Regularised autoencoders: sparse and denoising
#
# A narrow code is one way to stop copying. Two others keep a wide code
# (even wider than the input, *overcomplete*) but change the objective.
#
# **Sparse autoencoders** add a penalty on the code. With sigmoid code units,
# a classic choice compares each unit's average activation $\hat\rho_j$ over a
# batch with a small target $\rho$ through the Bernoulli KL divergence
# $\sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j)$; another is an L1 penalty
# $\lambda \sum_j |z_j|$ on ReLU codes. Here we use the KL version, computed
# with `torch.distributions`, and compare 96 code units (1.5 times the input
# size) trained with and without it.

# %%
def kl_penalty(code, rho):
    target = torch.distributions.Bernoulli(probs=torch.full((code.shape[1],), rho))
    average = torch.distributions.Bernoulli(probs=code.mean(dim=0))
    return torch.distributions.kl_divergence(target, average).sum()


activations = {}
for beta in (0.0, 0.01):
    torch.manual_seed(0)
    wide = Autoencoder(nn.Sequential(nn.Linear(64, 96), nn.Sigmoid()), nn.Linear(96, 64))
    def sparse_objective(model, xb, beta=beta):
        return reconstruction_loss(model, xb) + beta * kl_penalty(model.encoder(xb), 0.05)

    fit(wide, X_train, sparse_objective, steps=600)
    with torch.no_grad():
        activations[beta] = wide.encoder(X_test).numpy()
    print(f"beta = {beta}: mean activation {activations[beta].mean():.3f}, "
          f"units above 0.2 per digit {np.mean(np.sum(activations[beta] > 0.2, axis=1)):.1f} of 96, "
          f"held-out error {float(per_example_error(wide, X_test).mean()):.4f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
for ax, beta in zip(axes, activations):
    ax.hist(activations[beta].ravel(), bins=50)
    ax.set_title(f"code activations, beta = {beta}")
    ax.set_yscale("log")
fig.tight_layout()
plt.show()

# %% [markdown]
# The penalty pushes most activations towards 0: each digit now uses a
# handful of clearly active units instead of nearly all 96, a sparse code paid
# for with some reconstruction error. Note what the KL penalty controls: only
# each unit's *average* activation. A unit may meet its target by firing
# fully for 5% of the digits or by firing weakly for all of them; the
# histogram shows that here it mostly does the latter, with a tail of strong
# activations. An L1 penalty on the activations themselves pushes every
# single activation towards 0.
#
# **Denoising autoencoders** (Vincent et al. 2008) corrupt the input and ask
# for the clean version, $\|x - g(f(\tilde x))\|^2$ with
# $\tilde x = x + \varepsilon$. Copying is now useless: the network must learn
# where clean digits lie and project noisy points back onto them.

# %%
def denoise_loss(model, xb, std=0.3):
    return F.mse_loss(model(xb + std * torch.randn_like(xb)), xb)


torch.manual_seed(0)
denoiser = Autoencoder(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU()),
                       nn.Linear(64, 64))
fit(denoiser, X_train, denoise_loss, steps=600)
noisy = X_test + 0.3 * torch.randn(X_test.shape, generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    cleaned = denoiser(noisy)
print(f"held-out MSE to the clean digits: noisy {float(F.mse_loss(noisy, X_test)):.4f}, "
      f"denoised {float(F.mse_loss(cleaned, X_test)):.4f}")
fig, ax = plt.subplots(figsize=(8, 3))
ax.imshow(tile(torch.cat([noisy[:8], cleaned[:8], X_test[:8]]).clamp(0, 1)), cmap="gray_r")
ax.set_title("noisy input / denoised / clean")
ax.axis("off")
plt.show()

# %% [markdown]
# ## 4. Stacked autoencoders: pre-training, then fine-tuning
#
# A *stacked* autoencoder trains its layers one at a time (Hinton and
# Salakhutdinov 2006; Bengio et al. 2007): the first autoencoder learns codes
# of the data, the second learns codes of those codes, and so on. The
# encoders then initialise a deep classifier that is *fine-tuned* on labels.
# Pre-training uses only unlabelled data, so it helps most when labels are
# scarce. Below: 1 400 unlabelled digits, but labels for only 100.

# %%
def pretrain(X, sizes, steps=300):
    encoders, inputs = [], X
    for i, size in enumerate(sizes):
        torch.manual_seed(i)
        width = inputs.shape[1]
        layer = Autoencoder(nn.Sequential(nn.Linear(width, size), nn.Sigmoid()), nn.Linear(size, width))
        fit(layer, inputs, reconstruction_loss, steps=steps, lr=3e-2, seed=i)
        with torch.no_grad():
            inputs = layer.encoder(inputs)  # the next layer learns from these codes; this one stays fixed
        encoders.append(layer.encoder)
    return encoders


def classifier_accuracy(encoders, X, y, steps=300):
    """Fine-tune encoders + a linear output layer on (X, y), full batch; return held-out accuracy."""
    torch.manual_seed(0)
    net = nn.Sequential(*encoders, nn.Linear(16, 10))
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = F.cross_entropy(net(X), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return float((net(X_test).argmax(dim=1) == y_test).float().mean())


few_X, few_y = X_train[:100], y_train[:100]
pretrained = classifier_accuracy(pretrain(X_train, [32, 16]), few_X, few_y)
scratch = classifier_accuracy(pretrain(X_train, [32, 16], steps=0), few_X, few_y)
print(f"held-out accuracy with 100 labels: pre-trained {pretrained:.1%}, random initialisation {scratch:.1%}")

# %% [markdown]
# With plenty of labels the advantage shrinks or vanishes: ReLUs, careful
# initialisation and normalisation made pre-training unnecessary for most
# supervised problems. The idea lives on in self-supervised pre-training.
#
# ## 5. Anomaly detection on telemetry
#
# A spacecraft sends housekeeping telemetry: temperatures, voltages, currents,
# wheel speeds. Faults are rare and varied, so there are few labelled examples
# of them, but plenty of normal data. The recipe: train an autoencoder on
# normal windows only; it learns to reconstruct normal behaviour; a window it
# reconstructs badly is suspicious. The **reconstruction error is the anomaly
# score**, and a threshold turns it into an alarm.
#
# Our synthetic telemetry has four channels driven by one orbit, with sensor
# noise. Anomalous windows get one small fault on one channel:

# %%
T_train = make_telemetry(2000, anomaly_rate=0.0, seed=1)[0]
T_val, yv, _ = make_telemetry(500, anomaly_rate=0.2, seed=2)
T_test, yt, kinds = make_telemetry(1000, anomaly_rate=0.2, seed=3)

fig, axes = plt.subplots(1, 5, figsize=(15, 2.8), sharey=True)
examples = [int(np.flatnonzero(kinds == code)[0]) for code in range(5)]
for ax, index, name in zip(axes, examples, ("normal", *ANOMALY_KINDS)):
    for channel, channel_name in enumerate(CHANNELS):
        ax.plot(T_test[index, channel], label=channel_name)
    ax.set_title(name)
axes[0].legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% [markdown]
# We flatten each window to $4 \times 32 = 128$ numbers and compare three
# scores: an autoencoder with an 8-number code, and PCA with 8 and 16
# components (the linear baseline). The threshold that maximises F1 is chosen
# on the labelled validation windows, then precision, recall and F1 are
# measured on the test windows.

# %%
flat = lambda T: torch.from_numpy(T.reshape(len(T), -1))  # noqa: E731
torch.manual_seed(0)
detector = Autoencoder(nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 8)),
                       nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 128)))
fit(detector, flat(T_train), reconstruction_loss, steps=300)


def pca_scorer(k):
    pca = PCA(n_components=k).fit(T_train.reshape(len(T_train), -1))
    def score(T):
        rows = T.reshape(len(T), -1)
        return np.mean((pca.inverse_transform(pca.transform(rows)) - rows) ** 2, axis=1)

    return score


def best_threshold(scores, labels):
    """The threshold t with the best F1 of the rule score >= t (scikit-learn's convention)."""
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return thresholds[int(np.argmax(f1[:-1]))]


scorers = {"autoencoder, code 8": lambda T: per_example_error(detector, flat(T)).numpy(),
           "PCA, 8 components": pca_scorer(8), "PCA, 16 components": pca_scorer(16)}
results = {}
for name, score in scorers.items():
    threshold = best_threshold(score(T_val), yv)
    flagged = score(T_test) >= threshold
    precision, recall, f1, _ = precision_recall_fscore_support(yt, flagged, average="binary", zero_division=0)
    results[name] = flagged
    by_kind = ", ".join(f"{kind} {flagged[kinds == c].mean():.0%}" for c, kind in enumerate(ANOMALY_KINDS, 1))
    print(f"{name:>20}: precision {precision:.2f}, recall {recall:.2f}, F1 {f1:.2f} | found: {by_kind}")

# %% [markdown]
# The orbit makes the normal windows a curved, low-dimensional family
# (phase, period, amplitude): the autoencoder follows it with 8 numbers,
# whereas PCA's flat subspace leaves many *normal* windows with large errors.
# Those look like faults, so PCA's precision suffers; more components help,
# but the curve is never flat. Level shifts and frozen sensors are easy; a
# single spike or a short burst of noise hides in the noise.
#
# The distributions of the scores show the trade-off a threshold makes:

# %%
ae_val = scorers["autoencoder, code 8"](T_val)
fig, ax = plt.subplots(figsize=(7, 3))
bins = np.geomspace(ae_val.min(), ae_val.max(), 50)
ax.hist(ae_val[yv == 0], bins=bins, alpha=0.6, label="normal")
ax.hist(ae_val[yv == 1], bins=bins, alpha=0.6, label="anomalous")
ax.axvline(best_threshold(ae_val, yv), color="k", linestyle="--", label="best-F1 threshold")
ax.set_xscale("log")
ax.set_xlabel("reconstruction error (log scale)")
ax.legend()
plt.show()

# %% [markdown]
# A single threshold on the *total* error throws information away: which
# channel is wrong, and when. Instead, the **error vector** (here, the squared
# error of each channel at each step, summarised per channel by its mean and
# its maximum) can feed a classifier trained on the labelled validation
# windows. It can learn, for instance, that one large error at one step is a
# spike even when the mean error is small. The price: it needs labelled
# faults, and it only knows the kinds of fault it was shown.

# %%
def error_features(T):
    with torch.no_grad():
        squared = ((detector(flat(T)) - flat(T)) ** 2).reshape(len(T), 4, -1).numpy()
    return np.concatenate([squared.mean(axis=2), squared.max(axis=2)], axis=1)


classifier = RandomForestClassifier(n_estimators=100, min_samples_leaf=3, random_state=0)
classifier.fit(error_features(T_val), yv)
flagged = classifier.predict(error_features(T_test))
precision, recall, f1, _ = precision_recall_fscore_support(yt, flagged, average="binary", zero_division=0)
by_kind = ", ".join(f"{kind} {flagged[kinds == c].mean():.0%}" for c, kind in enumerate(ANOMALY_KINDS, 1))
print(f"error features + random forest: precision {precision:.2f}, recall {recall:.2f}, F1 {f1:.2f} | "
      f"found: {by_kind}")

# %% [markdown]
# ## 6. Autoencoders as generators, and why plain ones are poor at it
#
# A decoder turns codes into digits, so why not decode *random* codes? The
# trouble is that training only shapes the decoder where real codes fall.
# Nothing asks the codes to fill a known region: the code space has gaps and
# odd shapes, and a random code (here drawn from a Gaussian fitted to the
# real codes) often lands where the decoder has never been trained.

# %%
with torch.no_grad():
    train_codes = ae2.encoder(X_train)
    mean, cov = train_codes.mean(dim=0), torch.cov(train_codes.T)
    sampler = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov)
    samples = ae2.decoder(sampler.sample((16,)))
    # a straight line between the codes of two different digits
    start, end = ae2.encoder(X_test[y_test == 0][:1]), ae2.encoder(X_test[y_test == 7][:1])
    line = ae2.decoder(torch.cat([start + t * (end - start) for t in torch.linspace(0, 1, 8)]))

fig, axes = plt.subplots(1, 3, figsize=(13, 3.5), gridspec_kw={"width_ratios": [1.2, 2, 2]})
axes[0].scatter(*train_codes.numpy().T, s=3, c=ytr_np, cmap="tab10")
axes[0].set_title("codes of the training digits")
axes[1].imshow(tile(samples), cmap="gray_r")
axes[1].set_title("decoded random codes")
axes[2].imshow(tile(line), cmap="gray_r")
axes[2].set_title("decoding a straight line from a 0 to a 7")
for ax in axes[1:]:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# Some samples look like digits, many are blends or smudges. A *variational*
# autoencoder fixes this by making the encoder output a distribution and
# pulling it towards a standard Gaussian prior, so that every region of the
# code space decodes to something plausible: that is the next topic.
#
# ## 7. Explore
#
# The explorer trains a 2-D autoencoder (with the functions given to it;
# here the lesson's own) and shows its code space; choose an example to see
# its reconstruction. The threshold slider works on the autoencoder's
# validation scores from section 5 and shows precision and recall live. In
# the assignment, the same widget runs on *your* functions.

# %%
from dlcourse_autoencoders.widgets import autoencoder_explorer  # noqa: E402


def make_autoencoder(n_in, n_code, hidden=(32,)):
    (width,) = hidden
    return Autoencoder(nn.Sequential(nn.Linear(n_in, width), nn.ReLU(), nn.Linear(width, n_code)),
                       nn.Sequential(nn.Linear(n_code, width), nn.ReLU(), nn.Linear(width, n_in)))


def train_for_explorer(model, X, epochs, lr, batch_size, seed):
    steps = epochs * (len(X) // batch_size)
    return fit(model, X, reconstruction_loss, steps=steps, lr=lr, batch=batch_size, seed=seed)


def sklearn_metrics(pred, labels):
    scores = precision_recall_fscore_support(labels.numpy(), pred.numpy(), average="binary", zero_division=0)
    return scores[:3]


explorer = autoencoder_explorer(make_autoencoder, train_for_explorer, torch.from_numpy(X_np),
                                torch.from_numpy(y_np), scores=ae_val, labels=yv, metrics_fn=sklearn_metrics,
                                epochs=30)
print(explorer.status.value)
explorer

# %% [markdown]
# ## Summary
#
# * An autoencoder learns by reconstructing its input through a bottleneck
#   (undercomplete) or under a regulariser (sparse, denoising).
# * A linear autoencoder reaches exactly PCA's error (Baldi and Hornik); a
#   non-linear one can do better with the same code size.
# * Greedy layer-wise pre-training plus fine-tuning helps when labels are
#   scarce.
# * Trained on normal data only, an autoencoder's reconstruction error is an
#   anomaly score; choose the threshold on labelled validation data and report
#   precision, recall and F1, never accuracy alone (anomalies are rare).
# * A plain autoencoder's code space has no density to sample from: it is a
#   poor generator, which variational autoencoders fix.
