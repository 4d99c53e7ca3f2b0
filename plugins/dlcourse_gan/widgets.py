"""Visualiser: real and generated samples over training, with the discriminator's surface.

A GAN is a game, so one picture of the end result hides most of what
happened. :class:`SnapshotRecorder` is a callback for a training function:
at each call it stores what the generator produces for a fixed batch of
noise and what the discriminator says, ``D(x)``, on a grid.
:func:`training_frames` is the pure function the widget draws: it runs a
training function (yours) with a recorder and returns plain arrays.
:func:`gan_training_explorer` is a thin ipywidgets layer over it: a slider
over the saved snapshots, a switch for the ``D(x)`` surface, and a seed
selector that trains again. Nothing here knows how a GAN is trained: the
training function is passed in.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Callable, Mapping

import numpy as np

from dlcourse.runtime import readable_labels, student_code_message

TrainFn = Callable[..., Any]
Frames = Mapping[str, np.ndarray]


def _first_parameter(module: Any) -> Any:
    return next(iter(module.parameters()), None) if hasattr(module, "parameters") else None


def _latent_dim(G: Any) -> int:
    import torch.nn as nn

    for layer in G.modules():
        if isinstance(layer, nn.Linear):
            return int(layer.in_features)
    raise ValueError("cannot tell the generator's latent size: pass latent_dim to the recorder")


class SnapshotRecorder:
    """A training callback ``recorder(step, G, D)`` that records snapshots of a 2-D GAN.

    data: the real samples, array (N, 2). At each call the recorder stores
    the generator's output for ``n_samples`` fixed noise vectors (drawn once,
    from ``seed``, without touching torch's global random state, so recording
    never changes the training run), ``sigmoid(D(x))`` on a ``grid_size`` x
    ``grid_size`` grid covering the data, and the mean of ``D`` on real and
    generated samples. Nothing is trained or changed.
    """

    def __init__(self, data: Any, *, n_samples: int = 500, grid_size: int = 50, pad: float = 0.75,
                 seed: int = 0, latent_dim: int | None = None) -> None:
        data = np.asarray(data, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != 2:
            raise ValueError(f"data must have shape (N, 2), got {data.shape}")
        rng = np.random.default_rng(seed)
        self.real = data[rng.permutation(len(data))[:n_samples]]
        lo, hi = data.min(axis=0) - pad, data.max(axis=0) + pad
        self.xx, self.yy = np.meshgrid(np.linspace(lo[0], hi[0], grid_size),
                                       np.linspace(lo[1], hi[1], grid_size))
        self.n_samples, self.latent_dim, self._rng = int(n_samples), latent_dim, rng
        self._noise: np.ndarray | None = None
        self.steps: list[int] = []
        self._samples: list[np.ndarray] = []
        self._surfaces: list[np.ndarray] = []
        self._d_real: list[float] = []
        self._d_fake: list[float] = []

    def __len__(self) -> int:
        return len(self.steps)

    def __call__(self, step: int, G: Any, D: Any) -> None:
        import torch

        if self._noise is None:
            latent = self.latent_dim if self.latent_dim is not None else _latent_dim(G)
            self._noise = self._rng.normal(size=(self.n_samples, latent))
        g_param, d_param = _first_parameter(G), _first_parameter(D)
        g_type = g_param.dtype if g_param is not None else torch.float32
        d_type = d_param.dtype if d_param is not None else torch.float32
        grid = np.column_stack([self.xx.ravel(), self.yy.ravel()])
        with torch.no_grad():
            samples = G(torch.as_tensor(self._noise, dtype=g_type)).to(torch.float64).numpy()

            def prob(points: np.ndarray) -> np.ndarray:
                logits = D(torch.as_tensor(points, dtype=d_type))
                return torch.sigmoid(logits).reshape(-1).to(torch.float64).numpy()

            surface = prob(grid).reshape(self.xx.shape)
            d_real, d_fake = float(prob(self.real).mean()), float(prob(samples).mean())
        self.steps.append(int(step))
        self._samples.append(samples)
        self._surfaces.append(surface)
        self._d_real.append(d_real)
        self._d_fake.append(d_fake)

    def frames(self) -> dict[str, np.ndarray]:
        """Everything recorded so far, as NumPy arrays (see :func:`training_frames`)."""
        count, grid = len(self.steps), self.xx.shape
        return {
            "steps": np.asarray(self.steps, dtype=np.int64),
            "samples": np.asarray(self._samples, dtype=np.float64).reshape(count, self.n_samples, 2),
            "surface": np.asarray(self._surfaces, dtype=np.float64).reshape(count, *grid),
            "d_real": np.asarray(self._d_real, dtype=np.float64),
            "d_fake": np.asarray(self._d_fake, dtype=np.float64),
            "xx": self.xx.copy(),
            "yy": self.yy.copy(),
            "real": self.real.copy(),
        }


def training_frames(
    train_fn: TrainFn,
    data: Any,
    *,
    steps: int = 1500,
    seed: int = 0,
    snapshot_every: int = 100,
    n_samples: int = 500,
    grid_size: int = 50,
    **train_kwargs: Any,
) -> dict[str, np.ndarray]:
    """Train with ``train_fn`` and return its snapshots as arrays.

    ``train_fn(data, steps=, seed=, callback=, snapshot_every=, **train_kwargs)``
    must call ``callback(step, G, D)`` before its first update and after
    every ``snapshot_every`` updates. Deterministic for a seed.

    Returns a dict of NumPy arrays, with F the number of snapshots:

    - ``steps``: (F,) the update count of each snapshot;
    - ``samples``: (F, n_samples, 2) generated samples for fixed noise;
    - ``surface``: (F, grid_size, grid_size) ``D(x)`` on the grid ``xx``, ``yy``;
    - ``d_real``, ``d_fake``: (F,) mean ``D`` on real and on generated samples;
    - ``xx``, ``yy``: (grid_size, grid_size) grid coordinates covering the data;
    - ``real``: (min(N, n_samples), 2) the real samples drawn.
    """
    recorder = SnapshotRecorder(data, n_samples=n_samples, grid_size=grid_size, seed=seed)
    train_fn(data, steps=int(steps), seed=int(seed), callback=recorder, snapshot_every=int(snapshot_every),
             **train_kwargs)
    if not len(recorder):
        raise ValueError("the training function never called callback(step, G, D)")
    return recorder.frames()


def plot_frame(frames: Frames, index: int, *, show_surface: bool = True, title: str = ""):
    """Draw snapshot ``index`` on a new matplotlib Figure (no pyplot state; Agg-safe).

    Left: the real samples, the generated ones and (optionally) the
    discriminator's ``D(x)``. Right: mean ``D`` on real and generated samples
    over training, with the snapshot marked.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.5, 4.0))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})
    if show_surface:
        filled = left.contourf(frames["xx"], frames["yy"], frames["surface"][index],
                               levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55)
        fig.colorbar(filled, ax=left, label="D(x)")
    real, fake = frames["real"], frames["samples"][index]
    left.scatter(real[:, 0], real[:, 1], s=4, c="black", label="real")
    left.scatter(fake[:, 0], fake[:, 1], s=4, c="#e6550d", alpha=0.7, label="generated")
    left.set_xlim(frames["xx"].min(), frames["xx"].max())
    left.set_ylim(frames["yy"].min(), frames["yy"].max())
    left.set_aspect("equal")
    left.set_title(title or f"after {int(frames['steps'][index])} steps")
    left.legend(loc="upper right", fontsize=7, markerscale=3)
    right.plot(frames["steps"], frames["d_real"], marker="o", ms=3, label="mean D(real)")
    right.plot(frames["steps"], frames["d_fake"], marker="o", ms=3, label="mean D(generated)")
    right.axhline(0.5, color="grey", lw=0.8, ls="--")
    right.axvline(frames["steps"][index], color="black", lw=0.8)
    right.set_ylim(0, 1)
    right.set_xlabel("training step")
    right.set_title("the discriminator's verdicts")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _png_output(fig) -> dict[str, Any]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                 "text/plain": "<GAN training snapshot>"},
        "metadata": {},
    }


def gan_training_explorer(
    train_fn: TrainFn | None = None,
    data: Any = None,
    *,
    frames: Frames | SnapshotRecorder | None = None,
    steps: int = 1500,
    seed: int = 0,
    snapshot_every: int = 100,
    grid_size: int = 50,
    **train_kwargs: Any,
):
    """A widget: a slider over training snapshots, a ``D(x)`` switch and a seed selector.

    ``frames`` (the result of :func:`training_frames`, or a filled
    :class:`SnapshotRecorder`) shows an earlier run without training again;
    otherwise ``train_fn`` is run through :func:`training_frames`. Choosing
    another seed trains again with ``train_fn``.

    Returns an ``ipywidgets.VBox`` with extra attributes for scripts and
    tests: ``snapshot_slider``, ``surface_toggle``, ``seed_dropdown``,
    ``output``, ``status`` (an HTML line), ``refresh()``, ``retrain()``,
    ``frames`` (the snapshots shown, or ``None``) and ``last_error``.
    If your training function is not written yet, the widget says so instead of failing.
    """
    import ipywidgets as widgets

    if data is None:
        from dlcourse_gan.data import sample_ring

        data = sample_ring()
    if isinstance(frames, SnapshotRecorder):
        frames = frames.frames()

    snapshot_slider = widgets.IntSlider(value=0, min=0, max=0, description="snapshot",
                                        continuous_update=False)
    surface_toggle = widgets.Checkbox(value=True, description="show D(x)")
    seed_dropdown = widgets.Dropdown(options=sorted({int(seed), *range(5)}), value=int(seed),
                                     description="seed")
    status = widgets.HTML()
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox([snapshot_slider, surface_toggle, seed_dropdown]), status, output])
    box.snapshot_slider, box.surface_toggle = snapshot_slider, surface_toggle
    box.seed_dropdown = seed_dropdown
    box.status, box.output = status, output
    box.frames, box.last_error = None, None

    def show_nothing(message: str, error: str | None) -> None:
        box.frames, box.last_error = None, error
        status.value = message
        output.outputs = ()

    def use(new_frames: Frames | None) -> None:
        if new_frames is None or len(new_frames["steps"]) == 0:
            show_nothing("<i>No snapshots yet: implement <code>train_gan</code> (it calls "
                         "<code>callback(step, G, D)</code>) and run its test cell to see training unfold, "
                         "then choose a seed.</i>", "no snapshots")
            return
        box.frames, box.last_error = new_frames, None
        last = len(new_frames["steps"]) - 1
        snapshot_slider.max = last
        if snapshot_slider.value != last:
            snapshot_slider.value = last  # draws through the observer
        else:
            refresh()

    def refresh(change: Any = None) -> None:
        current = box.frames
        if current is None:
            return
        index = min(int(snapshot_slider.value), len(current["steps"]) - 1)
        status.value = (f"seed {seed_dropdown.value}, step {int(current['steps'][index])}: "
                        f"mean D(real) {float(current['d_real'][index]):.2f}, "
                        f"mean D(generated) {float(current['d_fake'][index]):.2f}")
        output.outputs = (_png_output(plot_frame(current, index, show_surface=surface_toggle.value)),)

    def retrain(change: Any = None) -> None:
        if train_fn is None:
            show_nothing("<i>No training function was given.</i>", "no training function")
            return
        try:
            new_frames = training_frames(train_fn, data, steps=steps, seed=int(seed_dropdown.value),
                                         snapshot_every=snapshot_every, grid_size=grid_size, **train_kwargs)
        except Exception as error:  # noqa: BLE001 - show the student's error, do not crash
            unwritten = isinstance(error, NotImplementedError)
            show_nothing(student_code_message(error, "training unfold"),
                         "not implemented" if unwritten else f"{type(error).__name__}: {error}")
            return
        use(new_frames)

    snapshot_slider.observe(refresh, names="value")
    surface_toggle.observe(refresh, names="value")
    seed_dropdown.observe(retrain, names="value")
    box.refresh, box.retrain = refresh, retrain
    if frames is None:
        retrain()
    else:
        use(frames)
    return readable_labels(box)
