"""Topic plugin: recurrent networks, backpropagation through time and the LSTM."""

from __future__ import annotations

from pathlib import Path

from dlcourse.topic_plugin import DatasetRef, TopicPlugin, VisualiserRef, lesson_and_assignment
from dlcourse.types import Topic

SLUG = "rnn"

plugin = TopicPlugin(
    Topic(
        slug=SLUG,
        title="Recurrent networks: RNN, BPTT and LSTM",
        summary="An RNN by hand, backpropagation through time, gradient clipping, the LSTM cell "
                "and trained LSTMs on forecasting and the adding problem.",
        order=50,
        plugin=__name__,
    ),
    notebooks=lesson_and_assignment(SLUG, Path(__file__).parent / "notebooks"),
    visualisers=(
        VisualiserRef("lstm_gates", "LSTM gates, cell state and gradient norm per time step",
                      build=f"{__name__}.widgets:gate_explorer", compute=f"{__name__}.widgets:gate_trace"),
    ),
    datasets=(
        DatasetRef("noisy_sines", "Windows of noisy sine waves and the next value (forecasting).",
                   f"{__name__}.data:load_noisy_sines"),
        DatasetRef("adding", "The adding problem: sum the two marked numbers of a sequence.",
                   f"{__name__}.data:make_adding_problem"),
    ),
    checks=f"{__name__}.hidden.checks",
)
