"""Visualiser: the latent space of a VAE, decoded live.

:func:`decode_codes` and :func:`latent_grid` are pure functions that decode
latent codes with *your* decode function and return plain arrays;
:func:`latent_explorer` is a thin ipywidgets layer over them: one slider per
latent dimension decodes a single digit live, next to the 2-D latent
manifold (a grid of decoded codes) with the sliders' position marked.
Nothing here knows the model: the decode function is passed in.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlcourse.runtime import readable_labels, student_code_message

#: ``decode_fn(z)``: a float32 tensor of codes (n, latent_dim) -> pixel probabilities (n, H*W).
DecodeFn = Callable[[Any], Any]
IMAGE_SHAPE = (8, 8)
#: Latent dimensions beyond this many get no slider (they stay at 0).
MAX_SLIDERS = 8


def decode_codes(decode_fn: DecodeFn, z: np.ndarray, image_shape: Sequence[int] = IMAGE_SHAPE) -> np.ndarray:
    """Decode codes with ``decode_fn`` and return them as images.

    ``z``: array (n, latent_dim); ``decode_fn`` receives it as a float32 torch
    tensor and returns pixel probabilities (n, H*W) or (n, H, W), as a tensor
    or an array. Returns a float64 array (n, H, W).
    Raises ``ValueError`` when the decoder's output has the wrong size.
    """
    import torch

    z = np.atleast_2d(np.asarray(z, dtype=np.float32))
    out = decode_fn(torch.from_numpy(z))
    if torch.is_tensor(out):
        out = out.detach().cpu().numpy()
    images = np.asarray(out, dtype=np.float64)
    height, width = (int(n) for n in image_shape)
    if images.size != len(z) * height * width:
        raise ValueError(f"decode returned shape {images.shape} for {len(z)} codes; "
                         f"expected ({len(z)}, {height * width}) pixel probabilities")
    return images.reshape(len(z), height, width)


def latent_grid(
    decode_fn: DecodeFn,
    latent_dim: int = 2,
    *,
    dims: tuple[int, int] = (0, 1),
    span: float = 3.0,
    grid_size: int = 12,
    base: np.ndarray | None = None,
    image_shape: Sequence[int] = IMAGE_SHAPE,
    gap: int = 1,
) -> dict[str, np.ndarray]:
    """Decode a ``grid_size`` x ``grid_size`` grid of codes: the latent manifold.

    Latent dimensions ``dims[0]`` (across) and ``dims[1]`` (up) run over
    ``grid_size`` evenly spaced values from ``-span`` to ``span``; the other
    dimensions keep the values of ``base`` (default: 0, the prior's mean).

    Returns a dict of NumPy arrays:

    - ``values``: (G,) the coordinates along each of the two dimensions;
    - ``z``: (G*G, latent_dim) the codes, row by row from the top of the canvas;
    - ``images``: (G, G, H, W) the decoded images;
    - ``canvas``: (G*(H+gap) - gap, G*(W+gap) - gap) the images tiled, with
      ``gap`` blank pixels between them, so that it reads like a plot: tile
      column j shows ``dims[0] = values[j]``, tile row i shows
      ``dims[1] = values[G - 1 - i]`` (up is positive).
    """
    latent_dim, grid_size = int(latent_dim), int(grid_size)
    across, up = (int(d) for d in dims)
    if across == up or not (0 <= across < latent_dim and 0 <= up < latent_dim):
        raise ValueError(f"dims must be two different latent dimensions in 0..{latent_dim - 1}, got {dims}")
    if grid_size < 2:
        raise ValueError(f"grid_size must be at least 2, got {grid_size}")
    values = np.linspace(-float(span), float(span), grid_size)
    centre = np.zeros(latent_dim) if base is None else np.asarray(base, dtype=np.float64).reshape(latent_dim)
    z = np.tile(centre, (grid_size * grid_size, 1))
    rows, columns = np.meshgrid(np.arange(grid_size), np.arange(grid_size), indexing="ij")
    z[:, across] = values[columns.ravel()]
    z[:, up] = values[grid_size - 1 - rows.ravel()]
    images = decode_codes(decode_fn, z, image_shape).reshape(grid_size, grid_size, *image_shape)
    height, width = images.shape[2:]
    pad = int(gap)
    padded = np.pad(images, ((0, 0), (0, 0), (0, pad), (0, pad)))  # blank pixels between the tiles
    canvas = padded.transpose(0, 2, 1, 3).reshape(grid_size * (height + pad), grid_size * (width + pad))
    canvas = canvas[: canvas.shape[0] - pad, : canvas.shape[1] - pad]
    return {"values": values, "z": z, "images": images, "canvas": canvas}


def plot_explorer(result: dict[str, Any], dims: tuple[int, int]):
    """Draw the decoded point and the manifold on a new matplotlib Figure (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.5, 4.2))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    left.imshow(result["image"], cmap="gray_r", vmin=0, vmax=1)
    left.set_title("decoded at the sliders' code")
    left.axis("off")
    values = result["values"]
    half = (values[1] - values[0]) / 2
    extent = (values[0] - half, values[-1] + half, values[0] - half, values[-1] + half)
    right.imshow(result["canvas"], cmap="gray_r", vmin=0, vmax=1, extent=extent)
    point = result["point"]
    right.plot([point[dims[0]]], [point[dims[1]]], "x", color="red", markersize=12, markeredgewidth=3)
    right.set_xlim(extent[0], extent[1])
    right.set_ylim(extent[2], extent[3])
    right.set_xlabel(f"z{dims[0] + 1}")
    right.set_ylabel(f"z{dims[1] + 1}")
    right.set_title("latent manifold")
    fig.tight_layout()
    return fig


def _png_output(fig) -> dict[str, Any]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                 "text/plain": "<latent space figure>"},
        "metadata": {},
    }


def latent_explorer(
    decode_fn: DecodeFn,
    latent_dim: int = 2,
    *,
    span: float = 3.0,
    grid_size: int = 12,
    slider_range: float = 4.0,
    image_shape: Sequence[int] = IMAGE_SHAPE,
):
    """A widget: latent sliders that decode a digit live, next to the latent manifold grid.

    ``decode_fn(z)`` maps a float32 tensor of codes (n, latent_dim) to pixel
    probabilities (n, H*W). Controls: one slider per latent dimension (up to
    ``MAX_SLIDERS``), two dropdowns choosing the dimensions the grid spans
    (the others take the sliders' values) and a slider for the grid's span.

    Returns an ``ipywidgets.VBox`` with extra attributes for scripts and
    tests: ``z_sliders`` (a list), ``x_dropdown``, ``y_dropdown``,
    ``span_slider``, ``status`` (an HTML line), ``output``, ``refresh()``,
    ``last_result`` (a dict with ``point``, ``image`` and the arrays of
    :func:`latent_grid`, or ``None`` when decoding failed) and ``last_error``.
    If your decode function is not written yet, the widget says so instead of failing.
    """
    import ipywidgets as widgets

    latent_dim = int(latent_dim)
    if latent_dim < 2:
        raise ValueError("the explorer needs a latent space of at least 2 dimensions")
    z_sliders = [
        widgets.FloatSlider(value=0.0, min=-slider_range, max=slider_range, step=0.1, description=f"z{j + 1}",
                            continuous_update=False)
        for j in range(min(latent_dim, MAX_SLIDERS))
    ]
    options = [(f"z{j + 1}", j) for j in range(latent_dim)]
    x_dropdown = widgets.Dropdown(options=options, value=0, description="grid across")
    y_dropdown = widgets.Dropdown(options=options, value=1, description="grid up")
    span_slider = widgets.FloatSlider(value=span, min=0.5, max=6.0, step=0.25, description="grid span",
                                      continuous_update=False)
    status = widgets.HTML()
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox(z_sliders), widgets.HBox([x_dropdown, y_dropdown, span_slider]),
                        status, output])
    box.z_sliders, box.x_dropdown, box.y_dropdown, box.span_slider = z_sliders, x_dropdown, y_dropdown, span_slider
    box.status, box.output = status, output
    box.last_result, box.last_error = None, None

    def fail(error: str, message: str) -> None:
        box.last_result, box.last_error = None, error
        status.value = message
        output.outputs = ()

    def refresh(change: Any = None) -> None:
        dims = (int(x_dropdown.value), int(y_dropdown.value))
        if dims[0] == dims[1]:
            fail("same dimensions", "<i>Choose two different latent dimensions for the grid.</i>")
            return
        point = np.zeros(latent_dim)
        point[: len(z_sliders)] = [slider.value for slider in z_sliders]
        try:
            image = decode_codes(decode_fn, point[None], image_shape)[0]
            grid = latent_grid(decode_fn, latent_dim, dims=dims, span=span_slider.value, grid_size=grid_size,
                               base=point, image_shape=image_shape)
        except Exception as error:  # noqa: BLE001 - show the student's error, do not crash
            unwritten = isinstance(error, NotImplementedError)
            fail("not implemented" if unwritten else f"{type(error).__name__}: {error}",
                 student_code_message(error, "digits decoded from the latent space"))
            return
        box.last_result, box.last_error = {"point": point, "image": image, **grid}, None
        coordinates = ", ".join(f"{value:+.1f}" for value in point[: len(z_sliders)])
        status.value = (f"z = ({coordinates}): the digit on the left; the grid spans z{dims[0] + 1} and "
                        f"z{dims[1] + 1} from {-span_slider.value:.2g} to {span_slider.value:.2g}")
        output.outputs = (_png_output(plot_explorer(box.last_result, dims)),)

    for control in (*z_sliders, x_dropdown, y_dropdown, span_slider):
        control.observe(refresh, names="value")
    box.refresh = refresh
    refresh()
    return readable_labels(box)
