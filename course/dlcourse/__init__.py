"""dlcourse: an auto-graded deep-learning course on nbgrader.

A topic plugin imports only :data:`hookimpl` from here::

    from dlcourse import hookimpl

    @hookimpl
    def dlcourse_register_topics(course):
        return [Topic("perceptron", "Perceptron and backprop by hand")]
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

PROJECT_NAME = "dlcourse"
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)


def device() -> str:
    """Return the best torch device name: ``cuda``, then ``mps``, then ``cpu``."""
    from dlcourse.runtime import device as _device

    return _device()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (and make cuDNN deterministic)."""
    from dlcourse.runtime import seed_everything as _seed

    _seed(seed)


__all__ = ["__version__", "device", "hookimpl", "hookspec", "seed_everything"]
