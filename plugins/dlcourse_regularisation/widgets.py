"""Visualiser: training and validation curves as weight decay, dropout and input noise change.

:func:`regularisation_curves` is a pure function that drives *your* training
and prediction functions on small runs and returns plain arrays: the loss
curves of one setting, and the final training and validation accuracy along
a grid of one knob (the bias-variance picture: too little regularisation
leaves a large gap between training and validation, too much lowers both).
:func:`regularisation_explorer` is a thin ipywidgets layer over it. Runs are
cached by their settings, so moving back to a setting is instant. Nothing
here knows how a network is trained: the functions are passed in.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, MutableMapping
from typing import Any

import numpy as np

from dlcourse.runtime import readable_labels, student_code_message

TrainFn = Callable[..., Any]
PredictFn = Callable[[Any, np.ndarray], Any]

#: The three knobs: label and the grid a slider (and a sweep) moves along.
KNOBS: dict[str, tuple[str, tuple[float, ...]]] = {
    "weight_decay": ("weight decay λ", (0.0, 0.1, 1.0, 3.0, 10.0)),
    "p_drop": ("dropout p (drop probability)", (0.0, 0.2, 0.4, 0.6, 0.8)),
    "sigma": ("input noise σ", (0.0, 0.25, 0.5, 1.0, 2.0)),
}

#: Small, fast runs: a few hundred signals, a narrow network, no early stopping.
SMALL_RUN: dict[str, Any] = {"hidden": 128, "epochs": 30, "lr": 3e-3, "batch_size": 100, "augment": False,
                             "patience": None}


def _accuracy(predict_fn: PredictFn, model: Any, X: np.ndarray, y: np.ndarray) -> float:
    labels = np.asarray(predict_fn(model, X)).ravel()
    if labels.shape != y.shape:
        raise ValueError(f"predict returned shape {labels.shape}, expected {y.shape}")
    return float(np.mean(labels == y))


def _one_run(train_fn: TrainFn, predict_fn: PredictFn, data: tuple[np.ndarray, ...], settings: dict[str, float],
             seed: int, run: dict[str, Any]) -> dict[str, Any]:
    X, y, X_val, y_val = data
    model, history = train_fn(X, y, X_val, y_val, seed=seed, **settings, **run)
    train_loss = np.asarray(history["train_loss"], dtype=np.float64).ravel()
    val_loss = np.asarray(history["val_loss"], dtype=np.float64).ravel()
    if train_loss.size == 0 or train_loss.shape != val_loss.shape:
        raise ValueError("history['train_loss'] and history['val_loss'] need one value per epoch each")
    return {"train_loss": train_loss, "val_loss": val_loss,
            "train_acc": _accuracy(predict_fn, model, X, y), "val_acc": _accuracy(predict_fn, model, X_val, y_val)}


def regularisation_curves(
    train_fn: TrainFn,
    predict_fn: PredictFn,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    weight_decay: float = 0.0,
    p_drop: float = 0.0,
    sigma: float = 0.0,
    sweep: str = "p_drop",
    grid: tuple[float, ...] | None = None,
    seed: int = 0,
    cache: MutableMapping[Any, dict[str, Any]] | None = None,
    **run: Any,
) -> dict[str, np.ndarray]:
    """Train small models and describe them as arrays.

    ``train_fn(X, y, X_val, y_val, *, weight_decay=, p_drop=, sigma=, seed=, **run)``
    must return ``(model, history)`` where ``history["train_loss"]`` and
    ``history["val_loss"]`` hold one number per epoch; ``predict_fn(model, X)``
    returns labels. ``run`` overrides :data:`SMALL_RUN` (hidden units, epochs, ...).
    One model is trained per value of ``grid`` (default: the knob's grid in
    :data:`KNOBS`) for the knob named by ``sweep``, the other knobs held at
    their given values; ``cache`` (a dict) keeps runs between calls.

    Returns a dict of NumPy arrays:

    - ``epochs``: (E,) 1..E; ``train_loss``, ``val_loss``: (E,) curves of the current setting;
    - ``train_acc``, ``val_acc``: () final accuracies of the current setting;
    - ``sweep_values``: (K,) the grid, including the current value;
    - ``sweep_train_acc``, ``sweep_val_acc``: (K,) final accuracies along it;
    - ``sweep_index``: () position of the current setting in the grid.
    """
    if sweep not in KNOBS:
        raise ValueError(f"sweep must be one of {sorted(KNOBS)}, got {sweep!r}")
    data = (np.asarray(X, dtype=np.float32), np.asarray(y).astype(np.int64).ravel(),
            np.asarray(X_val, dtype=np.float32), np.asarray(y_val).astype(np.int64).ravel())
    if data[0].ndim != 2 or data[2].ndim != 2:
        raise ValueError(f"X and X_val must be 2-D, got {data[0].shape} and {data[2].shape}")
    run = {**SMALL_RUN, **run}
    current = {"weight_decay": float(weight_decay), "p_drop": float(p_drop), "sigma": float(sigma)}
    values = sorted({float(v) for v in (KNOBS[sweep][1] if grid is None else grid)} | {current[sweep]})
    cache = {} if cache is None else cache
    results = []
    for value in values:
        settings = {**current, sweep: value}
        key = (tuple(sorted(settings.items())), int(seed), tuple(sorted(run.items())))
        if key not in cache:
            cache[key] = _one_run(train_fn, predict_fn, data, settings, int(seed), run)
        results.append(cache[key])
    index = values.index(current[sweep])
    mine = results[index]
    return {
        "epochs": np.arange(1, mine["train_loss"].size + 1),
        "train_loss": mine["train_loss"],
        "val_loss": mine["val_loss"],
        "train_acc": np.asarray(mine["train_acc"]),
        "val_acc": np.asarray(mine["val_acc"]),
        "sweep_values": np.asarray(values, dtype=np.float64),
        "sweep_train_acc": np.asarray([r["train_acc"] for r in results]),
        "sweep_val_acc": np.asarray([r["val_acc"] for r in results]),
        "sweep_index": np.asarray(index),
    }


def plot_curves(result: dict[str, np.ndarray], sweep: str = "p_drop"):
    """Draw a result of :func:`regularisation_curves` on a new Figure (no pyplot state; Agg-safe)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.8))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    left.plot(result["epochs"], result["train_loss"], label="training loss")
    left.plot(result["epochs"], result["val_loss"], label="validation loss")
    left.set_xlabel("epoch")
    left.set_ylabel("cross-entropy")
    left.set_title(f"train acc {float(result['train_acc']):.0%}, val acc {float(result['val_acc']):.0%}")
    left.legend(fontsize=8)
    label = KNOBS[sweep][0]
    positions = np.arange(result["sweep_values"].size)  # even spacing: the grids are roughly geometric
    right.plot(positions, result["sweep_train_acc"], "o-", label="training accuracy")
    right.plot(positions, result["sweep_val_acc"], "s-", label="validation accuracy")
    right.fill_between(positions, result["sweep_val_acc"], result["sweep_train_acc"], alpha=0.15,
                       label="gap (variance)")
    right.axvline(int(result["sweep_index"]), color="grey", linestyle=":")
    right.set_xticks(positions, [f"{v:g}" for v in result["sweep_values"]])
    right.set_xlabel(f"{label}  (more regularisation →)")
    right.set_ylabel("accuracy")
    right.set_ylim(0, 1.02)
    right.set_title("high variance ← → high bias")
    right.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def _png_output(fig) -> dict[str, Any]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                 "text/plain": "<regularisation curves figure>"},
        "metadata": {},
    }


def regularisation_explorer(
    train_fn: TrainFn,
    predict_fn: PredictFn,
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    *,
    n_train: int = 600,
    n_val: int = 500,
    weight_decay: float = 0.0,
    p_drop: float = 0.0,
    sigma: float = 0.0,
    sweep: str = "p_drop",
    seed: int = 0,
    **run: Any,
):
    """A widget: sliders for λ, p and σ, a menu for the knob to sweep, over :func:`regularisation_curves`.

    Without data it uses the first ``n_train`` MNIST-1D training signals and
    ``n_val`` validation signals (small on purpose: the network overfits
    quickly and each run takes a fraction of a second). Returns an
    ``ipywidgets.VBox`` with extra attributes for scripts and tests:
    ``lam_slider``, ``p_slider``, ``sigma_slider``, ``sweep_dropdown``,
    ``output``, ``status`` (an HTML line), ``refresh()``, ``cache``,
    ``last_result`` (or ``None`` when training failed) and ``last_error``.
    If your functions are not written yet, the widget says so instead of failing.
    """
    import ipywidgets as widgets

    if X is None or y is None or X_val is None or y_val is None:
        from dlcourse_regularisation.data import load_mnist1d_split

        X, y, X_val, y_val, _, _ = load_mnist1d_split()
        X, y, X_val, y_val = X[:n_train], y[:n_train], X_val[:n_val], y_val[:n_val]

    def slider(knob: str, value: float) -> Any:
        label, grid = KNOBS[knob]
        options = sorted(set(grid) | {float(value)})
        return widgets.SelectionSlider(options=options, value=float(value), description=label.split(" (")[0],
                                       continuous_update=False)

    lam_slider = slider("weight_decay", weight_decay)
    p_slider = slider("p_drop", p_drop)
    sigma_slider = slider("sigma", sigma)
    sweep_dropdown = widgets.Dropdown(options=[(label, knob) for knob, (label, _) in KNOBS.items()], value=sweep,
                                      description="sweep")
    status = widgets.HTML()
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox([lam_slider, p_slider, sigma_slider]), sweep_dropdown, status, output])
    box.lam_slider, box.p_slider, box.sigma_slider = lam_slider, p_slider, sigma_slider
    box.sweep_dropdown, box.status, box.output = sweep_dropdown, status, output
    box.cache, box.last_result, box.last_error = {}, None, None

    def refresh(change: Any = None) -> None:
        try:
            result = regularisation_curves(
                train_fn, predict_fn, X, y, X_val, y_val, weight_decay=lam_slider.value, p_drop=p_slider.value,
                sigma=sigma_slider.value, sweep=sweep_dropdown.value, seed=seed, cache=box.cache, **run,
            )
        except Exception as error:  # noqa: BLE001 - show the student's error, do not crash
            unwritten = isinstance(error, NotImplementedError)
            box.last_result = None
            box.last_error = "not implemented" if unwritten else f"{type(error).__name__}: {error}"
            status.value = student_code_message(error, "how each regulariser changes the curves")
            output.outputs = ()
            return
        box.last_result, box.last_error = result, None
        gap = float(result["train_acc"]) - float(result["val_acc"])
        status.value = (f"λ={lam_slider.value:g}, p={p_slider.value:g}, σ={sigma_slider.value:g}: "
                        f"train {float(result['train_acc']):.1%}, validation {float(result['val_acc']):.1%}, "
                        f"gap {gap:+.1%}")
        output.outputs = (_png_output(plot_curves(result, sweep_dropdown.value)),)

    for control in (lam_slider, p_slider, sigma_slider, sweep_dropdown):
        control.observe(refresh, names="value")
    box.refresh = refresh
    refresh()
    return readable_labels(box)
