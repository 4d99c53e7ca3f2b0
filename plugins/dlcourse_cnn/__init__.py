"""Topic plugin: convolutional networks, from conv2d by hand to a trained LeNet."""

from __future__ import annotations

from pathlib import Path

from dlcourse.topic_plugin import DatasetRef, TopicPlugin, VisualiserRef, lesson_and_assignment
from dlcourse.types import Topic

SLUG = "cnn"
_WIDGETS = f"{__name__}.widgets"
_DATA = f"{__name__}.data"

plugin = TopicPlugin(
    Topic(
        slug=SLUG,
        title="Convolutional networks",
        summary="conv2d and pooling forward and backward, im2col, 1-D convolution, LeNet on digits.",
        order=40,
        plugin=__name__,
    ),
    notebooks=lesson_and_assignment(SLUG, Path(__file__).parent / "notebooks"),
    visualisers=(
        VisualiserRef("kernel_editor", "A 3x3 kernel editor applied live to an image",
                      build=f"{_WIDGETS}:kernel_editor", compute=f"{_WIDGETS}:filter_response"),
        VisualiserRef("feature_maps", "Feature maps of a network's first convolution",
                      build=f"{_WIDGETS}:feature_map_viewer", compute=f"{_WIDGETS}:feature_maps"),
    ),
    datasets=(
        DatasetRef("digits", "scikit-learn's 8x8 digits as standardised NCHW float32, fixed splits.",
                   f"{_DATA}:load_digits_split"),
        DatasetRef("mnist1d", "MNIST-1D (make_dataset with default arguments): 4000 + 1000 sequences of 40.",
                   f"{_DATA}:load_mnist1d"),
        DatasetRef("images", "A grayscale photo (scikit-learn's china.jpg) or a synthetic scene of shapes.",
                   f"{_DATA}:load_image"),
        DatasetRef("series", "A noisy slow sine with a level shift: a univariate time series.",
                   f"{_DATA}:make_series"),
    ),
    checks=f"{__name__}.hidden.checks",
)
