"""The kernel helpers: device choice and seeding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

import dlcourse

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
