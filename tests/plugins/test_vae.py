"""Tests of the variational autoencoder topic plugin: checks, notebooks, widget and data."""

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

import dlcourse_vae  # noqa: E402
from dlcourse.checking import InKernelStudent, run_check, score_cases  # noqa: E402
from dlcourse.types import Check, Dataset, NotebookSource, Topic, Visualiser  # noqa: E402
from dlcourse_vae import data, widgets  # noqa: E402
from dlcourse_vae.hidden.checks import CHECKS, MAX_HELDOUT_NELBO  # noqa: E402
from dlcourse.testing import (  # noqa: E402
    SOLUTION_REGION,
    assert_missing_function_scores_zero,
    assert_public_tests_need_the_exercises,
    assert_reference_passes,
    assert_wrong_version_loses_points,
    release_source,
    with_source,
)

# One worker runs the whole module, so the solution notebook executes once.
pytestmark = pytest.mark.xdist_group("vae")

NOTEBOOKS = Path(dlcourse_vae.__file__).parent / "notebooks"
ASSIGNMENT = NOTEBOOKS / "vae.py"
LESSON = NOTEBOOKS / "lesson.py"
CHECKS_BY_ID = {check.id: check for check in CHECKS}
SOLUTION_CPU_BUDGET = 20.0  # seconds of CPU for the whole solution notebook (graded limit: 60 s wall)


# ----------------------------------------------------------------- helpers


def _code_cells(path: Path, *, tests: bool = True):
    for cell in jupytext.read(path).cells:
        if cell.cell_type == "code" and (tests or cell.metadata.get("nbgrader") != "tests"):
            yield cell


def _run_notebook(path: Path, *, release: bool = False) -> dict:
    """Execute every code cell; a release skips its test cells (they raise, as they should)."""
    namespace: dict = {"__test_stderr__": {}}
    for cell in _code_cells(path, tests=not release):
        source = release_source(cell.source) if release else cell.source
        is_test = cell.metadata.get("nbgrader") == "tests"
        err = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            warnings.simplefilter("error" if is_test else "ignore", UserWarning)  # plt.show() under Agg warns
            exec(compile(source, "<notebook cell>", "exec"), namespace)
        if is_test:
            namespace["__test_stderr__"][cell.metadata["grade_id"]] = err.getvalue()
    return namespace


def _student(namespace: dict) -> InKernelStudent:
    return InKernelStudent(namespace)


@pytest.fixture(scope="module")
def solution() -> dict:
    """The reference notebook, run once top to bottom (its test cells train the model)."""
    started = time.process_time()
    namespace = _run_notebook(ASSIGNMENT)
    namespace["__cpu_seconds__"] = time.process_time() - started
    return namespace


@pytest.fixture(scope="module")
def release() -> dict:
    return _run_notebook(ASSIGNMENT, release=True)


# -------------------------------------------------------- reference solution


def test_solution_notebook_runs_within_budget(solution):
    assert solution["__cpu_seconds__"] < SOLUTION_CPU_BUDGET, f"{solution['__cpu_seconds__']:.1f} s of CPU"
    assert solution["history"][-1] < MAX_HELDOUT_NELBO
    assert solution["explorer"] is not None and solution["explorer"].last_result is not None


def test_public_tests_are_quiet(solution):
    quiet = solution["__test_stderr__"]
    assert len(quiet) == 8 and all(text == "" for text in quiet.values()), quiet


@pytest.mark.parametrize("seed", ["0", "student-42"])
@pytest.mark.parametrize("check_id", sorted(CHECKS_BY_ID))
def test_reference_passes_every_check(solution, check_id, seed, monkeypatch):
    monkeypatch.setenv("DLCOURSE_GRADING_SEED", seed)
    assert_reference_passes(CHECKS_BY_ID[check_id], solution)


def test_checks_are_fast(solution):
    student = _student(solution)
    started = time.process_time()
    for check in CHECKS:
        run_check(check, student)
    assert time.process_time() - started < 3


def test_checks_cover_every_exercise():
    expected = {"encoder", "reparameterize", "kl", "elbo", "train", "sample", "interpolate", "arithmetic"}
    assert set(CHECKS_BY_ID) == {f"vae.{name}" for name in expected}
    assert all(isinstance(check, Check) and check.topic == "vae" for check in CHECKS)


def test_untouched_release_scores_zero(release):
    student = _student(release)
    for check in CHECKS:
        cases = run_check(check, student)
        assert score_cases(cases) == 0, check.id
        assert any("not implemented" in case.message or "not defined" in case.message for case in cases), (
            [case.message for case in cases])
    assert_public_tests_need_the_exercises(ASSIGNMENT, release)


def test_release_explorer_says_what_is_missing(release):
    explorer = release["explorer"]
    assert explorer is not None and explorer.last_result is None
    assert "not defined yet" in explorer.status.value  # `vae` was never trained


# ------------------------------------------------------- checks can fail

WRONG = {
    "encoder without the ReLU": (
        "vae.encoder",
        "class Encoder(nn.Module):\n"
        "    def __init__(self, in_dim=64, hidden_dim=128, latent_dim=2):\n"
        "        super().__init__()\n"
        "        self.hidden = nn.Linear(in_dim, hidden_dim)\n"
        "        self.mu = nn.Linear(hidden_dim, latent_dim)\n"
        "        self.logvar = nn.Linear(hidden_dim, latent_dim)\n"
        "    def forward(self, x):\n"
        "        h = self.hidden(x)\n"
        "        return self.mu(h), self.logvar(h)\n",
        "apply a ReLU",
    ),
    "encoder returning the variance": (
        "vae.encoder",
        "_Right = Encoder\n"
        "class Encoder(_Right):\n"
        "    def forward(self, x):\n"
        "        mu, logvar = super().forward(x)\n"
        "        return mu, logvar.exp()\n",
        "no exp after the logvar head",
    ),
    "encoder with one fused head": (
        "vae.encoder",
        "class Encoder(nn.Module):\n"
        "    def __init__(self, in_dim=64, hidden_dim=128, latent_dim=2):\n"
        "        super().__init__()\n"
        "        self.hidden = nn.Linear(in_dim, hidden_dim)\n"
        "        self.heads = nn.Linear(hidden_dim, 2 * latent_dim)\n"
        "    def forward(self, x):\n"
        "        return self.heads(F.relu(self.hidden(x))).chunk(2, dim=1)\n",
        "named hidden, mu and logvar",
    ),
    "reparameterize with std = exp(logvar)": (
        "vae.reparameterize",
        "def reparameterize(mu, logvar):\n    return mu + torch.exp(logvar) * torch.randn_like(mu)\n",
        "exp(0.5 * logvar)",
    ),
    "reparameterize with torch.normal": (
        "vae.reparameterize",
        "def reparameterize(mu, logvar):\n    return torch.normal(mu, torch.exp(0.5 * logvar))\n",
        "torch.normal",
    ),
    "reparameterize through NumPy": (
        "vae.reparameterize",
        "def reparameterize(mu, logvar):\n"
        "    std = np.exp(0.5 * logvar.detach().numpy())\n"
        "    return torch.from_numpy(mu.detach().numpy() + std * np.random.standard_normal(std.shape))\n",
        "autograd does not reach",
    ),
    "reparameterize sharing eps across dimensions": (
        "vae.reparameterize",
        "def reparameterize(mu, logvar):\n"
        "    return mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape[0], 1, dtype=mu.dtype)\n",
        "correlated",
    ),
    "reparameterize reseeding at every call": (
        "vae.reparameterize",
        "def reparameterize(mu, logvar):\n"
        "    torch.manual_seed(0)\n"
        "    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)\n",
        "do not reseed",
    ),
    "KL summed over the batch": (
        "vae.kl",
        "def gaussian_kl(mu, logvar):\n    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum()\n",
        "mean over examples",
    ),
    "KL averaged over latent dimensions": (
        "vae.kl",
        "def gaussian_kl(mu, logvar):\n    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).mean()\n",
        "sum over them",
    ),
    "KL reading logvar as log sigma": (
        "vae.kl",
        "def gaussian_kl(mu, logvar):\n"
        "    return 0.5 * (mu**2 + torch.exp(2 * logvar) - 1 - 2 * logvar).sum(1).mean()\n",
        "sigma**2 = exp(logvar)",
    ),
    "KL as a Python float": (
        "vae.kl",
        "def gaussian_kl(mu, logvar):\n    return float(0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean())\n",
        "autograd cannot differentiate",
    ),
    "loss averaging the BCE over pixels": (
        "vae.elbo",
        "def vae_loss(x, logits, mu, logvar, beta=1.0):\n"
        "    return F.binary_cross_entropy_with_logits(logits, x) + beta * gaussian_kl(mu, logvar)\n",
        "sum the binary cross-entropy over the pixels",
    ),
    "loss ignoring beta": (
        "vae.elbo",
        "def vae_loss(x, logits, mu, logvar, beta=1.0):\n"
        "    return F.binary_cross_entropy_with_logits(logits, x, reduction='sum') / len(x) + gaussian_kl(mu, logvar)\n",
        "multiply the KL term by beta",
    ),
    "loss through log(sigmoid)": (
        "vae.elbo",
        "def vae_loss(x, logits, mu, logvar, beta=1.0):\n"
        "    p = torch.sigmoid(logits)\n"
        "    bce = -(x * torch.log(p) + (1 - x) * torch.log(1 - p))\n"
        "    return bce.sum() / len(x) + beta * gaussian_kl(mu, logvar)\n",
        "not stable for large logits",
    ),
    "loss through binary_cross_entropy of probabilities": (
        "vae.elbo",
        "def vae_loss(x, logits, mu, logvar, beta=1.0):\n"
        "    bce = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction='sum')\n"
        "    return bce / len(x) + beta * gaussian_kl(mu, logvar)\n",
        "not stable for large logits",
    ),
    "an untrained model": (
        "vae.train",
        "torch.manual_seed(3)\nvae = VAE(64, 128, 2)\nhistory = [44.0, 44.5]\n",
        "is above the required",
    ),
    "decode returning logits": (
        "vae.sample",
        "def decode(decoder, z):\n    with torch.no_grad():\n        return decoder(z)\n",
        "apply torch.sigmoid",
    ),
    "sample from a uniform distribution": (
        "vae.sample",
        "def sample(decoder, n, latent_dim):\n    return decode(decoder, torch.rand(n, latent_dim))\n",
        "torch.rand",
    ),
    "interpolate without the last end": (
        "vae.interpolate",
        "def interpolate(z_a, z_b, steps):\n"
        "    t = torch.arange(steps, dtype=z_a.dtype).unsqueeze(1) / steps\n"
        "    return z_a + t * (z_b - z_a)\n",
        "include both ends",
    ),
    "class sums instead of means": (
        "vae.arithmetic",
        "def class_means(mu, labels, num_classes=10):\n"
        "    return torch.stack([mu[labels == c].sum(0) for c in range(num_classes)])\n",
        "these are sums",
    ),
    "latent shift in the wrong direction": (
        "vae.arithmetic",
        "def latent_shift(z, means, source, target, alpha=1.0):\n"
        "    return z + alpha * (means[source] - means[target])\n",
        "from the source class mean",
    ),
}


@pytest.mark.filterwarnings("ignore::UserWarning")  # some wrong versions make torch warn
@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_versions_lose_points(solution, name):
    check_id, source, hint = WRONG[name]
    assert_wrong_version_loses_points(CHECKS_BY_ID[check_id], solution, source, hint)


def test_missing_function_is_reported(solution):
    assert_missing_function_scores_zero(CHECKS_BY_ID["vae.interpolate"], solution, "interpolate")


@pytest.mark.parametrize("check_id, source", [
    # the value is wrong, but the KL at the prior (0 either way) is right
    ("vae.kl", WRONG["KL summed over the batch"][1]),
    # the gradient to mu and the mean of the samples are right, the spread is not
    ("vae.reparameterize", WRONG["reparameterize with std = exp(logvar)"][1]),
    # decode is right, the prior is not
    ("vae.sample", WRONG["sample from a uniform distribution"][1]),
    # the means are right, the shift is not
    ("vae.arithmetic", WRONG["latent shift in the wrong direction"][1]),
])
def test_partial_credit(solution, check_id, source):
    cases = run_check(CHECKS_BY_ID[check_id], _student(with_source(solution, source)))
    assert 0 < score_cases(cases) < 1, [case.message for case in cases]


# --------------------------------------------------------- notebook sources


def test_assignment_structure():
    code = list(_code_cells(ASSIGNMENT))
    assert code[0].metadata.get("nbgrader") == "readonly"
    assert "dlcourse.seed_everything(0)" in code[0].source and 'load_digits_split("train")' in code[0].source
    ids = [cell.metadata["grade_id"] for cell in code if "grade_id" in cell.metadata]
    assert len(ids) == len(set(ids))
    tests = [cell for cell in code if cell.metadata.get("nbgrader") == "tests"]
    assert 25 <= sum(cell.metadata["points"] for cell in tests) <= 30
    named = [check for cell in tests for check in cell.metadata["checks"]]
    assert sorted(named) == sorted(CHECKS_BY_ID)
    for index, cell in enumerate(code):
        if cell.metadata.get("nbgrader") == "solution":
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
            for match in SOLUTION_REGION.finditer(cell.source):
                before = cell.source[: match.start()]
                assert re.search(r"^(def|class) \w+", before, re.M), "the def line stays outside the region"
                assert '"""' in before, "the docstring stays outside the solution region"
            assert code[index + 1].metadata.get("nbgrader") == "tests", cell.metadata["grade_id"]
        if cell.metadata.get("nbgrader") == "tests":
            assert re.search(r"assert .+, ", cell.source), cell.metadata["grade_id"]
    explore = code[-1]
    assert explore.metadata.get("skip_grading") is True and "latent_explorer" in explore.source
    assert "heldout" not in ASSIGNMENT.read_text(), "the held-out split stays out of the notebook"


@pytest.mark.slow
def test_lesson_runs_top_to_bottom():
    notebook = jupytext.read(LESSON)
    assert not any("nbgrader" in cell.metadata for cell in notebook.cells)
    started = time.process_time()
    namespace = _run_notebook(LESSON)
    assert time.process_time() - started < 30
    assert namespace["realism"](namespace["vae_samples"]) < namespace["realism"](namespace["ae_fitted_samples"])
    assert namespace["negative_elbo"](namespace["vae2"], namespace["X_test"], 2)[0] < MAX_HELDOUT_NELBO
    assert 1 <= int((namespace["kl_per_dim"] > 0.1).sum()) < 8  # some dimensions collapse to the prior
    assert namespace["explorer"].last_result is not None


# ------------------------------------------------------------------- widget


def _toy_decoder(latent_dim: int, seed: int = 0):
    """A fixed random linear decoder (codes -> 64 pixel probabilities)."""
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(latent_dim, 64, generator=generator)
    return lambda z: torch.sigmoid(z @ weight)


def test_latent_grid_layout():
    decode = _toy_decoder(3)
    result = widgets.latent_grid(decode, 3, dims=(2, 0), span=2.0, grid_size=4, base=np.array([0.0, 0.0, 0.0]),
                                 gap=1)
    assert result["values"].tolist() == pytest.approx([-2.0, -2 / 3, 2 / 3, 2.0])
    assert result["z"].shape == (16, 3) and result["images"].shape == (4, 4, 8, 8)
    assert result["canvas"].shape == (4 * 9 - 1, 4 * 9 - 1)
    # the top-left tile is (across = -span, up = +span); the dimension not on the grid keeps base
    assert result["z"][0].tolist() == [2.0, 0.0, -2.0] and np.all(result["z"][:, 1] == 0)
    top_left = widgets.decode_codes(decode, np.array([[2.0, 0.0, -2.0]]))[0]
    assert np.allclose(result["canvas"][:8, :8], top_left) and np.allclose(result["images"][0, 0], top_left)
    assert np.all(result["canvas"][8, :] == 0)  # the blank gap between tile rows
    bottom_right = widgets.decode_codes(decode, np.array([[-2.0, 0.0, 2.0]]))[0]
    assert np.allclose(result["canvas"][-8:, -8:], bottom_right)
    with pytest.raises(ValueError, match="different"):
        widgets.latent_grid(decode, 3, dims=(1, 1))
    with pytest.raises(ValueError, match="expected"):
        widgets.decode_codes(lambda z: torch.zeros(len(z), 10), np.zeros((2, 3)))


def test_explorer_reacts_to_controls(solution):
    import ipywidgets

    box = widgets.latent_explorer(lambda z: solution["decode"](solution["vae"].decoder, z), latent_dim=2,
                                  grid_size=6)
    assert isinstance(box, ipywidgets.VBox) and len(box.z_sliders) == 2
    first = box.last_result
    assert first is not None and len(box.output.outputs) == 1 and "image/png" in box.output.outputs[0]["data"]
    box.z_sliders[0].value = 2.5
    second = box.last_result
    assert second["point"].tolist() == [2.5, 0.0] and not np.allclose(second["image"], first["image"])
    assert np.allclose(second["canvas"], first["canvas"])  # the grid spans z1 and z2 whatever the sliders
    box.span_slider.value = 1.0
    assert box.last_result["values"][-1] == 1.0 and not np.allclose(box.last_result["canvas"], first["canvas"])
    assert "+2.5" in box.status.value


def test_explorer_dropdowns_choose_the_grid():
    box = widgets.latent_explorer(_toy_decoder(3), latent_dim=3, grid_size=4)
    assert [s.description for s in box.z_sliders] == ["z1", "z2", "z3"]
    before = box.last_result["canvas"]
    box.x_dropdown.value = 2
    assert np.all(box.last_result["z"][:, 0] == 0) and not np.allclose(box.last_result["canvas"], before)
    box.y_dropdown.value = 2
    assert box.last_result is None and "different" in box.status.value
    box.y_dropdown.value = 0
    assert box.last_result is not None


def test_explorer_survives_unwritten_functions(release):
    decode = release["decode"]
    box = widgets.latent_explorer(lambda z: decode(torch.nn.Linear(2, 64), z), latent_dim=2)
    assert box.last_result is None and "Implement <code>decode</code>" in box.status.value
    box.z_sliders[1].value = 1.0  # still no crash
    assert box.last_result is None and box.output.outputs == ()

    def broken(z):
        raise RuntimeError("shape mismatch")

    box = widgets.latent_explorer(broken, latent_dim=2)
    assert box.last_result is None and "RuntimeError" in box.status.value


# --------------------------------------------------------------------- data


def test_loaders_are_offline_and_deterministic(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access in a data loader")

    monkeypatch.setattr(socket, "socket", no_network)
    X, y = data.load_digits_split("train")
    X_held, y_held = data.load_digits_split("heldout")
    X_all, _ = data.load_digits_split("all")
    assert X.shape == (data.TRAIN_SIZE, 64) and X_held.shape == (1797 - data.TRAIN_SIZE, 64)
    assert X.dtype == np.float32 and y.dtype == np.int64 and X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y_held)) == set(range(10))
    assert np.array_equal(X, data.load_digits_split("train")[0])
    assert np.array_equal(y_held, data.load_digits_split("heldout")[1])
    # disjoint and complete: together the splits are exactly the full data set
    together = np.sort(np.concatenate([X, X_held]).view(np.uint8).reshape(1797, -1), axis=0)
    assert np.array_equal(together, np.sort(X_all.view(np.uint8).reshape(1797, -1), axis=0))
    assert len(np.unique(np.concatenate([X, X_held]), axis=0)) == len(np.unique(X_all, axis=0))
    with pytest.raises(ValueError):
        data.load_digits_split("test")


# ------------------------------------------------------------------- hooks


def test_hooks_register_the_topic(pm):
    (topic,) = [t for group in pm.hook.dlcourse_register_topics(course=None) for t in group]
    assert isinstance(topic, Topic) and (topic.slug, topic.order) == ("vae", 70)
    (sources,) = pm.hook.dlcourse_register_notebooks(course=None, topic=topic)
    assert all(isinstance(s, NotebookSource) and s.path.exists() and s.time_limit == 60.0 for s in sources)
    assert {(s.assignment, s.name, s.kind) for s in sources} == {
        ("vae", "vae", "assignment"),
        ("vae_lesson", "lesson", "lesson"),
    }
    (checks,) = pm.hook.dlcourse_register_checks(course=None, topic=topic)
    assert {c.id for c in checks} == set(CHECKS_BY_ID)
    (visualisers,) = pm.hook.dlcourse_register_visualisers(course=None)
    assert [(v.name, v.topic) for v in visualisers] == [("latent_space", "vae")]
    assert isinstance(visualisers[0], Visualiser) and visualisers[0].compute is widgets.latent_grid
    assert visualisers[0].build is widgets.latent_explorer
    (datasets,) = pm.hook.dlcourse_register_datasets(course=None)
    assert [d.name for d in datasets] == ["digits"] and isinstance(datasets[0], Dataset)
    assert datasets[0].load()[0].shape == (data.TRAIN_SIZE, 64)


def test_student_safe_modules_hold_no_solutions():
    for module in ("drivers.py", "widgets.py", "data.py"):
        text = (Path(dlcourse_vae.__file__).parent / module).read_text()
        assert not re.search(r"^\s*(from|import) dlcourse_vae\.hidden", text, re.M), module
        assert "randn_like" not in text and "0.5 * logvar" not in text and "reduction=" not in text, module
