"""The container every autoencoder of the topic uses (student-safe).

An :class:`Autoencoder` holds an ``encoder`` and a ``decoder`` (any modules)
and reconstructs with ``decoder(encoder(x))``. Building the two halves is
the students' job; keeping one container means that losses, training loops,
the hidden checks' drivers and the widget can all reach ``model.encoder``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Autoencoder"]


class Autoencoder(nn.Module):
    """``forward(x) = decoder(encoder(x))``; ``encoder`` and ``decoder`` are attributes."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))
