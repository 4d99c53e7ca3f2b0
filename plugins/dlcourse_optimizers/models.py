"""The small network that the optimizers are compared on."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["make_mlp"]


def make_mlp(hidden: int = 32, seed: int = 0, in_features: int = 2, classes: int = 2) -> nn.Sequential:
    """A ``float32`` MLP ``in_features -> hidden -> hidden -> classes`` with tanh activations.

    It maps a batch (B, in_features) to logits (B, classes). The weights come
    from PyTorch's default initialisation under ``torch.manual_seed(seed)``,
    so the same seed always gives the same network (the global torch RNG is
    restored afterwards).
    """
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.Tanh(),
            nn.Linear(hidden, hidden),
            nn.Tanh(),
            nn.Linear(hidden, classes),
        )
    finally:
        torch.random.set_rng_state(state)
    return model.to(torch.float32)
