"""Offline 8x8 digits for the variational autoencoder topic.

The images come from scikit-learn's bundled ``load_digits`` (1 797 images,
nothing is downloaded). Pixels are scaled from {0, ..., 16} to [0, 1], so a
decoder can treat each pixel as the mean of a Bernoulli variable. The data
are split once, with a fixed permutation, into a training split of
``TRAIN_SIZE`` images and a held-out split of the rest: the assignment trains
on the first only, and the hidden checks measure the trained model on the
second, which the notebooks never load.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from sklearn.datasets import load_digits

__all__ = ["IMAGE_SHAPE", "N_CLASSES", "N_PIXELS", "TRAIN_SIZE", "load_digits_split"]

IMAGE_SHAPE = (8, 8)
N_PIXELS = 64
N_CLASSES = 10
TRAIN_SIZE = 1500
#: Seed of the one permutation that defines the split (part of the split's definition, never change it).
_SPLIT_SEED = 20240917

Split = Literal["train", "heldout", "all"]


def _split_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(_SPLIT_SEED).permutation(n)
    return np.sort(order[:TRAIN_SIZE]), np.sort(order[TRAIN_SIZE:])


def load_digits_split(split: Split = "train") -> tuple[np.ndarray, np.ndarray]:
    """Flattened 8x8 digit images and their labels.

    ``split`` is ``"train"`` (``TRAIN_SIZE`` = 1 500 images), ``"heldout"``
    (the other 297) or ``"all"`` (1 797, in scikit-learn's order). The two
    splits are disjoint, together cover every image, and are the same on
    every call and every machine.

    Returns ``(X, y)``: ``X`` of shape (N, 64), float32, pixel intensities in
    [0, 1] in row-major order (reshape a row to (8, 8) to draw it); ``y`` of
    shape (N,), int64 class labels 0-9.
    """
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    if split == "all":
        return X, y
    train, heldout = _split_indices(len(X))
    if split == "train":
        return X[train], y[train]
    if split == "heldout":
        return X[heldout], y[heldout]
    raise ValueError(f"split must be 'train', 'heldout' or 'all', got {split!r}")
