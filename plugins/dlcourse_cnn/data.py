"""Offline data for the convolutional-networks topic.

Everything is generated locally or read from files that ship with
scikit-learn (nothing is downloaded) and is deterministic:

- :func:`load_digits_split`: scikit-learn's 8x8 digits as NCHW ``float32``
  images, standardised, in three fixed splits (train, val, heldout);
- :func:`load_mnist1d`: the MNIST-1D sequences, generated with
  ``mnist1d.data.make_dataset`` and the paper's default arguments;
- :func:`load_image`: a grayscale photo or a synthetic scene of shapes for
  filter demos;
- :func:`make_series`: a noisy univariate time series with a level shift.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "DIGITS_MEAN", "DIGITS_STD", "SPLITS", "load_digits_split", "load_image", "load_mnist1d", "make_series",
]

#: Sizes of the digits splits; together they cover all 1 797 images.
SPLITS = {"train": 1000, "val": 200, "heldout": 597}
#: Mean and standard deviation of the digits pixels (0..16 scaled to 0..1).
DIGITS_MEAN = 0.3053
DIGITS_STD = 0.3760


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    order = np.random.default_rng(0).permutation(len(bunch.target))  # a fixed shuffle
    images = (bunch.images[order] / 16.0 - DIGITS_MEAN) / DIGITS_STD
    return images.astype(np.float32)[:, None, :, :], bunch.target[order].astype(np.int64)


def load_digits_split(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """One fixed split of scikit-learn's digits: ``X`` (N, 1, 8, 8) float32, ``y`` (N,) int64.

    ``split`` is ``"train"`` (1 000 images), ``"val"`` (200) or
    ``"heldout"`` (597, kept for grading: assignments never train on it).
    Pixels are scaled from 0..16 to 0..1 and standardised with
    :data:`DIGITS_MEAN` and :data:`DIGITS_STD`.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, got {split!r}")
    images, labels = _digits()
    start = 0
    for name, size in SPLITS.items():
        if name == split:
            return images[start:start + size].copy(), labels[start:start + size].copy()
        start += size
    raise AssertionError("unreachable")


@functools.lru_cache(maxsize=1)
def _mnist1d() -> dict[str, np.ndarray]:
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset generates locally; get_dataset() would try a download first
    return make_dataset(get_dataset_args())


def load_mnist1d() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST-1D with the default arguments: ``(X_train, y_train, X_test, y_test)``.

    ``X_train`` is (4000, 40) and ``X_test`` (1000, 40), float32; labels are
    int64 in 0..9. Each row is a univariate sequence of 40 time steps; for a
    1-D convolution reshape it to (N, 1, 40). Takes about 3 s the first time
    in a process, then it is cached.
    """
    data = _mnist1d()
    return (data["x"].astype(np.float32), data["y"].astype(np.int64),
            data["x_test"].astype(np.float32), data["y_test"].astype(np.int64))


def _block_mean(image: np.ndarray, size: int) -> np.ndarray:
    """Shrink ``image`` (H, W) so that its shorter side is about ``size`` pixels."""
    factor = max(1, min(image.shape) // size)
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    return image[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def _shapes(size: int) -> np.ndarray:
    rows, cols = np.mgrid[0:size, 0:size] / size
    image = np.full((size, size), 0.2)
    image[(rows > 0.15) & (rows < 0.45) & (cols > 0.1) & (cols < 0.4)] = 0.9  # a square
    image[(rows - 0.68) ** 2 + (cols - 0.3) ** 2 < 0.03] = 0.6  # a disc
    stripes = (cols > 0.55) & (cols < 0.9) & (rows > 0.1) & (rows < 0.9)
    image[stripes] = (np.floor(rows * 12) % 2 == 0)[stripes]  # horizontal stripes, 0 and 1
    return image


def load_image(name: str = "photo", size: int = 64) -> np.ndarray:
    """A grayscale image (H, W), float64 in [0, 1], for filter demos.

    ``name="photo"``: scikit-learn's bundled ``china.jpg``, converted to
    grayscale and shrunk by block averaging so its shorter side is about
    ``size`` pixels. ``name="shapes"``: a synthetic ``size`` x ``size`` scene
    with a square, a disc and stripes (sharp edges in both directions).
    """
    if name == "shapes":
        return _shapes(int(size))
    if name != "photo":
        raise ValueError(f"name must be 'photo' or 'shapes', got {name!r}")
    from sklearn.datasets import load_sample_image

    rgb = load_sample_image("china.jpg").astype(np.float64) / 255.0
    gray = rgb @ np.array([0.299, 0.587, 0.114])
    return np.clip(_block_mean(gray, int(size)), 0.0, 1.0)


def make_series(length: int = 200, shift_at: int = 120, shift: float = 2.0, noise: float = 0.3,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A univariate time series: a slow sine (amplitude 0.5, period 80) plus noise, with a level shift.

    Returns ``(t, series)``, both (length,) float64; the series jumps up by
    ``shift`` at index ``shift_at``. A moving average removes the noise and a
    difference filter finds the jump.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    series = 0.5 * np.sin(2 * np.pi * t / 80.0) + noise * rng.normal(size=length)
    series[shift_at:] += shift
    return t, series
