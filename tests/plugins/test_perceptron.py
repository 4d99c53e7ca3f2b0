"""Tests of the perceptron topic plugin: checks, notebooks, widget and data."""

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

import dlcourse_perceptron  # noqa: E402
from dlcourse.checking import InKernelStudent, run_check, score_cases  # noqa: E402
from dlcourse.types import Check, Dataset, NotebookSource, Topic, Visualiser  # noqa: E402
from dlcourse_perceptron import data, widgets  # noqa: E402
from dlcourse_perceptron.hidden.checks import CHECKS  # noqa: E402
from dlcourse.testing import (  # noqa: E402
    SOLUTION_REGION,
    assert_missing_function_scores_zero,
    assert_public_tests_need_the_exercises,
    assert_reference_passes,
    assert_wrong_version_loses_points,
    code_cells,
    exec_cells,
    release_source,
    with_source,
)

NOTEBOOKS = Path(dlcourse_perceptron.__file__).parent / "notebooks"
ASSIGNMENT = NOTEBOOKS / "perceptron.py"
LESSON = NOTEBOOKS / "lesson.py"
CHECKS_BY_ID = {check.id: check for check in CHECKS}


# ----------------------------------------------------------------- helpers


def _student(namespace: dict) -> InKernelStudent:
    return InKernelStudent(namespace)


@pytest.fixture(scope="module")
def solution() -> dict:
    return exec_cells(cell.source for cell in code_cells(ASSIGNMENT))


@pytest.fixture(scope="module")
def release() -> dict:
    return exec_cells(release_source(cell.source) for cell in code_cells(ASSIGNMENT))


# -------------------------------------------------------- reference solution


def test_solution_notebook_runs_within_budget():
    start = time.perf_counter()
    namespace = exec_cells(cell.source for cell in code_cells(ASSIGNMENT, tests=True))
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"the solution notebook took {elapsed:.1f} s"
    assert namespace["explorer"] is not None and namespace["explorer"].last_result is not None


@pytest.mark.parametrize("seed", ["0", "student-42"])
@pytest.mark.parametrize("check_id", sorted(CHECKS_BY_ID))
def test_reference_passes_every_check(solution, check_id, seed, monkeypatch):
    monkeypatch.setenv("DLCOURSE_GRADING_SEED", seed)
    assert_reference_passes(CHECKS_BY_ID[check_id], solution, min_cases=2)


def test_checks_are_fast(solution):
    student = _student(solution)
    start = time.perf_counter()
    for check in CHECKS:
        run_check(check, student)
    assert time.perf_counter() - start < 5


def test_checks_cover_every_exercise():
    expected = {"sigmoid", "bce", "logistic", "perceptron_rule", "mlp_forward", "mlp_backward",
                "numerical_gradient", "train_mlp"}
    assert set(CHECKS_BY_ID) == {f"perceptron.{name}" for name in expected}
    assert all(isinstance(check, Check) and check.topic == "perceptron" for check in CHECKS)


def test_untouched_release_scores_zero(release):
    student = _student(release)
    for check in CHECKS:
        cases = run_check(check, student)
        assert score_cases(cases) == 0, check.id
        assert any("not implemented" in case.message for case in cases), [c.message for c in cases]
    assert_public_tests_need_the_exercises(ASSIGNMENT, release)


# ------------------------------------------------------- checks can fail

WRONG = {
    "naive sigmoid overflows": (
        "perceptron.sigmoid",
        "def sigmoid(z):\n    return np.exp(z) / (1.0 + np.exp(z))\n",
        "overflow",
    ),
    "sigmoid with the wrong sign": (
        "perceptron.sigmoid",
        "def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(np.clip(z, -500, 500)))\n",
        "sign",
    ),
    "bce gradient without 1/N": (
        "perceptron.bce",
        "_right_bce = bce_with_logits\n"
        "def bce_with_logits(z, y):\n    loss, dz = _right_bce(z, y)\n    return loss, dz * len(z)\n",
        "divide by N",
    ),
    "logistic regression without the bias update": (
        "perceptron.logistic",
        "def train_logistic(X, y, lr=0.1, epochs=100):\n"
        "    w = np.zeros(X.shape[1]); losses = []\n"
        "    for _ in range(epochs):\n"
        "        loss, dz = bce_with_logits(X @ w, y); losses.append(loss); w = w - lr * X.T @ dz\n"
        "    return w, 0.0, np.array(losses)\n",
        "(b)",
    ),
    "perceptron adding x instead of y*x": (
        "perceptron.perceptron_rule",
        "def perceptron_train(X, y, epochs=100):\n"
        "    w = np.zeros(X.shape[1]); b = 0.0; m = 0\n"
        "    for _ in range(epochs):\n"
        "        for x_i, y_i in zip(X, y):\n"
        "            if y_i * (x_i @ w + b) <= 0:\n"
        "                w = w + x_i; b = b + 1; m += 1\n"
        "    return w, b, m\n",
        "misclassifies",
    ),
    "mlp_forward without the hidden bias": (
        "perceptron.mlp_forward",
        "def mlp_forward(params, X):\n"
        "    h = np.tanh(X @ params['W1'])\n"
        "    p = sigmoid((h @ params['W2'] + params['b2']).ravel())\n"
        "    return p, {'X': X, 'h': h, 'p': p}\n",
        "biases",
    ),
    "mlp_backward with the wrong tanh derivative": (
        "perceptron.mlp_backward",
        "def mlp_backward(params, cache, y):\n"
        "    X, h, p = cache['X'], cache['h'], cache['p']\n"
        "    dz = ((p - y) / len(y)).reshape(-1, 1)\n"
        "    da = (dz @ params['W2'].T) * (1.0 - h)\n"
        "    return {'W1': X.T @ da, 'b1': da.sum(0), 'W2': h.T @ dz, 'b2': dz.sum(0)}\n",
        "tanh derivative",
    ),
    "forward-difference gradient": (
        "perceptron.numerical_gradient",
        "def numerical_gradient(f, x, h=1e-5):\n"
        "    g = np.zeros_like(x); f0 = f(x)\n"
        "    for i in np.ndindex(x.shape):\n"
        "        old = x[i]; x[i] = old + h; g[i] = (f(x) - f0) / h; x[i] = old\n"
        "    return g\n",
        "centred difference",
    ),
    "train_mlp returning random parameters": (
        "perceptron.train_mlp",
        "def train_mlp(X, y, hidden=16, lr=1.0, epochs=1500, seed=0):\n"
        "    rng = np.random.default_rng(seed)\n"
        "    return {'W1': rng.normal(size=(2, hidden)), 'b1': np.zeros(hidden),\n"
        "            'W2': rng.normal(size=(hidden, 1)), 'b2': np.zeros(1)}\n",
        "below the required",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_versions_lose_points(solution, name):
    check_id, source, hint = WRONG[name]
    assert_wrong_version_loses_points(CHECKS_BY_ID[check_id], solution, source, hint)


def test_missing_function_is_reported(solution):
    assert_missing_function_scores_zero(CHECKS_BY_ID["perceptron.numerical_gradient"], solution, "numerical_gradient")


def test_partial_credit(solution):
    # only the large-|z| case of sigmoid fails for a naive (but correct elsewhere) version
    naive = with_source(solution, "def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-z))\n")
    cases = run_check(CHECKS_BY_ID["perceptron.sigmoid"], _student(naive))
    assert 0 < score_cases(cases) < 1


# --------------------------------------------------------- notebook sources


def test_assignment_structure():
    notebook = jupytext.read(ASSIGNMENT)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code[0].metadata.get("nbgrader") == "readonly"
    assert "dlcourse.seed_everything(0)" in code[0].source and "import numpy as np" in code[0].source
    ids = [cell.metadata["grade_id"] for cell in code if "grade_id" in cell.metadata]
    assert len(ids) == len(set(ids))
    tests = [cell for cell in code if cell.metadata.get("nbgrader") == "tests"]
    assert 18 <= sum(cell.metadata["points"] for cell in tests) <= 22
    named = [check for cell in tests for check in cell.metadata["checks"]]
    assert sorted(named) == sorted(CHECKS_BY_ID)
    for index, cell in enumerate(code):
        if cell.metadata.get("nbgrader") == "solution":
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
            for match in SOLUTION_REGION.finditer(cell.source):
                before = cell.source[: match.start()]
                assert re.search(r"^def \w+\(", before, re.M), "the def line stays outside the region"
                assert '"""' in before.split("def ")[-1], "the docstring stays outside the solution region"
            assert code[index + 1].metadata.get("nbgrader") == "tests", cell.metadata["grade_id"]
        if cell.metadata.get("nbgrader") == "tests":
            assert "assert" in cell.source and re.search(r"assert .+, ", cell.source)


def test_public_tests_are_quiet(solution):
    namespace = dict(solution)
    for cell in code_cells(ASSIGNMENT, tests=True):
        if cell.metadata.get("nbgrader") != "tests":
            continue
        err = io.StringIO()
        quiet = contextlib.redirect_stdout(io.StringIO())
        with warnings.catch_warnings(), contextlib.redirect_stderr(err), quiet:
            warnings.simplefilter("error")
            exec(cell.source, namespace)
        assert err.getvalue() == "", cell.metadata["grade_id"]


def test_lesson_runs_top_to_bottom():
    notebook = jupytext.read(LESSON)
    assert not any("nbgrader" in cell.metadata for cell in notebook.cells)
    start = time.perf_counter()
    namespace = exec_cells(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert time.perf_counter() - start < 30
    assert max(namespace["counts"]) <= (namespace["R"] / namespace["gamma"]) ** 2
    assert namespace["per_pass"][0] >= 10  # XOR: a mistake in every pass
    assert namespace["explorer"].last_result is not None


# ------------------------------------------------------------------- widget


def test_training_trace_shapes(solution):
    X, y = data.load_moons(n_samples=40, seed=1)
    result = widgets.training_trace(solution["train_mlp"], solution["mlp_predict"], X, y, hidden=4, lr=1.0,
                                    epochs=20, grid_size=12, checkpoints=4)
    assert result["xx"].shape == result["yy"].shape == result["grid_labels"].shape == (12, 12)
    assert set(np.unique(result["grid_labels"])) <= {0, 1}
    assert result["curve_epochs"].tolist() == [5, 10, 15, 20]
    assert result["train_error"].shape == result["loss"].shape == (4,)
    assert np.all(np.isnan(result["loss"]))  # no loss_fn given
    assert 0 <= float(result["accuracy"]) <= 1


def test_explorer_reacts_to_sliders(solution):
    import ipywidgets

    X, y = data.load_moons(n_samples=60, seed=2)

    def loss(params, X, y):
        p = np.clip(solution["mlp_forward"](params, X)[0], 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    train, predict = solution["train_mlp"], solution["mlp_predict"]
    box = widgets.decision_boundary_explorer(train, predict, X, y, loss_fn=loss,
                                             hidden=2, lr=0.1, epochs=20, grid_size=10)
    assert isinstance(box, ipywidgets.VBox)
    sliders = box.children[0].children
    assert [type(s).__name__ for s in sliders] == ["IntSlider", "FloatLogSlider", "IntSlider"]
    first = box.last_result
    assert first is not None and len(box.output.outputs) == 1
    assert "image/png" in box.output.outputs[0]["data"]
    assert np.all(np.isfinite(first["loss"]))
    box.epochs_slider.value = 200
    box.lr_slider.value = 1.0
    box.hidden_slider.value = 8
    second = box.last_result
    assert second is not first and second["curve_epochs"][-1] == 200
    assert float(second["accuracy"]) > float(first["accuracy"])
    assert "hidden=8" in box.status.value


def test_explorer_survives_unwritten_functions(release):
    box = widgets.decision_boundary_explorer(release["train_mlp"], release["mlp_predict"], epochs=20)
    assert box.last_result is None and "Implement <code>train_mlp</code>" in box.status.value
    box.hidden_slider.value = 3  # still no crash
    assert box.last_result is None and box.output.outputs == ()


# --------------------------------------------------------------------- data


def test_loaders_are_offline_and_deterministic(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access in a data loader")

    monkeypatch.setattr(socket, "socket", no_network)
    X1, y1 = data.load_moons(n_samples=50, seed=3)
    X2, y2 = data.load_moons(n_samples=50, seed=3)
    assert X1.shape == (50, 2) and y1.shape == (50,) and X1.dtype == np.float64 and y1.dtype == np.int64
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert set(np.unique(y1)) == {0, 1}
    assert set(np.unique(data.load_moons(n_samples=10, signed=True)[1])) == {-1, 1}
    X, y, (w, b) = data.load_blobs(n_samples=80, margin=0.5, seed=4, signed=True, return_separator=True)
    assert X.shape == (80, 2) and y.shape == (80,)
    assert np.all(y * (X @ w + b) >= 0.5) and abs(np.linalg.norm(w) - 1) < 1e-12
    assert np.array_equal(X, data.load_blobs(n_samples=80, margin=0.5, seed=4)[0])
    X, y = data.load_xor()
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    X, y = data.load_xor(n_per_corner=5, noise=0.1, seed=1, signed=True)
    assert X.shape == (20, 2) and y.tolist() == [-1] * 5 + [1] * 10 + [-1] * 5


# ------------------------------------------------------------------- hooks


def test_hooks_register_the_topic(pm):
    (topic,) = [t for group in pm.hook.dlcourse_register_topics(course=None) for t in group]
    assert isinstance(topic, Topic) and (topic.slug, topic.order) == ("perceptron", 10)
    (sources,) = pm.hook.dlcourse_register_notebooks(course=None, topic=topic)
    assert all(isinstance(s, NotebookSource) and s.path.exists() for s in sources)
    assignment = {(s.assignment, s.name, s.kind) for s in sources}
    assert assignment == {
        ("perceptron", "perceptron", "assignment"),
        ("perceptron_lesson", "lesson", "lesson"),
    }
    (checks,) = pm.hook.dlcourse_register_checks(course=None, topic=topic)
    assert {c.id for c in checks} == set(CHECKS_BY_ID)
    (visualisers,) = pm.hook.dlcourse_register_visualisers(course=None)
    assert [(v.name, v.topic) for v in visualisers] == [("decision_boundary", "perceptron")]
    assert isinstance(visualisers[0], Visualiser) and visualisers[0].compute is widgets.training_trace
    (datasets,) = pm.hook.dlcourse_register_datasets(course=None)
    assert all(isinstance(d, Dataset) for d in datasets)
    assert {d.name for d in datasets} == {"moons", "blobs", "xor"}
    assert datasets[0].load()[0].shape == (200, 2)


def test_drivers_and_widgets_hold_no_solutions():
    for module in ("drivers.py", "widgets.py", "data.py"):
        text = (Path(dlcourse_perceptron.__file__).parent / module).read_text()
        assert "1 - h**2" not in text.replace("1.0 - h", "1 - h") and "np.tanh(X @" not in text
