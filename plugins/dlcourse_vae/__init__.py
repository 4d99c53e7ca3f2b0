"""Topic plugin: variational autoencoders on 8x8 digits."""

from __future__ import annotations

from pathlib import Path

from dlcourse.topic_plugin import DatasetRef, TopicPlugin, VisualiserRef, lesson_and_assignment
from dlcourse.types import Topic

SLUG = "vae"

plugin = TopicPlugin(
    Topic(
        slug=SLUG,
        title="Variational autoencoders",
        summary="Gaussian encoders, the reparameterisation trick, the KL term and the ELBO; "
                "sampling, interpolation and latent arithmetic on digits.",
        order=70,
        plugin=__name__,
    ),
    notebooks=lesson_and_assignment(SLUG, Path(__file__).parent / "notebooks"),
    visualisers=(
        VisualiserRef("latent_space", "Latent sliders and the latent manifold of a VAE",
                      build=f"{__name__}.widgets:latent_explorer", compute=f"{__name__}.widgets:latent_grid"),
    ),
    datasets=(
        DatasetRef("digits", "8x8 digits (scikit-learn load_digits) as (N, 64) float32 in [0, 1], "
                   "split into 1 500 training and 297 held-out images.", f"{__name__}.data:load_digits_split"),
    ),
    checks=f"{__name__}.hidden.checks",
)
