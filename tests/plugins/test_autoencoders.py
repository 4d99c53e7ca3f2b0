"""Tests of the autoencoders topic plugin: checks, notebooks, widget, drivers and data."""

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

import dlcourse_autoencoders  # noqa: E402
from dlcourse.checking import InKernelStudent, run_check, score_cases  # noqa: E402
from dlcourse.types import Check, Dataset, NotebookSource, Topic, Visualiser  # noqa: E402
from dlcourse_autoencoders import data, drivers, widgets  # noqa: E402
from dlcourse_autoencoders.hidden.checks import CHECKS  # noqa: E402
from dlcourse.testing import (  # noqa: E402
    SOLUTION_REGION,
    assert_public_tests_need_the_exercises,
    assert_reference_passes,
    assert_wrong_version_loses_points,
    with_source,
)

PACKAGE = Path(dlcourse_autoencoders.__file__).parent
ASSIGNMENT = PACKAGE / "notebooks" / "autoencoders.py"
LESSON = PACKAGE / "notebooks" / "lesson.py"
CHECKS_BY_ID = {check.id: check for check in CHECKS}
CPU_BUDGET = 20.0  # seconds of CPU for the solution notebook, single-threaded


# ----------------------------------------------------------------- helpers


def _code_cells(path: Path, *, tests: bool = False, widgets_too: bool = False):
    for cell in jupytext.read(path).cells:
        if cell.cell_type != "code":
            continue
        if cell.metadata.get("nbgrader") == "tests" and not tests:
            continue
        if cell.metadata.get("skip_grading") and not widgets_too:
            continue
        yield cell


def _release_source(source: str) -> str:
    """What nbgrader leaves of a solution cell in the student's release."""

    def stub(match):
        indent = match.group(1)
        return f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()\n"

    return SOLUTION_REGION.sub(stub, source)


def _exec_cells(sources, namespace=None) -> dict:
    namespace = {} if namespace is None else namespace
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for source in sources:
            exec(compile(source, "<notebook cell>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def executed() -> dict:
    """The solution notebook executed once, visible tests included (not the widget cell).

    Each test cell runs with warnings turned into errors and its stderr
    captured, so the structure tests can check that the tests are quiet.
    """
    torch.set_num_threads(1)
    namespace: dict = {}
    noisy: list[str] = []
    started = time.process_time()
    for cell in _code_cells(ASSIGNMENT, tests=True):
        err = io.StringIO()
        quiet = contextlib.redirect_stdout(io.StringIO())
        with quiet, contextlib.redirect_stderr(err), warnings.catch_warnings():
            if cell.metadata.get("nbgrader") == "tests":
                warnings.simplefilter("error")
            exec(compile(cell.source, "<notebook cell>", "exec"), namespace)
        if err.getvalue():
            noisy.append(cell.metadata.get("grade_id", "?"))
    namespace["__cpu_seconds__"] = time.process_time() - started
    namespace["__noisy_cells__"] = noisy
    return namespace


@pytest.fixture(scope="module")
def solution(executed) -> dict:
    return executed


@pytest.fixture(scope="module")
def release() -> dict:
    return _exec_cells(_release_source(cell.source) for cell in _code_cells(ASSIGNMENT))


# -------------------------------------------------------- reference solution


def test_solution_notebook_runs_within_budget(executed):
    seconds = executed["__cpu_seconds__"]
    assert seconds < CPU_BUDGET, f"the solution notebook took {seconds:.1f} s of CPU"
    assert executed["_f1"] > max(0.6, executed["_pca_f1"])  # the detector's visible test ran and passed


def test_public_tests_are_quiet(executed):
    assert executed["__noisy_cells__"] == []


@pytest.mark.parametrize("seed", ["0", "student-42"])
@pytest.mark.parametrize("check_id", sorted(CHECKS_BY_ID))
def test_reference_passes_every_check(solution, check_id, seed, monkeypatch):
    monkeypatch.setenv("DLCOURSE_GRADING_SEED", seed)
    assert_reference_passes(CHECKS_BY_ID[check_id], solution, min_cases=2)


def test_checks_are_fast(solution):
    student = InKernelStudent(solution)
    started = time.process_time()
    for check in CHECKS:
        run_check(check, student, salt="timing")
    assert time.process_time() - started < 5


def test_checks_cover_every_exercise():
    expected = {"architecture", "reconstruction_error", "train_loop", "linear_pca", "pca", "kl_sparsity",
                "sparse_autoencoder", "denoising", "stacked", "metrics", "detector"}
    assert set(CHECKS_BY_ID) == {f"autoencoders.{name}" for name in expected}
    assert all(isinstance(check, Check) and check.topic == "autoencoders" for check in CHECKS)


def test_untouched_release_scores_zero(release):
    student = InKernelStudent(release)
    for check in CHECKS:
        cases = run_check(check, student)
        assert score_cases(cases) == 0, check.id
        assert any("not implemented" in case.message for case in cases), [c.message for c in cases]
    assert_public_tests_need_the_exercises(ASSIGNMENT, release)


# ------------------------------------------------------- checks can fail

TRAIN_LOOP = """
def train_autoencoder(model, X, loss_fn=None, *, epochs=20, lr=1e-2, batch_size=64, seed=0):
    loss_fn = mse_loss if loss_fn is None else loss_fn
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    optimizer = {optimizer}
    losses = []
    for _ in range(epochs):
        {reseed}
        order = torch.randperm(X.shape[0], generator=generator)
        batch_losses = []
        for start in range(0, X.shape[0], batch_size):
            loss = {loss}
            {zero_grad}
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.item())
        losses.append({record})
    return losses
"""
BATCH = "X[order[start:start + batch_size]]"
RIGHT_LOOP = dict(optimizer="torch.optim.Adam(model.parameters(), lr=lr)", reseed="pass",
                  loss=f"loss_fn(model, {BATCH})", zero_grad="optimizer.zero_grad()",
                  record="sum(batch_losses) / len(batch_losses)")


def _loop(**changes: str) -> str:
    return TRAIN_LOOP.format(**{**RIGHT_LOOP, **changes})


WRONG = {
    "ReLU on a linear code": (
        "autoencoders.architecture",
        "_right = build_autoencoder\n"
        "def build_autoencoder(n_in, n_code, hidden=(), code_activation=None):\n"
        "    model = _right(n_in, n_code, hidden, code_activation)\n"
        "    if code_activation is None:\n"
        "        model.encoder.append(nn.ReLU())\n"
        "    return model\n",
        "no activation on the code",
    ),
    "decoder not mirrored": (
        "autoencoders.architecture",
        "_right = build_autoencoder\n"
        "def build_autoencoder(n_in, n_code, hidden=(), code_activation=None):\n"
        "    model = _right(n_in, n_code, hidden, code_activation)\n"
        "    other = _right(n_in, n_code, tuple(reversed(hidden)), None)\n"
        "    return Autoencoder(model.encoder, other.decoder)\n",
        "Linear layers map",
    ),
    "sigmoid on the output": (
        "autoencoders.architecture",
        "_right = build_autoencoder\n"
        "def build_autoencoder(n_in, n_code, hidden=(), code_activation=None):\n"
        "    model = _right(n_in, n_code, hidden, code_activation)\n"
        "    model.decoder.append(nn.Sigmoid())\n"
        "    return model\n",
        "no activation after the decoder's last Linear",
    ),
    "reconstruction error summed over features": (
        "autoencoders.reconstruction_error",
        "def reconstruction_error(model, X):\n"
        "    with torch.no_grad():\n"
        "        return ((model(X) - X) ** 2).sum(dim=1)\n",
        "sum over the features",
    ),
    "reconstruction error tracking gradients": (
        "autoencoders.reconstruction_error",
        "def reconstruction_error(model, X):\n    return ((model(X) - X) ** 2).mean(dim=1)\n",
        "torch.no_grad()",
    ),
    "training without zero_grad": ("autoencoders.train_loop", _loop(zero_grad="pass"), "zero_grad()"),
    "generator re-seeded every epoch": (
        "autoencoders.train_loop",
        _loop(reseed="generator = torch.Generator().manual_seed(seed)"),
        "create the torch.Generator once",
    ),
    "loss_fn ignored": ("autoencoders.train_loop", _loop(loss=f"mse_loss(model, {BATCH})"),
                        "use loss_fn(model, xb)"),
    "last minibatch loss recorded": ("autoencoders.train_loop", _loop(record="batch_losses[-1]"),
                                     "wrong recorded losses"),
    "plain SGD instead of Adam": ("autoencoders.train_loop",
                                  _loop(optimizer="torch.optim.SGD(model.parameters(), lr=lr)"),
                                  "Adam with PyTorch's defaults"),
    "training that never steps": ("autoencoders.linear_pca",
                                  _loop(optimizer="torch.optim.Adam([torch.zeros(1, requires_grad=True)])"),
                                  "more than 5% above PCA"),
    "PCA without centring": (
        "autoencoders.pca",
        "def pca_reconstruction_error(X_train, X, k):\n"
        "    V = torch.linalg.svd(X_train, full_matrices=False)[2][:k].T\n"
        "    return ((X - X @ V @ V.T) ** 2).mean(dim=1)\n",
        "centre with the mean of X_train's rows",
    ),
    "PCA with the columns of Vh": (
        "autoencoders.pca",
        "def pca_reconstruction_error(X_train, X, k):\n"
        "    mu = X_train.mean(dim=0)\n"
        "    V = torch.linalg.svd(X_train - mu, full_matrices=False)[2][:, :k]\n"
        "    return (((X - mu) - (X - mu) @ V @ V.T) ** 2).mean(dim=1)\n",
        "rows of Vh",
    ),
    "KL in the wrong direction": (
        "autoencoders.kl_sparsity",
        "def kl_sparsity(h, rho):\n"
        "    r = h.mean(dim=0)\n"
        "    return (r * torch.log(r / rho) + (1 - r) * torch.log((1 - r) / (1 - rho))).sum()\n",
        "KL(rho_hat || rho)",
    ),
    "KL gradient without 1/N": (
        "autoencoders.kl_sparsity",
        "_right_grad = kl_sparsity_grad\n"
        "def kl_sparsity_grad(h, rho):\n    return _right_grad(h, rho) * h.shape[0]\n",
        "without 1/N",
    ),
    "KL computed outside autograd": (
        "autoencoders.kl_sparsity",
        "_right_kl = kl_sparsity\n"
        "def kl_sparsity(h, rho):\n    return torch.tensor(float(_right_kl(h.detach(), rho)))\n",
        "autograd cannot differentiate",
    ),
    "sparse loss without beta": (
        "autoencoders.sparse_autoencoder",
        "def sparse_loss(model, xb, beta=0.1, rho=0.05):\n"
        "    code = model.encoder(xb)\n"
        "    return ((model.decoder(code) - xb) ** 2).mean() + kl_sparsity(code, rho)\n",
        "beta * kl_sparsity(code, rho)",
    ),
    "sparse loss without the penalty": (
        "autoencoders.sparse_autoencoder",
        "def sparse_loss(model, xb, beta=0.1, rho=0.05):\n    return ((model(xb) - xb) ** 2).mean()\n",
        "average code activation",
    ),
    "denoising towards the noisy input": (
        "autoencoders.denoising",
        "def denoising_loss(model, xb, noise_std=0.3):\n"
        "    noisy = xb + noise_std * torch.randn_like(xb)\n"
        "    return ((model(noisy) - noisy) ** 2).mean()\n",
        "the target is the clean xb",
    ),
    "noise_std used as a variance": (
        "autoencoders.denoising",
        "def denoising_loss(model, xb, noise_std=0.3):\n"
        "    noisy = xb + noise_std ** 0.5 * torch.randn_like(xb)\n"
        "    return ((model(noisy) - xb) ** 2).mean()\n",
        "standard deviation",
    ),
    "stack that is never pre-trained": (
        "autoencoders.stacked",
        "_right_stack = pretrain_stack\n"
        "def pretrain_stack(X, sizes, *, epochs=10, lr=1e-2, batch_size=64, seed=0):\n"
        "    return _right_stack(X, sizes, epochs=0, lr=lr, batch_size=batch_size, seed=seed)\n",
        "does not reconstruct its inputs better than their mean",
    ),
    "fine-tuning only the output layer": (
        "autoencoders.stacked",
        "def fine_tune(stack, X, y, n_classes, *, epochs=10, lr=1e-2, batch_size=64, seed=0):\n"
        "    torch.manual_seed(seed)\n"
        "    head = nn.Linear(stack[-1].encoder[0].out_features, n_classes)\n"
        "    net = nn.Sequential(*[ae.encoder for ae in stack], head)\n"
        "    optimizer = torch.optim.Adam(net[-1].parameters(), lr=lr)\n"
        "    for _ in range(epochs * 10):\n"
        "        loss = F.cross_entropy(net(X), y)\n"
        "        optimizer.zero_grad(); loss.backward(); optimizer.step()\n"
        "    return net\n",
        "encoder weights are unchanged",
    ),
    "fine-tuning fresh encoders": (
        "autoencoders.stacked",
        "_right_tune = fine_tune\n"
        "def fine_tune(stack, X, y, n_classes, **kwargs):\n"
        "    fresh = [build_autoencoder(ae.encoder[0].in_features, ae.encoder[0].out_features,\n"
        "                               code_activation='sigmoid') for ae in stack]\n"
        "    return _right_tune(fresh, X, y, n_classes, **kwargs)\n",
        "holding the pre-trained encoder weights",
    ),
    "precision and recall swapped": (
        "autoencoders.metrics",
        "_right_metrics = precision_recall_f1\n"
        "def precision_recall_f1(pred, labels):\n"
        "    p, r, f = _right_metrics(pred, labels)\n    return r, p, f\n",
        "swapped",
    ),
    "best threshold for score >= t": (
        "autoencoders.metrics",
        "def best_threshold(scores, labels):\n"
        "    values = torch.unique(scores)\n"
        "    f1s = [precision_recall_f1(scores >= t, labels)[2] for t in values]\n"
        "    return float(values[int(np.argmax(f1s))])\n",
        "the rule is score > threshold",
    ),
    "detector flagging at random": (
        "autoencoders.detector",
        "def detect(model, threshold, X):\n"
        "    return (torch.rand(len(X)) < 0.2).long()\n",
        "below the required",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_versions_lose_points(solution, name):
    check_id, source, hint = WRONG[name]
    assert_wrong_version_loses_points(CHECKS_BY_ID[check_id], solution, source, hint)


def test_missing_function_is_reported(solution):
    namespace = dict(solution)
    del namespace["kl_sparsity_grad"]
    cases = run_check(CHECKS_BY_ID["autoencoders.kl_sparsity"], InKernelStudent(namespace))
    failed = [case for case in cases if not case.passed]
    assert 0 < score_cases(cases) < 1 and failed
    messages = [case.message for case in failed]
    assert all("`kl_sparsity_grad` is not defined" in message for message in messages), messages


def test_partial_credit(solution):
    # only the gradient is wrong: the value cases still earn their share
    wrong = with_source(solution, WRONG["KL gradient without 1/N"][1])
    assert 0 < score_cases(run_check(CHECKS_BY_ID["autoencoders.kl_sparsity"], InKernelStudent(wrong))) < 1
    # a denoiser whose loss adds no noise fails the noise cases but not the noise-free one
    no_noise = with_source(solution, "def denoising_loss(model, xb, noise_std=0.3):\n"
                               "    return ((model(xb) - xb) ** 2).mean()\n")
    assert 0 < score_cases(run_check(CHECKS_BY_ID["autoencoders.denoising"], InKernelStudent(no_noise))) < 1


def test_driver_errors_name_the_students_function(solution):
    broken = with_source(solution, "def build_autoencoder(n_in, n_code, hidden=(), code_activation=None):\n"
                             "    raise ValueError('oops')\n")
    cases = run_check(CHECKS_BY_ID["autoencoders.architecture"], InKernelStudent(broken))
    assert all("`build_autoencoder` raised ValueError: oops" in case.message for case in cases)


# --------------------------------------------------------- notebook sources


def test_assignment_structure():
    notebook = jupytext.read(ASSIGNMENT)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code[0].metadata.get("nbgrader") == "readonly"
    assert "dlcourse.seed_everything(0)" in code[0].source and "import torch" in code[0].source
    ids = [cell.metadata["grade_id"] for cell in code if "grade_id" in cell.metadata]
    assert len(ids) == len(set(ids))
    tests = [cell for cell in code if cell.metadata.get("nbgrader") == "tests"]
    assert 20 <= sum(cell.metadata["points"] for cell in tests) <= 30
    named = [check for cell in tests for check in cell.metadata["checks"]]
    assert sorted(named) == sorted(CHECKS_BY_ID)
    for index, cell in enumerate(code):
        if cell.metadata.get("nbgrader") == "solution":
            for match in SOLUTION_REGION.finditer(cell.source):
                before = cell.source[: match.start()]
                assert re.search(r"^def \w+\(", before, re.M), "the def line stays outside the region"
                assert '"""' in before.split("def ")[-1], "the docstring stays outside the solution region"
            assert code[index + 1].metadata.get("nbgrader") == "tests", cell.metadata["grade_id"]
        if cell.metadata.get("nbgrader") == "tests":
            assert "assert" in cell.source and re.search(r"assert .+, ", cell.source)
    explore = [cell for cell in code if cell.metadata.get("skip_grading")]
    assert len(explore) == 1 and explore[0].metadata.get("nbgrader") == "readonly"


def test_notebook_seeds_are_not_the_checks():
    # the detector check draws its telemetry seeds from 10 000 up: the notebook must stay below
    seeds = [int(s) for s in re.findall(r"make_telemetry\([^)]*seed=(\d+)", ASSIGNMENT.read_text())]
    assert seeds and max(seeds) < 10_000


def test_lesson_is_a_plain_notebook():
    notebook = jupytext.read(LESSON)
    assert not any("nbgrader" in cell.metadata for cell in notebook.cells)
    source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "autoencoder_explorer(" in source and "plt.show()" in source
    assert "fetch_" not in source and "get_dataset(" not in source  # offline only


# ------------------------------------------------------------------- widget


def _linear_codec():
    """A fixed encoder to 2-D (the first two pixels) and a decoder back to 64 pixels."""
    weight = torch.zeros(2, 64)
    weight[0, 0] = weight[1, 1] = 1.0
    return (lambda x: x @ weight.T), (lambda z: z @ weight)


def _metrics(pred, labels):
    tp = int((pred.bool() & labels.bool()).sum())
    precision = tp / max(int(pred.sum()), 1)
    recall = tp / max(int(labels.sum()), 1)
    return precision, recall, 2 * precision * recall / max(precision + recall, 1e-12)


def test_autoencoder_view_is_pure_and_shaped():
    X, y = data.load_digits()
    encode, decode = _linear_codec()
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.8])
    labels = np.array([0, 0, 1, 1, 1])
    result = widgets.autoencoder_view(encode, decode, X[:50], y[:50], index=7, scores=scores, labels=labels,
                                      threshold=0.25, metrics_fn=_metrics)
    assert result["codes"].shape == (50, 2) and result["classes"].shape == (50,)
    assert result["index"] == 7 and np.allclose(result["example_code"], X[7, :2])
    assert result["example"].shape == result["reconstruction"].shape == (64,)
    assert np.allclose(result["reconstruction"][:2], X[7, :2])
    assert np.allclose(result["reconstruction"][2:], 0)
    assert (result["flagged"], result["precision"], result["recall"]) == (3, 1.0, 1.0)
    again = widgets.autoencoder_view(encode, decode, X[:50], y[:50], index=999)
    assert again["index"] == 49 and "precision" not in again  # clipped index; no scores, no metrics
    assert widgets.threshold_summary(scores, labels, 0.85, _metrics)["recall"] == pytest.approx(1 / 3)
    fig = widgets.plot_view(result, result)
    assert len(fig.axes) >= 4


def test_explorer_reacts_to_its_controls(solution):
    import ipywidgets

    X, y = data.load_digits()
    scores = np.concatenate([np.linspace(0.01, 0.02, 40), np.linspace(0.015, 0.2, 10)])
    labels = np.array([0] * 40 + [1] * 10)
    box = widgets.autoencoder_explorer(solution["build_autoencoder"], solution["train_autoencoder"], X[:300],
                                       y[:300], scores=scores, labels=labels,
                                       metrics_fn=solution["precision_recall_f1"],
                                       epochs=3, hidden=(8,))
    assert isinstance(box, ipywidgets.VBox) and box.model is not None
    first, first_scores = box.last_result, box.last_scores
    assert first is not None and first["codes"].shape == (300, 2)
    assert len(box.output.outputs) == 1 and "image/png" in box.output.outputs[0]["data"]
    image = box.output.outputs[0]["data"]["image/png"]
    box.example_slider.value = 42
    assert box.last_result["index"] == 42 and not np.allclose(box.last_result["example"], first["example"])
    assert box.output.outputs[0]["data"]["image/png"] != image
    box.threshold_slider.value = float(scores.max()) * 0.999
    assert box.last_scores["flagged"] < first_scores["flagged"]
    assert box.last_scores["recall"] < first_scores["recall"]
    assert "precision" in box.status.value


def test_explorer_survives_unwritten_functions(release):
    X, y = data.load_digits()
    box = widgets.autoencoder_explorer(release["build_autoencoder"], release["train_autoencoder"], X[:100],
                                       y[:100], scores=np.array([0.1, 0.5, 0.9]), labels=np.array([0, 1, 1]),
                                       metrics_fn=release["precision_recall_f1"], epochs=2)
    assert box.model is None and box.last_result is None and box.last_scores is None
    assert "Implement <code>" in box.status.value and box.output.outputs == ()
    box.example_slider.value = 3  # still no crash
    box.threshold_slider.value = 0.6
    assert box.last_result is None and "Implement <code>precision_recall_f1</code>" in box.status.value


# ------------------------------------------------------------------ drivers


def test_layer_specs_round_trip():
    spec = [{"type": "Linear", "weight": np.arange(6.0).reshape(2, 3), "bias": np.array([1.0, -1.0])},
            {"type": "Sigmoid"}]
    decoder = [{"type": "Linear", "weight": np.ones((3, 2)), "bias": np.zeros(3)}]
    model = drivers.model_from_spec(spec, decoder)
    described = drivers.describe(model.encoder)
    assert [layer["type"] for layer in described] == ["Linear", "Sigmoid"]
    assert np.array_equal(described[0]["weight"], spec[0]["weight"])
    assert model(torch.zeros(4, 3, dtype=torch.float64)).shape == (4, 3)
    with pytest.raises(ValueError):
        drivers.model_from_spec([{"type": "Conv2d"}], [])


def test_call_with_tensors_converts_arrays():
    namespace = {"twice": lambda x, k=1: (x * 2, k)}
    doubled, k = drivers.call_with_tensors(namespace, "twice", np.array([1.0, 2.0]), k=3)
    assert isinstance(doubled, np.ndarray) and doubled.tolist() == [2.0, 4.0] and k == 3
    with pytest.raises(NameError, match="not defined"):
        drivers.call_with_tensors(namespace, "missing")


def test_drivers_and_widgets_hold_no_solutions():
    for module in ("drivers.py", "widgets.py", "data.py", "models.py"):
        text = (PACKAGE / module).read_text()
        secrets = ("(-rho / rho_hat", "torch.log(rho / rho_hat", "Vh[:k]", "randn_like(xb)",
                   "F.cross_entropy(")
        for secret in secrets:
            assert secret not in text, (module, secret)


# --------------------------------------------------------------------- data


def test_loaders_are_offline_and_deterministic(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access in a data loader")

    monkeypatch.setattr(socket, "socket", no_network)
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32 and y.dtype == np.int64
    assert 0.0 <= X.min() and X.max() <= 1.0 and set(np.unique(y)) == set(range(10))
    parts = data.split(X, y, n_test=100, seed=3)
    assert [p.shape[0] for p in parts] == [1697, 100, 1697, 100]
    assert all(np.array_equal(a, b) for a, b in zip(parts, data.split(X, y, n_test=100, seed=3)))

    T, labels, kinds = data.make_telemetry(400, anomaly_rate=0.25, seed=5)
    assert T.shape == (400, 4, 32) and T.dtype == np.float32 and labels.dtype == kinds.dtype == np.int64
    assert labels.sum() == 100 and np.array_equal(labels, (kinds > 0).astype(np.int64))
    assert set(np.unique(kinds)) == {0, 1, 2, 3, 4}
    again = data.make_telemetry(400, anomaly_rate=0.25, seed=5)
    assert all(np.array_equal(a, b) for a, b in zip((T, labels, kinds), again))
    assert not np.array_equal(T, data.make_telemetry(400, anomaly_rate=0.25, seed=6)[0])
    clean = data.make_telemetry(400, anomaly_rate=0.0, seed=5)[0]
    normal = labels == 0
    assert np.array_equal(clean[normal], T[normal])  # faults are injected on top of the same windows
    assert all(not np.array_equal(clean[i], T[i]) for i in np.flatnonzero(labels))
    frozen = int(np.flatnonzero(kinds == 3)[0])
    assert min(np.sum(np.diff(channel) == 0) for channel in T[frozen]) == 0
    assert max(np.sum(np.diff(channel) == 0) for channel in T[frozen]) >= 15
    assert data.make_telemetry(5, window=16, kinds=(1,), anomaly_rate=1.0, seed=0)[0].shape == (5, 4, 16)
    with pytest.raises(ValueError):
        data.make_telemetry(10, anomaly_rate=1.5)


# ------------------------------------------------------------------- hooks


def test_hooks_register_the_topic(pm):
    (topic,) = [t for group in pm.hook.dlcourse_register_topics(course=None) for t in group]
    assert isinstance(topic, Topic) and (topic.slug, topic.order) == ("autoencoders", 60)
    (sources,) = pm.hook.dlcourse_register_notebooks(course=None, topic=topic)
    assert all(isinstance(s, NotebookSource) and s.path.exists() and s.time_limit == 60.0 for s in sources)
    assert {(s.assignment, s.name, s.kind) for s in sources} == {
        ("autoencoders", "autoencoders", "assignment"),
        ("autoencoders_lesson", "lesson", "lesson"),
    }
    (checks,) = pm.hook.dlcourse_register_checks(course=None, topic=topic)
    assert {c.id for c in checks} == set(CHECKS_BY_ID)
    (visualisers,) = pm.hook.dlcourse_register_visualisers(course=None)
    assert [(v.name, v.topic) for v in visualisers] == [("autoencoder_explorer", "autoencoders")]
    assert isinstance(visualisers[0], Visualiser) and visualisers[0].compute is widgets.autoencoder_view
    (datasets,) = pm.hook.dlcourse_register_datasets(course=None)
    assert all(isinstance(d, Dataset) for d in datasets)
    assert {d.name for d in datasets} == {"digits", "telemetry"}
    assert datasets[0].load()[0].shape == (1797, 64) and datasets[1].load(10)[0].shape == (10, 4, 32)
