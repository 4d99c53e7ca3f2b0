"""Visualisers: a live 3x3 kernel editor and the feature maps of a network's first layer.

:func:`filter_response` and :func:`feature_maps` are pure functions that
return arrays; :func:`kernel_editor` and :func:`feature_map_viewer` are thin
ipywidgets layers over them. The kernel editor drives *your* convolution
function (passed in), the viewer *your* trained network; nothing here knows
how a convolution is computed.
"""

from __future__ import annotations

import base64
import io
from typing import Any, Callable, Mapping

import numpy as np

from dlcourse.runtime import readable_labels, student_code_message

ConvFn = Callable[..., Any]

#: Preset 3x3 kernels of the editor (rows are along H, columns along W).
PRESETS: dict[str, np.ndarray] = {
    "identity": np.array([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]),
    "box blur": np.full((3, 3), 1.0 / 9.0),
    "sharpen": np.array([[0.0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "vertical edges (Prewitt x)": np.array([[-1.0, 0, 1], [-1, 0, 1], [-1, 0, 1]]),
    "horizontal edges (Prewitt y)": np.array([[-1.0, -1, -1], [0, 0, 0], [1, 1, 1]]),
    "diagonal edges": np.array([[0.0, 1, 1], [-1, 0, 1], [-1, -1, 0]]),
    "Laplacian": np.array([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]),
}


# ------------------------------------------------------------ pure functions


def filter_response(conv2d_fn: ConvFn, image: np.ndarray, kernel: np.ndarray,
                    padding: int | None = None) -> dict[str, np.ndarray]:
    """Apply one kernel to one grayscale image with ``conv2d_fn``.

    ``conv2d_fn(x, w, b, stride=1, padding=p)`` gets ``x`` (1, 1, H, W),
    ``w`` (1, 1, k, k) and ``b`` (1,), all float64; ``padding`` defaults to
    ``k // 2`` so the response keeps the image size for odd ``k``.

    Returns ``image`` (H, W), ``kernel`` (k, k) and ``response`` (H', W'),
    float64 arrays.
    """
    image = np.asarray(image, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(f"image and kernel must be 2-D, got {image.shape} and {kernel.shape}")
    pad = kernel.shape[0] // 2 if padding is None else int(padding)
    out = conv2d_fn(image[None, None], kernel[None, None], np.zeros(1), stride=1, padding=pad)
    out = np.asarray(out, dtype=np.float64)
    if out.ndim != 4 or out.shape[:2] != (1, 1):
        raise ValueError(f"the convolution returned shape {out.shape}, expected (1, 1, H_out, W_out)")
    return {"image": image, "kernel": kernel, "response": out[0, 0]}


def _first_conv(model: Any):
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            return module
    raise ValueError("the model has no nn.Conv2d layer")


def feature_maps(model: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    """The output of the first ``nn.Conv2d`` of ``model`` for one input image.

    ``x`` is one image as (H, W), (C, H, W) or (1, C, H, W). Returns
    ``input`` (H, W) (its first channel), ``kernels`` (F, k, k) (the filters'
    weights on the first input channel) and ``maps`` (F, H', W'), the
    filters' responses before any activation; float64 arrays.
    """
    import torch

    conv = _first_conv(model)
    x = np.asarray(x, dtype=np.float32)
    batch = x.reshape((1,) * (4 - x.ndim) + x.shape) if x.ndim < 4 else x[:1]
    with torch.no_grad():
        param = next(conv.parameters())
        maps = conv(torch.as_tensor(batch, dtype=param.dtype, device=param.device))[0]
        kernels = conv.weight[:, 0]
    return {"input": batch[0, 0].astype(np.float64),
            "kernels": kernels.detach().cpu().numpy().astype(np.float64),
            "maps": maps.detach().cpu().numpy().astype(np.float64)}


# ------------------------------------------------------------------ drawing


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def plot_response(result: Mapping[str, np.ndarray]):
    """Image, kernel (with its values) and response side by side, on a new Figure."""
    fig = _figure(9, 3.2)
    left, middle, right = fig.subplots(1, 3, gridspec_kw={"width_ratios": [3, 1.4, 3]})
    left.imshow(result["image"], cmap="gray")
    left.set_title("input")
    kernel = result["kernel"]
    limit = max(1e-12, float(np.abs(kernel).max()))
    middle.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (row, col), value in np.ndenumerate(kernel):
        middle.text(col, row, f"{value:.2g}", ha="center", va="center", fontsize=8)
    middle.set_title("kernel")
    response = result["response"]
    limit = max(1e-12, float(np.abs(response).max()))
    shown = right.imshow(response, cmap="RdBu_r", vmin=-limit, vmax=limit)
    right.set_title("response (red > 0, blue < 0)")
    fig.colorbar(shown, ax=right, fraction=0.046)
    for axis in (left, middle, right):
        axis.set_xticks([])
        axis.set_yticks([])
    fig.tight_layout()
    return fig


def plot_feature_maps(result: Mapping[str, np.ndarray], title: str = ""):
    """The input, then each filter above its feature map, on a new Figure."""
    maps, kernels = result["maps"], result["kernels"]
    count = maps.shape[0]
    fig = _figure(1.3 * (count + 1), 3.0)
    axes = fig.subplots(2, count + 1, squeeze=False)
    axes[0, 0].imshow(result["input"], cmap="gray")
    axes[0, 0].set_title(title or "input", fontsize=8)
    axes[1, 0].axis("off")
    for index in range(count):
        limit = max(1e-12, float(np.abs(kernels[index]).max()))
        axes[0, index + 1].imshow(kernels[index], cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes[0, index + 1].set_title(f"filter {index}", fontsize=8)
        axes[1, index + 1].imshow(maps[index], cmap="magma")
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    fig.tight_layout()
    return fig


def _png_output(fig, text: str) -> dict[str, Any]:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": text},
        "metadata": {},
    }


# ------------------------------------------------------------------ widgets


def kernel_editor(conv2d_fn: ConvFn, images: Mapping[str, np.ndarray] | None = None,
                  kernel: np.ndarray | None = None):
    """A widget: a 3x3 grid of numbers, applied live to an image with ``conv2d_fn``.

    ``images`` maps names to grayscale (H, W) arrays (default: a scene of
    shapes and a photo). A dropdown fills the grid with a preset kernel;
    editing any number redraws. Returns an ``ipywidgets.VBox`` with extra
    attributes for scripts and tests: ``cells`` (the nine ``FloatText``,
    row by row), ``preset``, ``image_picker``, ``status``, ``output``,
    ``kernel()`` (the current 3x3 array), ``refresh()``, ``last_result``
    (the latest :func:`filter_response`, or ``None``) and ``last_error``.
    If ``conv2d_fn`` is not written yet, the widget says so instead of failing.
    """
    import ipywidgets as widgets

    if images is None:
        from dlcourse_cnn.data import load_image

        images = {"shapes": load_image("shapes", 40), "photo": load_image("photo", 48)}
    images = {str(name): np.asarray(image, dtype=np.float64) for name, image in images.items()}
    start = PRESETS["vertical edges (Prewitt x)"] if kernel is None else np.asarray(kernel, dtype=np.float64)
    if start.shape != (3, 3):
        raise ValueError(f"the editor edits a 3x3 kernel, got shape {start.shape}")

    cells = [widgets.FloatText(value=float(value), step=0.1, layout=widgets.Layout(width="70px"))
             for value in start.ravel()]
    grid = widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns="repeat(3, 76px)"))
    preset = widgets.Dropdown(options=["custom", *PRESETS], value="custom", description="preset")
    image_picker = widgets.Dropdown(options=list(images), value=next(iter(images)), description="image")
    status = widgets.HTML()
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox([grid, widgets.VBox([preset, image_picker])]), status, output])
    box.cells, box.preset, box.image_picker = cells, preset, image_picker
    box.status, box.output = status, output
    box.last_result, box.last_error = None, None
    filling = {"active": False}  # while a preset fills the grid, redraw once at the end

    def current_kernel() -> np.ndarray:
        return np.array([cell.value for cell in cells], dtype=np.float64).reshape(3, 3)

    def refresh(change: Any = None) -> None:
        if filling["active"]:
            return
        try:
            result = filter_response(conv2d_fn, images[image_picker.value], current_kernel())
        except Exception as error:  # noqa: BLE001 - show the student's error, do not crash
            unwritten = isinstance(error, NotImplementedError)
            box.last_result = None
            box.last_error = "not implemented" if unwritten else f"{type(error).__name__}: {error}"
            status.value = student_code_message(error, "what your kernel does to the image")
            output.outputs = ()
            return
        box.last_result, box.last_error = result, None
        response = result["response"]
        status.value = (f"kernel sum {current_kernel().sum():.3g}; response range "
                        f"[{response.min():.3g}, {response.max():.3g}] on a {response.shape} map")
        output.outputs = (_png_output(plot_response(result), "<kernel response figure>"),)

    def apply_preset(change: Any) -> None:
        if preset.value not in PRESETS:
            return
        filling["active"] = True
        try:
            for cell, value in zip(cells, PRESETS[preset.value].ravel()):
                cell.value = float(value)
        finally:
            filling["active"] = False
        refresh()

    def edited(change: Any) -> None:
        if not filling["active"] and preset.value != "custom":
            preset.value = "custom"  # an edited preset is a custom kernel (apply_preset ignores "custom")
        refresh()

    for cell in cells:
        cell.observe(edited, names="value")
    preset.observe(apply_preset, names="value")
    image_picker.observe(refresh, names="value")
    box.kernel, box.refresh = current_kernel, refresh
    refresh()
    return readable_labels(box)


def feature_map_viewer(model: Any, images: np.ndarray, labels: np.ndarray | None = None, *, index: int = 0):
    """A widget: pick an input with a slider and see the first layer's feature maps.

    ``model`` is a (trained) ``torch.nn.Module`` with an ``nn.Conv2d``;
    ``images`` is (N, C, H, W) or (N, H, W). Returns an ``ipywidgets.VBox``
    with extra attributes: ``index_slider``, ``status``, ``output``,
    ``refresh()``, ``last_result`` (the latest :func:`feature_maps`, or
    ``None``) and ``last_error``. Without a usable model it says so instead
    of failing.
    """
    import ipywidgets as widgets

    images = np.asarray(images)
    labels = None if labels is None else np.asarray(labels)
    index_slider = widgets.IntSlider(value=int(index), min=0, max=max(0, len(images) - 1),
                                     description="input", continuous_update=False)
    status = widgets.HTML()
    output = widgets.Output()
    box = widgets.VBox([index_slider, status, output])
    box.index_slider, box.status, box.output = index_slider, status, output
    box.last_result, box.last_error = None, None

    def refresh(change: Any = None) -> None:
        if model is None:
            box.last_result, box.last_error = None, "no model"
            status.value = ("<i>Implement and train your network (exercise 9) to see its feature maps, "
                            "then run this cell again.</i>")
            output.outputs = ()
            return
        try:
            result = feature_maps(model, images[index_slider.value])
        except Exception as error:  # noqa: BLE001 - show the problem, do not crash
            box.last_result, box.last_error = None, f"{type(error).__name__}: {error}"
            status.value = f"<b>Cannot show feature maps:</b> {type(error).__name__}: {error}"
            output.outputs = ()
            return
        box.last_result, box.last_error = result, None
        label = "" if labels is None else f", label {int(labels[index_slider.value])}"
        title = f"input {index_slider.value}{label}"
        status.value = f"{title}: {result['maps'].shape[0]} feature maps of size {result['maps'].shape[1:]}"
        output.outputs = (_png_output(plot_feature_maps(result, title), "<feature maps figure>"),)

    index_slider.observe(refresh, names="value")
    box.refresh = refresh
    refresh()
    return readable_labels(box)
