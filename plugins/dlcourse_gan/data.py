"""Offline datasets for the GAN topic.

Everything is generated locally (nothing is downloaded) and is deterministic
for a given ``seed``. Training data are ``float32``, the dtype of the
networks that learn them; the mode centres are ``float64``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["load_digits", "ring_centres", "sample_ring"]


def ring_centres(n_modes: int = 8, radius: float = 2.0) -> np.ndarray:
    """The centres of the ring's modes: shape (n_modes, 2), float64.

    Centre ``k`` sits at angle ``2 * pi * k / n_modes`` on a circle of the
    given radius, so centre 0 is at ``(radius, 0)``.
    """
    angles = 2.0 * np.pi * np.arange(n_modes) / n_modes
    return radius * np.column_stack([np.cos(angles), np.sin(angles)])


def sample_ring(
    n_samples: int = 2000,
    *,
    n_modes: int = 8,
    radius: float = 2.0,
    std: float = 0.05,
    seed: int = 0,
    return_modes: bool = False,
):
    """A mixture of ``n_modes`` equally likely isotropic Gaussians on a circle.

    Returns ``X`` of shape (n_samples, 2), float32; with
    ``return_modes=True`` also the index of the mode each point was drawn
    from, shape (n_samples,), int64. The classic toy problem for mode
    collapse: a generator that covers only some modes is easy to spot.
    """
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, n_modes, size=n_samples)
    X = ring_centres(n_modes, radius)[modes] + std * rng.normal(size=(n_samples, 2))
    X = X.astype(np.float32)
    if return_modes:
        return X, modes.astype(np.int64)
    return X


def load_digits(*, scale: str = "tanh") -> tuple[np.ndarray, np.ndarray]:
    """The 1 797 scikit-learn 8x8 digits, flattened: ``X`` (1797, 64) float32, ``y`` (1797,) int64.

    Pixel values (0 to 16 in the original) are mapped to [-1, 1] with
    ``scale="tanh"`` (the range of a tanh output layer) or to [0, 1] with
    ``scale="unit"``.
    """
    from sklearn.datasets import load_digits as _sklearn_digits

    digits = _sklearn_digits()
    X = digits.data / 16.0
    if scale == "tanh":
        X = 2.0 * X - 1.0
    elif scale != "unit":
        raise ValueError(f"scale must be 'tanh' or 'unit', got {scale!r}")
    return X.astype(np.float32), digits.target.astype(np.int64)
