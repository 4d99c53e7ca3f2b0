"""Topic plugin: generative adversarial networks."""

from __future__ import annotations

from pathlib import Path

from dlcourse.topic_plugin import DatasetRef, TopicPlugin, VisualiserRef, lesson_and_assignment
from dlcourse.types import Topic

SLUG = "gan"

plugin = TopicPlugin(
    Topic(
        slug=SLUG,
        title="Generative adversarial networks",
        summary="Generator and discriminator, their losses on logits, alternating training, "
                "the optimal discriminator and mode collapse.",
        order=80,
        plugin=__name__,
    ),
    notebooks=lesson_and_assignment(SLUG, Path(__file__).parent / "notebooks"),
    visualisers=(
        VisualiserRef("gan_training", "Real and generated samples over training, with the discriminator's surface",
                      build=f"{__name__}.widgets:gan_training_explorer",
                      compute=f"{__name__}.widgets:training_frames"),
    ),
    datasets=(
        DatasetRef("ring", "Eight Gaussians on a circle of radius 2 (std 0.05), float32 (N, 2).",
                   f"{__name__}.data:sample_ring"),
        DatasetRef("digits", "The 8x8 scikit-learn digits, flattened to (1797, 64) float32 in [-1, 1].",
                   f"{__name__}.data:load_digits"),
    ),
    checks=f"{__name__}.hidden.checks",
)
