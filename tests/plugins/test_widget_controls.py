"""What every topic's widgets share: labels that are not cut off, and a clear "implement this first".

Each widget is built the way an untouched release builds it: with the
student's functions still stubs that raise NotImplementedError. The stubs
are defined by executing notebook-like source in a namespace of its own, as
a notebook cell defines them, so the widget can tell which function to name.
"""

from __future__ import annotations

from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlcourse.runtime import READABLE_LABEL  # noqa: E402


def stubs(*names: str) -> dict[str, Callable[..., Any]]:
    """Functions ``names`` as a released notebook defines them: their bodies raise NotImplementedError."""
    namespace: dict[str, Any] = {}
    for name in names:
        source = f"def {name}(*args, **kwargs):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
        exec(source, namespace)
    return namespace


def _perceptron() -> list:
    from dlcourse_perceptron.widgets import decision_boundary_explorer

    s = stubs("train_mlp", "mlp_predict")
    return [(decision_boundary_explorer(s["train_mlp"], s["mlp_predict"], epochs=20), "train_mlp")]


def _optimizers() -> list:
    from dlcourse_optimizers.widgets import trajectory_explorer

    namespace: dict[str, Any] = {}
    exec("import torch\nclass SGD(torch.optim.Optimizer):\n"
         "    def __init__(self, params, lr=0.01, momentum=0.0):\n"
         "        raise NotImplementedError()\n", namespace)
    return [(trajectory_explorer(namespace["SGD"], surface="quadratic", steps=10, grid_size=8), "SGD")]


def _regularisation() -> list:
    from dlcourse_regularisation.widgets import regularisation_explorer

    s = stubs("train_regularised", "predict")
    X, X_val = np.zeros((40, 5)), np.zeros((30, 5))
    box = regularisation_explorer(s["train_regularised"], s["predict"], X, np.arange(40) % 3, X_val,
                                  np.arange(30) % 3)
    return [(box, "train_regularised")]


def _cnn() -> list:
    from dlcourse_cnn.widgets import feature_map_viewer, kernel_editor

    s = stubs("conv2d")
    return [(kernel_editor(s["conv2d"]), "conv2d"),
            (feature_map_viewer(None, np.zeros((3, 1, 8, 8))), "train your network")]


def _rnn() -> list:
    from dlcourse_rnn.widgets import gate_explorer

    s = stubs("lstm_gates", "lstm_step", "rnn_forward", "rnn_backward")
    box = gate_explorer(s["lstm_gates"], s["lstm_step"], s["rnn_forward"], s["rnn_backward"], length=10)
    return [(box, "lstm_")]


def _autoencoders() -> list:
    from dlcourse_autoencoders.widgets import autoencoder_explorer

    s = stubs("build_autoencoder", "train_autoencoder", "precision_recall_f1")
    box = autoencoder_explorer(s["build_autoencoder"], s["train_autoencoder"], np.zeros((20, 64)),
                               np.zeros(20), scores=np.array([0.1, 0.5, 0.9]), labels=np.array([0, 1, 1]),
                               metrics_fn=s["precision_recall_f1"], epochs=1)
    return [(box, "build_autoencoder")]


def _vae() -> list:
    from dlcourse_vae.widgets import latent_explorer

    s = stubs("decode")
    return [(latent_explorer(s["decode"], latent_dim=2, grid_size=4), "decode")]


def _gan() -> list:
    from dlcourse_gan.widgets import gan_training_explorer

    s = stubs("train_gan")
    return [(gan_training_explorer(s["train_gan"], steps=10), "train_gan")]


BUILDERS = {"perceptron": _perceptron, "optimizers": _optimizers, "regularisation": _regularisation,
            "cnn": _cnn, "rnn": _rnn, "autoencoders": _autoencoders, "vae": _vae, "gan": _gan}


def controls(widget: Any) -> list:
    """Every widget inside ``widget`` (itself included) that shows a description label."""
    found, pending = [], [widget]
    while pending:
        current = pending.pop()
        style = getattr(current, "style", None)
        if style is not None and style.has_trait("description_width"):
            found.append(current)
        pending.extend(getattr(current, "children", ()))
    return found


def test_every_topic_has_a_builder_here():
    from dlcourse.manager import Hooks

    assert {v.topic for v in Hooks.load().visualisers()} == set(BUILDERS)


@pytest.mark.parametrize("slug", sorted(BUILDERS))
def test_labels_are_not_cut_off(slug):
    for box, _ in BUILDERS[slug]():
        labelled = [c for c in controls(box) if getattr(c, "description", "")]
        assert labelled, f"{slug}: a widget without labelled controls?"
        for control in controls(box):
            assert control.style.description_width == READABLE_LABEL["description_width"], \
                f"{slug}: {type(control).__name__} {getattr(control, 'description', '')!r}"


@pytest.mark.parametrize("slug", sorted(BUILDERS))
def test_unwritten_functions_are_named_in_the_widget(slug):
    for box, what in BUILDERS[slug]():
        status = box.status.value
        assert "mplement" in status and what in status, status
        assert "raised" not in status, status  # a stub is not the student's error

