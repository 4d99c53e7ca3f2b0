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
# # Assignment: autoencoders and anomaly detection
#
# You will build autoencoders in PyTorch and use one to find faults in
# spacecraft telemetry:
#
# 1. an undercomplete autoencoder and its reconstruction error;
# 2. a training loop (and why a linear autoencoder learns what PCA finds);
# 3. PCA's reconstruction error, the baseline for everything that follows;
# 4. the KL sparsity penalty and its gradient, by hand;
# 5. a sparse autoencoder;
# 6. a denoising autoencoder;
# 7. a stacked autoencoder: greedy layer-wise pre-training, then supervised
#    fine-tuning;
# 8. precision, recall, F1 and the threshold that maximises F1;
# 9. an anomaly detector for telemetry, compared with PCA.
#
# Each exercise is a function with a docstring that states shapes and dtypes.
# Replace `raise NotImplementedError()` with your code, then run the test cell
# below it. The visible tests use small fixed inputs; when you submit, hidden
# tests call your functions on fresh random inputs and shapes, and train your
# models on data your notebook never saw, so do not hard-code sizes. Later
# exercises use your earlier functions.
#
# Conventions used throughout: data are `torch.Tensor`s whose **rows are
# examples**, `X` of shape `(N, D)`; training data are `float32` (the hidden
# tests also use `float64`, so never change a tensor's dtype); a
# "mean squared error" is a mean over **every** entry it covers.

# %% nbgrader="readonly" grade_id="setup"
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import dlcourse
from dlcourse_autoencoders.data import ANOMALY_KINDS, load_digits, make_telemetry, split
from dlcourse_autoencoders.models import Autoencoder

dlcourse.seed_everything(0)
torch.set_num_threads(1)  # the models are tiny: one thread avoids threading overhead

# 8x8 digits in [0, 1], flattened to 64 features; 1 400 for training, 397 held out
_X, _y = load_digits()
_Xtr, _Xte, _ytr, _yte = split(_X, _y, n_test=397, seed=0)
X_digits, y_digits = torch.from_numpy(_X), torch.from_numpy(_y)
Xd_train, Xd_test = torch.from_numpy(_Xtr), torch.from_numpy(_Xte)
yd_train, yd_test = torch.from_numpy(_ytr), torch.from_numpy(_yte)

# telemetry windows (N, 4 channels, 32 steps): normal ones to train on, labelled ones to tune and test
T_train = torch.from_numpy(make_telemetry(2000, anomaly_rate=0.0, seed=1)[0])
_Tv, _yv, _ = make_telemetry(500, anomaly_rate=0.2, seed=2)
_Tt, _yt, _kt = make_telemetry(1000, anomaly_rate=0.2, seed=3)
T_val, y_val = torch.from_numpy(_Tv), torch.from_numpy(_yv)
T_test, y_test, kind_test = torch.from_numpy(_Tt), torch.from_numpy(_yt), torch.from_numpy(_kt)
print("digits:", tuple(Xd_train.shape), tuple(Xd_test.shape), "| telemetry:", tuple(T_train.shape),
      tuple(T_val.shape), tuple(T_test.shape), f"| anomalous test windows: {int(y_test.sum())}")

# %% [markdown]
# ## 1. An undercomplete autoencoder (3 points)
#
# An autoencoder maps an input $x \in \mathbb{R}^D$ to a code
# $z = f(x) \in \mathbb{R}^K$ and back to a reconstruction $\hat x = g(z)$.
# With $K < D$ (*undercomplete*) it cannot simply copy its input: to
# reconstruct well it must keep what matters about the data in $K$ numbers.
#
# Write `build_autoencoder(n_in, n_code, hidden, code_activation)` with
# exactly these layers (the hidden tests inspect them):
#
# * **encoder**: for each size `h` in `hidden`, `nn.Linear(previous, h)`
#   then `nn.ReLU()`; then `nn.Linear(previous, n_code)`; then `nn.Sigmoid()`
#   if `code_activation == "sigmoid"`, `nn.ReLU()` if it is `"relu"`, nothing
#   if it is `None`;
# * **decoder**: the mirror image, for each `h` in `reversed(hidden)`,
#   `nn.Linear(previous, h)` then `nn.ReLU()`; then `nn.Linear(previous, n_in)`
#   with **no** activation on the output;
# * return `Autoencoder(nn.Sequential(*encoder_layers), nn.Sequential(*decoder_layers))`
#   (the class is imported above: its `forward(x)` is `decoder(encoder(x))`).
#
# Keep PyTorch's default initialisation. With `hidden=()` and no code
# activation both halves are one `nn.Linear`: a *linear* autoencoder.
#
# `reconstruction_error(model, X)` returns one number per example: the mean
# over the `D` features of the squared error, computed without tracking
# gradients (`torch.no_grad()`), since it is used for evaluation only.

# %% nbgrader="solution" grade_id="build"
def build_autoencoder(n_in, n_code, hidden=(), code_activation=None):
    """An autoencoder with the layer structure stated above.

    n_in: int D, the number of input features; n_code: int K, the code size;
    hidden: tuple of ints, the encoder's hidden sizes (the decoder mirrors them);
    code_activation: None, "sigmoid" or "relu", applied to the code.
    Returns an Autoencoder whose encoder maps (N, D) -> (N, K) and whose
    decoder maps (N, K) -> (N, D), float32 parameters.
    """
    ### BEGIN SOLUTION
    activations = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
    encoder, previous = [], n_in
    for size in hidden:
        encoder += [nn.Linear(previous, size), nn.ReLU()]
        previous = size
    encoder.append(nn.Linear(previous, n_code))
    if code_activation is not None:
        encoder.append(activations[code_activation]())
    decoder, previous = [], n_code
    for size in reversed(tuple(hidden)):
        decoder += [nn.Linear(previous, size), nn.ReLU()]
        previous = size
    decoder.append(nn.Linear(previous, n_in))
    return Autoencoder(nn.Sequential(*encoder), nn.Sequential(*decoder))
    ### END SOLUTION


def reconstruction_error(model, X):
    """Per-example reconstruction error.

    model: a module mapping (N, D) -> (N, D); X: torch.Tensor (N, D), floating.
    Returns a torch.Tensor (N,) with X's dtype: the mean over the D features of
    (model(X) - X) ** 2, without gradient tracking.
    """
    ### BEGIN SOLUTION
    with torch.no_grad():
        return ((model(X) - X) ** 2).mean(dim=1)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="build_tests" points=3 checks=["autoencoders.architecture", "autoencoders.reconstruction_error"]
def _types(sequential):
    return [type(layer).__name__ for layer in sequential]


_model = build_autoencoder(6, 2, hidden=(4,), code_activation="sigmoid")
assert isinstance(_model, Autoencoder), "return Autoencoder(encoder, decoder)"
assert _types(_model.encoder) == ["Linear", "ReLU", "Linear", "Sigmoid"], (
    f"encoder layers should be Linear, ReLU, Linear, Sigmoid; got {_types(_model.encoder)}")
assert _types(_model.decoder) == ["Linear", "ReLU", "Linear"], (
    "decoder layers should be Linear, ReLU, Linear (no activation on the output); "
    f"got {_types(_model.decoder)}")
_enc, _dec = _model.encoder, _model.decoder
assert (_enc[0].in_features, _enc[0].out_features, _enc[2].out_features) == (6, 4, 2), (
    "encoder sizes should go 6 -> 4 -> 2")
assert (_dec[0].in_features, _dec[0].out_features, _dec[2].out_features) == (2, 4, 6), (
    "decoder sizes should mirror the encoder: 2 -> 4 -> 6")
assert sum(p.numel() for p in _model.parameters()) == 80, "6-4-2-4-6 with biases has 80 parameters"
_z = _model.encoder(torch.randn(3, 6))
assert _z.shape == (3, 2) and bool(((_z > 0) & (_z < 1)).all()), (
    "sigmoid codes should have shape (N, K) and values in (0, 1)")
assert _model(torch.randn(3, 6)).shape == (3, 6), "the reconstruction should have the input's shape"
_linear = build_autoencoder(5, 3)
assert _types(_linear.encoder) == ["Linear"] and _types(_linear.decoder) == ["Linear"], (
    "with hidden=() and code_activation=None each half is a single Linear layer")

with torch.no_grad():  # a decoder that outputs zeros: the error is the mean of x**2
    for _p in _linear.parameters():
        _p.zero_()
_X = torch.tensor([[1.0, 2.0, 0.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0, 0.0]])
_e = reconstruction_error(_linear, _X)
assert isinstance(_e, torch.Tensor) and _e.shape == (3,), (
    "reconstruction_error should return a tensor of shape (N,)")
assert torch.allclose(_e, torch.tensor([1.2, 0.0, 1.8])), (
    "with a zero output the errors should be (1 + 4 + 1) / 5 = 1.2, 0 and 9 / 5 = 1.8: "
    "the mean over the features of the squared error")
assert not _e.requires_grad, "compute the error under torch.no_grad()"
print("build_autoencoder and reconstruction_error: visible tests passed")

# %% [markdown]
# ## 2. A training loop (4 points)
#
# Every autoencoder below is trained by the same loop; only its loss changes.
# A loss is a function `loss_fn(model, xb)` of the model and a minibatch that
# returns a scalar tensor. The default, `mse_loss`, is the mean squared error
# between `model(xb)` and `xb` over all `B x D` entries.
#
# Follow these conventions exactly (the hidden tests replay your training and
# compare the weights):
#
# 1. call `torch.manual_seed(seed)` first (losses that draw random noise then
#    repeat), and create **one** `g = torch.Generator().manual_seed(seed)`;
# 2. `optimizer = torch.optim.Adam(model.parameters(), lr=lr)`, PyTorch's other defaults;
# 3. every epoch, draw `order = torch.randperm(N, generator=g)` and visit the
#    minibatches `X[order[i:i + batch_size]]` for `i = 0, batch_size, 2 * batch_size, ...`
#    (the last one may be smaller);
# 4. for each minibatch: compute the loss, `optimizer.zero_grad()`,
#    `loss.backward()`, `optimizer.step()`, and remember `loss.item()`;
# 5. the loss of an epoch is the mean of its minibatch losses; return the list
#    of the `epochs` epoch losses.
#
# The hidden tests also train a linear autoencoder with your loop (one
# minibatch holding all the data, 300 epochs, `lr=3e-2`) on fresh data and
# expect PCA's reconstruction error within 5% (see exercise 3).

# %% nbgrader="solution" grade_id="train"
def mse_loss(model, xb):
    """Mean squared reconstruction error of a minibatch.

    model: a module mapping (B, D) -> (B, D); xb: torch.Tensor (B, D).
    Returns a scalar tensor (with gradients): the mean of (model(xb) - xb) ** 2 over all B * D entries.
    """
    ### BEGIN SOLUTION
    return ((model(xb) - xb) ** 2).mean()
    ### END SOLUTION


def train_autoencoder(model, X, loss_fn=None, *, epochs=20, lr=1e-2, batch_size=64, seed=0):
    """Train `model` in place with Adam on minibatches of X, following the conventions above.

    model: an nn.Module (usually an Autoencoder); X: torch.Tensor (N, D), floating.
    loss_fn: a function loss_fn(model, xb) -> scalar tensor; None means mse_loss.
    epochs, batch_size: ints; lr: float; seed: int.
    Returns a list of `epochs` Python floats, the mean minibatch loss of each epoch.
    """
    ### BEGIN SOLUTION
    loss_fn = mse_loss if loss_fn is None else loss_fn
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(X.shape[0], generator=generator)
        batch_losses = []
        for start in range(0, X.shape[0], batch_size):
            loss = loss_fn(model, X[order[start:start + batch_size]])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        losses.append(sum(batch_losses) / len(batch_losses))
    return losses
    ### END SOLUTION


# %% nbgrader="tests" grade_id="train_tests" points=4 checks=["autoencoders.train_loop", "autoencoders.linear_pca"]
_Xs = torch.randn(40, 5, generator=torch.Generator().manual_seed(1))
torch.manual_seed(0)
_model = build_autoencoder(5, 2)
_identity = Autoencoder(nn.Identity(), nn.Identity())
assert abs(mse_loss(_identity, _Xs).item()) < 1e-12, "an identity model has zero loss"
_zero = Autoencoder(nn.Identity(), lambda z: torch.zeros_like(z))
assert abs(mse_loss(_zero, _Xs).item() - float((_Xs ** 2).mean())) < 1e-6, (
    "with a zero output mse_loss is the mean of xb**2")
_start = {k: v.clone() for k, v in _model.state_dict().items()}
_losses = train_autoencoder(_model, _Xs, epochs=30, lr=1e-2, batch_size=8, seed=0)
assert isinstance(_losses, list) and len(_losses) == 30, "return a list with one loss per epoch"
assert all(isinstance(v, float) for v in _losses), "the losses should be Python floats (use loss.item())"
assert _losses[-1] < 0.8 * _losses[0], "the loss should go down: are zero_grad, backward and step all called?"
_model.load_state_dict(_start)
_again = train_autoencoder(_model, _Xs, epochs=30, lr=1e-2, batch_size=8, seed=0)
assert _again == _losses, "training twice from the same weights and seed should give the same losses"
_model.load_state_dict(_start)
train_autoencoder(_model, _Xs, loss_fn=lambda m, xb: (m(xb) ** 2).mean(), epochs=30, lr=1e-2, batch_size=8,
                  seed=0)
with torch.no_grad():
    assert float((_model(_Xs) ** 2).mean()) < 0.05, (
        "with a loss that asks for zero outputs the outputs should shrink: is loss_fn used?")
print("train_autoencoder: visible tests passed; losses", round(_losses[0], 3), "->", round(_losses[-1], 3))

# %% [markdown]
# ## 3. PCA as a baseline (2 points)
#
# Principal component analysis finds the $k$ directions of largest variance.
# With $\mu$ the mean of the training rows and $V$ the $(D, k)$ matrix of the
# top-$k$ right singular vectors of the centred training data
# (`torch.linalg.svd(X_train - mu, full_matrices=False)`; the rows of `Vh`
# are the directions), a row $x$ is reconstructed as
# $\hat x = \mu + V V^\top (x - \mu)$.
#
# Baldi and Hornik (1989) showed that a *linear* autoencoder with a $k$-unit
# code, trained on the squared error, has no better minimum than PCA and
# reaches PCA's error: its decoder spans the same subspace (not necessarily
# with orthonormal columns). The test below trains your linear autoencoder
# and compares it with your PCA.

# %% nbgrader="solution" grade_id="pca"
def pca_reconstruction_error(X_train, X, k):
    """Per-example error of reconstructing X from the top-k principal components of X_train.

    X_train: torch.Tensor (M, D); X: torch.Tensor (N, D), same dtype; k: int, 1 <= k <= D.
    Returns a torch.Tensor (N,) with X's dtype: for each row x the mean over the D
    features of (x - x_hat) ** 2, x_hat = mu + V V^T (x - mu), mu the mean row of X_train.
    """
    ### BEGIN SOLUTION
    mu = X_train.mean(dim=0)
    _, _, Vh = torch.linalg.svd(X_train - mu, full_matrices=False)
    V = Vh[:k].T
    centred = X - mu
    return ((centred - centred @ V @ V.T) ** 2).mean(dim=1)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="pca_tests" points=2 checks=["autoencoders.pca"]
_train = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.5], [0.0, -0.5]])  # mean 0, main direction x
_e = pca_reconstruction_error(_train, torch.tensor([[2.0, 1.0], [3.0, 0.0]]), 1)
assert isinstance(_e, torch.Tensor) and _e.shape == (2,), "return a tensor of shape (N,)"
assert torch.allclose(_e, torch.tensor([0.5, 0.0]), atol=1e-6), (
    "(2, 1) projects to (2, 0), an error of (0 + 1) / 2 = 0.5; (3, 0) is on the axis — mean over features?")
_e = pca_reconstruction_error(_train + torch.tensor([5.0, -2.0]), torch.tensor([[7.0, -1.0]]), 1)
assert torch.allclose(_e, torch.tensor([0.5]), atol=1e-5), (
    "shifting all data should not matter: centre with the mean of X_train")
_e = pca_reconstruction_error(_train, torch.tensor([[2.0, 1.0]]), 2)
assert float(_e[0]) < 1e-10, "with k = D every point is reconstructed exactly"

# Baldi and Hornik: a linear autoencoder trained to convergence matches PCA
_g = torch.Generator().manual_seed(3)
_scales = torch.tensor([2.0, 1.5, 1.0, 0.3, 0.3, 0.2, 0.2, 0.1])  # three strong directions, five weak ones
_rotation = torch.linalg.qr(torch.randn(8, 8, generator=_g))[0]
_Xl = (torch.randn(200, 8, generator=_g) * _scales) @ _rotation + 1.0
torch.manual_seed(0)
_lin = build_autoencoder(8, 3)
train_autoencoder(_lin, _Xl, epochs=300, lr=3e-2, batch_size=200, seed=0)
_ratio = float(reconstruction_error(_lin, _Xl).mean() / pca_reconstruction_error(_Xl, _Xl, 3).mean())
assert 0.999 < _ratio < 1.05, f"a trained linear autoencoder should match PCA's error; ratio {_ratio:.3f}"
print(f"pca_reconstruction_error: visible tests passed; linear autoencoder / PCA error = {_ratio:.4f}")

# %% [markdown]
# The same comparison on held-out digits, with a code of 8 numbers. A
# non-linear autoencoder (one hidden layer of 64 ReLUs on each side) is not
# limited to a subspace: it can follow the curved set the digits lie on.

# %%
try:
    _pca8 = float(pca_reconstruction_error(Xd_train, Xd_test, 8).mean())
    torch.manual_seed(0)
    _linear8 = build_autoencoder(64, 8)
    train_autoencoder(_linear8, Xd_train, epochs=40, lr=1e-2, batch_size=128, seed=0)
    torch.manual_seed(0)
    _deep8 = build_autoencoder(64, 8, hidden=(64,))
    train_autoencoder(_deep8, Xd_train, epochs=40, lr=1e-2, batch_size=128, seed=0)
    print(f"held-out digits, code size 8: PCA {_pca8:.4f} | linear AE "
          f"{float(reconstruction_error(_linear8, Xd_test).mean()):.4f} | non-linear AE "
          f"{float(reconstruction_error(_deep8, Xd_test).mean()):.4f}")
except NotImplementedError:
    print("Finish exercises 1 to 3 to run this comparison.")

# %% [markdown]
# ## 4. The sparsity penalty, by hand (3 points)
#
# A *sparse* autoencoder may even be overcomplete ($K \ge D$): instead of a
# narrow code, a penalty keeps most code units quiet most of the time. We use
# the **KL penalty** on sigmoid codes (not an L1 penalty). With $h$ the
# $(N, K)$ code activations of a minibatch, each unit's average activation is
# $\hat\rho_j = \frac1N \sum_n h_{nj}$, and the penalty compares it with a
# small target rate $\rho$ (say 0.05) as the KL divergence between two
# Bernoulli distributions, **summed over the units**:
#
# $$\Omega(h) = \sum_{j=1}^{K} \mathrm{KL}(\rho \,\|\, \hat\rho_j)
#   = \sum_j \Big[\rho \log\frac{\rho}{\hat\rho_j} + (1 - \rho)\log\frac{1 - \rho}{1 - \hat\rho_j}\Big].$$
#
# It is 0 when every unit fires at rate $\rho$ and grows quickly as
# $\hat\rho_j$ moves away. Write it with torch operations (so autograd can
# differentiate it), then derive $\partial \Omega / \partial h_{nj}$ by hand
# (chain rule through $\hat\rho_j$: do not forget the $1/N$) and write that
# too, without autograd.

# %% nbgrader="solution" grade_id="kl"
def kl_sparsity(h, rho):
    """KL sparsity penalty, summed over code units.

    h: torch.Tensor (N, K), activations in (0, 1), any float dtype; rho: float in (0, 1).
    Returns a scalar tensor with h's dtype, differentiable with respect to h.
    """
    ### BEGIN SOLUTION
    rho_hat = h.mean(dim=0)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
    ### END SOLUTION


def kl_sparsity_grad(h, rho):
    """Gradient of kl_sparsity(h, rho) with respect to h, derived by hand (no autograd).

    h: torch.Tensor (N, K) in (0, 1); rho: float in (0, 1).
    Returns a torch.Tensor (N, K) with h's dtype.
    """
    ### BEGIN SOLUTION
    rho_hat = h.mean(dim=0)
    per_unit = (-rho / rho_hat + (1 - rho) / (1 - rho_hat)) / h.shape[0]
    return per_unit.expand_as(h).clone()
    ### END SOLUTION


# %% nbgrader="tests" grade_id="kl_tests" points=3 checks=["autoencoders.kl_sparsity"]
_h = torch.full((4, 3), 0.2, dtype=torch.float64)
assert abs(float(kl_sparsity(_h, 0.2))) < 1e-12, "the penalty is 0 when every unit's average equals rho"
assert torch.allclose(kl_sparsity_grad(_h, 0.2), torch.zeros_like(_h)), "...and so is its gradient"
_h = torch.tensor([[0.9, 0.1], [0.1, 0.1]], dtype=torch.float64)  # unit averages 0.5 and 0.1
_v = kl_sparsity(_h, 0.1)
assert isinstance(_v, torch.Tensor) and _v.ndim == 0, "return a scalar tensor"
assert abs(float(_v) - (0.1 * np.log(0.2) + 0.9 * np.log(1.8))) < 1e-10, (
    "KL(0.1 || 0.5) + KL(0.1 || 0.1) should be 0.3681: "
    "is it KL(rho || rho_hat), with rho_hat the mean over the batch?")
_g = kl_sparsity_grad(_h, 0.1)
assert _g.shape == (2, 2), "the gradient has the shape of h"
assert torch.allclose(_g[:, 0], torch.tensor([0.8, 0.8], dtype=torch.float64)), (
    "for the first unit (-0.1/0.5 + 0.9/0.5) / N = 0.8: did you divide by N?")
_hr = torch.rand(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 0.8 + 0.1
_hr.requires_grad_(True)
(_auto,) = torch.autograd.grad(kl_sparsity(_hr, 0.05), _hr)
assert torch.allclose(kl_sparsity_grad(_hr.detach(), 0.05), _auto, atol=1e-10), (
    "your hand gradient disagrees with autograd")
print("kl_sparsity and kl_sparsity_grad: visible tests passed")

# %% [markdown]
# ## 5. A sparse autoencoder (2 points)
#
# The sparse autoencoder's loss is the reconstruction error plus the
# weighted penalty on its code:
# `mse(decoder(code), xb) + beta * kl_sparsity(code, rho)` with
# `code = model.encoder(xb)` (compute the code once and decode it). The
# encoder must end in a sigmoid (`code_activation="sigmoid"`).
#
# The hidden test also trains a 64-32-64 sparse autoencoder with your loop
# and loss (`beta=0.1`, 10 epochs) on 600 digits: on other digits, the
# average code activation must lie between 0.5 and 1.6 times `rho`.

# %% nbgrader="solution" grade_id="sparse"
def sparse_loss(model, xb, beta=0.1, rho=0.05):
    """Reconstruction MSE plus beta times the KL sparsity penalty of the code.

    model: an Autoencoder whose encoder ends in a sigmoid; xb: torch.Tensor (B, D);
    beta: float >= 0; rho: float in (0, 1).
    Returns a scalar tensor (with gradients).
    """
    ### BEGIN SOLUTION
    code = model.encoder(xb)
    return ((model.decoder(code) - xb) ** 2).mean() + beta * kl_sparsity(code, rho)
    ### END SOLUTION


# %% nbgrader="tests" grade_id="sparse_tests" points=2 checks=["autoencoders.sparse_autoencoder"]
torch.manual_seed(0)
_model = build_autoencoder(6, 4, code_activation="sigmoid")
_xb = torch.rand(10, 6, generator=torch.Generator().manual_seed(2))
assert abs(sparse_loss(_model, _xb, beta=0.0).item() - mse_loss(_model, _xb).item()) < 1e-7, (
    "with beta = 0 the loss is the reconstruction MSE")
with torch.no_grad():
    _model.encoder[0].weight.zero_()
    _model.encoder[0].bias.zero_()  # every code unit is sigmoid(0) = 0.5
_kl = 0.05 * np.log(0.05 / 0.5) + 0.95 * np.log(0.95 / 0.5)
_expected = mse_loss(_model, _xb).item() + 0.3 * 4 * _kl
assert abs(sparse_loss(_model, _xb, beta=0.3, rho=0.05).item() - _expected) < 1e-5, (
    "with every code unit at 0.5 the penalty is 4 KL(0.05 || 0.5): "
    "is it weighted by beta and computed on the code?")
print("sparse_loss: visible tests passed")

# %% [markdown]
# Train a sparse autoencoder with 32 sigmoid code units (half the input size)
# on the digits, with and without the penalty, and compare the average code
# activation on held-out digits:

# %%
try:
    for _beta in (0.0, 0.1):
        torch.manual_seed(0)
        _sparse = build_autoencoder(64, 32, code_activation="sigmoid")
        train_autoencoder(_sparse, Xd_train, loss_fn=lambda m, xb, b=_beta: sparse_loss(m, xb, b, rho=0.05),
                          epochs=20, lr=1e-2, batch_size=128, seed=0)
        with torch.no_grad():
            _code = _sparse.encoder(Xd_test)
        print(f"beta = {_beta}: mean activation {float(_code.mean()):.3f}, "
              f"held-out error {float(reconstruction_error(_sparse, Xd_test).mean()):.4f}")
except NotImplementedError:
    print("Finish exercises 1 to 5 to run this experiment.")

# %% [markdown]
# ## 6. A denoising autoencoder (3 points)
#
# A denoising autoencoder sees a **corrupted** input and must reconstruct the
# **clean** one, so it cannot learn the identity even when it is wide: it has
# to learn what digits look like. Corrupt a minibatch with Gaussian noise,
# `noisy = xb + noise_std * torch.randn_like(xb)` (`noise_std` is a standard
# deviation; draw fresh noise at every call), and return the mean squared
# error between `model(noisy)` and the clean `xb`.
#
# The hidden test trains a denoiser with your loop and loss on 800 digits
# (`noise_std=0.3`, 10 epochs); on 200 other digits with fresh noise, its
# error to the clean digits must be below 0.6 times that of the noisy input.

# %% nbgrader="solution" grade_id="denoise"
def denoising_loss(model, xb, noise_std=0.3):
    """MSE between the reconstruction of a noisy minibatch and the clean minibatch.

    model: a module mapping (B, D) -> (B, D); xb: torch.Tensor (B, D), the clean inputs;
    noise_std: float >= 0, the standard deviation of the Gaussian noise.
    Returns a scalar tensor (with gradients).
    """
    ### BEGIN SOLUTION
    noisy = xb + noise_std * torch.randn_like(xb)
    return ((model(noisy) - xb) ** 2).mean()
    ### END SOLUTION


# %% nbgrader="tests" grade_id="denoise_tests" points=3 checks=["autoencoders.denoising"]
_identity = Autoencoder(nn.Identity(), nn.Identity())
_big = torch.rand(500, 40, generator=torch.Generator().manual_seed(4))
torch.manual_seed(0)
_loss = denoising_loss(_identity, _big, noise_std=0.5).item()
assert abs(_loss - 0.25) < 0.02, (
    f"an identity model should have a loss close to noise_std**2 = 0.25, got {_loss:.3f}: "
    "add noise to the input (not to the target), scaled by the standard deviation")
_zero = Autoencoder(nn.Identity(), lambda z: torch.zeros_like(z))
assert abs(denoising_loss(_zero, _big, noise_std=0.5).item() - float((_big ** 2).mean())) < 1e-6, (
    "a model that outputs zeros has loss mean(xb**2) whatever the noise: compare with the clean xb")
torch.manual_seed(0)
_model = build_autoencoder(40, 5)
assert abs(denoising_loss(_model, _big, noise_std=0.0).item() - mse_loss(_model, _big).item()) < 1e-7, (
    "with noise_std = 0 it is the ordinary reconstruction MSE")
print("denoising_loss: visible tests passed")

# %% [markdown]
# Train a denoiser on the training digits and measure it on held-out digits
# with fresh noise: does it beat simply returning the noisy image?

# %%
try:
    torch.manual_seed(0)
    denoiser = build_autoencoder(64, 32, hidden=(64,))
    train_autoencoder(denoiser, Xd_train, loss_fn=lambda m, xb: denoising_loss(m, xb, noise_std=0.3),
                      epochs=20, lr=1e-2, batch_size=128, seed=0)
    _noisy = Xd_test + 0.3 * torch.randn(Xd_test.shape, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        _denoised = denoiser(_noisy)
    print(f"held-out MSE to the clean digits: noisy input {float(((_noisy - Xd_test) ** 2).mean()):.4f}, "
          f"denoised {float(((_denoised - Xd_test) ** 2).mean()):.4f}")
except NotImplementedError:
    print("Finish exercises 1, 2 and 6 to run this experiment.")

# %% [markdown]
# ## 7. A stacked autoencoder: pre-train, then fine-tune (4 points)
#
# Before good initialisations and normalisation layers, deep networks were
# trained in two phases (Hinton and Salakhutdinov 2006; Bengio et al. 2007):
#
# 1. **greedy layer-wise pre-training** (no labels): train a one-layer
#    autoencoder on the data, keep its encoder, compute the codes of the data
#    and train the next autoencoder on those codes, and so on;
# 2. **supervised fine-tuning**: stack the encoders, put a linear output
#    layer on top, and train the whole network on the labels.
#
# `pretrain_stack(X, sizes, ...)`: autoencoder `i` is
# `build_autoencoder(n_previous, sizes[i], code_activation="sigmoid")`, built
# right after `torch.manual_seed(seed + i)`, and trained with
# `train_autoencoder(ae, inputs, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed + i)`
# where `inputs` are the codes of the autoencoders before it (computed under
# `torch.no_grad()`: earlier layers stay fixed). It returns the list of trained
# autoencoders.
#
# `fine_tune(stack, X, y, n_classes, ...)`: after `torch.manual_seed(seed)`
# build `nn.Sequential(stack[0].encoder, ..., stack[-1].encoder, nn.Linear(sizes[-1], n_classes))`
# reusing the encoder modules themselves (not copies), then train **all** its
# parameters with `torch.optim.Adam(lr=lr)` on `F.cross_entropy` of the
# logits, with the minibatch convention of exercise 2. With `epochs=0` it
# returns the classifier untrained.
#
# The hidden test pre-trains two layers on 1 000 digits (10 epochs each,
# `lr=3e-2`, `batch_size=64`), checks that each autoencoder reconstructs its
# own inputs better than their mean does, fine-tunes for 10 epochs and needs
# a held-out accuracy of at least 85%.

# %% nbgrader="solution" grade_id="stack"
def pretrain_stack(X, sizes, *, epochs=10, lr=1e-2, batch_size=64, seed=0):
    """Greedy layer-wise pre-training of sigmoid autoencoders.

    X: torch.Tensor (N, D); sizes: list of ints [K1, K2, ...], the code sizes;
    epochs, batch_size: ints; lr: float; seed: int.
    Returns a list of len(sizes) trained Autoencoders; autoencoder i maps
    (N, K_{i-1}) -> (N, K_i) -> (N, K_{i-1}) with K_0 = D.
    """
    ### BEGIN SOLUTION
    stack, inputs = [], X
    for i, size in enumerate(sizes):
        torch.manual_seed(seed + i)
        autoencoder = build_autoencoder(inputs.shape[1], size, code_activation="sigmoid")
        train_autoencoder(autoencoder, inputs, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed + i)
        with torch.no_grad():
            inputs = autoencoder.encoder(inputs)
        stack.append(autoencoder)
    return stack
    ### END SOLUTION


def fine_tune(stack, X, y, n_classes, *, epochs=10, lr=1e-2, batch_size=64, seed=0):
    """Supervised fine-tuning of the pre-trained encoders with a linear output layer.

    stack: list of Autoencoders from pretrain_stack; X: torch.Tensor (N, D);
    y: torch.Tensor (N,) int64 labels in 0..n_classes-1; n_classes: int.
    Returns the classifier, an nn.Sequential mapping (N, D) to logits (N, n_classes).
    """
    ### BEGIN SOLUTION
    torch.manual_seed(seed)
    code_size = stack[-1].encoder[0].out_features
    encoders = [autoencoder.encoder for autoencoder in stack]
    classifier = nn.Sequential(*encoders, nn.Linear(code_size, n_classes))
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(X.shape[0], generator=generator)
        for start in range(0, X.shape[0], batch_size):
            batch = order[start:start + batch_size]
            loss = F.cross_entropy(classifier(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return classifier
    ### END SOLUTION


# %% nbgrader="tests" grade_id="stack_tests" points=4 checks=["autoencoders.stacked"]
_stack = pretrain_stack(Xd_train, [32, 16], epochs=10, lr=3e-2, batch_size=64, seed=0)
assert isinstance(_stack, list) and len(_stack) == 2, "return one autoencoder per size"
assert _stack[1].encoder[0].in_features == 32, "the second autoencoder takes the 32-unit codes of the first"
assert _types(_stack[0].encoder) == ["Linear", "Sigmoid"], "each pre-trained encoder is Linear then Sigmoid"
with torch.no_grad():
    _codes = _stack[0].encoder(Xd_train)
    _err = float(reconstruction_error(_stack[1], _codes).mean())
assert _err < float(_codes.var(dim=0).mean()), (
    "the second autoencoder should reconstruct the codes of the first better than their mean does: "
    "train it on those codes")
_untrained = fine_tune(_stack, Xd_train, yd_train, 10, epochs=0, seed=0)
assert _untrained[0] is _stack[0].encoder and _untrained[1] is _stack[1].encoder, (
    "the classifier should start with the pre-trained encoder modules themselves")
assert isinstance(_untrained[-1], nn.Linear) and _untrained[-1].out_features == 10, (
    "the last layer is nn.Linear(16, 10)")
_before = _stack[0].encoder[0].weight.detach().clone()
_classifier = fine_tune(_stack, Xd_train, yd_train, 10, epochs=10, lr=3e-2, batch_size=64, seed=0)
with torch.no_grad():
    _acc = float((_classifier(Xd_test).argmax(dim=1) == yd_test).float().mean())
assert not torch.equal(_before, _stack[0].encoder[0].weight), "fine-tuning should also train the encoders"
assert _acc > 0.85, f"held-out accuracy {_acc:.1%} is too low after fine-tuning"
print(f"pretrain_stack and fine_tune: visible tests passed; held-out accuracy {_acc:.1%}")

# %% [markdown]
# Pre-training helps most when labels are scarce: with only 100 labelled
# digits (but all 1 400 unlabelled ones for pre-training), compare a
# pre-trained stack with the same network started from random weights
# (`epochs=0` skips pre-training).

# %%
try:
    for _pre in (10, 0):
        _stack = pretrain_stack(Xd_train, [32, 16], epochs=_pre, lr=1e-2, batch_size=128, seed=0)
        _classifier = fine_tune(_stack, Xd_train[:100], yd_train[:100], 10, epochs=30, lr=1e-2, seed=0)
        with torch.no_grad():
            _acc = float((_classifier(Xd_test).argmax(dim=1) == yd_test).float().mean())
        print(f"{'pre-trained' if _pre else 'random init'}: held-out accuracy with 100 labels {_acc:.1%}")
except NotImplementedError:
    print("Finish exercise 7 to run this experiment.")

# %% [markdown]
# ## 8. Precision, recall, F1 and a threshold (2 points)
#
# An anomaly detector flags a window when its anomaly score exceeds a
# threshold: **flag when `score > threshold`** (strictly). With the
# anomalies as the positive class, precision is the fraction of flagged
# windows that are anomalous, recall the fraction of anomalous windows that
# are flagged, and $F_1 = 2PR/(P + R)$. When a ratio has a zero denominator
# (nothing flagged, no anomaly, or $P = R = 0$) it counts as 0.
#
# `best_threshold` picks, on labelled validation data, the threshold with
# the highest F1. Only thresholds at the distinct scores (and one below the
# smallest, which flags everything) can make a difference, so try those.

# %% nbgrader="solution" grade_id="metrics"
def precision_recall_f1(pred, labels):
    """Precision, recall and F1 of binary predictions, anomalies (1) being the positive class.

    pred, labels: torch.Tensor (N,) of 0/1 (any integer or bool dtype).
    Returns (precision, recall, f1) as Python floats; 0 where a denominator is 0.
    """
    ### BEGIN SOLUTION
    pred, labels = pred.bool(), labels.bool()
    true_pos = int((pred & labels).sum())
    flagged, positives = int(pred.sum()), int(labels.sum())
    precision = true_pos / flagged if flagged else 0.0
    recall = true_pos / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return float(precision), float(recall), float(f1)
    ### END SOLUTION


def best_threshold(scores, labels):
    """The threshold t maximising the F1 of `scores > t` against labels.

    scores: torch.Tensor (N,) floating; labels: torch.Tensor (N,) of 0/1.
    Returns t as a Python float (any maximiser will do).
    """
    ### BEGIN SOLUTION
    values = torch.unique(scores)
    candidates = torch.cat([values[:1] - 1.0, values])
    best, best_f1 = float(candidates[0]), -1.0
    for t in candidates:
        f1 = precision_recall_f1(scores > t, labels)[2]
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best
    ### END SOLUTION


# %% nbgrader="tests" grade_id="metrics_tests" points=2 checks=["autoencoders.metrics"]
_p, _r, _f = precision_recall_f1(torch.tensor([1, 1, 0, 0, 1]), torch.tensor([1, 0, 0, 1, 1]))
assert all(isinstance(v, float) for v in (_p, _r, _f)), "return three Python floats"
assert abs(_p - 2 / 3) < 1e-12 and abs(_r - 2 / 3) < 1e-12, (
    "2 of the 3 flagged windows are anomalies and 2 of the 3 anomalies are flagged")
assert abs(_f - 2 / 3) < 1e-12, "F1 is the harmonic mean 2PR/(P+R)"
assert precision_recall_f1(torch.tensor([0, 0, 0]), torch.tensor([1, 0, 1])) == (0.0, 0.0, 0.0), (
    "nothing flagged: precision counts as 0 (not NaN), and so does F1")
_perfect = torch.tensor([1, 0])
assert precision_recall_f1(_perfect, _perfect) == (1.0, 1.0, 1.0), "a perfect detector scores 1, 1, 1"
_scores = torch.tensor([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
_labels = torch.tensor([0, 1, 0, 1, 0, 1])
_t = best_threshold(_scores, _labels)
assert isinstance(_t, float), "return the threshold as a Python float"
assert precision_recall_f1(_scores > _t, _labels)[2] == 1.0, (
    "a threshold in [0.35, 0.4) flags exactly the three anomalies here: the rule is score > threshold")
_all = torch.tensor([0.3, 0.2]), torch.tensor([1, 1])
assert precision_recall_f1(_all[0] > best_threshold(*_all), _all[1])[2] == 1.0, (
    "when every window is anomalous, flag them all")
print("precision_recall_f1 and best_threshold: visible tests passed")

# %% [markdown]
# ## 9. Finding faults in telemetry (3 points)
#
# `T_train` holds 2 000 windows of normal telemetry, 4 channels of 32 steps
# each (plot a few with `matplotlib` if you like). `T_val` and `T_test` also
# contain windows with one injected fault: a spike, a level shift, a frozen
# sensor or a burst of noise, on one channel. The faults are small, so no
# detector finds them all.
#
# `fit_detector` trains an autoencoder on the normal windows, flattened to
# `4 * 32 = 128` features (`X.reshape(len(X), -1)`), and picks the threshold
# with `best_threshold` on the reconstruction errors of the validation
# windows. A good start: `build_autoencoder(128, 8, hidden=(64,))` trained for
# 15 epochs with `lr=1e-2` and `batch_size=128`. `detect` flags a window when
# its reconstruction error is above the threshold.
#
# The hidden test calls your `fit_detector` on freshly generated telemetry
# (2 000 normal windows, 500 validation windows of which 20% are anomalous),
# then `detect` on 1 000 new windows: it needs an F1 of at least 0.6 there,
# and better than a PCA baseline with 8 components and its own best
# threshold. Keep the training under about 2 seconds.

# %% nbgrader="solution" grade_id="detector"
def fit_detector(X_train, X_val, y_val, seed=0):
    """Train an anomaly detector on normal windows and choose its threshold on validation windows.

    X_train: torch.Tensor (N, C, T) float32, normal windows; X_val: (M, C, T) float32;
    y_val: torch.Tensor (M,) int64, 1 for an anomalous window; seed: int.
    Returns (model, threshold): a model on flattened windows (C * T features) and a Python float.
    """
    ### BEGIN SOLUTION
    flat_train = X_train.reshape(len(X_train), -1)
    torch.manual_seed(seed)
    model = build_autoencoder(flat_train.shape[1], 8, hidden=(64,))
    train_autoencoder(model, flat_train, epochs=15, lr=1e-2, batch_size=128, seed=seed)
    threshold = best_threshold(reconstruction_error(model, X_val.reshape(len(X_val), -1)), y_val)
    return model, threshold
    ### END SOLUTION


def detect(model, threshold, X):
    """Flag anomalous windows.

    model, threshold: as returned by fit_detector; X: torch.Tensor (N, C, T).
    Returns a torch.Tensor (N,) int64: 1 where the reconstruction error of the
    flattened window is greater than the threshold, else 0.
    """
    ### BEGIN SOLUTION
    return (reconstruction_error(model, X.reshape(len(X), -1)) > threshold).long()
    ### END SOLUTION


# %% nbgrader="tests" grade_id="detector_tests" points=3 checks=["autoencoders.detector"]
detector, threshold = fit_detector(T_train, T_val, y_val, seed=0)
_pred = detect(detector, threshold, T_test)
assert isinstance(_pred, torch.Tensor) and _pred.shape == (1000,), "detect should return a tensor (N,)"
assert set(_pred.unique().tolist()) <= {0, 1}, "detect should return 0/1 labels"
assert int(detect(detector, float("inf"), T_test).sum()) == 0, "nothing is above an infinite threshold"
_precision, _recall, _f1 = precision_recall_f1(_pred, y_test)
_pca_val = pca_reconstruction_error(T_train.reshape(2000, -1), T_val.reshape(500, -1), 8)
_pca_t = best_threshold(_pca_val, y_val)
_pca_pred = (pca_reconstruction_error(T_train.reshape(2000, -1), T_test.reshape(1000, -1), 8) > _pca_t).long()
_pca_f1 = precision_recall_f1(_pca_pred, y_test)[2]
assert _f1 >= 0.6, f"test F1 {_f1:.3f} is below 0.6: train longer, or check the threshold"
assert _f1 > _pca_f1, f"your detector (F1 {_f1:.3f}) should beat PCA with 8 components (F1 {_pca_f1:.3f})"
print(f"detector: visible tests passed; test precision {_precision:.3f}, recall {_recall:.3f}, F1 {_f1:.3f} "
      f"(PCA, 8 components: F1 {_pca_f1:.3f})")

# %% [markdown]
# Which faults does your detector catch? Recall per kind on the test windows:

# %%
try:
    _pred = detect(detector, threshold, T_test)
    for _code, _name in enumerate(ANOMALY_KINDS, start=1):
        _mask = kind_test == _code
        print(f"{_name:>12}: {int(_pred[_mask].sum()):3d} of {int(_mask.sum()):3d} found")
    print(f"false alarms: {int(_pred[y_test == 0].sum())} of {int((y_test == 0).sum())} normal windows")
except (NotImplementedError, NameError):
    print("Finish exercise 9 to see the recall per kind.")

# %% [markdown]
# ## Explore
#
# The widget below trains a 2-D autoencoder on the digits with *your*
# `build_autoencoder` and `train_autoencoder` and shows its code space
# coloured by class; pick an example to see it reconstructed. On the right,
# move the threshold over your detector's validation scores and watch
# precision and recall (computed by your `precision_recall_f1`) trade
# against each other. It is not graded.

# %% nbgrader="readonly" grade_id="explore" skip_grading=true
from dlcourse_autoencoders.widgets import autoencoder_explorer  # noqa: E402

try:
    _val_scores = reconstruction_error(detector, T_val.reshape(len(T_val), -1))
except Exception:  # noqa: BLE001 - the detector is optional here
    _val_scores = None
try:
    explorer = autoencoder_explorer(build_autoencoder, train_autoencoder, X_digits, y_digits,
                                    scores=_val_scores, labels=y_val, metrics_fn=precision_recall_f1)
except Exception as error:  # noqa: BLE001 - the widget is optional
    explorer = None
    print("The explorer could not start:", type(error).__name__, error)
explorer
