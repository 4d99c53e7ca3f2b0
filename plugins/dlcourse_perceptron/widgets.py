"""Visualiser: the decision boundary of a two-layer MLP as training settings change.

:func:`training_trace` is a pure function that drives *your* training and
prediction functions and returns plain arrays; :func:`decision_boundary_explorer`
is a thin ipywidgets layer over it (sliders for hidden units, learning rate
and epochs, and an output showing the boundary and the training curve).
Nothing here knows how an MLP is trained: the functions are passed in.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Callable

import numpy as np

from dlcourse.runtime import readable_labels, student_code_message

TrainFn = Callable[..., Any]
PredictFn = Callable[[Any, np.ndarray], Any]
LossFn = Callable[[Any, np.ndarray, np.ndarray], float]


def _grid(X: np.ndarray, grid_size: int, pad: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    lo = X.min(axis=0) - pad
    hi = X.max(axis=0) + pad
    return np.meshgrid(np.linspace(lo[0], hi[0], grid_size), np.linspace(lo[1], hi[1], grid_size))


def training_trace(
    train_fn: TrainFn,
    predict_fn: PredictFn,
    X: np.ndarray,
    y: np.ndarray,
    *,
    hidden: int = 8,
    lr: float = 1.0,
    epochs: int = 300,
    grid_size: int = 60,
    seed: int = 0,
    checkpoints: int = 10,
    loss_fn: LossFn | None = None,
) -> dict[str, np.ndarray]:
    """Train with ``train_fn`` and describe the result as arrays.

    ``train_fn(X, y, hidden=, lr=, epochs=, seed=)`` must return parameters
    that ``predict_fn(params, X)`` turns into labels in {0, 1}. Training is
    deterministic for a seed, so the curve is obtained by training for
    ``checkpoints`` increasing numbers of epochs (the last one is ``epochs``).

    Returns a dict of NumPy arrays:

    - ``xx``, ``yy``: (grid_size, grid_size) grid coordinates covering ``X``;
    - ``grid_labels``: (grid_size, grid_size) predicted labels on the grid;
    - ``curve_epochs``: (C,) epochs at which the curve is measured;
    - ``train_error``: (C,) fraction of training points misclassified;
    - ``loss``: (C,) ``loss_fn(params, X, y)``, or NaN where no ``loss_fn``;
    - ``accuracy``: () final training accuracy.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.int64).ravel()
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {X.shape}")
    epochs = int(epochs)
    count = max(1, min(int(checkpoints), epochs))
    marks = np.unique(np.linspace(epochs / count, epochs, count).round().astype(np.int64))
    marks = marks[marks >= 1]
    errors, losses, params = [], [], None
    for mark in marks:
        params = train_fn(X, y, hidden=int(hidden), lr=float(lr), epochs=int(mark), seed=int(seed))
        labels = np.asarray(predict_fn(params, X)).ravel()
        errors.append(float(np.mean(labels != y)))
        losses.append(float(loss_fn(params, X, y)) if loss_fn is not None else np.nan)
    xx, yy = _grid(X, int(grid_size))
    grid_points = np.column_stack([xx.ravel(), yy.ravel()])
    grid_labels = np.asarray(predict_fn(params, grid_points)).reshape(xx.shape).astype(np.int64)
    return {
        "xx": xx,
        "yy": yy,
        "grid_labels": grid_labels,
        "curve_epochs": marks.astype(np.int64),
        "train_error": np.asarray(errors),
        "loss": np.asarray(losses, dtype=np.float64),
        "accuracy": np.asarray(1.0 - errors[-1]),
    }


def plot_trace(result: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray):
    """Draw a trace on a new matplotlib Figure (no pyplot state; Agg-safe)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    left.contourf(result["xx"], result["yy"], result["grid_labels"], levels=[-0.5, 0.5, 1.5],
                  colors=["#9ecae1", "#fdae6b"], alpha=0.6)
    y = np.asarray(y).ravel()
    left.scatter(X[y == 0, 0], X[y == 0, 1], s=12, c="#08519c", label="class 0")
    left.scatter(X[y == 1, 0], X[y == 1, 1], s=12, c="#a63603", label="class 1")
    left.set_title(f"decision boundary (train accuracy {float(result['accuracy']):.1%})")
    left.legend(loc="upper right", fontsize=8)
    curve = result["loss"] if np.all(np.isfinite(result["loss"])) else result["train_error"]
    right.plot(result["curve_epochs"], curve, marker="o")
    right.set_xlabel("epochs")
    right.set_ylabel("training loss" if curve is result["loss"] else "training error")
    right.set_title("training curve")
    fig.tight_layout()
    return fig


def _png_output(fig) -> dict[str, Any]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                 "text/plain": "<decision boundary figure>"},
        "metadata": {},
    }


def decision_boundary_explorer(
    train_fn: TrainFn,
    predict_fn: PredictFn,
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    *,
    loss_fn: LossFn | None = None,
    hidden: int = 8,
    lr: float = 1.0,
    epochs: int = 300,
    grid_size: int = 60,
    seed: int = 0,
):
    """A widget: sliders for hidden units, learning rate and epochs over :func:`training_trace`.

    Returns an ``ipywidgets.VBox`` with extra attributes for scripts and
    tests: ``hidden_slider``, ``lr_slider``, ``epochs_slider``, ``output``,
    ``status`` (an HTML line), ``refresh()``, ``last_result`` (the latest
    trace, or ``None`` when training failed) and ``last_error``.
    If your functions are not written yet, the widget says so instead of failing.
    """
    import ipywidgets as widgets

    if X is None or y is None:
        from dlcourse_perceptron.data import load_moons

        X, y = load_moons()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)

    hidden_slider = widgets.IntSlider(value=hidden, min=1, max=32, description="hidden units",
                                      continuous_update=False)
    lr_slider = widgets.FloatLogSlider(value=lr, base=10, min=-3, max=1, step=0.1,
                                       description="learning rate", continuous_update=False)
    epochs_slider = widgets.IntSlider(value=epochs, min=10, max=3000, step=10, description="epochs",
                                      continuous_update=False)
    status = widgets.HTML()
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox([hidden_slider, lr_slider, epochs_slider]), status, output])
    box.hidden_slider, box.lr_slider, box.epochs_slider = hidden_slider, lr_slider, epochs_slider
    box.status, box.output = status, output
    box.last_result, box.last_error = None, None

    def refresh(change: Any = None) -> None:
        try:
            result = training_trace(
                train_fn, predict_fn, X, y, hidden=hidden_slider.value, lr=lr_slider.value,
                epochs=epochs_slider.value, grid_size=grid_size, seed=seed, loss_fn=loss_fn,
            )
        except Exception as error:  # noqa: BLE001 - show the student's error, do not crash
            unwritten = isinstance(error, NotImplementedError)
            box.last_result = None
            box.last_error = "not implemented" if unwritten else f"{type(error).__name__}: {error}"
            status.value = student_code_message(error, "the decision boundary")
            output.outputs = ()
            return
        box.last_result, box.last_error = result, None
        status.value = (f"hidden={hidden_slider.value}, lr={lr_slider.value:.3g}, "
                        f"epochs={epochs_slider.value}: train accuracy {float(result['accuracy']):.1%}")
        output.outputs = (_png_output(plot_trace(result, X, y)),)

    for slider in (hidden_slider, lr_slider, epochs_slider):
        slider.observe(refresh, names="value")
    box.refresh = refresh
    refresh()
    return readable_labels(box)
