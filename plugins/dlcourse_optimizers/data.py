"""Offline data for the optimizers topic.

Everything is generated locally with scikit-learn or NumPy (nothing is
downloaded) and is deterministic for a given ``seed``.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_moons

__all__ = ["load_moons", "make_quadratic"]


def load_moons(n_samples: int = 512, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles for a small classifier.

    Returns ``X`` of shape (n_samples, 2), ``float32`` (ready for a torch
    model), and ``y`` of shape (n_samples,), ``int64`` labels in {0, 1}.
    """
    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return X.astype(np.float32), y.astype(np.int64)


def make_quadratic(dim: int = 10, kappa: float = 100.0, seed: int = 0) -> np.ndarray:
    """A symmetric positive definite matrix ``A`` (dim, dim), ``float64``, with condition number ``kappa``.

    Its eigenvalues are spread log-uniformly over [1, kappa] and always
    include both ends, its eigenvectors form a random rotation. The quadratic
    f(x) = x.A.x / 2 then has its minimum at 0, smoothness L = kappa and
    strong convexity mu = 1, the setting of the classic convergence rates.
    """
    if dim < 2:
        raise ValueError("dim must be at least 2")
    rng = np.random.default_rng(seed)
    inner = rng.uniform(0.0, np.log(kappa), size=dim - 2)
    eigenvalues = np.exp(np.concatenate([[0.0], inner, [np.log(kappa)]]))
    rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    A = (rotation * eigenvalues) @ rotation.T
    return (A + A.T) / 2.0  # exactly symmetric
