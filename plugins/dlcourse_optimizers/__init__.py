"""Topic plugin: mini-batches, SGD, momentum, RMSProp and Adam as PyTorch optimizers."""

from __future__ import annotations

from pathlib import Path

from dlcourse.topic_plugin import DatasetRef, TopicPlugin, VisualiserRef, lesson_and_assignment
from dlcourse.types import Topic

SLUG = "optimizers"

plugin = TopicPlugin(
    Topic(
        slug=SLUG,
        title="Optimizers: SGD, momentum, RMSProp, Adam",
        summary="Mini-batches, gradient descent with momentum, RMSProp and Adam written as "
                "torch.optim optimizers, a learning-rate schedule and a training loop.",
        order=20,
        plugin=__name__,
    ),
    notebooks=lesson_and_assignment(SLUG, Path(__file__).parent / "notebooks"),
    visualisers=(
        VisualiserRef("trajectories", "Optimizer trajectories on a loss surface",
                      build=f"{__name__}.widgets:trajectory_explorer", compute=f"{__name__}.widgets:optimizer_paths"),
    ),
    datasets=(
        DatasetRef("moons", "Two interleaving half circles (scikit-learn make_moons), float32 X, int64 y.",
                   f"{__name__}.data:load_moons"),
        DatasetRef("quadratic", "A random SPD matrix, eigenvalues in [1, kappa] (condition number kappa).",
                   f"{__name__}.data:make_quadratic"),
    ),
    checks=f"{__name__}.hidden.checks",
)
