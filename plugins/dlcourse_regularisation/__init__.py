"""Topic plugin: regularisation (penalties, dropout, batch norm, early stopping, noise, augmentation)."""

from __future__ import annotations

from pathlib import Path

from dlcourse.topic_plugin import DatasetRef, TopicPlugin, VisualiserRef, lesson_and_assignment
from dlcourse.types import Topic

SLUG = "regularisation"
_DATA = f"{__name__}.data"

plugin = TopicPlugin(
    Topic(
        slug=SLUG,
        title="Regularisation: penalties, dropout, batch norm, early stopping",
        summary="Overfitting on MNIST-1D and what fixes it: L2/L1 penalties and decoupled weight decay, "
                "dropout, batch normalisation, early stopping, input noise and data augmentation.",
        order=30,
        plugin=__name__,
    ),
    notebooks=lesson_and_assignment(SLUG, Path(__file__).parent / "notebooks"),
    visualisers=(
        VisualiserRef("bias_variance", "Training and validation curves against weight decay, dropout and input noise",
                      build=f"{__name__}.widgets:regularisation_explorer",
                      compute=f"{__name__}.widgets:regularisation_curves"),
    ),
    datasets=(
        DatasetRef("mnist1d", "MNIST-1D (generated offline with mnist1d.make_dataset): 4000 + 1000 "
                   "signals of length 40, 10 classes, float32.", f"{_DATA}:load_mnist1d"),
        DatasetRef("mnist1d_split", "MNIST-1D split into 3000 train, 1000 validation and 1000 test signals.",
                   f"{_DATA}:load_mnist1d_split"),
        DatasetRef("digits", "8x8 digits (scikit-learn load_digits) in [0, 1], a stratified 70/30 split.",
                   f"{_DATA}:load_digits_split"),
    ),
    checks=f"{__name__}.hidden.checks",
)
