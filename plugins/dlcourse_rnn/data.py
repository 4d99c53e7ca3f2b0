"""Offline synthetic sequences for the recurrent-networks topic.

Everything is generated locally with NumPy (nothing is downloaded) and is
deterministic for a given ``seed``. Sequences are batch-first and
``float32``, the layout of ``nn.LSTM(batch_first=True)``: inputs have shape
(N, T, D) for N sequences of T steps with D features each.

- Noisy sines: sine waves with a random frequency, phase and amplitude plus
  Gaussian noise, cut into windows; the task is to forecast the next value.
- The adding problem (Hochreiter and Schmidhuber, 1997): a sequence of random
  numbers in [0, 1] and a marker channel that flags two of them; the target
  is the sum of the two flagged numbers. Predicting the mean (1.0) gives a
  mean squared error of 1/6, about 0.167; solving it needs memory across the
  whole sequence.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ADDING_BASELINE_MSE",
    "load_noisy_sines",
    "make_adding_problem",
    "make_sine_series",
    "make_windows",
]

#: Mean squared error of always predicting 1.0 on the adding problem (the
#: variance of a sum of two independent uniforms on [0, 1]).
ADDING_BASELINE_MSE = 1.0 / 6.0


def make_sine_series(
    n_series: int = 20,
    length: int = 200,
    *,
    noise: float = 0.1,
    freq_range: tuple[float, float] = (0.02, 0.1),
    amp_range: tuple[float, float] = (0.5, 1.5),
    seed: int = 0,
) -> np.ndarray:
    """Noisy sine waves: an array of shape (n_series, length), float32.

    Series ``k`` is ``A_k sin(2 pi f_k t + phi_k) + noise * e_t`` for
    ``t = 0 .. length - 1``, with the frequency ``f_k`` (cycles per step)
    drawn uniformly from ``freq_range``, the amplitude ``A_k`` from
    ``amp_range``, the phase uniformly in [0, 2 pi) and standard normal
    ``e_t``. The best possible one-step forecast has a mean squared error of
    ``noise ** 2``.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype=np.float64)
    freq = rng.uniform(*freq_range, size=(n_series, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n_series, 1))
    amp = rng.uniform(*amp_range, size=(n_series, 1))
    series = amp * np.sin(2.0 * np.pi * freq * t + phase) + noise * rng.normal(size=(n_series, length))
    return series.astype(np.float32)


def make_windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut series into (past ``window`` values, next value) pairs.

    series: (S, L) or (L,) array. Returns ``X`` of shape
    (S * (L - window), window, 1) float32 (one feature per step) and ``y`` of
    shape (S * (L - window),) float32 with ``y[m]`` the value right after
    window ``X[m]``.
    """
    series = np.atleast_2d(np.asarray(series, dtype=np.float32))
    if not 1 <= window < series.shape[1]:
        raise ValueError(f"window must be in [1, {series.shape[1] - 1}], got {window}")
    pairs = np.lib.stride_tricks.sliding_window_view(series, window + 1, axis=1).reshape(-1, window + 1)
    return np.ascontiguousarray(pairs[:, :window, None]), np.ascontiguousarray(pairs[:, window])


def load_noisy_sines(
    window: int = 24, n_series: int = 20, length: int = 200, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A forecasting data set: ``X`` (M, window, 1) and ``y`` (M,), float32.

    ``M = n_series * (length - window)`` windows of :func:`make_sine_series`.
    """
    return make_windows(make_sine_series(n_series, length, noise=noise, seed=seed), window)


def make_adding_problem(n: int = 3000, length: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem: ``X`` (n, length, 2) and ``y`` (n,), float32.

    Channel 0 holds numbers drawn uniformly from [0, 1]; channel 1 is 1 at
    exactly two steps, one in the first half and one in the second half of
    the sequence, and 0 elsewhere. ``y`` is the sum of the two marked numbers.
    """
    if length < 2:
        raise ValueError(f"length must be at least 2, got {length}")
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(n, length))
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((n, length))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    X = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values[rows, first] + values[rows, second]).astype(np.float32)
    return X, y

