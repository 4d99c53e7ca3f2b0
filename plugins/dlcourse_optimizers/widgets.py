"""Visualiser: optimizer trajectories on a two-dimensional loss surface.

:func:`optimizer_paths` is a pure function: it runs the optimizers it is
given (any ``torch.optim.Optimizer`` classes, yours or PyTorch's) from the
same start on one of :data:`~dlcourse_optimizers.surfaces.SURFACES` and
returns plain arrays. :func:`trajectory_explorer` is a thin ipywidgets layer
over it, with sliders for the learning rate, the momentum and Adam's betas,
and a choice of surface. Nothing here knows how an optimizer updates.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Callable, Mapping

import numpy as np
import torch

from dlcourse.runtime import implement_first_message, readable_labels, student_code_message, unwritten_name

from dlcourse_optimizers.surfaces import SURFACES, evaluate_grid

Factory = Callable[[list[torch.Tensor]], torch.optim.Optimizer]
#: a path stops when it leaves this box around the plot window (it diverged)
ESCAPE = 1e3
COLOURS = {"SGD": "#1f77b4", "momentum": "#ff7f0e", "RMSprop": "#2ca02c", "Adam": "#d62728"}


def optimizer_paths(
    surface: str,
    optimizers: Mapping[str, Factory],
    *,
    steps: int = 150,
    start: tuple[float, float] | None = None,
    grid_size: int = 80,
) -> dict[str, Any]:
    """Run each optimizer for ``steps`` steps on a surface and describe the runs as arrays.

    ``optimizers`` maps a display name to a factory ``params -> optimizer``
    (e.g. ``lambda p: Adam(p, lr=0.05)``). Each run starts at ``start`` (the
    surface's default start when None) with a float64 parameter of shape (2,).

    Returns a dict with

    - ``xx``, ``yy``, ``zz``: (grid_size, grid_size) grid and loss values over the plot window;
    - ``paths``: name -> (k + 1, 2) iterates (k <= steps; shorter when the run diverged);
    - ``losses``: name -> (k + 1,) loss at each iterate;
    - ``errors``: name -> a readable message for an optimizer that could not run
      (``"not written yet"`` when it raised NotImplementedError);
    - ``missing``: name -> what to implement first for an optimizer that is not written yet
      (e.g. ``"SGD.step"``; empty when it cannot tell);
    - ``start``: (2,) and ``minima``: (m, 2) arrays.
    """
    if surface not in SURFACES:
        raise ValueError(f"unknown surface {surface!r}; choose one of {sorted(SURFACES)}")
    chosen = SURFACES[surface]
    start_point = np.asarray(chosen.start if start is None else start, dtype=np.float64)
    xx, yy, zz = evaluate_grid(chosen, int(grid_size))
    paths: dict[str, np.ndarray] = {}
    losses: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    missing: dict[str, str] = {}
    for name, factory in optimizers.items():
        try:
            path, values = _run(chosen, factory, start_point, int(steps))
        except NotImplementedError as error:
            errors[name] = "not written yet"
            missing[name] = unwritten_name(error) or ""
            continue
        except Exception as error:  # noqa: BLE001 - show the optimizer's error, keep the others
            errors[name] = f"{type(error).__name__}: {error}"
            continue
        paths[name], losses[name] = path, values
    return {
        "xx": xx,
        "yy": yy,
        "zz": zz,
        "paths": paths,
        "losses": losses,
        "errors": errors,
        "missing": missing,
        "start": start_point,
        "minima": np.asarray(chosen.minima, dtype=np.float64),
    }


def _run(surface, factory: Factory, start: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    xy = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = factory([xy])
    points, values = [xy.detach().clone()], []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = surface(xy)
        loss.backward()
        values.append(float(loss.detach()))
        optimizer.step()
        point = xy.detach().clone()
        if not torch.all(torch.isfinite(point)) or float(point.abs().max()) > ESCAPE:
            break
        points.append(point)
    with torch.no_grad():
        final = float(surface(points[-1]))
    values = values[: len(points) - 1] + [final]
    return torch.stack(points).numpy(), np.asarray(values, dtype=np.float64)


def plot_paths(result: Mapping[str, Any], title: str = "", axes: tuple[Any, Any] | None = None):
    """Draw the surface with the paths, and the loss curves, on two matplotlib axes.

    Without ``axes`` it makes a new Figure (no pyplot state; Agg-safe) and
    returns it; with ``axes=(left, right)`` it draws there and returns their figure.
    """
    if axes is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 4))
        FigureCanvasAgg(fig)
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    else:
        left, right = axes
        fig = left.figure
    zz = result["zz"]
    shifted = np.log10(zz - zz.min() + 1e-3)  # log levels show both the valley floor and the walls
    left.contourf(result["xx"], result["yy"], shifted, levels=30, cmap="Greys_r", alpha=0.8)
    for name, path in result["paths"].items():
        colour = COLOURS.get(name)
        left.plot(path[:, 0], path[:, 1], ".-", ms=2.5, lw=1.2, color=colour, label=name)
        right.semilogy(np.maximum(result["losses"][name] - zz.min(), 1e-12), color=colour, label=name)
    minima = result["minima"]
    left.plot(minima[:, 0], minima[:, 1], "*", ms=12, color="gold", mec="k", label="minimum")
    left.plot(*result["start"], "o", color="k", ms=5)
    left.set_xlim(result["xx"].min(), result["xx"].max())
    left.set_ylim(result["yy"].min(), result["yy"].max())
    left.set_title(title or "trajectories")
    left.legend(loc="lower right", fontsize=8)
    right.set_xlabel("step")
    right.set_ylabel("loss above the grid minimum")
    right.set_title("loss curves")
    if axes is None:
        fig.tight_layout()
    return fig


def _png_output(fig) -> dict[str, Any]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                 "text/plain": "<optimizer trajectories figure>"},
        "metadata": {},
    }


def trajectory_explorer(
    sgd: type | None = None,
    rmsprop: type | None = None,
    adam: type | None = None,
    *,
    surface: str = "rosenbrock",
    lr: float = 0.05,
    momentum: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    steps: int = 150,
    grid_size: int = 80,
):
    """A widget: trajectories of SGD, SGD with momentum, RMSprop and Adam on a chosen surface.

    ``sgd``, ``rmsprop`` and ``adam`` are optimizer classes with PyTorch's
    signatures (yours, or ``torch.optim.SGD`` ...); any left as None is not
    drawn. The sliders set the learning rate (shared by all), the momentum of
    the momentum run, Adam's beta1 and beta2 (RMSprop's alpha is beta2) and
    the number of steps; the dropdown picks the surface.

    Returns an ``ipywidgets.VBox`` with extra attributes for scripts and
    tests: ``surface_dropdown``, ``lr_slider``, ``momentum_slider``,
    ``beta1_slider``, ``beta2_slider``, ``steps_slider``, ``output``,
    ``status`` (an HTML line), ``refresh()``, ``last_result`` (the latest
    :func:`optimizer_paths` result, or None) and ``last_error``.
    An optimizer that is not written yet is listed as such instead of failing.
    """
    import ipywidgets as widgets

    surface_dropdown = widgets.Dropdown(options=[(s.title, s.name) for s in SURFACES.values()], value=surface,
                                        description="surface")
    lr_slider = widgets.FloatLogSlider(value=lr, base=10, min=-3, max=0, step=0.1,
                                       description="learning rate", continuous_update=False)
    momentum_slider = widgets.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01,
                                          description="momentum", continuous_update=False)
    beta1_slider = widgets.FloatSlider(value=beta1, min=0.0, max=0.99, step=0.01, description="beta1",
                                       continuous_update=False)
    beta2_slider = widgets.FloatSlider(value=beta2, min=0.5, max=0.999, step=0.001, readout_format=".3f",
                                       description="beta2 / alpha", continuous_update=False)
    steps_slider = widgets.IntSlider(value=steps, min=10, max=500, step=10, description="steps",
                                     continuous_update=False)
    status = widgets.HTML()
    output = widgets.Output()
    controls = [surface_dropdown, lr_slider, momentum_slider, beta1_slider, beta2_slider, steps_slider]
    box = widgets.VBox([widgets.HBox(controls[:3]), widgets.HBox(controls[3:]), status, output])
    box.surface_dropdown, box.lr_slider, box.momentum_slider = surface_dropdown, lr_slider, momentum_slider
    box.beta1_slider, box.beta2_slider, box.steps_slider = beta1_slider, beta2_slider, steps_slider
    box.status, box.output = status, output
    box.last_result, box.last_error = None, None

    def factories() -> dict[str, Factory]:
        rate, mu, b1, b2 = lr_slider.value, momentum_slider.value, beta1_slider.value, beta2_slider.value
        made: dict[str, Factory] = {}
        if sgd is not None:
            made["SGD"] = lambda p: sgd(p, lr=rate)
            made["momentum"] = lambda p: sgd(p, lr=rate, momentum=mu)
        if rmsprop is not None:
            made["RMSprop"] = lambda p: rmsprop(p, lr=rate, alpha=b2)
        if adam is not None:
            made["Adam"] = lambda p: adam(p, lr=rate, betas=(b1, b2))
        return made

    def refresh(change: Any = None) -> None:
        try:
            result = optimizer_paths(surface_dropdown.value, factories(), steps=steps_slider.value,
                                     grid_size=grid_size)
        except Exception as error:  # noqa: BLE001 - a widget reports, it does not crash
            box.last_result, box.last_error = None, f"{type(error).__name__}: {error}"
            status.value = student_code_message(error, "the optimizers' paths")
            output.outputs = ()
            return
        box.last_result, box.last_error = result, None
        parts = [f"{name}: final loss {values[-1]:.3g}"
                 + ("" if len(values) == steps_slider.value + 1 else " (diverged)")
                 for name, values in result["losses"].items()]
        parts += [f"{name}: <i>{message}</i>" for name, message in result["errors"].items()]
        if result["missing"]:
            goal = "their paths" if result["paths"] else "the optimizers' paths"
            parts.insert(0, implement_first_message([n for n in result["missing"].values() if n], goal))
        status.value = " | ".join(parts)
        title = f"{SURFACES[surface_dropdown.value].title}, lr={lr_slider.value:.3g}"
        output.outputs = (_png_output(plot_paths(result, title)),)

    for control in controls:
        control.observe(refresh, names="value")
    box.refresh = refresh
    refresh()
    return readable_labels(box)
