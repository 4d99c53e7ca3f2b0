"""Tests of the regularisation topic plugin: checks, notebooks, widget and data."""

from __future__ import annotations

import contextlib
import io
import random
import re
import socket
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import jupytext
import numpy as np
import pytest

import dlcourse_regularisation
from dlcourse.checking import InKernelStudent, run_check, score_cases
from dlcourse.types import Check, Dataset, NotebookSource, Topic, Visualiser
from dlcourse_regularisation import data, drivers, widgets
from dlcourse_regularisation.hidden.checks import CHECKS, SUBJECTS
from dlcourse.testing import (
    SOLUTION_REGION,
    assert_missing_function_scores_zero,
    assert_public_tests_need_the_exercises,
    assert_reference_passes,
    assert_student_safe,
    assert_wrong_version_loses_points,
    exec_cells,
    release_source,
    with_source,
)

PACKAGE = Path(dlcourse_regularisation.__file__).parent
NOTEBOOKS = PACKAGE / "notebooks"
ASSIGNMENT = NOTEBOOKS / "regularisation.py"
LESSON = NOTEBOOKS / "lesson.py"
CHECKS_BY_ID = {check.id: check for check in CHECKS}
WIDGET_CELL = "explore"
CPU_BUDGET = 20.0  # seconds of CPU for the solution notebook, single-threaded (measured: about 12)


# ----------------------------------------------------------------- helpers


def _code_cells(path: Path, *, tests: bool = False, widget: bool = False):
    notebook = jupytext.read(path)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if cell.metadata.get("nbgrader") == "tests" and not tests:
            continue
        if cell.metadata.get("grade_id") == WIDGET_CELL and not widget:
            continue
        yield cell


def _student(namespace: dict) -> InKernelStudent:
    return InKernelStudent(namespace)


@pytest.fixture(scope="module")
def solution() -> dict:
    """The solution notebook run once, visible tests included (the widget cell left out).

    Records the CPU time of the run and what each test cell wrote to stderr or warned.
    """
    namespace: dict = {"_noise": {}}
    started = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in _code_cells(ASSIGNMENT, tests=True):
            err = io.StringIO()
            with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(err):
                warnings.simplefilter("always")
                exec(compile(cell.source, "<notebook cell>", "exec"), namespace)
            if cell.metadata.get("nbgrader") == "tests":
                noise = err.getvalue() + "".join(str(w.message) for w in caught)
                namespace["_noise"][cell.metadata["grade_id"]] = noise
    namespace["_cpu_seconds"] = time.process_time() - started
    return namespace


@pytest.fixture(scope="module")
def release() -> dict:
    return exec_cells(release_source(cell.source) for cell in _code_cells(ASSIGNMENT))


# -------------------------------------------------------- reference solution


def test_solution_notebook_runs_within_budget(solution):
    assert solution["_cpu_seconds"] < CPU_BUDGET, f"the solution notebook took {solution['_cpu_seconds']:.1f} s CPU"
    assert {"final_model", "final_history"} <= set(solution)


@pytest.mark.parametrize("seed", ["0", "student-42"])
@pytest.mark.parametrize("check_id", sorted(CHECKS_BY_ID))
def test_reference_passes_every_check(solution, check_id, seed, monkeypatch):
    monkeypatch.setenv("DLCOURSE_GRADING_SEED", seed)
    assert_reference_passes(CHECKS_BY_ID[check_id], solution)


def test_checks_draw_fresh_inputs_per_student(solution, monkeypatch):
    check = CHECKS_BY_ID["regularisation.batchnorm_forward"]
    labels = []
    for seed in ("a", "b"):
        monkeypatch.setenv("DLCOURSE_GRADING_SEED", seed)
        labels.append([case.message for case in run_check(check, _student(solution))])
    assert labels[0] != labels[1]


def test_checks_are_fast(solution):
    student = _student(solution)
    data.load_mnist1d_split()  # the loader cache is warm in a grading worker after its first submission
    start = time.process_time()
    for check in CHECKS:
        run_check(check, student)
    assert time.process_time() - start < 5


def test_checks_cover_every_exercise():
    expected = {"l2_penalty", "l1_penalty", "weight_decay", "dropout", "batchnorm_forward", "batchnorm_backward",
                "early_stopping", "gaussian_noise", "augment", "train"}
    assert set(CHECKS_BY_ID) == {f"regularisation.{name}" for name in expected}
    assert all(isinstance(check, Check) and check.topic == "regularisation" for check in CHECKS)


def test_untouched_release_scores_zero(release):
    student = _student(release)
    for check in CHECKS:
        cases = run_check(check, student)
        assert score_cases(cases) == 0, check.id
        messages = " | ".join(case.message for case in cases)
        assert "not implemented" in messages or "not defined" in messages, messages
        assert not [d for d in SUBJECTS if f"`{d}`" in messages], "messages name the student's function"
        assert_student_safe(cases)
    assert_public_tests_need_the_exercises(ASSIGNMENT, release)


# ------------------------------------------------------- checks can fail

WRONG = {
    "l2 penalising biases": (
        "regularisation.l2_penalty",
        (
            "def l2_penalty(params, lam):\n"
            "    return float(sum(0.5 * lam * np.sum(v ** 2) for v in params.values())), "
            "{k: lam * v for k, v in params.items()}\n"
        ),
        "biases",
    ),
    "l2 without the factor 1/2": (
        "regularisation.l2_penalty",
        (
            "def l2_penalty(params, lam):\n"
            "    return float(sum(lam * np.sum(v ** 2) for k, v in params.items() if k.startswith('W'))), "
            "{k: (2 * lam * v if k.startswith('W') else 0 * v) for k, v in params.items()}\n"
        ),
        "lam / 2",
    ),
    "l1 with sign(0) = 1": (
        "regularisation.l1_penalty",
        (
            "def l1_penalty(params, lam):\n"
            "    return float(sum(lam * np.sum(np.abs(v)) for k, v in params.items() if k.startswith('W'))), "
            "{k: (lam * np.where(v >= 0, 1.0, -1.0) if k.startswith('W') else 0 * v) for k, v in params.items()}\n"
        ),
        "exactly 0",
    ),
    "decoupled decay through Adam": (
        "regularisation.weight_decay",
        (
            "def weight_decay_step(w, grad, state, lr, lam, decoupled):\n"
            "    return w - lr * adam_direction(grad + lam * w, state)\n"
        ),
        "must not go through adam_direction",
    ),
    "decoupled decay without the learning rate": (
        "regularisation.weight_decay",
        (
            "def weight_decay_step(w, grad, state, lr, lam, decoupled):\n"
            "    if decoupled:\n        return w * (1 - lam) - lr * adam_direction(grad, state)\n"
            "    return w - lr * adam_direction(grad + lam * w, state)\n"
        ),
        "scaled by the learning rate",
    ),
    "L2 applied as decoupled decay": (
        "regularisation.weight_decay",
        (
            "def weight_decay_step(w, grad, state, lr, lam, decoupled):\n"
            "    return w * (1 - lr * lam) - lr * adam_direction(grad, state)\n"
        ),
        "added to the gradient",
    ),
    "dropout with p as the keep probability": (
        "regularisation.dropout",
        (
            "def dropout_forward(x, p, training, rng):\n"
            "    if not training:\n        return x.copy(), np.ones_like(x)\n"
            "    mask = (rng.random(x.shape) < p) / p\n    return x * mask, mask\n"
        ),
        "DROPPING",
    ),
    "dropout without rescaling": (
        "regularisation.dropout",
        (
            "def dropout_forward(x, p, training, rng):\n"
            "    if not training:\n        return x.copy(), np.ones_like(x)\n"
            "    mask = (rng.random(x.shape) >= p) * 1.0\n    return x * mask, mask\n"
        ),
        "not rescaled",
    ),
    "dropout still active at prediction time": (
        "regularisation.dropout",
        (
            "def dropout_forward(x, p, training, rng):\n"
            "    mask = (rng.random(x.shape) >= p) / (1 - p)\n    return x * mask, mask\n"
        ),
        "identity",
    ),
    "dropout with a fixed mask": (
        "regularisation.dropout",
        (
            "def dropout_forward(x, p, training, rng):\n"
            "    if not training:\n        return x.copy(), np.ones_like(x)\n"
            "    mask = (np.random.default_rng(0).random(x.shape) >= p) / (1 - p)\n    return x * mask, mask\n"
        ),
        "new mask",
    ),
    "dropout backward ignoring the mask": (
        "regularisation.dropout",
        "def dropout_backward(dout, mask):\n    return dout\n",
        "dout * mask",
    ),
    "batch norm normalising with the unbiased variance": (
        "regularisation.batchnorm_forward",
        (
            "_right_bn = batchnorm_forward\n"
            "def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):\n"
            "    out, m, v, c = _right_bn(x, gamma, beta, running_mean, running_var, training, momentum, eps)\n"
            "    if training:\n"
            "        out = gamma * (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + eps) + beta\n"
            "    return out, m, v, c\n"
        ),
        "biased batch variance",
    ),
    "batch norm with a biased running variance": (
        "regularisation.batchnorm_forward",
        (
            "_right_bn = batchnorm_forward\n"
            "def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):\n"
            "    out, m, v, c = _right_bn(x, gamma, beta, running_mean, running_var, training, momentum, eps)\n"
            "    if training:\n"
            "        v = (1 - momentum) * running_var + momentum * x.var(0)\n"
            "    return out, m, v, c\n"
        ),
        "UNBIASED",
    ),
    "batch norm with momentum on the old statistic": (
        "regularisation.batchnorm_forward",
        (
            "_right_bn = batchnorm_forward\n"
            "def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):\n"
            "    return _right_bn(x, gamma, beta, running_mean, running_var, training, 1 - momentum, eps)\n"
        ),
        "NEW batch statistic",
    ),
    "batch norm using batch statistics in eval": (
        "regularisation.batchnorm_forward",
        (
            "_right_bn = batchnorm_forward\n"
            "def batchnorm_forward(x, gamma, beta, running_mean, running_var, training=True, momentum=0.1, eps=1e-5):\n"
            "    out, _, _, c = _right_bn(x, gamma, beta, running_mean, running_var, True, momentum, eps)\n"
            "    if training:\n"
            "        return _right_bn(x, gamma, beta, running_mean, running_var, True, momentum, eps)\n"
            "    return out, running_mean, running_var, c\n"
        ),
        "running_mean and running_var",
    ),
    "batch norm backward with the direct term only": (
        "regularisation.batchnorm_backward",
        (
            "_right_bnb = batchnorm_backward\n"
            "def batchnorm_backward(dout, cache):\n"
            "    dx, dgamma, dbeta = _right_bnb(dout, cache)\n"
            "    return dout * cache['gamma'] * cache['inv_std'], dgamma, dbeta\n"
        ),
        "also changes the batch mean",
    ),
    "batch norm backward without the variance path": (
        "regularisation.batchnorm_backward",
        (
            "_right_bnb = batchnorm_backward\n"
            "def batchnorm_backward(dout, cache):\n"
            "    dx, dgamma, dbeta = _right_bnb(dout, cache)\n"
            "    return cache['gamma'] * cache['inv_std'] * (dout - dout.mean(0)), dgamma, dbeta\n"
        ),
        "variance",
    ),
    "early stopping keeping a reference": (
        "regularisation.early_stopping",
        (
            "class EarlyStopping(EarlyStopping):\n"
            "    def step(self, val_loss, params):\n"
            "        stop = super().step(val_loss, params)\n"
            "        if self.best_epoch == self.epoch:\n            self.best_params = params\n"
            "        return stop\n"
        ),
        "copy.deepcopy",
    ),
    "early stopping counting ties as improvements": (
        "regularisation.early_stopping",
        (
            "class EarlyStopping(EarlyStopping):\n"
            "    def step(self, val_loss, params):\n"
            "        return super().step(val_loss - 1e-12, params)\n"
        ),
        "tie",
    ),
    "early stopping ignoring min_delta": (
        "regularisation.early_stopping",
        (
            "_right_es = EarlyStopping\n"
            "class EarlyStopping(_right_es):\n"
            "    def __init__(self, patience=5, min_delta=0.0):\n"
            "        super().__init__(patience, 0.0)\n"
        ),
        "min_delta",
    ),
    "early stopping one epoch late": (
        "regularisation.early_stopping",
        (
            "_right_es = EarlyStopping\n"
            "class EarlyStopping(_right_es):\n"
            "    def __init__(self, patience=5, min_delta=0.0):\n"
            "        super().__init__(patience + 1, min_delta)\n"
        ),
        "too late",
    ),
    "noise with sigma as the variance": (
        "regularisation.gaussian_noise",
        (
            "def add_gaussian_noise(x, sigma, rng, training=True):\n"
            "    return x + np.sqrt(sigma) * rng.standard_normal(x.shape) if training else x.copy()\n"
        ),
        "sqrt(sigma)",
    ),
    "uniform noise": (
        "regularisation.gaussian_noise",
        (
            "def add_gaussian_noise(x, sigma, rng, training=True):\n"
            "    return x + sigma * np.sqrt(3) * rng.uniform(-1, 1, x.shape) if training else x.copy()\n"
        ),
        "normally distributed",
    ),
    "noise added in place and at prediction time": (
        "regularisation.gaussian_noise",
        (
            "def add_gaussian_noise(x, sigma, rng, training=True):\n"
            "    x += sigma * rng.standard_normal(x.shape)\n    return x\n"
        ),
        "training=False",
    ),
    "augmentation with one shift for the whole batch": (
        "regularisation.augment",
        (
            "def augment_shift_scale(x, max_shift, max_scale, rng):\n"
            "    s = int(rng.integers(-max_shift, max_shift + 1))\n"
            "    return np.roll(x, s, axis=1) * rng.uniform(1 - max_scale, 1 + max_scale, size=(len(x), 1))\n"
        ),
        "per signal",
    ),
    "augmentation with an exclusive upper shift": (
        "regularisation.augment",
        (
            "def augment_shift_scale(x, max_shift, max_scale, rng):\n"
            "    out = np.empty_like(x)\n"
            "    for i, row in enumerate(x):\n"
            "        out[i] = np.roll(row, rng.integers(-max_shift, max_shift)) * rng.uniform(1 - max_scale, 1 + max_scale)\n"
            "    return out\n"
        ),
        "inclusive",
    ),
    "augmentation shifting with zero padding": (
        "regularisation.augment",
        (
            "def augment_shift_scale(x, max_shift, max_scale, rng):\n"
            "    out = np.zeros_like(x)\n"
            "    for i, row in enumerate(x):\n"
            "        s = int(rng.integers(0, max_shift + 1))\n"
            "        out[i, s:] = row[:len(row) - s] * rng.uniform(1 - max_scale, 1 + max_scale)\n"
            "    return out\n"
        ),
        "np.roll",
    ),
    "augmentation scaling too much": (
        "regularisation.augment",
        (
            "def augment_shift_scale(x, max_shift, max_scale, rng):\n"
            "    shifts = rng.integers(-max_shift, max_shift + 1, size=len(x))\n"
            "    out = np.stack([np.roll(row, s) for row, s in zip(x, shifts)])\n"
            "    return out * rng.uniform(1 - 2 * max_scale, 1 + 2 * max_scale, size=(len(x), 1))\n"
        ),
        "factors between",
    ),
    "predict with dropout on": (
        "regularisation.train",
        (
            "def predict(model, X):\n"
            "    with torch.no_grad():\n"
            "        return model(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()\n"
        ),
        "model.eval()",
    ),
    "an untrained model": (
        "regularisation.train",
        "final_model = make_mlp(256, 0.1)\n",
        "is below",
    ),
    "the last weights instead of the best": (
        "regularisation.train",
        "final_history = dict(final_history, val_loss=[v - 0.5 for v in final_history['val_loss']])\n",
        "load the early-stopping weights",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_versions_lose_points(solution, name):
    check_id, source, hint = WRONG[name]
    assert_wrong_version_loses_points(CHECKS_BY_ID[check_id], solution, source, hint)


def test_missing_function_is_reported(solution):
    assert_missing_function_scores_zero(CHECKS_BY_ID["regularisation.batchnorm_backward"], solution, "batchnorm_backward")


@pytest.mark.parametrize("check_id, source", [
    ("regularisation.dropout", WRONG["dropout without rescaling"][1]),
    ("regularisation.early_stopping", WRONG["early stopping keeping a reference"][1]),
    ("regularisation.train", WRONG["predict with dropout on"][1]),
    ("regularisation.gaussian_noise", ("def add_gaussian_noise(x, sigma, rng, training=True):\n"
                                       "    return x + sigma * rng.standard_normal(x.shape)\n")),
])
def test_partial_credit(solution, check_id, source):
    cases = run_check(CHECKS_BY_ID[check_id], _student(with_source(solution, source)))
    assert 0 < score_cases(cases) < 1, [case.message for case in cases]


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
        if cell.metadata.get("nbgrader") == "solution":
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
            for match in SOLUTION_REGION.finditer(cell.source):
                before = cell.source[: match.start()]
                assert re.search(r"^\s*def \w+\(", before, re.MULTILINE), "the def line stays outside the region"
                assert '"""' in before, "the docstring stays outside the solution region"
            assert code[index + 1].metadata.get("nbgrader") == "tests", cell.metadata["grade_id"]
        if cell.metadata.get("nbgrader") == "tests":
            assert "assert" in cell.source and re.search(r"assert .+, ", cell.source)
    widget = [cell for cell in code if cell.metadata.get("grade_id") == WIDGET_CELL]
    assert len(widget) == 1 and widget[0].metadata.get("skip_grading") is True
    assert widget[0].metadata.get("nbgrader") == "readonly"


def test_docstrings_state_the_conventions():
    text = ASSIGNMENT.read_text()
    for phrase in ("probability of DROPPING", "UNBIASED", "unbiased", "np.roll", "standard deviation",
                   "copy.deepcopy", "torch.optim.AdamW"):
        assert phrase in text, phrase


def test_public_tests_are_quiet(solution):
    assert set(solution["_noise"]) == {cell.metadata["grade_id"] for cell in _code_cells(ASSIGNMENT, tests=True)
                                       if cell.metadata.get("nbgrader") == "tests"}
    assert {grade_id: noise for grade_id, noise in solution["_noise"].items() if noise} == {}


def test_solution_reaches_its_levels(solution):
    history = solution["final_history"]
    predict = solution["predict"]
    test_acc = float(np.mean(predict(solution["final_model"], solution["X_test"]) == solution["y_test"]))
    assert test_acc >= 0.70
    assert max(history["val_acc"]) >= 0.70 and history["train_loss"][-1] < history["train_loss"][0]


@pytest.mark.slow
def test_lesson_runs_top_to_bottom():
    notebook = jupytext.read(LESSON)
    assert not any("nbgrader" in cell.metadata for cell in notebook.cells)
    start = time.process_time()
    namespace = exec_cells(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert time.process_time() - start < 30
    results = namespace["results"]
    train, test = results["none"]
    assert train >= 0.99 and test <= 0.70, "the baseline memorises"
    for name in ("dropout p = 0.3", "input noise σ = 0.3", "shift + scale"):
        assert results[name][1] > test and results[name][0] < train, name
    assert results["shift + scale"][1] >= max(results[n][1] for n in results) - 1e-9
    assert namespace["tiny_acc"][0] < 0.6, "the tiny network underfits"
    bn = namespace["bn_results"]
    assert bn[0.01, False] < 0.2 and bn[1.0, False] < 0.2 and min(bn[s, True] for s in (0.01, 0.1, 1.0)) > 0.8
    assert namespace["stop_epoch"] is not None and namespace["explorer"].last_result is not None


# ------------------------------------------------------------------- widget


def _stub_train(X, y, X_val, y_val, *, weight_decay, p_drop, sigma, seed, epochs=20, **run):
    """A fake trainer: 'accuracy' falls with regularisation on train, peaks in the middle on validation."""
    _stub_train.calls += 1
    strength = weight_decay / 10 + p_drop + sigma / 2
    model = {"train": 1.0 - 0.5 * strength, "val": 0.4 + 0.3 * strength - 0.3 * strength**2}
    losses = np.linspace(2.0, 0.5, epochs)
    return model, {"train_loss": list(losses), "val_loss": list(losses + strength)}


def _stub_predict(model, X):
    n = len(X)
    key = "train" if n == 40 else "val"
    correct = round(model[key] * n)
    return np.where(np.arange(n) < correct, np.arange(n) % 3, -1)


def _stub_data():
    X = np.zeros((40, 5))
    X_val = np.zeros((30, 5))
    return X, np.arange(40) % 3, X_val, np.arange(30) % 3


def test_curves_compute_shapes_and_cache():
    _stub_train.calls = 0
    cache: dict = {}
    X, y, X_val, y_val = _stub_data()
    result = widgets.regularisation_curves(_stub_train, _stub_predict, X, y, X_val, y_val, p_drop=0.4,
                                           sweep="p_drop", cache=cache, epochs=7)
    assert _stub_train.calls == len(widgets.KNOBS["p_drop"][1]) == 5
    assert result["epochs"].tolist() == list(range(1, 8))
    assert result["train_loss"].shape == result["val_loss"].shape == (7,)
    assert result["sweep_values"].tolist() == list(widgets.KNOBS["p_drop"][1])
    assert int(result["sweep_index"]) == 2 and float(result["train_acc"]) == result["sweep_train_acc"][2]
    assert np.all(np.diff(result["sweep_train_acc"]) < 0), "more regularisation, lower training accuracy"
    again = widgets.regularisation_curves(_stub_train, _stub_predict, X, y, X_val, y_val, p_drop=0.4,
                                          sweep="p_drop", cache=cache, epochs=7)
    assert _stub_train.calls == 5 and np.array_equal(again["sweep_val_acc"], result["sweep_val_acc"])
    odd = widgets.regularisation_curves(_stub_train, _stub_predict, X, y, X_val, y_val, sigma=0.7, sweep="sigma",
                                        cache=cache, epochs=7)
    assert 0.7 in odd["sweep_values"].tolist() and odd["sweep_values"].size == 6
    with pytest.raises(ValueError):
        widgets.regularisation_curves(_stub_train, _stub_predict, X, y, X_val, y_val, sweep="depth")


def test_curves_with_the_reference_trainer(solution):
    X, y, X_val, y_val = solution["X_train"][:120], solution["y_train"][:120], solution["X_val"][:60], solution[
        "y_val"][:60]
    result = widgets.regularisation_curves(solution["train_regularised"], solution["predict"], X, y, X_val, y_val,
                                           sweep="weight_decay", grid=(0.0, 10.0), hidden=8, epochs=3)
    assert result["train_loss"].shape == (3,) and result["sweep_values"].tolist() == [0.0, 10.0]
    assert np.all((0 <= result["sweep_val_acc"]) & (result["sweep_val_acc"] <= 1))
    figure = widgets.plot_curves(result, "weight_decay")
    assert len(figure.axes) == 2


def test_explorer_reacts_to_controls(solution):
    import ipywidgets

    X, y, X_val, y_val = solution["X_train"][:120], solution["y_train"][:120], solution["X_val"][:60], solution[
        "y_val"][:60]
    box = widgets.regularisation_explorer(solution["train_regularised"], solution["predict"], X, y, X_val, y_val,
                                          hidden=8, epochs=3)
    assert isinstance(box, ipywidgets.VBox)
    assert [type(c).__name__ for c in box.children[0].children] == ["SelectionSlider"] * 3
    first = box.last_result
    assert first is not None and len(box.output.outputs) == 1
    assert "image/png" in box.output.outputs[0]["data"]
    box.p_slider.value = 0.6
    second = box.last_result
    assert second is not first and int(second["sweep_index"]) == 3
    assert "p=0.6" in box.status.value
    assert not np.array_equal(second["train_loss"], first["train_loss"])
    runs = len(box.cache)
    box.p_slider.value = 0.0  # back to a cached setting: no new run
    assert len(box.cache) == runs and np.array_equal(box.last_result["train_loss"], first["train_loss"])
    box.sweep_dropdown.value = "sigma"
    assert box.last_result["sweep_values"].tolist() == list(widgets.KNOBS["sigma"][1])
    assert len(box.cache) == runs + 4  # sigma = 0 was already trained


def test_explorer_survives_unwritten_functions(release):
    X, y, X_val, y_val = _stub_data()
    box = widgets.regularisation_explorer(release["train_regularised"], release["predict"], X, y, X_val, y_val)
    assert box.last_result is None and "Implement <code>" in box.status.value
    box.lam_slider.value = 1.0  # still no crash
    assert box.last_result is None and box.output.outputs == ()

    def broken(*args, **kwargs):
        raise ValueError("shapes do not match")

    box = widgets.regularisation_explorer(broken, release["predict"], X, y, X_val, y_val)
    assert box.last_result is None and "shapes do not match" in box.status.value


# --------------------------------------------------------------------- data


def test_loaders_are_offline_and_deterministic(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access in a data loader")

    monkeypatch.setattr(socket, "socket", no_network)
    np.random.seed(123)
    random.seed(123)
    before = (np.random.get_state()[1].copy(), random.getstate())
    X, y, X_test, _ = data.load_mnist1d(seed=7, num_samples=500)
    assert np.array_equal(np.random.get_state()[1], before[0]) and random.getstate() == before[1], (
        "the loader must leave the global generators alone"
    )
    assert X.shape == (400, 40) and X_test.shape == (100, 40) and y.shape == (400,)
    assert X.dtype == np.float32 and y.dtype == np.int64 and set(np.unique(y)) <= set(range(10))
    X2, y2, _, _ = data.load_mnist1d(seed=7, num_samples=500)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X[0] = 99.0  # callers get copies: the cache is safe
    assert not np.array_equal(data.load_mnist1d(seed=7, num_samples=500)[0], X)
    assert not np.allclose(data.load_mnist1d(seed=8, num_samples=500)[0], X2)
    parts = data.load_mnist1d_split(n_train=3000)
    assert [p.shape[0] for p in parts] == [3000, 3000, 1000, 1000, 1000, 1000]
    full = data.load_mnist1d()
    assert np.array_equal(np.concatenate([parts[0], parts[2]]), full[0])
    assert abs(float(np.concatenate([full[0], full[2]]).std()) - 1) < 1e-3
    with pytest.raises(ValueError):
        data.load_mnist1d_split(n_train=4000)
    Xd, _, Xd_test, _ = data.load_digits_split()
    assert Xd.shape[1] == 64 and len(Xd) + len(Xd_test) == 1797 and 0 <= Xd.min() and Xd.max() <= 1
    assert np.array_equal(Xd, data.load_digits_split()[0]) and Xd.dtype == np.float32


def test_drivers_report_missing_names():
    with pytest.raises(NameError, match="not defined"):
        drivers.predict_twice({"predict": lambda model, X: X}, np.zeros((2, 40)))
    with pytest.raises(NameError, match="not defined as a function"):
        drivers.noise_run({}, np.zeros(3), 1.0, True, 0)


# ------------------------------------------------------------------- hooks


def test_hooks_register_the_topic(pm):
    (topic,) = [t for group in pm.hook.dlcourse_register_topics(course=None) for t in group]
    assert isinstance(topic, Topic) and (topic.slug, topic.order) == ("regularisation", 30)
    (sources,) = pm.hook.dlcourse_register_notebooks(course=None, topic=topic)
    assert all(isinstance(s, NotebookSource) and s.path.exists() and s.time_limit == 60.0 for s in sources)
    assert {(s.assignment, s.name, s.kind) for s in sources} == {
        ("regularisation", "regularisation", "assignment"),
        ("regularisation_lesson", "lesson", "lesson"),
    }
    (checks,) = pm.hook.dlcourse_register_checks(course=None, topic=topic)
    assert {c.id for c in checks} == set(CHECKS_BY_ID)
    (visualisers,) = pm.hook.dlcourse_register_visualisers(course=None)
    assert [(v.name, v.topic) for v in visualisers] == [("bias_variance", "regularisation")]
    assert isinstance(visualisers[0], Visualiser) and visualisers[0].compute is widgets.regularisation_curves
    (datasets,) = pm.hook.dlcourse_register_datasets(course=None)
    assert all(isinstance(d, Dataset) and d.topic == "regularisation" for d in datasets)
    assert {d.name for d in datasets} == {"mnist1d", "mnist1d_split", "digits"}
    assert datasets[0].load()[0].shape == (4000, 40)


def test_shipped_modules_hold_no_solutions():
    secret = set()
    for cell in _code_cells(ASSIGNMENT):
        for match in SOLUTION_REGION.finditer(cell.source):
            secret |= {line.strip() for line in match.group(0).splitlines()
                       if len(line.strip()) > 25 and "SOLUTION" not in line}
    secret -= {"rng = np.random.default_rng(seed)"}  # generic: a driver seeds the generator it passes
    assert len(secret) > 20
    for module in ("__init__.py", "drivers.py", "widgets.py", "data.py"):
        text = (PACKAGE / module).read_text()
        assert not [line for line in secret if line in text], module
        assert "hidden" not in re.findall(r"^from dlcourse_regularisation\.(\w+)", text, re.MULTILINE)
