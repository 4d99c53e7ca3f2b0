"""Tests of the convolutional-networks topic plugin: checks, notebooks, widgets and data."""

from __future__ import annotations

import contextlib
import io
import re
import socket
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import jupytext  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import dlcourse_cnn  # noqa: E402
from dlcourse.checking import InKernelStudent, run_check, score_cases  # noqa: E402
from dlcourse.types import Check, Dataset, NotebookSource, Topic, Visualiser  # noqa: E402
from dlcourse_cnn import data, widgets  # noqa: E402
from dlcourse_cnn.hidden.checks import CHECKS  # noqa: E402
from dlcourse.testing import (  # noqa: E402
    SOLUTION_REGION,
    assert_missing_function_scores_zero,
    assert_public_tests_need_the_exercises,
    assert_reference_passes,
    assert_wrong_version_loses_points,
    code_cells,
    release_source,
    with_source,
)

PACKAGE = Path(dlcourse_cnn.__file__).parent
ASSIGNMENT = PACKAGE / "notebooks" / "cnn.py"
LESSON = PACKAGE / "notebooks" / "lesson.py"
CHECKS_BY_ID = {check.id: check for check in CHECKS}


# ----------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def solution() -> dict:
    """The whole solution notebook, test cells included, executed once (it trains the digits network).

    Adds ``_quiet``: per grade cell, what it wrote to stderr and the warnings it raised.
    """
    torch.set_num_threads(1)
    namespace: dict = {}
    quiet: dict[str, str] = {}
    started = time.process_time()
    for cell in code_cells(ASSIGNMENT, tests=True):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            exec(compile(cell.source, "<notebook cell>", "exec"), namespace)
        if cell.metadata.get("nbgrader") == "tests":
            quiet[cell.metadata["grade_id"]] = err.getvalue() + "".join(str(w.message) for w in caught)
    namespace["_quiet"] = quiet
    namespace["_cpu_seconds"] = time.process_time() - started
    return namespace


@pytest.fixture(scope="module")
def release() -> dict:
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in code_cells(ASSIGNMENT):
            exec(release_source(cell.source), namespace)
    return namespace


# -------------------------------------------------------- reference solution


def test_solution_runs_within_budget(solution):
    # the budget is 20 s of CPU for the notebook in a fresh kernel; imports are already paid here
    seconds = solution["_cpu_seconds"]
    assert seconds < 20, f"the solution notebook took {seconds:.1f} s of CPU"
    assert solution["editor"].last_result is not None and solution["viewer"].last_result is not None


@pytest.mark.parametrize("seed", ["0", "student-42"])
@pytest.mark.parametrize("check_id", sorted(CHECKS_BY_ID))
def test_reference_passes_every_check(solution, check_id, seed, monkeypatch):
    monkeypatch.setenv("DLCOURSE_GRADING_SEED", seed)
    assert_reference_passes(CHECKS_BY_ID[check_id], solution)


def test_checks_are_fast(solution):
    student = InKernelStudent(solution)
    started = time.process_time()
    for check in CHECKS:
        run_check(check, student)
    assert time.process_time() - started < 3


def test_checks_cover_every_exercise():
    expected = {"conv2d_forward", "kernels", "conv2d_backward", "pool_forward", "pool_backward",
                "conv2d_fast", "conv1d", "lenet", "digits_cnn"}
    assert set(CHECKS_BY_ID) == {f"cnn.{name}" for name in expected}
    assert all(isinstance(check, Check) and check.topic == "cnn" for check in CHECKS)


def test_untouched_release_scores_zero(release):
    student = InKernelStudent(release)
    for check in CHECKS:
        cases = run_check(check, student)
        assert score_cases(cases) == 0, check.id
        explained = ("not implemented", "run the training cell")  # the release never trains digits_model
        assert any(word in case.message for case in cases for word in explained), [c.message for c in cases]
    assert_public_tests_need_the_exercises(ASSIGNMENT, release)


# ------------------------------------------------------- checks can fail

WRONG = {
    "conv2d with a flipped kernel": (
        "cnn.conv2d_forward",
        "_right = conv2d\n"
        "def conv2d(x, w, b, stride=1, padding=0):\n"
        "    return _right(x, w[:, :, ::-1, ::-1], b, stride, padding)\n",
        "flipped the kernel",
    ),
    "conv2d without the bias": (
        "cnn.conv2d_forward",
        "_right = conv2d\n"
        "def conv2d(x, w, b, stride=1, padding=0):\n"
        "    return _right(x, w, np.zeros_like(b), stride, padding)\n",
        "bias",
    ),
    "conv2d ignoring the padding": (
        "cnn.conv2d_forward",
        "_right = conv2d\n"
        "def conv2d(x, w, b, stride=1, padding=0):\n    return _right(x, w, b, stride, 0)\n",
        "shape",
    ),
    "Sobel with the wrong sign": (
        "cnn.kernels",
        "_right = sobel_kernels\n"
        "def sobel_kernels():\n    kx, ky = _right()\n    return -kx, -ky\n",
        "sign is flipped",
    ),
    "Sobel kernels normalised by 8": (
        "cnn.kernels",
        "_right = sobel_kernels\n"
        "def sobel_kernels():\n    kx, ky = _right()\n    return kx / 8, ky / 8\n",
        "a scalar multiple of the expected kernel",
    ),
    "Sobel kernels swapped": (
        "cnn.kernels",
        "_right = sobel_kernels\n"
        "def sobel_kernels():\n    kx, ky = _right()\n    return ky, kx\n",
        "swapped",
    ),
    "Gaussian not normalised": (
        "cnn.kernels",
        "_right = gaussian_kernel\n"
        "def gaussian_kernel(size=5, sigma=1.0):\n    g = _right(size, sigma)\n    return g / g.max()\n",
        "sum to 1",
    ),
    "conv backward returning the padded dx": (
        "cnn.conv2d_backward",
        "_right = conv2d_backward\n"
        "def conv2d_backward(dout, x, w, b, stride=1, padding=0):\n"
        "    dx, dw, db = _right(dout, x, w, b, stride, padding)\n"
        "    return np.pad(dx, ((0, 0), (0, 0), (padding, padding), (padding, padding))), dw, db\n",
        "cut the padding off",
    ),
    "conv backward with db as a mean": (
        "cnn.conv2d_backward",
        "_right = conv2d_backward\n"
        "def conv2d_backward(dout, x, w, b, stride=1, padding=0):\n"
        "    dx, dw, db = _right(dout, x, w, b, stride, padding)\n"
        "    return dx, dw, dout.mean(axis=(0, 2, 3))\n",
        "db[f] is the sum",
    ),
    "max pooling that averages": (
        "cnn.pool_forward",
        "def max_pool2d(x, kernel_size=2, stride=None):\n    return avg_pool2d(x, kernel_size, stride)\n",
        "avg pooling",
    ),
    "pooling with stride 1 by default": (
        "cnn.pool_forward",
        "_right = avg_pool2d\n"
        "def avg_pool2d(x, kernel_size=2, stride=1):\n    return _right(x, kernel_size, stride)\n",
        "stride=None",
    ),
    "max-pool backward without accumulation": (
        "cnn.pool_backward",
        "def max_pool2d_backward(dout, x, kernel_size=2, stride=None):\n"
        "    stride = kernel_size if stride is None else stride\n"
        "    dx = np.zeros_like(x)\n"
        "    for n, c, i, j in np.ndindex(dout.shape):\n"
        "        win = x[n, c, i*stride:i*stride+kernel_size, j*stride:j*stride+kernel_size]\n"
        "        p, q = np.unravel_index(np.argmax(win), win.shape)\n"
        "        dx[n, c, i*stride+p, j*stride+q] = dout[n, c, i, j]\n"
        "    return dx\n",
        "accumulate with +=",
    ),
    "avg-pool backward without the division": (
        "cnn.pool_backward",
        "_right = avg_pool2d_backward\n"
        "def avg_pool2d_backward(dout, x, kernel_size=2, stride=None):\n"
        "    return _right(dout, x, kernel_size, stride) * kernel_size**2\n",
        "kernel_size**2",
    ),
    "conv2d_fast that is the loop version": (
        "cnn.conv2d_fast",
        "def conv2d_fast(x, w, b, stride=1, padding=0):\n"
        "    return conv2d(x, w, b, stride=stride, padding=padding)\n",
        "faster than conv2d",
    ),
    "conv2d_fast with the columns in the wrong order": (
        "cnn.conv2d_fast",
        "_right = conv2d_fast\n"
        "def conv2d_fast(x, w, b, stride=1, padding=0):\n"
        "    f, c, kh, kw = w.shape\n"
        "    scrambled = w.transpose(0, 2, 3, 1).reshape(f, c, kh, kw)\n"
        "    return _right(x, scrambled, b, stride, padding)\n",
        "order of the columns",
    ),
    "conv1d with a flipped kernel": (
        "cnn.conv1d",
        "_right = conv1d\n"
        "def conv1d(x, w, b, stride=1, padding=0):\n"
        "    return _right(x, w[:, :, ::-1], b, stride, padding)\n",
        "flipped the kernel",
    ),
    "LeNet with max pooling": (
        "cnn.lenet",
        "class LeNet(LeNet):\n"
        "    def forward(self, x):\n"
        "        x = F.max_pool2d(F.relu(self.conv1(x)), 2)\n"
        "        x = F.max_pool2d(F.relu(self.conv2(x)), 2).flatten(1)\n"
        "        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))\n",
        "average pooling",
    ),
    "LeNet without padding in conv1": (
        "cnn.lenet",
        "class LeNet(nn.Module):\n"
        "    def __init__(self, n_classes=10):\n"
        "        super().__init__()\n"
        "        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)\n"
        "        self.fc1, self.fc2 = nn.Linear(256, 120), nn.Linear(120, 84)\n"
        "        self.fc3 = nn.Linear(84, n_classes)\n"
        "    def forward(self, x):\n"
        "        x = F.avg_pool2d(F.relu(self.conv1(x)), 2)\n"
        "        x = F.avg_pool2d(F.relu(self.conv2(x)), 2).flatten(1)\n"
        "        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))\n",
        "parameter shapes",
    ),
    "predict returning random labels": (
        "cnn.digits_cnn",
        "def predict(model, X):\n    return np.random.default_rng(0).integers(0, 10, size=len(X))\n",
        "below the required",
    ),
    "a digits network without convolutions": (
        "cnn.digits_cnn",
        "digits_model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))\n",
        "nn.Conv2d",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_versions_lose_points(solution, name):
    check_id, source, hint = WRONG[name]
    assert_wrong_version_loses_points(CHECKS_BY_ID[check_id], solution, source, hint)


def test_missing_function_is_reported(solution):
    assert_missing_function_scores_zero(CHECKS_BY_ID["cnn.conv1d"], solution, "conv1d")


def test_partial_credit(solution):
    # only the overlapping-window cases fail when the max-pool gradient is assigned, not accumulated
    wrong = WRONG["max-pool backward without accumulation"][1]
    cases = run_check(CHECKS_BY_ID["cnn.pool_backward"], InKernelStudent(with_source(solution, wrong)))
    assert 0.5 < score_cases(cases) < 1
    # a right conv2d_fast that is too slow keeps the correctness cases
    slow = WRONG["conv2d_fast that is the loop version"][1]
    cases = run_check(CHECKS_BY_ID["cnn.conv2d_fast"], InKernelStudent(with_source(solution, slow)))
    assert score_cases(cases) == pytest.approx(0.75)


def test_speed_check_needs_both_versions(solution):
    namespace = dict(solution)
    del namespace["conv2d"]
    cases = run_check(CHECKS_BY_ID["cnn.conv2d_fast"], InKernelStudent(namespace))
    assert 0 < score_cases(cases) < 1
    assert "measured against your conv2d" in cases[-1].message


# --------------------------------------------------------- notebook sources


def test_assignment_structure():
    notebook = jupytext.read(ASSIGNMENT)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code[0].metadata.get("nbgrader") == "readonly"
    assert "dlcourse.seed_everything(0)" in code[0].source and "import numpy as np" in code[0].source
    ids = [cell.metadata["grade_id"] for cell in code if "grade_id" in cell.metadata]
    assert len(ids) == len(set(ids))
    tests = [cell for cell in code if cell.metadata.get("nbgrader") == "tests"]
    assert 20 <= sum(cell.metadata["points"] for cell in tests) <= 30
    named = [check for cell in tests for check in cell.metadata["checks"]]
    assert sorted(named) == sorted(CHECKS_BY_ID)
    for index, cell in enumerate(code):
        role = cell.metadata.get("nbgrader")
        if role == "solution":
            assert cell.source.count("### BEGIN SOLUTION") == cell.source.count("### END SOLUTION") >= 1
            for match in SOLUTION_REGION.finditer(cell.source):
                before = cell.source[: match.start()]
                assert re.search(r"^\s*def \w+\(", before, re.M), "the def line stays outside the region"
            assert code[index + 1].metadata.get("nbgrader") == "tests", cell.metadata["grade_id"]
        if role == "tests":
            assert re.search(r"assert .+, ", cell.source), cell.metadata["grade_id"]
        if "widgets import" in cell.source:
            assert role == "readonly" and cell.metadata.get("skip_grading") is True
    # every exercise documents its shapes and dtypes
    for name in ("conv2d", "conv2d_backward", "max_pool2d", "conv2d_fast", "conv1d", "train_classifier"):
        documented = rf"def {name}\(.*?\"\"\".*?\(N, .*?(float64|float32).*?\"\"\""
        assert re.search(documented, notebook_text(), re.S), name


def notebook_text() -> str:
    return ASSIGNMENT.read_text(encoding="utf-8")


def test_public_tests_are_quiet(solution):
    noisy = {grade_id: text for grade_id, text in solution["_quiet"].items() if text}
    assert not noisy, noisy


def test_lesson_has_no_grading_cells():
    notebook = jupytext.read(LESSON)
    assert not any("nbgrader" in cell.metadata for cell in notebook.cells)
    text = LESSON.read_text(encoding="utf-8")
    assert "load_mnist1d" in text and "kernel_editor" in text and "feature_map_viewer" in text


def test_notebooks_do_not_leak_hidden_data():
    for path in (ASSIGNMENT, LESSON):
        text = path.read_text(encoding="utf-8")
        assert "heldout" not in text, f"{path.name} must not load the held-out digits"
        assert "dlcourse_cnn.hidden" not in text


# ------------------------------------------------------------------- widgets


def test_filter_response_is_pure_and_shaped(solution):
    image = data.load_image("shapes", 16)
    identity = widgets.PRESETS["identity"]
    result = widgets.filter_response(solution["conv2d"], image, identity)
    assert result["response"].shape == (16, 16) and np.allclose(result["response"], image)
    blurred = widgets.filter_response(solution["conv2d"], image, widgets.PRESETS["box blur"], padding=0)
    assert blurred["response"].shape == (14, 14)
    box_blur = solution["conv2d_fast"](image[None, None], np.full((1, 1, 3, 3), 1 / 9), np.zeros(1))
    assert np.allclose(blurred["response"], box_blur[0, 0])
    with pytest.raises(ValueError):
        widgets.filter_response(solution["conv2d"], image[None], identity)


def test_feature_maps_of_the_trained_network(solution):
    result = widgets.feature_maps(solution["digits_model"], solution["X_val"][3])
    conv = next(m for m in solution["digits_model"].modules() if isinstance(m, torch.nn.Conv2d))
    assert result["input"].shape == (8, 8)
    assert result["maps"].shape == (conv.out_channels, 8, 8)
    assert result["kernels"].shape == (conv.out_channels, 3, 3)
    with torch.no_grad():
        expected = conv(torch.as_tensor(solution["X_val"][3:4]))[0].numpy()
    assert np.allclose(result["maps"], expected, atol=1e-6)
    with pytest.raises(ValueError):
        widgets.feature_maps(torch.nn.Linear(4, 2), np.zeros((8, 8)))


def test_kernel_editor_reacts_to_its_controls(solution):
    import ipywidgets

    calls = []

    def counting_conv2d(*args, **kwargs):
        calls.append(1)
        return solution["conv2d_fast"](*args, **kwargs)

    box = widgets.kernel_editor(counting_conv2d, {"shapes": data.load_image("shapes", 12),
                                                  "flat": np.full((10, 10), 0.5)})
    assert isinstance(box, ipywidgets.VBox) and len(box.cells) == 9
    assert all(isinstance(cell, ipywidgets.FloatText) for cell in box.cells)
    first = box.last_result
    assert first is not None and "image/png" in box.output.outputs[0]["data"]
    calls.clear()
    box.preset.value = "identity"  # fills nine cells but redraws once
    assert len(calls) == 1
    assert np.allclose(box.kernel(), widgets.PRESETS["identity"])
    assert np.allclose(box.last_result["response"], first["image"])
    box.cells[4].value = 2.0  # editing a number makes it a custom kernel
    assert box.preset.value == "custom" and np.allclose(box.last_result["response"], 2 * first["image"])
    box.image_picker.value = "flat"
    assert box.last_result["image"].shape == (10, 10) and "kernel sum" in box.status.value


def test_kernel_editor_survives_unwritten_and_broken_functions(release):
    box = widgets.kernel_editor(release["conv2d"])
    assert box.last_result is None and "Implement <code>conv2d</code>" in box.status.value
    box.preset.value = "box blur"  # still no crash
    assert box.last_result is None and box.output.outputs == ()

    def broken(*args, **kwargs):
        return np.zeros((3, 3))

    box = widgets.kernel_editor(broken)
    assert box.last_result is None and "ValueError" in box.status.value


def test_feature_map_viewer_follows_the_slider(solution):
    box = widgets.feature_map_viewer(solution["digits_model"], solution["X_val"], solution["y_val"])
    first = box.last_result
    assert first is not None and len(box.output.outputs) == 1
    box.index_slider.value = 7
    assert box.last_result is not first and not np.allclose(box.last_result["input"], first["input"])
    assert f"label {int(solution['y_val'][7])}" in box.status.value
    assert box.index_slider.max == len(solution["X_val"]) - 1


def test_feature_map_viewer_without_a_model():
    box = widgets.feature_map_viewer(None, np.zeros((4, 1, 8, 8)))
    assert box.last_result is None and "Implement and train your network" in box.status.value
    box.index_slider.value = 2
    assert box.output.outputs == ()
    box = widgets.feature_map_viewer(torch.nn.Linear(64, 10), np.zeros((4, 1, 8, 8)))
    assert box.last_result is None and "no nn.Conv2d" in box.status.value


# --------------------------------------------------------------------- data


@pytest.fixture()
def offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access in a data loader")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)


def test_digits_splits_are_offline_fixed_and_disjoint(offline):
    data._digits.cache_clear()
    parts = {split: data.load_digits_split(split) for split in data.SPLITS}
    for split, (X, y) in parts.items():
        assert X.shape == (data.SPLITS[split], 1, 8, 8) and X.dtype == np.float32
        assert y.shape == (data.SPLITS[split],) and y.dtype == np.int64
        assert set(np.unique(y)) == set(range(10))
    data._digits.cache_clear()
    again = data.load_digits_split("train")
    assert np.array_equal(again[0], parts["train"][0]) and np.array_equal(again[1], parts["train"][1])
    rows = {split: {x.tobytes() for x in X} for split, (X, _) in parts.items()}
    assert not rows["heldout"] & (rows["train"] | rows["val"]), "held-out images also appear in train/val"
    everything = np.concatenate([X for X, _ in parts.values()])
    assert abs(float(everything.mean())) < 0.01 and abs(float(everything.std()) - 1) < 0.01
    with pytest.raises(ValueError):
        data.load_digits_split("test")


def test_images_and_series_are_offline_and_deterministic(offline):
    photo = data.load_image("photo", 32)
    assert photo.ndim == 2 and min(photo.shape) >= 32 and photo.dtype == np.float64
    assert 0 <= photo.min() and photo.max() <= 1 and photo.std() > 0.05
    shapes = data.load_image("shapes", 20)
    assert shapes.shape == (20, 20) and np.array_equal(shapes, data.load_image("shapes", 20))
    assert len(np.unique(shapes)) >= 4
    t, series = data.make_series(length=150, shift_at=90, seed=3)
    assert t.shape == series.shape == (150,)
    assert np.array_equal(series, data.make_series(length=150, shift_at=90, seed=3)[1])
    assert series[90:].mean() - series[:90].mean() > 1.0
    with pytest.raises(ValueError):
        data.load_image("cat")


def test_mnist1d_is_generated_locally(offline):
    X_train, y_train, X_test, y_test = data.load_mnist1d()
    assert X_train.shape == (4000, 40) and X_test.shape == (1000, 40)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert set(np.unique(y_test)) == set(range(10))
    assert np.array_equal(data.load_mnist1d()[0], X_train)


# ------------------------------------------------------------------- hooks


def test_hooks_register_the_topic(pm):
    (topic,) = [t for group in pm.hook.dlcourse_register_topics(course=None) for t in group]
    assert isinstance(topic, Topic) and (topic.slug, topic.order) == ("cnn", 40)
    (sources,) = pm.hook.dlcourse_register_notebooks(course=None, topic=topic)
    assert all(isinstance(s, NotebookSource) and s.path.exists() and s.time_limit == 60.0 for s in sources)
    assert {(s.assignment, s.name, s.kind) for s in sources} == {
        ("cnn", "cnn", "assignment"),
        ("cnn_lesson", "lesson", "lesson"),
    }
    (checks,) = pm.hook.dlcourse_register_checks(course=None, topic=topic)
    assert {c.id for c in checks} == set(CHECKS_BY_ID)
    (visualisers,) = pm.hook.dlcourse_register_visualisers(course=None)
    assert all(isinstance(v, Visualiser) and v.topic == "cnn" for v in visualisers)
    assert {(v.name, v.compute, v.build) for v in visualisers} == {
        ("kernel_editor", widgets.filter_response, widgets.kernel_editor),
        ("feature_maps", widgets.feature_maps, widgets.feature_map_viewer),
    }
    (datasets,) = pm.hook.dlcourse_register_datasets(course=None)
    assert all(isinstance(d, Dataset) and d.topic == "cnn" for d in datasets)
    assert {d.name for d in datasets} == {"digits", "mnist1d", "images", "series"}
    assert next(d for d in datasets if d.name == "digits").load()[0].shape == (1000, 1, 8, 8)


def test_student_safe_modules_hold_no_solutions():
    secrets = ("dxp[", "np.outer([1.0, 2.0, 1.0]", "[-2, 0, 2]", "cols.reshape(N, C * KH * KW",
               "Linear(400, 120)", "dlcourse_cnn.hidden")
    for module in ("drivers.py", "widgets.py", "data.py"):
        text = (PACKAGE / module).read_text(encoding="utf-8")
        found = [secret for secret in secrets if secret in text]
        assert not found, (module, found)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_threshold_has_margin_over_training_seeds(solution, seed):
    """The reference network clears the held-out threshold by a margin for other seeds too."""
    from dlcourse_cnn.hidden.checks import MIN_DIGITS_ACCURACY

    model = solution["make_digits_cnn"](seed)
    solution["train_classifier"](model, solution["X_train"], solution["y_train"], epochs=15, lr=3e-3,
                                 batch_size=32, seed=seed)
    X, y = data.load_digits_split("heldout")
    accuracy = float(np.mean(solution["predict"](model, X) == y))
    assert accuracy >= MIN_DIGITS_ACCURACY + 0.03, accuracy
