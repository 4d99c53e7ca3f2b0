"""Tests of the optimizers topic plugin: checks, notebooks, widget, drivers and data."""

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
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import dlcourse_optimizers  # noqa: E402
from dlcourse.checking import InKernelStudent, run_check, score_cases  # noqa: E402
from dlcourse.types import Check, Dataset, NotebookSource, Topic, Visualiser  # noqa: E402
from dlcourse_optimizers import data, drivers, models, problems, surfaces, widgets  # noqa: E402
from dlcourse_optimizers.hidden.checks import CHECKS  # noqa: E402
from dlcourse_optimizers.hidden.variants import HINTS  # noqa: E402
from dlcourse.testing import (  # noqa: E402
    SOLUTION_REGION,
    assert_public_tests_need_the_exercises,
    assert_reference_passes,
    assert_student_safe,
    code_cells,
    release_source,
    with_source,
)

PACKAGE = Path(dlcourse_optimizers.__file__).parent
NOTEBOOKS = PACKAGE / "notebooks"
ASSIGNMENT = NOTEBOOKS / "optimizers.py"
LESSON = NOTEBOOKS / "lesson.py"
CHECKS_BY_ID = {check.id: check for check in CHECKS}
STUDENT_SAFE = ("__init__.py", "data.py", "drivers.py", "models.py", "problems.py", "surfaces.py",
                "widgets.py")


# ----------------------------------------------------------------- helpers


def _exec_cells(sources, namespace=None) -> dict:
    namespace = {} if namespace is None else namespace
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # plt.show() under Agg
        for source in sources:
            exec(compile(source, "<notebook cell>", "exec"), namespace)
    plt.close("all")
    return namespace


def _student(namespace: dict) -> InKernelStudent:
    return InKernelStudent(namespace)


def _failed(cases) -> str:
    return " | ".join(case.message for case in cases if not case.passed)


@pytest.fixture(scope="module")
def executed() -> tuple[dict, float]:
    """The solution notebook run once, top to bottom with its public tests: (namespace, CPU seconds)."""
    start = time.process_time()
    namespace = _exec_cells(cell.source for cell in code_cells(ASSIGNMENT, tests=True))
    return namespace, time.process_time() - start


@pytest.fixture(scope="module")
def solution(executed) -> dict:
    return executed[0]


@pytest.fixture(scope="module")
def release() -> dict:
    return _exec_cells(release_source(cell.source) for cell in code_cells(ASSIGNMENT))


# -------------------------------------------------------- reference solution


def test_solution_notebook_runs_within_budget(executed):
    namespace, cpu = executed
    assert cpu < 20, f"the solution notebook took {cpu:.1f} s of CPU"
    explorer = namespace["explorer"]
    assert explorer is not None and explorer.last_result is not None
    assert set(explorer.last_result["paths"]) == {"SGD", "momentum", "RMSprop", "Adam"}


@pytest.mark.parametrize("seed", ["0", "student-42"])
@pytest.mark.parametrize("check_id", sorted(CHECKS_BY_ID))
def test_reference_passes_every_check(solution, check_id, seed, monkeypatch):
    monkeypatch.setenv("DLCOURSE_GRADING_SEED", seed)
    assert_reference_passes(CHECKS_BY_ID[check_id], solution)


def test_checks_are_fast(solution):
    student = _student(solution)
    start = time.process_time()
    for check in CHECKS:
        run_check(check, student, salt="timing")
    assert time.process_time() - start < 5


def test_checks_cover_every_exercise():
    expected = {"minibatches", "sgd", "momentum", "rmsprop", "adam", "schedule", "train"}
    assert set(CHECKS_BY_ID) == {f"optimizers.{name}" for name in expected}
    assert all(isinstance(check, Check) and check.topic == "optimizers" for check in CHECKS)


def test_untouched_release_scores_zero(release):
    student = _student(release)
    for check in CHECKS:
        cases = run_check(check, student)
        assert score_cases(cases) == 0, check.id
        assert all("not implemented" in case.message for case in cases), _failed(cases)
    assert_public_tests_need_the_exercises(ASSIGNMENT, release)


def test_trajectory_messages_name_the_students_method(release):
    cases = run_check(CHECKS_BY_ID["optimizers.adam"], _student(release))
    assert "`Adam.step` is not implemented yet" in cases[0].message
    assert "optimizer_trajectory" not in _failed(cases)


# ------------------------------------------------------- checks can fail

SGD_STEP_HEAD = (
    "class SGD(torch.optim.Optimizer):\n"
    "    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):\n"
    "        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov,"
    " weight_decay=weight_decay))\n"
    "    @torch.no_grad()\n"
    "    def step(self, closure=None):\n"
)
ADAM_STEP = (
    "class Adam(torch.optim.Optimizer):\n"
    "    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):\n"
    "        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))\n"
    "    @torch.no_grad()\n"
    "    def step(self, closure=None):\n"
    "        for group in self.param_groups:\n"
    "            (b1, b2), lr, eps = group['betas'], group['lr'], group['eps']\n"
    "            for p in group['params']:\n"
    "                if p.grad is None:\n"
    "                    continue\n"
    "                g = p.grad + group['weight_decay'] * p\n"
    "                s = self.state[p]\n"
    "                if not s:\n"
    "                    s['t'], s['m'], s['v'] = START, ZEROS(p), ZEROS(p)\n"
    "                s['m'].mul_(b1).add_((1 - b1) * g)\n"
    "                s['v'].mul_(b2).add_((1 - b2) * g * g)\n"
    "                t = s['t'] = INCREMENT\n"
    "                p.sub_(lr * (s['m'] / (1 - b1**t)) / (DENOMINATOR + eps))\n"
)


def _adam(start="0", zeros="torch.zeros_like", increment="s['t'] + 1",
          denominator="(s['v'] / (1 - b2**t)).sqrt()"):
    """Source of an Adam class with one of its pieces swapped."""
    return (ADAM_STEP.replace("START", start).replace("ZEROS", zeros).replace("INCREMENT", increment)
            .replace("DENOMINATOR", denominator))


WRONG = {
    "minibatches dropping the last batch": (
        "optimizers.minibatches",
        "def minibatches(X, y, batch_size, *, shuffle=True, rng=None):\n"
        "    order = rng.permutation(len(X)) if shuffle else np.arange(len(X))\n"
        "    for start in range(0, len(X) - batch_size + 1, batch_size):\n"
        "        index = order[start:start + batch_size]\n"
        "        yield X[index], y[index]\n",
        "do not drop it",
    ),
    "minibatches reseeding every epoch": (
        "optimizers.minibatches",
        "def minibatches(X, y, batch_size, *, shuffle=True, rng=None):\n"
        "    order = np.random.default_rng(0).permutation(len(X)) if shuffle else np.arange(len(X))\n"
        "    for start in range(0, len(X), batch_size):\n"
        "        index = order[start:start + batch_size]\n"
        "        yield X[index], y[index]\n",
        "do not reseed",
    ),
    "minibatches shuffling X and y separately": (
        "optimizers.minibatches",
        "def minibatches(X, y, batch_size, *, shuffle=True, rng=None):\n"
        "    a = rng.permutation(len(X)) if shuffle else np.arange(len(X))\n"
        "    b = np.random.default_rng(1).permutation(len(X)) if shuffle else a\n"
        "    for start in range(0, len(X), batch_size):\n"
        "        yield X[a[start:start + batch_size]], y[b[start:start + batch_size]]\n",
        "X and y rows together",
    ),
    "SGD reading the defaults instead of the group": (
        "optimizers.sgd",
        SGD_STEP_HEAD
        + "        for group in self.param_groups:\n"
          "            for p in group['params']:\n"
          "                if p.grad is not None:\n"
          "                    p.sub_(self.defaults['lr'] * (p.grad + self.defaults['weight_decay'] * p))\n",
        "param group",
    ),
    "SGD rebinding p instead of updating it": (
        "optimizers.sgd",
        SGD_STEP_HEAD
        + "        for group in self.param_groups:\n"
          "            for p in group['params']:\n"
          "                if p.grad is not None:\n"
          "                    p = p - group['lr'] * p.grad\n",
        "never change",
    ),
    "SGD updating parameters without gradient": (
        "optimizers.momentum",
        SGD_STEP_HEAD
        + "        for group in self.param_groups:\n"
          "            for p in group['params']:\n"
          "                g = p.grad if p.grad is not None else torch.zeros_like(p)\n"
          "                g = g + group['weight_decay'] * p\n"
          "                if group['momentum']:\n"
          "                    s = self.state[p]\n"
          "                    s['v'] = g.clone() if 'v' not in s else group['momentum'] * s['v'] + g\n"
          "                    g = g + group['momentum'] * s['v'] if group['nesterov'] else s['v']\n"
          "                p.sub_(group['lr'] * g)\n",
        "must be skipped",
    ),
    "Adam counting t from 0": ("optimizers.adam", _adam(increment="s['t']"), "t starts at 1"),
    "Adam with float32 state": (
        "optimizers.adam", _adam(zeros="(lambda q: torch.zeros(q.shape))"), "zeros_like"
    ),
    "Adam without the square root": (
        "optimizers.adam", _adam(denominator="(s['v'] / (1 - b2**t))"),
        "should not depend on the scale of the loss",
    ),
    "Adam inheriting PyTorch's update": (
        "optimizers.adam", "class Adam(torch.optim.Adam):\n    pass\n", "yourself"
    ),
    "schedule warming up from 0": (
        "optimizers.schedule",
        "_right_schedule = warmup_cosine_lr\n"
        "def warmup_cosine_lr(step, *, base_lr, total_steps, warmup_steps=0, min_lr=0.0):\n"
        "    if step < warmup_steps:\n"
        "        return base_lr * step / warmup_steps\n"
        "    return _right_schedule(step, base_lr=base_lr, total_steps=total_steps,"
        " warmup_steps=warmup_steps, min_lr=min_lr)\n",
        "(step + 1)",
    ),
    "schedule with the cosine over total_steps": (
        "optimizers.schedule",
        "def warmup_cosine_lr(step, *, base_lr, total_steps, warmup_steps=0, min_lr=0.0):\n"
        "    if step < warmup_steps:\n"
        "        return base_lr * (step + 1) / warmup_steps\n"
        "    progress = min(1.0, step / total_steps)\n"
        "    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * progress))\n",
        "cosine part",
    ),
    "train_model ignoring the schedule": (
        "optimizers.train",
        "_right_train = train_model\n"
        "def train_model(model, optimizer, X, y, *, epochs, batch_size, seed=0, lr_schedule=None):\n"
        "    return _right_train(model, optimizer, X, y, epochs=epochs, batch_size=batch_size, seed=seed)\n",
        "lr_schedule(t) before step t",
    ),
    "train_model on full batches": (
        "optimizers.train",
        "_right_train = train_model\n"
        "def train_model(model, optimizer, X, y, *, epochs, batch_size, seed=0, lr_schedule=None):\n"
        "    return _right_train(model, optimizer, X, y, epochs=epochs, batch_size=len(X), seed=seed,"
        " lr_schedule=lr_schedule)\n",
        "one loss per optimizer step",
    ),
    "train_model using its own optimizer": (
        "optimizers.train",
        "_right_train = train_model\n"
        "def train_model(model, optimizer, X, y, *, epochs, batch_size, seed=0, lr_schedule=None):\n"
        "    own = torch.optim.SGD(model.parameters(), lr=0.05)\n"
        "    return _right_train(model, own, X, y, epochs=epochs, batch_size=batch_size, seed=seed)\n",
        "rank Adam < momentum < SGD",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_versions_lose_points(solution, name):
    check_id, source, hint = WRONG[name]
    cases = run_check(CHECKS_BY_ID[check_id], _student(with_source(solution, source)))
    assert score_cases(cases) < 1, name
    assert hint in _failed(cases), _failed(cases)
    assert_student_safe(cases)


VARIANTS = [(kind, variant, hint) for kind, pairs in HINTS.items() for variant, hint in pairs]
VARIANT_CHECK = {"SGD": "optimizers.momentum", "RMSprop": "optimizers.rmsprop", "Adam": "optimizers.adam"}


@pytest.mark.parametrize(("kind", "variant", "hint"), VARIANTS, ids=[v.__name__ for _, v, _ in VARIANTS])
def test_each_named_mistake_is_recognised(solution, kind, variant, hint):
    """Every plausible wrong optimizer loses points, and the message names its mistake."""
    cases = run_check(CHECKS_BY_ID[VARIANT_CHECK[kind]], _student(dict(solution, **{kind: variant})))
    assert score_cases(cases) < 1, variant.__name__
    assert hint in _failed(cases), _failed(cases)
    assert_student_safe(cases)


def test_momentum_rate_case_fails_for_a_dampened_buffer(solution):
    from dlcourse_optimizers.hidden.variants import SGDDampened

    cases = run_check(CHECKS_BY_ID["optimizers.momentum"], _student(dict(solution, SGD=SGDDampened)))
    (rate,) = [case for case in cases if "Polyak" in case.message]
    assert not rate.passed and "heavy-ball rate" in rate.message


def test_missing_class_is_reported(solution):
    namespace = dict(solution)
    del namespace["RMSprop"]
    cases = run_check(CHECKS_BY_ID["optimizers.rmsprop"], _student(namespace))
    assert score_cases(cases) == 0
    assert all("not defined" in case.message for case in cases)
    assert_student_safe(cases)


def test_partial_credit(solution):
    from dlcourse_optimizers.hidden.variants import AdamEpsInsideSqrt, RMSpropEpsInsideSqrt

    # Adam's eps inside the square root is invisible with eps = 1e-8 and wrong with a large eps
    cases = run_check(CHECKS_BY_ID["optimizers.adam"], _student(dict(solution, Adam=AdamEpsInsideSqrt)))
    assert 0 < score_cases(cases) < 1
    # RMSprop's is visible at once (its gradients are small), so every trajectory case fails
    eps_inside = dict(solution, RMSprop=RMSpropEpsInsideSqrt)
    cases = run_check(CHECKS_BY_ID["optimizers.rmsprop"], _student(eps_inside))
    assert score_cases(cases) == 0
    forgets_decay = with_source(solution, "class RMSprop(RMSprop):\n"
                                    "    def step(self, closure=None):\n"
                                    "        for group in self.param_groups:\n"
                                    "            group['weight_decay'] = 0.0\n"
                                    "        return super().step(closure)\n")
    cases = run_check(CHECKS_BY_ID["optimizers.rmsprop"], _student(forgets_decay))
    assert 0 < score_cases(cases) < 1 and "weight decay" in _failed(cases)
    dropping = with_source(solution, WRONG["minibatches dropping the last batch"][1])
    assert 0 < score_cases(run_check(CHECKS_BY_ID["optimizers.minibatches"], _student(dropping))) < 1


# --------------------------------------------------------- notebook sources


def test_assignment_structure():
    notebook = jupytext.read(ASSIGNMENT)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code[0].metadata.get("nbgrader") == "readonly"
    assert "dlcourse.seed_everything(0)" in code[0].source and "import torch" in code[0].source
    ids = [cell.metadata["grade_id"] for cell in code if "grade_id" in cell.metadata]
    assert len(ids) == len(set(ids))
    tests = [cell for cell in code if cell.metadata.get("nbgrader") == "tests"]
    assert sum(cell.metadata["points"] for cell in tests) == 24
    named = [check for cell in tests for check in cell.metadata["checks"]]
    assert sorted(named) == sorted(CHECKS_BY_ID)
    for index, cell in enumerate(code):
        if cell.metadata.get("nbgrader") == "solution":
            assert code[index + 1].metadata.get("nbgrader") == "tests", cell.metadata["grade_id"]
            for match in SOLUTION_REGION.finditer(cell.source):
                before = cell.source[: match.start()]
                assert re.search(r"^\s*def \w+\(", before, re.MULTILINE), "the def stays outside the region"
                assert '"""' in before.split("def ")[-1], "the docstring stays outside the solution region"
        if cell.metadata.get("nbgrader") == "tests":
            assert re.search(r"assert .+, ", cell.source), cell.metadata["grade_id"]
    widget = code[-1]
    assert widget.metadata.get("skip_grading") is True
    assert "trajectory_explorer(SGD, RMSprop, Adam" in widget.source


def test_conventions_are_stated_to_students():
    text = ASSIGNMENT.read_text()
    for phrase in ("outside", "L2, added to the gradient", "at the first step $v = g$", "(0.9, 0.999)",
                   "fast.ai", "p.grad` is not None", "rng.permutation(N)"):
        assert phrase in text, phrase


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


def test_lesson_is_a_plain_notebook():
    notebook = jupytext.read(LESSON)
    assert not any("nbgrader" in cell.metadata for cell in notebook.cells)
    source = "\n".join(cell.source for cell in notebook.cells)
    for topic in ("Rosenbrock", "saddle", "AMSGrad", "trajectory_explorer", "epoch"):
        assert topic in source, topic


@pytest.mark.slow
def test_lesson_shows_what_it_claims():
    notebook = jupytext.read(LESSON)
    start = time.process_time()
    namespace = _exec_cells(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert time.process_time() - start < 30
    assert namespace["reddi_adam"][-1] > 0.9 and namespace["reddi_amsgrad"][-1] < -0.9
    rates = namespace["measured_rates"]
    assert abs(rates["heavy ball"] - 9 / 11) < 0.01 and abs(rates["gradient descent"] - 99 / 101) < 0.005
    losses = namespace["final_losses"]
    assert losses["rosenbrock"]["momentum"] < losses["rosenbrock"]["Adam"] < losses["rosenbrock"]["SGD"]
    assert losses["saddle"]["Adam"] < losses["saddle"]["SGD"]
    curves = namespace["batch_curves"]
    assert curves[4][-1] < curves[250][-1]  # more updates per epoch
    assert namespace["explorer"].last_result is not None


# ------------------------------------------------------------------- widget

TORCH_FACTORIES = {
    "SGD": lambda p: torch.optim.SGD(p, lr=0.05),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
    "Adam": lambda p: torch.optim.Adam(p, lr=0.05),
}


def test_optimizer_paths_shapes_and_start():
    result = widgets.optimizer_paths("quadratic", TORCH_FACTORIES, steps=40, grid_size=15)
    assert result["xx"].shape == result["yy"].shape == result["zz"].shape == (15, 15)
    assert set(result["paths"]) == set(TORCH_FACTORIES) and result["errors"] == {}
    for name, path in result["paths"].items():
        assert path.shape == (41, 2) and result["losses"][name].shape == (41,)
        assert np.array_equal(path[0], result["start"])
        assert result["losses"][name][-1] < result["losses"][name][0]
    assert np.array_equal(result["start"], surfaces.SURFACES["quadratic"].start)
    assert result["minima"].shape == (1, 2)
    # momentum beats plain SGD along the flat direction of the valley
    assert result["losses"]["momentum"][-1] < result["losses"]["SGD"][-1]


def test_optimizer_paths_stop_on_divergence_and_report_errors():
    class Unwritten(torch.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, {"lr": lr})

        def step(self, closure=None):
            raise NotImplementedError()

    factories = {"too fast": lambda p: torch.optim.SGD(p, lr=1.0), "unwritten": lambda p: Unwritten(p),
                 "broken": lambda p: torch.optim.SGD(p, lr=-1.0)}
    result = widgets.optimizer_paths("quadratic", factories, steps=200, start=(1.0, 1.0), grid_size=10)
    path = result["paths"]["too fast"]
    assert len(path) < 201 and np.all(np.isfinite(path)) and np.all(np.abs(path) <= widgets.ESCAPE)
    assert result["errors"]["unwritten"] == "not written yet"
    assert result["errors"]["broken"].startswith("ValueError")
    with pytest.raises(ValueError, match="unknown surface"):
        widgets.optimizer_paths("moon", {})


def test_explorer_reacts_to_its_controls():
    import ipywidgets

    box = widgets.trajectory_explorer(torch.optim.SGD, torch.optim.RMSprop, torch.optim.Adam,
                                      surface="quadratic", steps=30, grid_size=12)
    assert isinstance(box, ipywidgets.VBox)
    first = box.last_result
    assert first is not None and set(first["paths"]) == {"SGD", "momentum", "RMSprop", "Adam"}
    assert len(box.output.outputs) == 1 and "image/png" in box.output.outputs[0]["data"]
    box.lr_slider.value = 0.01
    second = box.last_result
    assert second is not first and not np.allclose(second["paths"]["SGD"], first["paths"]["SGD"])
    box.momentum_slider.value = 0.5
    third = box.last_result
    assert np.array_equal(third["paths"]["SGD"], second["paths"]["SGD"])
    assert not np.allclose(third["paths"]["momentum"], second["paths"]["momentum"])
    box.beta1_slider.value = 0.0
    assert not np.allclose(box.last_result["paths"]["Adam"], third["paths"]["Adam"])
    box.steps_slider.value = 50
    assert box.last_result["paths"]["Adam"].shape == (51, 2)
    box.surface_dropdown.value = "saddle"
    assert np.array_equal(box.last_result["start"], surfaces.SURFACES["saddle"].start)
    assert "final loss" in box.status.value


def test_explorer_survives_unwritten_optimizers(release):
    box = widgets.trajectory_explorer(release["SGD"], release["RMSprop"], release["Adam"], steps=20,
                                      grid_size=10)
    assert box.last_result is not None and box.last_result["paths"] == {}
    assert "not written yet" in box.status.value and "Implement <code>SGD" in box.status.value
    box.surface_dropdown.value = "saddle"  # still no crash
    assert box.last_error is None and len(box.output.outputs) == 1


def test_explorer_with_only_some_optimizers(solution):
    box = widgets.trajectory_explorer(adam=solution["Adam"], steps=20, grid_size=10)
    assert set(box.last_result["paths"]) == {"Adam"}


# ------------------------------------------------------- drivers and problems


def test_trajectory_driver_runs_pytorch_and_reports_missing_classes():
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2), "W2": rng.normal(size=(2, 1)),
              "b2": rng.normal(size=1), "spare": rng.normal(size=2)}
    batch = {"X": rng.normal(size=(5, 3)), "Y": rng.normal(size=(5, 1))}
    history = drivers.optimizer_trajectory({}, "torch:SGD", params, [{"params": list(params)}],
                                           problem="mlp_regression", data=batch, steps=4,
                                           defaults={"lr": 0.1}, lr_changes=[(2, [0.0])])
    assert history["W1"].shape == (5, 3, 2) and np.array_equal(history["W1"][0], params["W1"])
    assert np.array_equal(history["spare"][-1], params["spare"])  # no gradient, no change
    assert not np.array_equal(history["W1"][1], params["W1"])
    assert np.array_equal(history["W1"][3], history["W1"][2])  # lr 0 before step 3
    with pytest.raises(NameError, match="not defined"):
        drivers.optimizer_trajectory({}, "Adam", params, [{"params": ["W1"]}], problem="mlp_regression",
                                     data=batch, steps=1)
    with pytest.raises(TypeError, match="torch.optim.Optimizer"):
        drivers.optimizer_trajectory({"Adam": dict}, "Adam", params, [{"params": ["W1"]}],
                                     problem="mlp_regression", data=batch, steps=1)
    assert drivers.optimizer_info({"Adam": torch.optim.Adam}, "Adam") == {
        "defined": True, "is_optimizer": True, "builtin_base": True}
    assert drivers.optimizer_info({}, "Adam") == {
        "defined": False, "is_optimizer": False, "builtin_base": False}


def test_problems_match_their_formulas():
    x = torch.tensor([1.0, -2.0], dtype=torch.float64)
    A = torch.tensor([[2.0, 0.0], [0.0, 4.0]], dtype=torch.float64)
    assert float(problems.quadratic({"x": x}, {"A": A})) == pytest.approx(0.5 * (2 + 16))
    b = torch.ones(2, dtype=torch.float64)
    assert float(problems.quadratic({"x": x}, {"A": A, "b": b})) == pytest.approx(8)
    zeros = {"W1": torch.zeros(2, 3), "b1": torch.zeros(3), "W2": torch.zeros(3, 1), "b2": torch.zeros(1)}
    assert float(problems.mlp_regression(zeros, {"X": torch.ones(4, 2), "Y": torch.full((4, 1), 2.0)})) == 4.0


def test_student_safe_modules_hold_no_solution():
    secret = set()
    for cell in code_cells(ASSIGNMENT):
        for match in SOLUTION_REGION.finditer(cell.source):
            secret |= {line.strip() for line in match.group(0).splitlines()[1:-1] if len(line.strip()) > 25}
    secret -= {"rng = np.random.default_rng(seed)"}  # a generic line, not a solution
    for module in STUDENT_SAFE:
        text = (PACKAGE / module).read_text()
        assert not [line for line in secret if line in text], module
        if module != "__init__.py":  # only the hook may import the hidden checks (guarded)
            assert "dlcourse_optimizers.hidden" not in text, module


# --------------------------------------------------------------------- data


def test_loaders_are_offline_and_deterministic(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access in a data loader")

    monkeypatch.setattr(socket, "socket", no_network)
    X1, y1 = data.load_moons(n_samples=50, seed=3)
    X2, y2 = data.load_moons(n_samples=50, seed=3)
    assert X1.shape == (50, 2) and y1.shape == (50,) and X1.dtype == np.float32 and y1.dtype == np.int64
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2) and set(np.unique(y1)) == {0, 1}
    assert not np.array_equal(X1, data.load_moons(n_samples=50, seed=4)[0])
    A = data.make_quadratic(dim=6, kappa=50.0, seed=1)
    assert A.shape == (6, 6) and A.dtype == np.float64 and np.array_equal(A, A.T)
    eigenvalues = np.linalg.eigvalsh(A)
    assert eigenvalues[0] == pytest.approx(1.0) and eigenvalues[-1] == pytest.approx(50.0)
    assert np.array_equal(A, data.make_quadratic(dim=6, kappa=50.0, seed=1))
    with pytest.raises(ValueError):
        data.make_quadratic(dim=1)


def test_make_mlp_is_deterministic_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = models.make_mlp(hidden=5, seed=7), models.make_mlp(hidden=5, seed=7)
    assert torch.rand(1) == before
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert a(torch.zeros(3, 2)).shape == (3, 2) and next(a.parameters()).dtype == torch.float32


def test_surfaces_have_their_minima_where_they_say():
    for surface in surfaces.SURFACES.values():
        for minimum in surface.minima:
            point = torch.tensor(minimum, dtype=torch.float64, requires_grad=True)
            (grad,) = torch.autograd.grad(surface(point), point)
            assert float(grad.abs().max()) < 1e-12, surface.name
        zz = surfaces.evaluate_grid(surface, 9)[2]
        assert zz.shape == (9, 9) and np.all(np.isfinite(zz))


# ------------------------------------------------------------------- hooks


def test_hooks_register_the_topic(pm):
    (topic,) = [t for group in pm.hook.dlcourse_register_topics(course=None) for t in group]
    assert isinstance(topic, Topic) and (topic.slug, topic.order) == ("optimizers", 20)
    (sources,) = pm.hook.dlcourse_register_notebooks(course=None, topic=topic)
    assert all(isinstance(s, NotebookSource) and s.path.exists() and s.time_limit == 60.0 for s in sources)
    assert {(s.assignment, s.name, s.kind) for s in sources} == {
        ("optimizers", "optimizers", "assignment"),
        ("optimizers_lesson", "lesson", "lesson"),
    }
    (checks,) = pm.hook.dlcourse_register_checks(course=None, topic=topic)
    assert {c.id for c in checks} == set(CHECKS_BY_ID)
    (visualisers,) = pm.hook.dlcourse_register_visualisers(course=None)
    assert [(v.name, v.topic) for v in visualisers] == [("trajectories", "optimizers")]
    assert isinstance(visualisers[0], Visualiser) and visualisers[0].compute is widgets.optimizer_paths
    (datasets,) = pm.hook.dlcourse_register_datasets(course=None)
    assert all(isinstance(d, Dataset) for d in datasets)
    assert {d.name for d in datasets} == {"moons", "quadratic"}
    assert datasets[0].load()[0].shape == (512, 2)
