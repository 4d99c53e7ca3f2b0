"""The kernel helpers: device choice, seeding, and what widgets share."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import dlcourse
from dlcourse.runtime import implement_first_message, readable_labels, student_code_message, unwritten_name

ROOT = Path(__file__).resolve().parents[2]


def test_device_honours_the_kernel_environment(monkeypatch):
    monkeypatch.setenv("DLCOURSE_DEVICE", "cpu")
    assert dlcourse.device() == "cpu"
    monkeypatch.setenv("DLCOURSE_DEVICE", "auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert dlcourse.device() in (expected, "mps")


def test_seed_everything_reproduces_all_generators():
    dlcourse.seed_everything(7)
    first = (np.random.rand(3), torch.rand(3))
    dlcourse.seed_everything(7)
    second = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(first[0], second[0]) and torch.equal(first[1], second[1])


def test_kernelspec_is_installed_with_the_project():
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec("dlcourse-py3")
    assert spec.display_name == "Deep Learning (PyTorch)"
    assert spec.env["DLCOURSE_DEVICE"] == "auto"
    shipped = json.loads((ROOT / "kernels" / "dlcourse-py3" / "kernel.json").read_text())
    assert shipped["display_name"] == spec.display_name


def test_messages_name_the_innermost_stub_and_undefined_names():
    s: dict = {}  # a namespace of its own, as a notebook's cells have
    exec("def sigmoid(z):\n    raise NotImplementedError()\n", s)
    exec("def train(x):\n    return sigmoid(x) + 1\n", s)  # written, but calls an unwritten exercise
    with pytest.raises(NotImplementedError) as stub:
        s["train"](0.0)
    assert unwritten_name(stub.value) == "sigmoid"
    assert "Implement <code>sigmoid</code>" in student_code_message(stub.value, "the boundary")
    with pytest.raises(NameError) as undefined:
        exec("vae.decoder", {})
    message = student_code_message(undefined.value, "digits")
    assert "<code>vae</code> is not defined yet" in message
    assert student_code_message(ValueError("a <b>"), "x").endswith("ValueError: a &lt;b&gt;")
    assert "the exercises this widget uses" in implement_first_message([], "x")
    two = implement_first_message(["A", "B", "A"], "x")  # each name once
    assert "<code>A</code> and <code>B</code> and run their cells" in two


def test_readable_labels_reach_nested_controls():
    import ipywidgets

    slider = ipywidgets.IntSlider(description="hidden units")
    dropdown = ipywidgets.Dropdown(options=["a"], description="surface")
    box = ipywidgets.VBox([ipywidgets.HBox([slider]), dropdown, ipywidgets.Button(description="go")])
    assert slider.style.description_width == ""  # ipywidgets' default: a fixed width that truncates
    assert readable_labels(box) is box
    assert slider.style.description_width == dropdown.style.description_width == "initial"
