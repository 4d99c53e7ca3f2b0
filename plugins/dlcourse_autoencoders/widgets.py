"""Visualiser: a 2-D code space, reconstructions and an anomaly threshold.

:func:`autoencoder_view` is a pure function: given an encoder, a decoder,
data and (optionally) anomaly scores with labels, it returns plain arrays
and numbers. :func:`autoencoder_explorer` is a thin ipywidgets layer over
it: it trains a 2-D autoencoder with the functions it is given (yours, in
the assignment), then lets you pick an example and move an anomaly
threshold, with precision and recall from the metric function it is given.
Nothing here knows how an autoencoder is built or trained.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Callable, Sequence

import numpy as np

from dlcourse.runtime import readable_labels, student_code_message

BuildFn = Callable[..., Any]
TrainFn = Callable[..., Any]
MetricsFn = Callable[[Any, Any], Sequence[float]]


def _array(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def threshold_summary(scores: Any, labels: Any, threshold: float, metrics_fn: MetricsFn) -> dict[str, Any]:
    """Flag ``scores > threshold`` and measure the flags with ``metrics_fn(pred, labels)``.

    ``metrics_fn`` receives torch tensors (``pred`` int64 0/1 and ``labels``)
    and returns ``(precision, recall, f1)``. Returns a dict with ``flagged``
    (the number of flagged windows) and the three metrics as floats.
    """
    import torch

    scores_t = torch.as_tensor(_array(scores), dtype=torch.float64).reshape(-1)
    labels_t = torch.as_tensor(_array(labels)).reshape(-1).long()
    pred = (scores_t > float(threshold)).long()
    precision, recall, f1 = (float(v) for v in metrics_fn(pred, labels_t))
    return {"flagged": int(pred.sum()), "precision": precision, "recall": recall, "f1": f1}


def autoencoder_view(
    encode: Callable[[Any], Any],
    decode: Callable[[Any], Any],
    X: Any,
    y: Any,
    *,
    index: int = 0,
    scores: Any = None,
    labels: Any = None,
    threshold: float | None = None,
    metrics_fn: MetricsFn | None = None,
) -> dict[str, Any]:
    """Describe a trained autoencoder and an anomaly threshold as arrays.

    ``encode`` maps a float32 tensor (N, D) to codes (N, 2); ``decode`` maps
    codes back to (N, D). ``X`` (N, D) and ``y`` (N,) are the data and their
    classes; ``index`` picks the example to reconstruct. With ``scores``,
    ``labels``, ``threshold`` and ``metrics_fn`` the result also measures the
    rule ``scores > threshold`` (see :func:`threshold_summary`).

    Returns a dict: ``codes`` (N, 2), ``classes`` (N,), ``index``,
    ``example`` and ``reconstruction`` (D,), ``example_code`` (2,), and,
    when scores are given, ``scores``, ``score_labels``, ``threshold`` plus
    the keys of :func:`threshold_summary`.
    """
    import torch

    x = torch.as_tensor(_array(X), dtype=torch.float32)
    index = int(np.clip(index, 0, x.shape[0] - 1))
    with torch.no_grad():
        codes = _array(encode(x)).astype(np.float64)
        reconstruction = _array(decode(torch.as_tensor(codes[index:index + 1], dtype=torch.float32)))
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"the encoder should give codes of shape (N, 2), got {codes.shape}")
    result: dict[str, Any] = {
        "codes": codes,
        "classes": _array(y).reshape(-1),
        "index": index,
        "example": x[index].numpy().astype(np.float64),
        "reconstruction": reconstruction.reshape(-1).astype(np.float64),
        "example_code": codes[index],
    }
    if scores is not None and labels is not None and threshold is not None and metrics_fn is not None:
        result.update(threshold_summary(scores, labels, threshold, metrics_fn))
        result.update(scores=_array(scores).reshape(-1).astype(np.float64),
                      score_labels=_array(labels).reshape(-1), threshold=float(threshold))
    return result


def plot_view(latent: dict[str, Any] | None, scores: dict[str, Any] | None,
              image_shape: tuple[int, int] = (8, 8)):
    """Draw the code space, the chosen reconstruction and the score histogram on a new Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.4))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 4, width_ratios=[2.2, 1, 0.15, 2.2])
    code_ax = fig.add_subplot(grid[:, 0])
    original_ax, recon_ax = fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[1, 1])
    score_ax = fig.add_subplot(grid[:, 3])
    if latent is not None:
        codes, classes = latent["codes"], latent["classes"]
        points = code_ax.scatter(codes[:, 0], codes[:, 1], c=classes, cmap="tab10", s=6, alpha=0.7)
        code_ax.scatter(*latent["example_code"], s=160, facecolors="none", edgecolors="k", linewidths=2)
        fig.colorbar(points, ax=code_ax, ticks=range(10), fraction=0.05)
        code_ax.set_title("2-D codes, coloured by class")
        original_ax.imshow(latent["example"].reshape(image_shape), cmap="gray_r")
        recon_ax.imshow(latent["reconstruction"].reshape(image_shape), cmap="gray_r")
        original_ax.set_title(f"example {latent['index']}", fontsize=9)
        recon_ax.set_title("reconstruction", fontsize=9)
    else:
        code_ax.text(0.5, 0.5, "no trained autoencoder", ha="center", va="center")
    for ax in (original_ax, recon_ax):
        ax.set_xticks([])
        ax.set_yticks([])
    if scores is not None:
        values, flags = scores["scores"], scores["score_labels"].astype(bool)
        positive = bool(values.min() > 0)  # positive, heavy-tailed errors: a log axis shows both groups
        spread = (values.min(), max(values.max(), values.min() * 1.01 if positive else values.min() + 1.0))
        bins = np.geomspace(*spread, 40) if positive else np.linspace(*spread, 40)
        score_ax.hist(values[~flags], bins=bins, alpha=0.6, label="normal")
        score_ax.hist(values[flags], bins=bins, alpha=0.6, label="anomalous")
        score_ax.axvline(scores["threshold"], color="k", linestyle="--")
        score_ax.set_title(f"precision {scores['precision']:.2f}, recall {scores['recall']:.2f}, "
                           f"F1 {scores['f1']:.2f}")
        if positive:
            score_ax.set_xscale("log")
        score_ax.set_xlabel("anomaly score" + (" (log scale)" if positive else ""))
        score_ax.legend(fontsize=8)
    else:
        score_ax.text(0.5, 0.5, "no anomaly scores", ha="center", va="center")
    fig.tight_layout()
    return fig


def _png_output(fig) -> dict[str, Any]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                 "text/plain": "<autoencoder explorer figure>"},
        "metadata": {},
    }


def _train_2d(build_fn: BuildFn, train_fn: TrainFn, X: Any, hidden: tuple[int, ...], epochs: int, seed: int):
    import torch

    x = torch.as_tensor(_array(X), dtype=torch.float32)
    torch.manual_seed(seed)
    model = build_fn(x.shape[1], 2, hidden=hidden)
    train_fn(model, x, epochs=epochs, lr=1e-2, batch_size=128, seed=seed)
    return model


def autoencoder_explorer(
    build_fn: BuildFn,
    train_fn: TrainFn,
    X: Any = None,
    y: Any = None,
    *,
    scores: Any = None,
    labels: Any = None,
    metrics_fn: MetricsFn | None = None,
    hidden: tuple[int, ...] = (32,),
    epochs: int = 30,
    seed: int = 0,
    image_shape: tuple[int, int] = (8, 8),
):
    """A widget over :func:`autoencoder_view`: an example slider and a threshold slider.

    ``build_fn(n_in, 2, hidden=hidden)`` must return a model with ``encoder``
    and ``decoder`` attributes; ``train_fn(model, X, epochs=, lr=,
    batch_size=, seed=)`` trains it in place. They are called once, when the
    widget is built. ``scores`` and ``labels`` are anomaly scores of labelled
    windows and ``metrics_fn(pred, labels)`` returns (precision, recall, F1).

    Returns an ``ipywidgets.VBox`` with extra attributes for scripts and
    tests: ``example_slider``, ``threshold_slider``, ``output``, ``status``
    (an HTML line), ``refresh()``, ``model`` (``None`` when training failed),
    ``last_result`` (the latest view, or ``None``), ``last_scores`` (the
    latest threshold summary, or ``None``) and ``last_error``. If your
    functions are not written yet, the widget says so instead of failing.
    """
    import ipywidgets as widgets

    if X is None or y is None:
        from dlcourse_autoencoders.data import load_digits

        X, y = load_digits()
    n = int(np.shape(_array(X))[0])
    messages: list[str] = []
    model = None
    try:
        model = _train_2d(build_fn, train_fn, X, tuple(hidden), int(epochs), int(seed))
    except Exception as error:  # noqa: BLE001 - show the student's error, do not crash
        messages.append(student_code_message(error, "the code space"))

    have_scores = scores is not None and labels is not None and metrics_fn is not None
    values = _array(scores).reshape(-1).astype(np.float64) if scores is not None else np.zeros(2)
    low, high = float(np.min(values)), float(np.max(values))
    if not high > low:
        high = low + 1.0
    start = float(np.quantile(values, 0.8))
    example_slider = widgets.IntSlider(value=0, min=0, max=n - 1, description="example",
                                       continuous_update=False)
    if low > 0:  # positive, heavy-tailed scores: move the threshold on a log scale
        threshold_slider = widgets.FloatLogSlider(value=start, base=10, min=np.log10(low), max=np.log10(high),
                                                  step=(np.log10(high) - np.log10(low)) / 200)
    else:
        threshold_slider = widgets.FloatSlider(value=start, min=low, max=high, step=(high - low) / 200)
    threshold_slider.description, threshold_slider.readout_format = "threshold", ".4g"
    threshold_slider.continuous_update, threshold_slider.disabled = False, not have_scores
    status = widgets.HTML()
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox([example_slider, threshold_slider]), status, output])
    box.example_slider, box.threshold_slider = example_slider, threshold_slider
    box.status, box.output = status, output
    box.model, box.last_result, box.last_scores, box.last_error = model, None, None, None
    if not have_scores:
        messages.append("No anomaly scores yet: finish the detector to use the threshold slider.")

    def refresh(change: Any = None) -> None:
        notes = list(messages)
        latent, summary = None, None
        if model is not None:
            try:
                latent = autoencoder_view(model.encoder, model.decoder, X, y, index=example_slider.value)
            except Exception as error:  # noqa: BLE001
                notes.append(f"<b>Encoding raised</b> {type(error).__name__}: {error}")
        if have_scores:
            try:
                summary = threshold_summary(scores, labels, threshold_slider.value, metrics_fn)
                summary.update(scores=values, score_labels=_array(labels).reshape(-1),
                               threshold=float(threshold_slider.value))
            except Exception as error:  # noqa: BLE001 - show the student's error, do not crash
                notes.append(student_code_message(error, "precision and recall"))
        box.last_result, box.last_scores = latent, summary
        box.last_error = "; ".join(notes) or None
        if summary is not None:
            notes.insert(0, f"threshold {threshold_slider.value:.4f}: {summary['flagged']} flagged, "
                            f"precision {summary['precision']:.3f}, recall {summary['recall']:.3f}, "
                            f"F1 {summary['f1']:.3f}")
        status.value = "<br>".join(notes)
        if latent is None and summary is None:
            output.outputs = ()
            return
        output.outputs = (_png_output(plot_view(latent, summary, image_shape)),)

    example_slider.observe(refresh, names="value")
    threshold_slider.observe(refresh, names="value")
    box.refresh = refresh
    refresh()
    return readable_labels(box)
