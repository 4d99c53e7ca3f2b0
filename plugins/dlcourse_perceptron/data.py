"""Offline 2-D datasets for the perceptron topic.

Everything is generated locally with scikit-learn or NumPy (nothing is
downloaded), is deterministic for a given ``seed``, and returns ``float64``
features with ``int64`` labels in ``{0, 1}`` (or ``{-1, +1}`` with
``signed=True``, the convention of the perceptron learning rule).
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs, make_moons

__all__ = ["load_blobs", "load_moons", "load_xor"]


def _labels(y: np.ndarray, signed: bool) -> np.ndarray:
    y = np.asarray(y, dtype=np.int64)
    return 2 * y - 1 if signed else y


def load_moons(
    n_samples: int = 200, noise: float = 0.2, seed: int = 0, *, signed: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: ``X`` of shape (n_samples, 2), ``y`` (n_samples,).

    No straight line separates the classes; a small MLP does.
    """
    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return X.astype(np.float64), _labels(y, signed)


def load_blobs(
    n_samples: int = 100,
    margin: float = 0.5,
    seed: int = 0,
    *,
    signed: bool = False,
    return_separator: bool = False,
):
    """Two Gaussian blobs that a line separates with a margin of at least ``margin``.

    Points are drawn with :func:`sklearn.datasets.make_blobs` around
    (-2, -1) and (2, 1); points closer than ``margin`` to the perpendicular
    bisector of the two centres are dropped, so the data are linearly
    separable by construction.

    Returns ``(X, y)``; with ``return_separator=True`` also ``(w, b)``, a unit
    vector ``w`` and offset ``b`` with ``y_signed * (X @ w + b) >= margin``.
    """
    centres = np.array([[-2.0, -1.0], [2.0, 1.0]])
    w = (centres[1] - centres[0]) / np.linalg.norm(centres[1] - centres[0])
    b = -float(w @ centres.mean(axis=0))
    kept_X, kept_y, draw = [], [], 0
    while sum(len(part) for part in kept_y) < n_samples:
        X, y = make_blobs(
            n_samples=2 * n_samples, centers=centres, cluster_std=1.0, random_state=seed + 7919 * draw
        )
        signed_y = 2 * y - 1
        keep = signed_y * (X @ w + b) >= margin
        kept_X.append(X[keep])
        kept_y.append(y[keep])
        draw += 1
    X = np.concatenate(kept_X)[:n_samples].astype(np.float64)
    y = _labels(np.concatenate(kept_y)[:n_samples], signed)
    if return_separator:
        return X, y, (w, b)
    return X, y


def load_xor(
    n_per_corner: int = 1, noise: float = 0.0, seed: int = 0, *, signed: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: corners of the unit square, label 1 where exactly one coordinate is 1.

    With ``n_per_corner=1`` and ``noise=0`` this is the classic four points
    (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0; otherwise each corner is a small
    Gaussian cloud of ``n_per_corner`` points with standard deviation ``noise``.
    """
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    labels = np.array([0, 1, 1, 0])
    X = np.repeat(corners, n_per_corner, axis=0)
    y = np.repeat(labels, n_per_corner)
    if noise > 0:
        X = X + np.random.default_rng(seed).normal(0.0, noise, size=X.shape)
    return X.astype(np.float64), _labels(y, signed)
