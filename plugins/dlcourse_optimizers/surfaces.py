"""Two-dimensional loss surfaces for watching optimizers move.

Each surface is a function of two coordinates written with torch operations,
so it can be evaluated on a NumPy grid (for contour plots) and differentiated
by autograd (for the optimizers). Their curvature is scaled so that one
learning rate around 0.01–0.1 is sensible for SGD and for Adam alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

__all__ = ["SURFACES", "Surface", "evaluate_grid"]


@dataclass(frozen=True)
class Surface:
    """A named 2-D loss ``f(x, y)`` with a start point, a plot window and its minima."""

    name: str
    title: str
    f: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minima: tuple[tuple[float, float], ...]

    def __call__(self, xy: torch.Tensor) -> torch.Tensor:
        """The loss at ``xy`` of shape (..., 2)."""
        return self.f(xy[..., 0], xy[..., 1])


def _quadratic(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # curvatures 0.2 and 5: condition number 25, a long narrow valley along x
    return 0.5 * (0.2 * x**2 + 5.0 * y**2)


def _rosenbrock(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # Rosenbrock's banana valley (1 - x)^2 + 10 (y - x^2)^2, divided by 10
    return 0.1 * (1.0 - x) ** 2 + (y - x**2) ** 2


def _saddle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # a saddle at the origin; minima at (0, +-1); the quartic keeps it bounded below
    return 0.5 * x**2 - 0.5 * y**2 + 0.25 * y**4


SURFACES: dict[str, Surface] = {
    surface.name: surface
    for surface in (
        Surface("quadratic", "ill-conditioned quadratic (condition number 25)", _quadratic,
                (-4.5, 1.5), (-5.0, 5.0), (-2.5, 2.5), ((0.0, 0.0),)),
        Surface("rosenbrock", "Rosenbrock valley ((1-x)^2 + 10 (y-x^2)^2) / 10", _rosenbrock,
                (-1.5, 2.0), (-2.0, 2.0), (-1.0, 3.0), ((1.0, 1.0),)),
        Surface("saddle", "saddle point at the origin", _saddle,
                (2.0, 1e-3), (-2.5, 2.5), (-1.8, 1.8), ((0.0, 1.0), (0.0, -1.0))),
    )
}


def evaluate_grid(surface: Surface, grid_size: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xx, yy, zz)``: float64 arrays (grid_size, grid_size) of the surface over its plot window."""
    xs = np.linspace(*surface.xlim, grid_size)
    ys = np.linspace(*surface.ylim, grid_size)
    xx, yy = np.meshgrid(xs, ys)
    with torch.no_grad():
        zz = surface.f(torch.from_numpy(xx), torch.from_numpy(yy)).numpy()
    return xx, yy, zz
