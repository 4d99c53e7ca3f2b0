"""Offline datasets for the autoencoders topic.

Nothing is downloaded: the digits come with scikit-learn and the telemetry
is generated here. Every loader is deterministic for a given ``seed`` and
returns ``float32`` features (what the models train on) with ``int64``
labels.

The telemetry imitates a spacecraft's housekeeping data: four channels
driven by the same orbit (a panel temperature, a battery voltage that
saturates, a bus current with a second harmonic and a reaction-wheel speed
with an offset), sampled in windows of ``window`` steps. Each window has its
own orbital phase, a slightly different period and amplitude, and sensor
noise. Anomalous windows carry one injected fault on one channel:

========  =============  ==============================================
code      kind           what happens
========  =============  ==============================================
1         spike          one sample jumps by 0.5 to 0.9
2         level_shift    from a random step on, an offset of 0.3 to 0.5
3         frozen         the sensor repeats one value from a step on
4         noise_burst    a quarter of the window gets extra noise
========  =============  ==============================================

The faults are kept small (a few times the noise), so no detector is perfect.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits as _sklearn_digits

__all__ = ["ANOMALY_KINDS", "CHANNELS", "load_digits", "make_telemetry", "split"]

#: Names of the telemetry channels, in order.
CHANNELS = ("panel_temperature", "battery_voltage", "bus_current", "wheel_speed")
#: Names of the anomaly kinds; kind code ``i + 1`` is ``ANOMALY_KINDS[i]`` (0 is normal).
ANOMALY_KINDS = ("spike", "level_shift", "frozen", "noise_burst")


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1 797 scikit-learn digits: ``X`` (1797, 64) float32 in [0, 1], ``y`` (1797,) int64.

    Each row is an 8x8 image flattened row by row; pixel values 0..16 are
    divided by 16.
    """
    digits = _sklearn_digits()
    return (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)


def split(X: np.ndarray, y: np.ndarray, n_test: int, seed: int = 0):
    """Shuffle with ``seed`` and split into ``(X_train, X_test, y_train, y_test)``.

    The last ``n_test`` examples of the shuffled order form the test set.
    """
    order = np.random.default_rng(seed).permutation(len(X))
    train, test = order[: len(X) - n_test], order[len(X) - n_test:]
    return X[train], X[test], y[train], y[test]


def _clean_windows(rng: np.random.Generator, n: int, window: int) -> np.ndarray:
    """(n, 4, window) noiseless channels that share one orbit per window."""
    steps = np.arange(window)
    period = rng.uniform(20.0, 36.0, size=(n, 1))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n, 1))
    amplitude = rng.uniform(0.8, 1.2, size=(n, 1))
    theta = 2.0 * np.pi * steps / period + phase
    temperature = amplitude * np.sin(theta)
    voltage = 0.8 * np.tanh(3.0 * np.sin(theta + 0.8))  # charge regulation saturates
    current = 0.5 * np.sin(2.0 * theta) + 0.3 * amplitude * np.cos(theta)
    wheel = 0.6 * np.cos(theta) * np.clip(np.sin(theta), 0.0, None) + rng.uniform(-0.3, 0.3, size=(n, 1))
    return np.stack([temperature, voltage, current, wheel], axis=1)


def _inject(rng: np.random.Generator, series: np.ndarray, kind: int) -> None:
    """Inject one fault of ``kind`` (1..4) into one channel of ``series`` (C, T), in place."""
    channels, window = series.shape
    c = int(rng.integers(channels))
    if kind == 1:  # spike
        at = int(rng.integers(window))
        series[c, at] += rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 0.9)
    elif kind == 2:  # level shift
        at = int(rng.integers(window // 4, 3 * window // 4))
        series[c, at:] += rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.5)
    elif kind == 3:  # frozen sensor
        at = int(rng.integers(0, window // 2))
        series[c, at:] = series[c, at]
    elif kind == 4:  # noise burst
        length = window // 4
        at = int(rng.integers(0, window - length + 1))
        series[c, at:at + length] += rng.normal(0.0, rng.uniform(0.2, 0.35), size=length)
    else:
        raise ValueError(f"unknown anomaly kind {kind}")


def make_telemetry(
    n_windows: int = 1000,
    anomaly_rate: float = 0.0,
    seed: int = 0,
    *,
    window: int = 32,
    noise: float = 0.08,
    kinds: tuple[int, ...] = (1, 2, 3, 4),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows of synthetic spacecraft telemetry, some with an injected anomaly.

    n_windows: number of windows N; anomaly_rate: fraction of them (rounded)
    that get one fault; seed: everything is deterministic for a seed;
    window: length T of a window; noise: sensor noise standard deviation;
    kinds: the anomaly kind codes to draw from (see the module docstring).

    Returns ``(X, y, kind)``: ``X`` float32 (N, 4, T), ``y`` int64 (N,) with
    1 for an anomalous window, ``kind`` int64 (N,) with 0 for normal windows
    and the fault's code otherwise.
    """
    if not 0.0 <= anomaly_rate <= 1.0:
        raise ValueError(f"anomaly_rate must be in [0, 1], got {anomaly_rate}")
    rng = np.random.default_rng(seed)
    X = _clean_windows(rng, n_windows, window)
    X = X + rng.normal(0.0, noise, size=X.shape)
    y = np.zeros(n_windows, dtype=np.int64)
    kind = np.zeros(n_windows, dtype=np.int64)
    for i in rng.choice(n_windows, size=int(round(anomaly_rate * n_windows)), replace=False):
        kind[i] = int(rng.choice(kinds))
        _inject(rng, X[i], int(kind[i]))
        y[i] = 1
    return X.astype(np.float32), y, kind
