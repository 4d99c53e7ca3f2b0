"""Runtime helpers for notebooks: device choice and seeding."""

from __future__ import annotations

import os
import random

import numpy as np

DEVICE_ENV = "DLCOURSE_DEVICE"


def device() -> str:
    """Return the torch device to use.

    ``DLCOURSE_DEVICE`` (set by the ``dlcourse-py3`` kernel) may name one
    device (``cpu``, ``cuda``, ``cuda:1``, ``mps``) or ``auto``; ``auto``
    picks cuda, then mps, then cpu.
    """
    wanted = os.environ.get(DEVICE_ENV, "auto").strip() or "auto"
    if wanted != "auto":
        return wanted
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global RNG and torch (all devices).

    On CUDA it also asks cuDNN for deterministic kernels, so two runs with the
    same seed give the same numbers.
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import torch
    except ImportError:  # numpy-only topics still seed
        return
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
