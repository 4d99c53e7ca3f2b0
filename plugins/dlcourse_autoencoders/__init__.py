"""Topic plugin: autoencoders (undercomplete, sparse, denoising, stacked) and anomaly detection."""

from __future__ import annotations

from pathlib import Path

from dlcourse.topic_plugin import DatasetRef, TopicPlugin, VisualiserRef, lesson_and_assignment
from dlcourse.types import Topic

SLUG = "autoencoders"

plugin = TopicPlugin(
    Topic(
        slug=SLUG,
        title="Autoencoders and anomaly detection",
        summary="Undercomplete, sparse, denoising and stacked autoencoders; linear autoencoders and PCA; "
                "reconstruction error as an anomaly score on spacecraft-like telemetry.",
        order=60,
        plugin=__name__,
    ),
    notebooks=lesson_and_assignment(SLUG, Path(__file__).parent / "notebooks"),
    visualisers=(
        VisualiserRef("autoencoder_explorer", "2-D code space, reconstructions and an anomaly threshold",
                      build=f"{__name__}.widgets:autoencoder_explorer",
                      compute=f"{__name__}.widgets:autoencoder_view"),
    ),
    datasets=(
        DatasetRef("digits", "8x8 digits (scikit-learn load_digits), flattened, float32 in [0, 1].",
                   f"{__name__}.data:load_digits"),
        DatasetRef("telemetry", "Synthetic 4-channel spacecraft telemetry windows with injected spikes, "
                   "level shifts, frozen sensors and noise bursts.", f"{__name__}.data:make_telemetry"),
    ),
    checks=f"{__name__}.hidden.checks",
)
