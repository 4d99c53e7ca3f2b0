"""Topic plugin: the perceptron, logistic regression and backprop by hand."""

from __future__ import annotations

from pathlib import Path

from dlcourse.topic_plugin import DatasetRef, TopicPlugin, VisualiserRef, lesson_and_assignment
from dlcourse.types import Topic

SLUG = "perceptron"

plugin = TopicPlugin(
    Topic(
        slug=SLUG,
        title="Perceptron and backprop by hand",
        summary="Sigmoid, cross-entropy, the perceptron rule, a two-layer MLP and its gradients.",
        order=10,
        plugin=__name__,
    ),
    notebooks=lesson_and_assignment(SLUG, Path(__file__).parent / "notebooks"),
    visualisers=(
        VisualiserRef("decision_boundary", "Decision boundary of a two-layer MLP",
                      build=f"{__name__}.widgets:decision_boundary_explorer",
                      compute=f"{__name__}.widgets:training_trace"),
    ),
    datasets=(
        DatasetRef("moons", "Two interleaving half circles (scikit-learn make_moons).", f"{__name__}.data:load_moons"),
        DatasetRef("blobs", "Two linearly separable Gaussian blobs with a margin.", f"{__name__}.data:load_blobs"),
        DatasetRef("xor", "The four XOR points, optionally as noisy clouds.", f"{__name__}.data:load_xor"),
    ),
    checks=f"{__name__}.hidden.checks",
)
