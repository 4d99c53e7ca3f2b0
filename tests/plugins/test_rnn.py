"""Tests of the recurrent-networks topic plugin: checks, notebooks, widget and data."""

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

import jupytext
import numpy as np
import pytest
import torch
from torch import nn

import dlcourse_rnn
from dlcourse.checking import InKernelStudent, run_check, score_cases
from dlcourse.types import Check, Dataset, NotebookSource, Topic, Visualiser
from dlcourse_rnn import data, drivers, widgets
from dlcourse_rnn.hidden import checks as hidden
from dlcourse_rnn.hidden.checks import CHECKS
from dlcourse.testing import (
    SOLUTION_REGION,
    assert_missing_function_scores_zero,
    assert_public_tests_need_the_exercises,
    assert_reference_passes,
    assert_student_safe,
    assert_wrong_version_loses_points,
    release_source,
    with_source,
)

PACKAGE = Path(dlcourse_rnn.__file__).parent
NOTEBOOKS = PACKAGE / "notebooks"
ASSIGNMENT = NOTEBOOKS / "rnn.py"
LESSON = NOTEBOOKS / "lesson.py"
CHECKS_BY_ID = {check.id: check for check in CHECKS}
#: CPU seconds the whole solution notebook may take in one thread (the course budget is 20 s).
CPU_BUDGET = 30.0


# ----------------------------------------------------------------- helpers


def _code_cells(path: Path):
    return [cell for cell in jupytext.read(path).cells if cell.cell_type == "code"]


def _student(namespace: dict) -> InKernelStudent:
    return InKernelStudent(namespace)


@pytest.fixture(scope="module")
def executed() -> dict:
    """The whole solution notebook, run once: its namespace, CPU time and what each cell printed to stderr."""
    namespace: dict = {}
    noisy: dict[str, str] = {}
    threads = torch.get_num_threads()
    start = time.process_time()
    try:
        for cell in _code_cells(ASSIGNMENT):
            err = io.StringIO()
            with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(err):
                warnings.simplefilter("always")
                exec(compile(cell.source, "<notebook cell>", "exec"), namespace)
            if cell.metadata.get("nbgrader") == "tests" and (err.getvalue() or caught):
                noisy[cell.metadata["grade_id"]] = err.getvalue() + "; ".join(str(w.message) for w in caught)
    finally:
        torch.set_num_threads(threads)  # the notebook sets one thread
    return {"namespace": namespace, "cpu": time.process_time() - start, "noisy": noisy}


@pytest.fixture(scope="module")
def solution(executed) -> dict:
    return executed["namespace"]


@pytest.fixture(scope="module")
def release() -> dict:
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in _code_cells(ASSIGNMENT):
            if cell.metadata.get("nbgrader") != "tests":
                exec(release_source(cell.source), namespace)
    return namespace


# -------------------------------------------------------- reference solution


def test_solution_notebook_within_budget_and_levels(executed, solution):
    assert executed["cpu"] < CPU_BUDGET, f"the solution notebook took {executed['cpu']:.1f} s of CPU"
    assert solution["sine_mse"] < hidden.FORECAST_MAX_MSE
    assert solution["adding_mse"] < hidden.ADDING_MAX_MSE
    assert solution["adding_rnn_mse"] > hidden.ADDING_CLEARLY_BETTER, "the vanilla RNN should fail on adding"
    assert solution["explorer"] is not None and solution["explorer"].last_result is not None


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
    expected = {"rnn_step", "rnn_forward", "rnn_backward", "clip", "lstm_gates", "lstm_step", "lstm_forward",
                "regressor", "forecast", "adding"}
    assert set(CHECKS_BY_ID) == {f"rnn.{name}" for name in expected}
    assert all(isinstance(check, Check) and check.topic == "rnn" for check in CHECKS)


def test_untouched_release_scores_zero(release):
    assert_public_tests_need_the_exercises(ASSIGNMENT, release)
    student = _student(release)
    for check in CHECKS:
        cases = run_check(check, student)
        assert score_cases(cases) == 0, check.id
        messages = [case.message for case in cases]
        assert all("not implemented" in m or "not defined" in m for m in messages), messages
        assert_student_safe(cases)


# ------------------------------------------------------- checks can fail

WRONG = {
    "rnn_step without b_hh": (
        "rnn.rnn_step",
        "def rnn_step(x_t, h_prev, params):\n"
        "    return np.tanh(x_t @ params['W_ih'].T + params['b_ih'] + h_prev @ params['W_hh'].T)\n",
        "both biases",
    ),
    "rnn_step with W_hh untransposed": (
        "rnn.rnn_step",
        "def rnn_step(x_t, h_prev, params):\n"
        "    a = x_t @ params['W_ih'].T + params['b_ih'] + params['b_hh']\n"
        "    return np.tanh(a + h_prev @ params['W_hh'])\n",
        "transposed weight",
    ),
    "rnn_forward returning the states before each step": (
        "rnn.rnn_forward",
        "_right_forward = rnn_forward\n"
        "def rnn_forward(x, h0, params):\n"
        "    hs, cache = _right_forward(x, h0, params)\n"
        "    return np.concatenate([h0[:, None], hs[:, :-1]], axis=1), cache\n",
        "off by one",
    ),
    "rnn_forward restarting from h0": (
        "rnn.rnn_forward",
        "def rnn_forward(x, h0, params):\n"
        "    hs = np.stack([rnn_step(x[:, t], h0, params) for t in range(x.shape[1])], axis=1)\n"
        "    return hs, None\n",
        "starts from h0",
    ),
    "rnn_backward that does not flow through time": (
        "rnn.rnn_backward",
        "def rnn_backward(dhs, cache):\n"
        "    x, h0, hs, p = cache['x'], cache['h0'], cache['hs'], cache['params']\n"
        "    g = {k: np.zeros_like(v) for k, v in p.items()}\n"
        "    dx = np.zeros_like(x); dh0 = np.zeros_like(h0)\n"
        "    for t in range(x.shape[1]):\n"
        "        prev = hs[:, t - 1] if t else h0\n"
        "        da = dhs[:, t] * (1 - hs[:, t] ** 2)\n"
        "        dx[:, t] = da @ p['W_ih']; g['W_ih'] += da.T @ x[:, t]; g['W_hh'] += da.T @ prev\n"
        "        g['b_ih'] += da.sum(0); g['b_hh'] += da.sum(0)\n"
        "        if t == 0: dh0 = da @ p['W_hh']\n"
        "    return dict(g, x=dx, h0=dh0)\n",
        "does not flow back through time",
    ),
    "rnn_backward with a zero dW_hh": (
        "rnn.rnn_backward",
        "_right_backward = rnn_backward\n"
        "def rnn_backward(dhs, cache):\n"
        "    grads = _right_backward(dhs, cache)\n"
        "    grads['W_hh'] = 0 * grads['W_hh']\n"
        "    return grads\n",
        "dW_hh sums",
    ),
    "clipping each array by its own norm": (
        "rnn.clip",
        "def clip_grad_norm(grads, max_norm):\n"
        "    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))\n"
        "    coef = {k: min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for k, g in grads.items()}\n"
        "    return {k: g * coef[k] for k, g in grads.items()}, total\n",
        "its own norm",
    ),
    "clipping that scales small gradients up": (
        "rnn.clip",
        "def clip_grad_norm(grads, max_norm):\n"
        "    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))\n"
        "    return {k: g * max_norm / (total + 1e-6) for k, g in grads.items()}, total\n",
        "never scale up",
    ),
    "clipping in place": (
        "rnn.clip",
        "def clip_grad_norm(grads, max_norm):\n"
        "    total = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))\n"
        "    for g in grads.values():\n"
        "        g *= min(1.0, max_norm / (total + 1e-6))\n"
        "    return grads, total\n",
        "were changed",
    ),
    "lstm_gates in the order i, f, o, g": (
        "rnn.lstm_gates",
        "def lstm_gates(x_t, h_prev, params):\n"
        "    a = x_t @ params['W_ih'].T + params['b_ih'] + h_prev @ params['W_hh'].T + params['b_hh']\n"
        "    a_i, a_f, a_o, a_g = np.split(a, 4, axis=1)\n"
        "    return sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)\n",
        "gate order",
    ),
    "lstm_gates without b_hh": (
        "rnn.lstm_gates",
        "def lstm_gates(x_t, h_prev, params):\n"
        "    a = x_t @ params['W_ih'].T + params['b_ih'] + h_prev @ params['W_hh'].T\n"
        "    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)\n"
        "    return sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)\n",
        "both biases",
    ),
    "lstm_gates with a sigmoid candidate": (
        "rnn.lstm_gates",
        "def lstm_gates(x_t, h_prev, params):\n"
        "    a = x_t @ params['W_ih'].T + params['b_ih'] + h_prev @ params['W_hh'].T + params['b_hh']\n"
        "    return tuple(sigmoid(part) for part in np.split(a, 4, axis=1))\n",
        "g uses tanh",
    ),
    "lstm_step squashing the old cell": (
        "rnn.lstm_step",
        "def lstm_step(x_t, h_prev, c_prev, params):\n"
        "    i, f, g, o = lstm_gates(x_t, h_prev, params)\n"
        "    return o * np.tanh(c_prev), f * c_prev + i * g\n",
        "new cell state",
    ),
    "lstm_step returning h only": (
        "rnn.lstm_step",
        "_right_step = lstm_step\n"
        "def lstm_step(x_t, h_prev, c_prev, params):\n"
        "    return _right_step(x_t, h_prev, c_prev, params)[0]\n",
        "the pair (h, c)",
    ),
    "lstm_forward resetting the cell at each step": (
        "rnn.lstm_forward",
        "def lstm_forward(x, h0, c0, params):\n"
        "    h, hs, cs = h0, [], []\n"
        "    for t in range(x.shape[1]):\n"
        "        h, c = lstm_step(x[:, t], h, c0, params); hs.append(h); cs.append(c)\n"
        "    return np.stack(hs, 1), np.stack(cs, 1)\n",
        "carry both h and c",
    ),
    "SequenceRegressor without batch_first": (
        "rnn.regressor",
        "class SequenceRegressor(nn.Module):\n"
        "    def __init__(self, input_size, hidden_size, cell='lstm'):\n"
        "        super().__init__()\n"
        "        self.rnn = (nn.LSTM if cell == 'lstm' else nn.RNN)(input_size, hidden_size)\n"
        "        self.out = nn.Linear(hidden_size, 1)\n"
        "    def forward(self, x):\n"
        "        return self.out(self.rnn(x)[0][:, -1]).squeeze(-1)\n",
        "batch_first=True",
    ),
    "SequenceRegressor with two layers": (
        "rnn.regressor",
        "class SequenceRegressor(nn.Module):\n"
        "    def __init__(self, input_size, hidden_size, cell='lstm'):\n"
        "        super().__init__()\n"
        "        layer = nn.LSTM if cell == 'lstm' else nn.RNN\n"
        "        self.rnn = layer(input_size, hidden_size, 2, batch_first=True)\n"
        "        self.out = nn.Linear(hidden_size, 1)\n"
        "    def forward(self, x):\n"
        "        return self.out(self.rnn(x)[0][:, -1]).squeeze(-1)\n",
        "no other parameters",
    ),
    "SequenceRegressor reading only the last step": (
        "rnn.regressor",
        "_Right = SequenceRegressor\n"
        "class SequenceRegressor(_Right):\n"
        "    def forward(self, x):\n"
        "        return super().forward(x[:, -1:])\n",
        "from the first one",
    ),
    "an untrained forecaster": (
        "rnn.forecast",
        "torch.manual_seed(5)\nforecaster = SequenceRegressor(1, 32)\n",
        "is not below the required",
    ),
    "predict returning (M, 1)": (
        "rnn.forecast",
        "def predict(model, X):\n"
        "    with torch.no_grad():\n"
        "        return model(torch.as_tensor(X)).numpy()[:, None]\n",
        "shape (",
    ),
    "an untrained adder": (
        "rnn.adding",
        "torch.manual_seed(5)\nadder = SequenceRegressor(2, 32)\n",
        "is not below the required",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_versions_lose_points(solution, name):
    check_id, source, hint = WRONG[name]
    assert_wrong_version_loses_points(CHECKS_BY_ID[check_id], solution, source, hint)


def test_missing_function_is_reported(solution):
    assert_missing_function_scores_zero(CHECKS_BY_ID["rnn.lstm_step"], solution, "lstm_step")


def test_driver_errors_name_the_students_code(solution):
    namespace = with_source(solution, "def rnn_forward(x, h0, params):\n    raise ValueError('bad shapes')\n")
    cases = run_check(CHECKS_BY_ID["rnn.rnn_forward"], _student(namespace))
    assert all("your code raised ValueError: bad shapes" in case.message for case in cases)
    assert not any("rnn_forward_states" in case.message for case in cases)


def test_partial_credit(solution):
    # the cell states are right, the hidden states off: only the hs cases fail
    source = ("_right_lstm_forward = lstm_forward\n"
              "def lstm_forward(x, h0, c0, params):\n"
              "    hs, cs = _right_lstm_forward(x, h0, c0, params)\n"
              "    return 2 * hs, cs\n")
    cases = run_check(CHECKS_BY_ID["rnn.lstm_forward"], _student(with_source(solution, source)))
    assert 0 < score_cases(cases) < 1
    # an untrained model keeps the points for well-shaped predictions
    untrained = with_source(solution, "torch.manual_seed(5)\nadder = SequenceRegressor(2, 32)\n")
    assert 0 < score_cases(run_check(CHECKS_BY_ID["rnn.adding"], _student(untrained))) < 1
    # only one of the two cells of the regressor is wrong
    source = ("_Right = SequenceRegressor\n"
              "class SequenceRegressor(_Right):\n"
              "    def __init__(self, input_size, hidden_size, cell='lstm'):\n"
              "        super().__init__(input_size, hidden_size, cell='lstm')\n")
    cases = run_check(CHECKS_BY_ID["rnn.regressor"], _student(with_source(solution, source)))
    assert 0.5 <= score_cases(cases) < 1


# ------------------------------------------------------------ the oracles


def test_oracles_agree_with_each_other():
    rng = np.random.default_rng(0)
    params = hidden._params(rng, 3, 4, 4)
    x, h0, c0 = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    hs, cs = hidden._lstm_layer_oracle(x, h0, c0, params)
    with torch.no_grad():
        layer = hidden._module(nn.LSTM(3, 4, batch_first=True), params)
        _, (h_n, c_n) = layer(torch.tensor(x), (torch.tensor(h0)[None], torch.tensor(c0)[None]))
    assert np.allclose(cs[:, -1], c_n[0].numpy(), atol=1e-14)
    assert np.allclose(hs[:, -1], h_n[0].numpy(), atol=1e-14)
    gates = hidden._gates_oracle(x[:, 0], h0, params)
    h1, c1 = hidden._lstm_step_oracle(x[:, 0], h0, c0, params)
    assert np.allclose(c1, gates[1] * c0 + gates[0] * gates[2], atol=1e-14)
    assert np.allclose(h1, gates[3] * np.tanh(c1), atol=1e-14)
    rnn = hidden._params(rng, 3, 4, 1)
    dhs = rng.normal(size=(2, 5, 4))
    full = hidden._rnn_autograd(x, h0, rnn, dhs)
    cut = hidden._rnn_autograd(x, h0, rnn, dhs, through_time=False)
    assert np.allclose(full["x"][:, -1], cut["x"][:, -1]) and not np.allclose(full["x"][:, 0], cut["x"][:, 0])


# --------------------------------------------------------- notebook sources


def test_assignment_structure():
    code = _code_cells(ASSIGNMENT)
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
                header = re.search(r"^\s*(def|class) \w+", before, re.MULTILINE)
                assert header, "the def/class line stays outside the region"
                assert '"""' in before, "the docstring stays outside the solution region"
            assert code[index + 1].metadata.get("nbgrader") == "tests", cell.metadata["grade_id"]
        if cell.metadata.get("nbgrader") == "tests":
            assert "assert" in cell.source and re.search(r"assert .+, ", cell.source)
        if cell.metadata.get("skip_grading"):
            assert cell.metadata.get("nbgrader") == "readonly"
    assert [cell.metadata.get("grade_id") for cell in code if cell.metadata.get("skip_grading")] == \
        ["vanilla_adding", "explore"]


def test_assignment_states_the_conventions():
    text = ASSIGNMENT.read_text()
    for phrase in ("(i, f, g, o)", "two** bias vectors", "batch_first=True", "(N, T, D)", "clip_grad_norm_",
                   "1e-6", "float64", "below 0.045", "below 0.05"):
        assert phrase in text, phrase
    assert f"below {hidden.FORECAST_MAX_MSE}." in text and f"below {hidden.ADDING_MAX_MSE}." in text


def test_public_tests_are_quiet(executed):
    assert executed["noisy"] == {}


def test_release_keeps_signatures(release):
    for name in ("rnn_step", "rnn_forward", "rnn_backward", "clip_grad_norm", "lstm_gates", "lstm_step",
                 "lstm_forward", "train_regressor", "predict"):
        assert callable(release[name]) and release[name].__doc__, name
    assert issubclass(release["SequenceRegressor"], nn.Module) and release["SequenceRegressor"].__doc__


def test_lesson_structure():
    notebook = jupytext.read(LESSON)
    assert not any("nbgrader" in cell.metadata for cell in notebook.cells)
    source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "gate_explorer(" in source and "make_adding_problem(" in source
    assert source.count("plt.show()") >= 4  # it teaches with figures
    assert "assert test_mse" in source  # the vanilla-vs-LSTM claim is checked when nbval runs it


# ------------------------------------------------------------------- widget


def _autograd_input_norms(layer: nn.Module, x: np.ndarray) -> np.ndarray:
    xt = torch.tensor(x[None], requires_grad=True)
    hs, _ = layer(xt)
    (grad,) = torch.autograd.grad(hs[0, -1].sum(), xt)
    return grad[0].norm(dim=1).numpy()


def test_gate_trace_matches_autograd(solution):
    x = widgets.make_sequence("noise", 25, seed=3)
    lstm = widgets.random_lstm_params(1, 6, seed=1)
    rnn = widgets.random_rnn_params(1, 6, scale=0.9, seed=2)
    result = widgets.gate_trace(x, lstm, lstm_gates=solution["lstm_gates"], lstm_step=solution["lstm_step"],
                                rnn_params=rnn, rnn_forward=solution["rnn_forward"],
                                rnn_backward=solution["rnn_backward"])
    for name in ("i", "f", "g", "o", "c", "h"):
        assert result[name].shape == (25, 6), name
    assert np.all((result["f"] > 0) & (result["f"] < 1)) and np.all(np.abs(result["g"]) < 1)
    layer = hidden._module(nn.LSTM(1, 6, batch_first=True), lstm)
    hs, (_, c_n) = layer(torch.tensor(x[None]))
    assert np.allclose(result["h"], hs[0].detach().numpy(), atol=1e-12)
    assert np.allclose(result["c"][-1], c_n[0, 0].detach().numpy(), atol=1e-12)
    assert np.allclose(result["lstm_grad"], _autograd_input_norms(layer, x), rtol=1e-5, atol=1e-9)
    rnn_layer = hidden._module(nn.RNN(1, 6, batch_first=True), rnn)
    assert np.allclose(result["rnn_grad"], _autograd_input_norms(rnn_layer, x), rtol=1e-9, atol=1e-14)
    alone = widgets.gate_trace(x[:, 0], lstm, lstm_gates=solution["lstm_gates"],
                               lstm_step=solution["lstm_step"])
    assert alone["x"].shape == (25, 1) and np.all(np.isnan(alone["rnn_grad"]))


def test_widget_helpers():
    assert set(widgets.SEQUENCE_KINDS) == {"noise", "pulse", "step", "sine", "square"}
    for kind in widgets.SEQUENCE_KINDS:
        assert widgets.make_sequence(kind, 17, position=0.5).shape == (17, 1)
    pulse = widgets.make_sequence("pulse", 11, position=0.5)
    assert pulse.sum() == 1 and pulse[5, 0] == 1
    with pytest.raises(ValueError):
        widgets.make_sequence("zigzag", 10)
    rnn = widgets.random_rnn_params(2, 5, scale=0.7, seed=0)
    assert np.allclose(np.linalg.svd(rnn["W_hh"], compute_uv=False), 0.7)
    lstm = widgets.random_lstm_params(2, 5, seed=0, forget_bias=0.0)
    shifted = widgets.with_forget_bias(lstm, 2.0)
    assert np.allclose(shifted["b_ih"] - lstm["b_ih"], np.repeat([0.0, 2.0, 0.0, 0.0], 5))
    default = widgets.random_lstm_params(2, 5, seed=0)
    assert np.allclose(default["b_ih"], widgets.with_forget_bias(lstm, 1.0)["b_ih"])
    torch.manual_seed(0)
    model = nn.Sequential(nn.LSTM(2, 5, batch_first=True))
    params = widgets.lstm_params_of(model)
    assert np.array_equal(params["W_hh"], model[0].weight_hh_l0.detach().double().numpy())
    assert widgets.lstm_params_of(nn.Linear(2, 3)) is None and widgets.lstm_params_of(None) is None


def test_explorer_reacts_to_controls(solution):
    import ipywidgets

    trained = widgets.lstm_params_of(solution["forecaster"])
    box = widgets.gate_explorer(solution["lstm_gates"], solution["lstm_step"], solution["rnn_forward"],
                                solution["rnn_backward"], lstm_params=trained, length=20)
    assert isinstance(box, ipywidgets.VBox)
    assert box.sequence_dropdown.options[0] == "noise" and "image/png" in box.output.outputs[0]["data"]
    first = box.last_result
    assert first is not None and first["i"].shape == (20, 32) and np.all(np.isfinite(first["rnn_grad"]))
    box.sequence_dropdown.value = "pulse"
    assert box.last_result is not first and box.last_result["x"].sum() == 1
    assert "pulse, T=20" in box.status.value
    f_before = box.last_result["f"].mean()
    box.forget_slider.value = 3.0
    assert box.last_result["f"].mean() > f_before
    rnn_before = box.last_result["rnn_grad"]
    box.scale_slider.value = 0.5
    assert box.last_result["rnn_grad"][0] < rnn_before[0]
    box.length_slider.value = 30
    assert box.last_result["c"].shape == (30, 32)
    own = widgets.gate_explorer(solution["lstm_gates"], solution["lstm_step"], sequence=np.linspace(0, 1, 9))
    assert own.sequence_dropdown.value == "yours" and own.last_result["x"].shape == (9, 1)
    assert np.all(np.isnan(own.last_result["rnn_grad"]))


def test_explorer_survives_unwritten_functions(release, solution):
    box = widgets.gate_explorer(release["lstm_gates"], release["lstm_step"], release["rnn_forward"],
                                release["rnn_backward"], length=10)
    assert box.last_result is None and "Implement <code>" in box.status.value and box.output.outputs == ()
    box.forget_slider.value = 1.0  # still no crash
    assert box.last_result is None
    half = widgets.gate_explorer(solution["lstm_gates"], solution["lstm_step"], release["rnn_forward"],
                                 release["rnn_backward"], length=10)
    assert half.last_result is not None and "implement <code>rnn_forward</code>" in half.status.value
    broken = widgets.gate_explorer(solution["lstm_gates"], lambda *args: 1 / 0, length=10)
    assert broken.last_result is None and "ZeroDivisionError" in broken.status.value


# --------------------------------------------------------------------- data


def test_loaders_are_offline_and_deterministic(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access in a data loader")

    monkeypatch.setattr(socket, "socket", no_network)
    series = data.make_sine_series(4, 50, seed=3)
    assert series.shape == (4, 50) and series.dtype == np.float32
    assert np.array_equal(series, data.make_sine_series(4, 50, seed=3))
    assert not np.array_equal(series, data.make_sine_series(4, 50, seed=4))
    clean = data.make_sine_series(3, 400, noise=0.0, seed=1)
    assert np.all(np.abs(clean) <= 1.5) and np.abs(clean).max() > 0.5
    X, y = data.make_windows(series, 10)
    assert X.shape == (4 * 40, 10, 1) and y.shape == (160,) and X.dtype == y.dtype == np.float32
    assert np.array_equal(X[0, :, 0], series[0, :10]) and y[0] == series[0, 10] and y[40] == series[1, 10]
    with pytest.raises(ValueError):
        data.make_windows(series, 50)
    X, y = data.load_noisy_sines()
    assert X.shape == (20 * 176, 24, 1) and y.shape == (20 * 176,)
    X, y = data.make_adding_problem(n=2000, length=20, seed=5)
    assert X.shape == (2000, 20, 2) and y.shape == (2000,) and X.dtype == y.dtype == np.float32
    markers = X[:, :, 1]
    assert np.all(markers.sum(axis=1) == 2) and np.all(markers[:, :10].sum(axis=1) == 1)
    assert np.allclose((X[:, :, 0] * markers).sum(axis=1), y, atol=1e-6)
    assert np.all((X[:, :, 0] >= 0) & (X[:, :, 0] <= 1))
    assert abs(float(np.mean((y - 1.0) ** 2)) - data.ADDING_BASELINE_MSE) < 0.015
    assert np.array_equal(X, data.make_adding_problem(n=2000, length=20, seed=5)[0])


# ------------------------------------------------------------------- hooks


def test_hooks_register_the_topic(pm):
    (topic,) = [t for group in pm.hook.dlcourse_register_topics(course=None) for t in group]
    assert isinstance(topic, Topic) and (topic.slug, topic.order) == ("rnn", 50)
    (sources,) = pm.hook.dlcourse_register_notebooks(course=None, topic=topic)
    assert all(isinstance(s, NotebookSource) and s.path.exists() and s.time_limit == 60.0 for s in sources)
    assert {(s.assignment, s.name, s.kind) for s in sources} == {
        ("rnn", "rnn", "assignment"),
        ("rnn_lesson", "lesson", "lesson"),
    }
    (checks,) = pm.hook.dlcourse_register_checks(course=None, topic=topic)
    assert {c.id for c in checks} == set(CHECKS_BY_ID)
    (visualisers,) = pm.hook.dlcourse_register_visualisers(course=None)
    assert [(v.name, v.topic) for v in visualisers] == [("lstm_gates", "rnn")]
    assert isinstance(visualisers[0], Visualiser) and visualisers[0].compute is widgets.gate_trace
    assert visualisers[0].build is widgets.gate_explorer
    (datasets,) = pm.hook.dlcourse_register_datasets(course=None)
    assert all(isinstance(d, Dataset) for d in datasets)
    assert {d.name for d in datasets} == {"noisy_sines", "adding"}
    assert datasets[0].load()[0].shape == (20 * 176, 24, 1)


def test_student_safe_modules_hold_no_solutions():
    for module in ("drivers.py", "widgets.py", "data.py"):
        text = (PACKAGE / module).read_text()
        assert "dlcourse_rnn.hidden" not in text and "from .hidden" not in text, module
        assert "np.split(" not in text and "1.0 - hs" not in text and "dh_next" not in text, module
    assert drivers.TRAINED_MODELS == ("forecaster", "adder")
