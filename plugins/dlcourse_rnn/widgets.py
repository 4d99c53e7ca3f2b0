"""Visualiser: LSTM gates, cell state and gradient norms over time.

:func:`gate_trace` is a pure function: it runs *your* ``lstm_gates`` and
``lstm_step`` (and, when given, your ``rnn_forward`` and ``rnn_backward``)
on one input sequence and returns plain arrays: the four gate activations,
the cell and hidden states at every step, and how strongly the last hidden
state reacts to the input at each step (the gradient norm per time step).
:func:`gate_explorer` is a thin ipywidgets layer over it: pick an input
sequence, its length, where its event happens, shift the forget-gate bias
or rescale the RNN's recurrent weights, and watch the picture change.

Conventions are PyTorch's: parameters are dicts with ``W_ih`` (G*H, D),
``W_hh`` (G*H, H), ``b_ih`` and ``b_hh`` (G*H,), with G = 4 stacked gates in
the order (i, f, g, o) for an LSTM and G = 1 for a vanilla RNN.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from dlcourse.runtime import readable_labels, student_code_message, unwritten_name

Params = dict[str, np.ndarray]
GATES = ("i", "f", "g", "o")
SEQUENCE_KINDS = ("noise", "pulse", "step", "sine", "square")


# ---------------------------------------------------------------- inputs


def make_sequence(kind: str, length: int = 40, *, position: float = 0.25, seed: int = 0) -> np.ndarray:
    """A one-feature input sequence of shape (length, 1), float64.

    ``kind`` is one of :data:`SEQUENCE_KINDS`: standard Gaussian ``noise``, a
    single ``pulse`` of height 1, a ``step`` from 0 to 1, a ``sine`` (period
    12 steps) or a ``square`` wave (period 12). ``position`` in [0, 1] places the
    pulse, the step, or the start of the sine and square wave (zero before).
    """
    length = int(length)
    if length < 1:
        raise ValueError(f"length must be positive, got {length}")
    t = np.arange(length)
    at = round(float(np.clip(position, 0.0, 1.0)) * (length - 1))
    if kind == "pulse":
        x = (t == at).astype(np.float64)
    elif kind == "step":
        x = (t >= at).astype(np.float64)
    elif kind == "sine":
        x = np.where(t >= at, np.sin(2 * np.pi * (t - at) / 12.0), 0.0)
    elif kind == "square":
        x = np.where(t >= at, np.where(((t - at) // 6) % 2 == 0, 1.0, -1.0), 0.0)
    elif kind == "noise":
        x = np.random.default_rng(seed).normal(size=length)
    else:
        raise ValueError(f"unknown sequence kind {kind!r}; choose from {', '.join(SEQUENCE_KINDS)}")
    return x.reshape(length, 1)


def random_lstm_params(input_size: int, hidden_size: int, seed: int = 0, forget_bias: float = 1.0) -> Params:
    """LSTM parameters drawn like PyTorch's default init, U(-1/sqrt(H), 1/sqrt(H)), float64.

    ``forget_bias`` is then added to the forget gate's rows of ``b_ih``; the
    default 1 is the common initialisation that makes a cell remember by default.
    """
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(hidden_size)
    shapes = {"W_ih": (4 * hidden_size, input_size), "W_hh": (4 * hidden_size, hidden_size),
              "b_ih": (4 * hidden_size,), "b_hh": (4 * hidden_size,)}
    params = {name: rng.uniform(-bound, bound, size=shape) for name, shape in shapes.items()}
    return with_forget_bias(params, forget_bias)


def random_rnn_params(input_size: int, hidden_size: int, scale: float = 1.0, seed: int = 0) -> Params:
    """Vanilla RNN parameters whose recurrent matrix is ``scale`` times an orthogonal matrix.

    Every singular value of ``W_hh`` then equals ``scale``: below 1 the
    gradient through time shrinks at every step, above 1 it can grow.
    """
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(hidden_size, hidden_size)))
    orthogonal = q * np.sign(np.diag(r))
    return {
        "W_ih": rng.normal(0.0, 1.0, size=(hidden_size, input_size)),
        "W_hh": float(scale) * orthogonal,
        "b_ih": np.zeros(hidden_size),
        "b_hh": np.zeros(hidden_size),
    }


def lstm_params_of(model: Any) -> Params | None:
    """The first ``nn.LSTM`` (or ``nn.LSTMCell``) inside ``model`` as a float64 parameter dict.

    Returns ``None`` when ``model`` holds no LSTM. Only layer 0 is read.
    """
    try:
        from torch import nn
    except ImportError:  # pragma: no cover - torch is a dependency of the course
        return None
    if not isinstance(model, nn.Module):
        return None
    for module in model.modules():
        if isinstance(module, (nn.LSTM, nn.LSTMCell)):
            suffix = "_l0" if isinstance(module, nn.LSTM) else ""
            names = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}
            params = {}
            for key, name in names.items():
                tensor = getattr(module, name + suffix, None)
                if tensor is None:  # built with bias=False
                    params[key] = np.zeros(4 * module.hidden_size)
                else:
                    params[key] = tensor.detach().cpu().double().numpy().copy()
            return params
    return None


def with_forget_bias(params: Mapping[str, np.ndarray], shift: float) -> Params:
    """A copy of LSTM ``params`` with ``shift`` added to the forget gate's rows of ``b_ih``."""
    out = {key: np.array(value, dtype=np.float64, copy=True) for key, value in params.items()}
    hidden = out["b_ih"].shape[0] // 4
    out["b_ih"][hidden:2 * hidden] += float(shift)
    return out


# ---------------------------------------------------------- the pure part


def _lstm_run(lstm_gates: Callable, lstm_step: Callable, X: np.ndarray, params: Params,
              record: bool) -> tuple[np.ndarray, dict[str, list[np.ndarray]]]:
    """Run a batch X (B, T, D) through the LSTM; record row 0's gates and states."""
    batch, steps, _ = X.shape
    hidden = params["W_hh"].shape[1]
    h = np.zeros((batch, hidden))
    c = np.zeros((batch, hidden))
    trace: dict[str, list[np.ndarray]] = {name: [] for name in (*GATES, "c", "h")}
    for t in range(steps):
        if record:
            gates = lstm_gates(X[:1, t], h[:1], params)
            for name, value in zip(GATES, gates, strict=True):
                trace[name].append(np.asarray(value, dtype=np.float64).reshape(-1))
        h, c = lstm_step(X[:, t], h, c, params)
        h = np.asarray(h, dtype=np.float64).reshape(batch, hidden)
        c = np.asarray(c, dtype=np.float64).reshape(batch, hidden)
        if record:
            trace["c"].append(c[0].copy())
            trace["h"].append(h[0].copy())
    return h, trace


def _lstm_input_gradient(lstm_step: Callable, lstm_gates: Callable, x: np.ndarray, params: Params,
                         eps: float) -> np.ndarray:
    """||d sum(h_T) / d x_t|| for every t, by centred differences through the given step function.

    All 2*T*D perturbed copies of the sequence run as one batch, so this
    costs one pass over the sequence.
    """
    steps, features = x.shape
    copies = [x]
    for t in range(steps):
        for d in range(features):
            for sign in (1.0, -1.0):
                bumped = x.copy()
                bumped[t, d] += sign * eps
                copies.append(bumped)
    h_last, _ = _lstm_run(lstm_gates, lstm_step, np.stack(copies), params, record=False)
    loss = h_last.sum(axis=1)[1:].reshape(steps, features, 2)
    grad = (loss[..., 0] - loss[..., 1]) / (2.0 * eps)
    return np.sqrt(np.sum(grad**2, axis=1))


def _rnn_input_gradient(rnn_forward: Callable, rnn_backward: Callable, x: np.ndarray,
                        params: Params) -> np.ndarray:
    """||d sum(h_T) / d x_t|| for every t, by backpropagation through time (your rnn_backward)."""
    hidden = params["W_hh"].shape[1]
    hs, cache = rnn_forward(x[None], np.zeros((1, hidden)), params)
    dhs = np.zeros(np.shape(hs))
    dhs[0, -1] = 1.0  # the loss is the sum of the last hidden state
    grads = rnn_backward(dhs, cache)
    dx = np.asarray(grads["x"], dtype=np.float64).reshape(x.shape)
    return np.sqrt(np.sum(dx**2, axis=1))


def gate_trace(
    x: np.ndarray,
    lstm_params: Mapping[str, np.ndarray],
    *,
    lstm_gates: Callable,
    lstm_step: Callable,
    rnn_params: Mapping[str, np.ndarray] | None = None,
    rnn_forward: Callable | None = None,
    rnn_backward: Callable | None = None,
    eps: float = 1e-5,
) -> dict[str, np.ndarray]:
    """Run an LSTM (and optionally a vanilla RNN) over one sequence; describe it as arrays.

    x: (T, D) input sequence. ``lstm_gates(x_t, h, params)`` must return the
    activations (i, f, g, o), each (B, H); ``lstm_step(x_t, h, c, params)``
    must return the new (h, c). The states start at zero.

    Returns a dict of float64 NumPy arrays:

    - ``x``: (T, D) the input;
    - ``i``, ``f``, ``g``, ``o``: (T, H) gate activations at each step;
    - ``c``, ``h``: (T, H) cell and hidden state after each step;
    - ``lstm_grad``: (T,) norm of d sum(h_T) / d x_t, by centred differences
      (step ``eps``) through your LSTM functions;
    - ``rnn_grad``: (T,) the same for the vanilla RNN by your
      ``rnn_backward``, or NaN when no RNN functions are given.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"x must have shape (T, D), got {x.shape}")
    params = {key: np.asarray(value, dtype=np.float64) for key, value in lstm_params.items()}
    _, trace = _lstm_run(lstm_gates, lstm_step, x[None], params, record=True)
    result = {"x": x.copy()}
    result.update({name: np.stack(values) for name, values in trace.items()})
    result["lstm_grad"] = _lstm_input_gradient(lstm_step, lstm_gates, x, params, eps)
    if rnn_forward is not None and rnn_backward is not None and rnn_params is not None:
        rnn = {key: np.asarray(value, dtype=np.float64) for key, value in rnn_params.items()}
        result["rnn_grad"] = _rnn_input_gradient(rnn_forward, rnn_backward, x, rnn)
    else:
        result["rnn_grad"] = np.full(x.shape[0], np.nan)
    return result


# ---------------------------------------------------------------- drawing


def plot_trace(result: Mapping[str, np.ndarray]):
    """Draw a trace on a new matplotlib Figure (no pyplot state; Agg-safe)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 7.5))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(4, 2, height_ratios=[0.8, 1, 1, 1.1])
    steps = result["x"].shape[0]
    ax = fig.add_subplot(grid[0, :])
    ax.plot(np.arange(steps), result["x"], marker=".")
    ax.set_title("input sequence")
    ax.set_xlim(-0.5, steps - 0.5)
    titles = {"i": "input gate i", "f": "forget gate f", "g": "candidate g (tanh)", "o": "output gate o"}
    for index, name in enumerate(GATES):
        panel = fig.add_subplot(grid[1 + index // 2, index % 2])
        low = -1.0 if name == "g" else 0.0
        image = panel.imshow(result[name].T, aspect="auto", origin="lower", vmin=low, vmax=1.0,
                             cmap="RdBu_r" if name == "g" else "viridis", interpolation="nearest")
        panel.set_title(titles[name], fontsize=9)
        panel.set_ylabel("unit")
        fig.colorbar(image, ax=panel, fraction=0.04)
    cell = fig.add_subplot(grid[3, 0])
    bound = max(1e-6, float(np.max(np.abs(result["c"]))))
    image = cell.imshow(result["c"].T, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-bound, vmax=bound,
                        interpolation="nearest")
    cell.set_title("cell state c", fontsize=9)
    cell.set_xlabel("time step")
    fig.colorbar(image, ax=cell, fraction=0.04)
    grad = fig.add_subplot(grid[3, 1])
    grad.semilogy(np.arange(steps), np.maximum(result["lstm_grad"], 1e-300), label="LSTM")
    if np.all(np.isfinite(result["rnn_grad"])):
        grad.semilogy(np.arange(steps), np.maximum(result["rnn_grad"], 1e-300), label="vanilla RNN")
    grad.set_title("gradient norm per time step ||d sum(h_T) / d x_t||", fontsize=9)
    grad.set_xlabel("time step t")
    grad.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _png_output(fig) -> dict[str, Any]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                 "text/plain": "<LSTM gates figure>"},
        "metadata": {},
    }


def _ratio(norms: np.ndarray) -> str:
    if not np.all(np.isfinite(norms)) or norms[-1] == 0:
        return "n/a"
    return f"{norms[0] / norms[-1]:.1e}"


# ------------------------------------------------------------------ widget


def gate_explorer(
    lstm_gates: Callable,
    lstm_step: Callable,
    rnn_forward: Callable | None = None,
    rnn_backward: Callable | None = None,
    *,
    lstm_params: Mapping[str, np.ndarray] | None = None,
    sequence: np.ndarray | None = None,
    hidden: int = 8,
    length: int = 40,
    seed: int = 0,
):
    """A widget over :func:`gate_trace` that drives your LSTM (and RNN) functions.

    ``lstm_params`` (e.g. ``lstm_params_of(trained_model)``) default to
    random ones with one input feature, ``hidden`` units and a forget-gate
    bias of +1 (:func:`random_lstm_params`); the RNN uses
    random parameters with the same sizes. ``sequence`` (T,) or (T, D) adds a
    "yours" choice to the input menu.

    Returns an ``ipywidgets.VBox`` with extra attributes for scripts and
    tests: ``sequence_dropdown``, ``length_slider``, ``position_slider``,
    ``forget_slider``, ``scale_slider``, ``output``, ``status`` (an HTML
    line), ``refresh()``, ``last_result`` (the latest trace, or ``None`` when
    the LSTM functions failed) and ``last_error``. If your functions are not
    written yet, the widget says so instead of failing.
    """
    import ipywidgets as widgets

    if lstm_params is None:
        lstm_params = random_lstm_params(1, hidden, seed)
    base = {key: np.asarray(value, dtype=np.float64) for key, value in lstm_params.items()}
    features = base["W_ih"].shape[1]
    units = base["W_hh"].shape[1]
    options = list(SEQUENCE_KINDS)
    own = None
    if sequence is not None:
        own = np.asarray(sequence, dtype=np.float64)
        own = own[:, None] if own.ndim == 1 else own
        options = ["yours", *options]

    sequence_dropdown = widgets.Dropdown(options=options, value=options[0], description="input")
    length_slider = widgets.IntSlider(value=length, min=5, max=120, step=5, description="length",
                                      continuous_update=False)
    position_slider = widgets.FloatSlider(value=0.25, min=0.0, max=1.0, step=0.05, description="event at",
                                          continuous_update=False)
    forget_slider = widgets.FloatSlider(value=0.0, min=-3.0, max=5.0, step=0.5, description="forget bias +",
                                        continuous_update=False)
    scale_slider = widgets.FloatSlider(value=1.0, min=0.2, max=2.0, step=0.1, description="RNN W_hh scale",
                                       continuous_update=False)
    status = widgets.HTML()
    output = widgets.Output()
    controls = widgets.VBox([widgets.HBox([sequence_dropdown, length_slider, position_slider]),
                             widgets.HBox([forget_slider, scale_slider])])
    box = widgets.VBox([controls, status, output])
    box.sequence_dropdown, box.length_slider = sequence_dropdown, length_slider
    box.position_slider = position_slider
    box.forget_slider, box.scale_slider = forget_slider, scale_slider
    box.status, box.output = status, output
    box.last_result, box.last_error = None, None

    def current_input() -> np.ndarray:
        if sequence_dropdown.value == "yours" and own is not None:
            return own
        x = make_sequence(sequence_dropdown.value, length_slider.value, position=position_slider.value,
                          seed=seed)
        return np.repeat(x, features, axis=1)  # the same signal on every input feature

    def refresh(change: Any = None) -> None:
        x = current_input()
        params = with_forget_bias(base, forget_slider.value)
        try:
            result = gate_trace(x, params, lstm_gates=lstm_gates, lstm_step=lstm_step)
        except Exception as error:  # noqa: BLE001 - show the student's error, do not crash
            unwritten = isinstance(error, NotImplementedError)
            box.last_result = None
            box.last_error = "not implemented" if unwritten else f"{type(error).__name__}: {error}"
            status.value = student_code_message(error, "the LSTM's gates and cell over time")
            output.outputs = ()
            return
        note = ""
        if rnn_forward is not None and rnn_backward is not None:
            rnn = random_rnn_params(features, units, scale_slider.value, seed)
            try:
                result["rnn_grad"] = _rnn_input_gradient(rnn_forward, rnn_backward, x, rnn)
            except NotImplementedError as error:
                name = unwritten_name(error) or "rnn_forward"
                note = f" (implement <code>{name}</code> to add the RNN curve)"
            except Exception as error:  # a broken RNN must not hide the LSTM picture
                note = f" (your RNN functions raised {type(error).__name__}: {error})"
        box.last_result, box.last_error = result, None
        ratios = f"LSTM {_ratio(result['lstm_grad'])}, RNN {_ratio(result['rnn_grad'])}"
        status.value = (f"{sequence_dropdown.value}, T={x.shape[0]}: gradient at the first step relative to "
                        f"the last: {ratios}{note}")
        output.outputs = (_png_output(plot_trace(result)),)

    for control in (sequence_dropdown, length_slider, position_slider, forget_slider, scale_slider):
        control.observe(refresh, names="value")
    box.refresh = refresh
    refresh()
    return readable_labels(box)
