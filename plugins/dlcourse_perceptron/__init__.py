"""Topic plugin: the perceptron, logistic regression and backprop by hand."""

from __future__ import annotations

from pathlib import Path

from dlcourse import hookimpl
from dlcourse.types import Dataset, NotebookSource, Topic, Visualiser

SLUG = "perceptron"
NOTEBOOKS = Path(__file__).parent / "notebooks"


@hookimpl
def dlcourse_register_topics(course):
    return [
        Topic(
            slug=SLUG,
            title="Perceptron and backprop by hand",
            summary="Sigmoid, cross-entropy, the perceptron rule, a two-layer MLP and its gradients.",
            order=10,
            plugin=__name__,
        )
    ]


@hookimpl
def dlcourse_register_notebooks(course, topic):
    if topic.slug != SLUG:
        return []
    return [
        NotebookSource(SLUG, NOTEBOOKS / "lesson.py", "perceptron_lesson", "lesson", "lesson", 60.0),
        NotebookSource(SLUG, NOTEBOOKS / "perceptron.py", "perceptron", "perceptron", "assignment", 60.0),
    ]


@hookimpl
def dlcourse_register_visualisers(course):
    from dlcourse_perceptron.widgets import decision_boundary_explorer, training_trace

    return [
        Visualiser(
            topic=SLUG,
            name="decision_boundary",
            title="Decision boundary of a two-layer MLP",
            build=decision_boundary_explorer,
            compute=training_trace,
        )
    ]


@hookimpl
def dlcourse_register_checks(course, topic):
    if topic.slug != SLUG:
        return []
    try:
        from dlcourse_perceptron.hidden.checks import CHECKS
    except ImportError:  # hidden/ is not shipped to students
        return []
    return list(CHECKS)


@hookimpl
def dlcourse_register_datasets(course):
    from dlcourse_perceptron import data

    return [
        Dataset(SLUG, "moons", "Two interleaving half circles (scikit-learn make_moons).", data.load_moons),
        Dataset(SLUG, "blobs", "Two linearly separable Gaussian blobs with a margin.", data.load_blobs),
        Dataset(SLUG, "xor", "The four XOR points, optionally as noisy clouds.", data.load_xor),
    ]
