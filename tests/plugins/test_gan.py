"""Tests of the GAN topic plugin: checks, notebooks, widget, drivers and data."""

from __future__ import annotations

import ast
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

import dlcourse_gan  # noqa: E402
from dlcourse.checking import InKernelStudent, run_check, score_cases  # noqa: E402
from dlcourse.types import Check, Dataset, NotebookSource, Topic, Visualiser  # noqa: E402
from dlcourse_gan import data, drivers, widgets  # noqa: E402
from dlcourse_gan.hidden import checks as hidden  # noqa: E402
from dlcourse_gan.hidden.checks import CHECKS  # noqa: E402
from dlcourse.testing import (  # noqa: E402
    SOLUTION_REGION,
    assert_missing_function_scores_zero,
    assert_public_tests_need_the_exercises,
    assert_reference_passes,
    assert_student_safe,
    code_cells,
    release_source,
    with_source,
)

NOTEBOOKS = Path(dlcourse_gan.__file__).parent / "notebooks"
ASSIGNMENT = NOTEBOOKS / "gan.py"
LESSON = NOTEBOOKS / "lesson.py"
CHECKS_BY_ID = {check.id: check for check in CHECKS}


# ----------------------------------------------------------------- helpers


def _messages(cases) -> str:
    return " | ".join(case.message for case in cases if not case.passed)


def _run(check_id: str, namespace: dict, salt: str | None = None):
    return run_check(CHECKS_BY_ID[check_id], InKernelStudent(namespace), salt=salt)


@pytest.fixture(scope="module")
def solution_run() -> dict:
    """The whole solution notebook, public tests included, executed once for this module.

    Returns the namespace plus, under ``__report__``, the CPU time and what
    each grade cell wrote to stderr or warned.
    """
    torch.set_num_threads(1)
    namespace: dict = {}
    noisy: dict[str, str] = {}
    start = time.process_time()
    for cell in code_cells(ASSIGNMENT, tests=True):
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            exec(compile(cell.source, "<notebook cell>", "exec"), namespace)
        if cell.metadata.get("nbgrader") == "tests":
            shown = [str(w.message) for w in caught] + ([err.getvalue()] if err.getvalue() else [])
            if shown:
                noisy[cell.metadata["grade_id"]] = " / ".join(shown)
    namespace["__report__"] = {"cpu": time.process_time() - start, "noisy": noisy}
    return namespace


@pytest.fixture(scope="module")
def solution(solution_run) -> dict:
    return {key: value for key, value in solution_run.items() if key != "__report__"}


@pytest.fixture(scope="module")
def release() -> dict:
    """The release's cells (public tests left out) run top to bottom: nothing may crash."""
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for cell in code_cells(ASSIGNMENT):
            exec(compile(release_source(cell.source), "<release cell>", "exec"), namespace)
    return namespace


# -------------------------------------------------------- reference solution


def test_solution_notebook_runs_within_budget(solution_run):
    report = solution_run["__report__"]
    assert report["cpu"] < 40, f"the solution notebook took {report['cpu']:.1f} s of CPU"
    assert solution_run["explorer"] is not None and solution_run["explorer"].frames is not None
    assert len(solution_run["recorder"]) == 16 and len(solution_run["collapsed"]) == 5


def test_public_tests_are_quiet(solution_run):
    assert solution_run["__report__"]["noisy"] == {}


@pytest.mark.parametrize("seed", ["0", "student-42"])
@pytest.mark.parametrize("check_id", sorted(CHECKS_BY_ID))
def test_reference_passes_every_check(solution, check_id, seed):
    assert_reference_passes(CHECKS_BY_ID[check_id], solution, salt=seed)


@pytest.mark.parametrize("salt", [f"robust-{i}" for i in range(6)])
def test_optimum_check_is_robust_for_the_reference(solution, salt):
    cases = _run("gan.d_optimum", solution, salt=salt)
    assert score_cases(cases) == 1.0, _messages(cases)


def test_checks_are_fast(solution):
    student = InKernelStudent(solution)
    start = time.process_time()
    for check in CHECKS:
        run_check(check, student)
    assert time.process_time() - start < 5


def test_checks_cover_every_exercise():
    expected = {"generator", "discriminator", "d_loss", "g_loss", "d_step", "d_optimum", "g_step",
                "mode_coverage", "ring"}
    assert set(CHECKS_BY_ID) == {f"gan.{name}" for name in expected}
    assert all(isinstance(check, Check) and check.topic == "gan" for check in CHECKS)


def test_untouched_release_scores_zero(release):
    for check in CHECKS:
        cases = run_check(check, InKernelStudent(release))
        assert score_cases(cases) == 0, check.id
        assert any("not implemented" in case.message or "not a trained generator" in case.message
                   for case in cases), _messages(cases)
        assert_student_safe(cases)
    assert_public_tests_need_the_exercises(ASSIGNMENT, release)


def test_release_explorer_says_what_is_missing(release):
    status = release["explorer"].status.value
    assert release["explorer"].frames is None
    assert "<code>train_gan</code>" in status and ("Implement" in status or "No snapshots yet" in status)


# ------------------------------------------------------- checks can fail

WRONG = {
    "generator with a tanh output": (
        "gan.generator",
        "class Generator(nn.Module):\n"
        "    def __init__(self, latent_dim, hidden_dim, out_dim=2):\n"
        "        super().__init__()\n"
        "        self.net = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(),\n"
        "            nn.Linear(hidden_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, out_dim),\n"
        "            nn.Tanh())\n"
        "    def forward(self, z):\n"
        "        return self.net(z)\n",
        "no activation after the last layer",
    ),
    "generator with LeakyReLU": (
        "gan.generator",
        "class Generator(nn.Module):\n"
        "    def __init__(self, latent_dim, hidden_dim, out_dim=2):\n"
        "        super().__init__()\n"
        "        self.net = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.LeakyReLU(0.2),\n"
        "            nn.Linear(hidden_dim, hidden_dim), nn.LeakyReLU(0.2), nn.Linear(hidden_dim, out_dim))\n"
        "    def forward(self, z):\n"
        "        return self.net(z)\n",
        "not LeakyReLU",
    ),
    "generator with one hidden layer": (
        "gan.generator",
        "class Generator(nn.Module):\n"
        "    def __init__(self, latent_dim, hidden_dim, out_dim=2):\n"
        "        super().__init__()\n"
        "        self.net = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(),\n"
        "                                 nn.Linear(hidden_dim, out_dim))\n"
        "    def forward(self, z):\n"
        "        return self.net(z)\n",
        "wrong shapes",
    ),
    "discriminator returning probabilities": (
        "gan.discriminator",
        "_Right = Discriminator\n"
        "class Discriminator(_Right):\n"
        "    def forward(self, x):\n"
        "        return torch.sigmoid(super().forward(x))\n",
        "without a sigmoid",
    ),
    "discriminator returning (N, 1)": (
        "gan.discriminator",
        "_Right = Discriminator\n"
        "class Discriminator(_Right):\n"
        "    def forward(self, x):\n"
        "        return self.net(x)\n",
        "squeeze",
    ),
    "discriminator with the default slope": (
        "gan.discriminator",
        "_Right = Discriminator\n"
        "class Discriminator(_Right):\n"
        "    def __init__(self, in_dim, hidden_dim):\n"
        "        super().__init__(in_dim, hidden_dim)\n"
        "        self.net[1] = nn.LeakyReLU(); self.net[3] = nn.LeakyReLU()\n",
        "negative_slope should be 0.2",
    ),
    "discriminator loss averaging the two terms": (
        "gan.d_loss",
        "def discriminator_loss(real_logits, fake_logits):\n"
        "    return 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())\n",
        "average of the two terms",
    ),
    "discriminator loss with swapped labels": (
        "gan.d_loss",
        "def discriminator_loss(real_logits, fake_logits):\n"
        "    return F.softplus(real_logits).mean() + F.softplus(-fake_logits).mean()\n",
        "label 1",
    ),
    "discriminator loss as one mean over both batches": (
        "gan.d_loss",
        "def discriminator_loss(real_logits, fake_logits):\n"
        "    logits = torch.cat([real_logits, fake_logits])\n"
        "    labels = torch.cat([torch.ones_like(real_logits), torch.zeros_like(fake_logits)])\n"
        "    return F.binary_cross_entropy_with_logits(logits, labels)\n",
        "not one mean over both",
    ),
    "discriminator loss returning a float": (
        "gan.d_loss",
        "_right_d_loss = discriminator_loss\n"
        "def discriminator_loss(real_logits, fake_logits):\n"
        "    return _right_d_loss(real_logits, fake_logits).item()\n",
        "0-dim tensor",
    ),
    "saturating generator loss": (
        "gan.g_loss",
        "def generator_loss(fake_logits):\n"
        "    return -F.softplus(fake_logits).mean()\n",
        "saturating",
    ),
    "discriminator step without zero_grad": (
        "gan.d_step",
        "def discriminator_step(D, d_opt, real, fake):\n"
        "    loss = discriminator_loss(D(real), D(fake.detach()))\n"
        "    loss.backward(); d_opt.step()\n"
        "    return loss.item()\n",
        "zero_grad",
    ),
    "discriminator step without detach": (
        "gan.d_step",
        "def discriminator_step(D, d_opt, real, fake):\n"
        "    d_opt.zero_grad()\n"
        "    loss = discriminator_loss(D(real), D(fake))\n"
        "    loss.backward(); d_opt.step()\n"
        "    return loss.item()\n",
        "detach",
    ),
    "discriminator step with swapped labels": (
        "gan.d_optimum",
        "def discriminator_step(D, d_opt, real, fake):\n"
        "    d_opt.zero_grad()\n"
        "    loss = discriminator_loss(D(fake.detach()), D(real))\n"
        "    loss.backward(); d_opt.step()\n"
        "    return loss.item()\n",
        "swapped",
    ),
    "discriminator step that never steps": (
        "gan.d_step",
        "def discriminator_step(D, d_opt, real, fake):\n"
        "    d_opt.zero_grad()\n"
        "    loss = discriminator_loss(D(real), D(fake.detach()))\n"
        "    loss.backward()\n"
        "    return loss.item()\n",
        "d_opt.step()",
    ),
    "generator step with the saturating loss": (
        "gan.g_step",
        "def generator_step(G, D, g_opt, z):\n"
        "    g_opt.zero_grad()\n"
        "    loss = -F.softplus(D(G(z))).mean()\n"
        "    loss.backward(); g_opt.step()\n"
        "    return loss.item()\n",
        "saturating",
    ),
    "generator step without zero_grad": (
        "gan.g_step",
        "def generator_step(G, D, g_opt, z):\n"
        "    loss = generator_loss(D(G(z)))\n"
        "    loss.backward(); g_opt.step()\n"
        "    return loss.item()\n",
        "zero_grad",
    ),
    "mode coverage counting any near sample": (
        "gan.mode_coverage",
        "_right_coverage = mode_coverage\n"
        "def mode_coverage(samples, centres, radius, min_share=0.02):\n"
        "    return _right_coverage(samples, centres, radius, min_share=1e-9)\n",
        "not just one",
    ),
    "mode coverage returning a count": (
        "gan.mode_coverage",
        "_right_coverage = mode_coverage\n"
        "def mode_coverage(samples, centres, radius, min_share=0.02):\n"
        "    covered, near = _right_coverage(samples, centres, radius, min_share)\n"
        "    return covered, near * len(samples)\n",
        "not a count",
    ),
    "a callback tested by its truth value": (
        "gan.ring",
        "_right_train = train_gan\n"
        "def train_gan(data, callback=None, **kwargs):\n"
        "    return _right_train(data, callback=callback if callback else None, **kwargs)\n",
        "callback is not None",
    ),
    "an untrained generator": (
        "gan.ring",
        "torch.manual_seed(1)\n"
        "G_ring = Generator(2, 64, 2)\n",
        "betas=(0.5, 0.9)",
    ),
}


@pytest.mark.parametrize("name", sorted(WRONG))
def test_wrong_versions_lose_points(solution, name):
    check_id, source, hint = WRONG[name]
    cases = _run(check_id, with_source(solution, source))
    assert score_cases(cases) < 1, name
    assert hint in _messages(cases), _messages(cases)
    assert_student_safe(cases)


def test_naive_log_sigmoid_gets_partial_credit(solution):
    naive = with_source(solution, "def discriminator_loss(real_logits, fake_logits):\n"
                            "    return -(torch.log(torch.sigmoid(real_logits)).mean()\n"
                            "             + torch.log(1 - torch.sigmoid(fake_logits)).mean())\n")
    cases = _run("gan.d_loss", naive)
    assert 0 < score_cases(cases) < 1
    assert "work on the logits" in _messages(cases)


def test_step_without_detach_gets_partial_credit(solution):
    cases = _run("gan.d_step", with_source(solution, WRONG["discriminator step without detach"][1]))
    assert 0.8 < score_cases(cases) < 1


def test_missing_function_is_reported(solution):
    for check_id in ("gan.d_step", "gan.d_optimum"):
        assert_missing_function_scores_zero(CHECKS_BY_ID[check_id], solution, "discriminator_step")


def test_a_failing_student_function_is_reported_by_name(solution):
    broken = with_source(solution, "def generator_step(G, D, g_opt, z):\n    raise ValueError('oops')\n")
    cases = _run("gan.g_step", broken)
    assert score_cases(cases) == 0 and "`generator_step` raised ValueError: oops" in _messages(cases)


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
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
            for match in SOLUTION_REGION.finditer(cell.source):
                before = cell.source[: match.start()]
                assert re.search(r"^(def|class) \w+", before, re.M), "the signature stays outside the region"
                assert '"""' in before, "the docstring stays outside the solution region"
            assert code[index + 1].metadata.get("nbgrader") == "tests", cell.metadata["grade_id"]
        if cell.metadata.get("nbgrader") == "tests":
            assert "assert" in cell.source and re.search(r"assert .+, ", cell.source)
    skipped = [cell.metadata["grade_id"] for cell in code if cell.metadata.get("skip_grading")]
    assert skipped == ["explore", "mode_collapse"]


def test_notebook_states_the_graded_training_run():
    source = ASSIGNMENT.read_text()
    call = re.search(r"G_ring, D_ring, history_ring = (train_gan\(.*?\))\n", source, re.DOTALL).group(1)
    given = {kw.arg: kw.value for kw in ast.parse(call).body[0].value.keywords}
    for key, value in hidden.RING_SETTINGS.items():
        assert ast.literal_eval(given[key]) == value, key
    assert "at least 5" in source and "half of the samples" in source


def test_lesson_is_a_lesson():
    notebook = jupytext.read(LESSON)
    assert not any("nbgrader" in cell.metadata for cell in notebook.cells)
    text = LESSON.read_text()
    assert "hidden" not in re.findall(r"from dlcourse_gan\.(\w+)", text)
    assert "plt.show()" in text and "gan_training_explorer" in text


# ------------------------------------------------------------------- widget


def test_training_frames_shapes_and_determinism(solution):
    kwargs = {"steps": 20, "seed": 3, "snapshot_every": 10, "n_samples": 40, "grid_size": 12,
              "batch_size": 32, "hidden_dim": 8}
    first = widgets.training_frames(solution["train_gan"], data.sample_ring(200, seed=1), **kwargs)
    again = widgets.training_frames(solution["train_gan"], data.sample_ring(200, seed=1), **kwargs)
    assert first["steps"].tolist() == [0, 10, 20]
    assert first["samples"].shape == (3, 40, 2) and first["surface"].shape == (3, 12, 12)
    assert first["xx"].shape == first["yy"].shape == (12, 12) and first["real"].shape == (40, 2)
    assert first["d_real"].shape == first["d_fake"].shape == (3,)
    assert np.all((first["surface"] >= 0) & (first["surface"] <= 1))
    assert all(np.array_equal(first[key], again[key]) for key in first)


def test_recording_does_not_change_training(solution):
    train = solution["train_gan"]
    X = data.sample_ring(200, seed=2)
    G1, _, h1 = train(X, steps=15, batch_size=32, hidden_dim=8, seed=4)
    G2, _, h2 = train(X, steps=15, batch_size=32, hidden_dim=8, seed=4, callback=widgets.SnapshotRecorder(X),
                      snapshot_every=5)
    assert h1 == h2
    assert all(torch.equal(a, b) for a, b in zip(G1.parameters(), G2.parameters()))


def test_training_frames_needs_the_callback():
    def silent(data, **kwargs):
        return None

    with pytest.raises(ValueError, match="callback"):
        widgets.training_frames(silent, data.sample_ring(50))


def test_plot_frame_draws(solution):
    frames = solution["recorder"].frames()
    fig = widgets.plot_frame(frames, 3, show_surface=False)
    assert len(fig.axes) == 2 and "300" in fig.axes[0].get_title()
    assert len(widgets.plot_frame(frames, 3).axes) == 3  # with the colour bar


def test_explorer_reacts_to_its_controls(solution):
    import ipywidgets

    box = widgets.gan_training_explorer(solution["train_gan"], solution["X_ring"],
                                        frames=solution["recorder"], steps=20, snapshot_every=10,
                                        batch_size=32, hidden_dim=8)
    assert isinstance(box, ipywidgets.VBox)
    controls = box.children[0].children
    assert [type(c).__name__ for c in controls] == ["IntSlider", "Checkbox", "Dropdown"]
    assert box.snapshot_slider.max == 15 and box.snapshot_slider.value == 15
    assert "step 1500" in box.status.value and "image/png" in box.output.outputs[0]["data"]
    picture = box.output.outputs[0]["data"]["image/png"]
    box.snapshot_slider.value = 2
    assert "step 200" in box.status.value and box.output.outputs[0]["data"]["image/png"] != picture
    picture = box.output.outputs[0]["data"]["image/png"]
    box.surface_toggle.value = False
    assert box.output.outputs[0]["data"]["image/png"] != picture
    shown = box.frames
    box.seed_dropdown.value = 1  # trains again with the given (tiny) settings
    assert box.frames is not shown and box.frames["steps"].tolist() == [0, 10, 20]
    assert box.snapshot_slider.max == 2 and "seed 1, step 20" in box.status.value


def test_explorer_survives_unwritten_and_broken_functions(release, solution):
    box = widgets.gan_training_explorer(release["train_gan"], steps=20)
    assert box.frames is None and "Implement <code>train_gan</code>" in box.status.value
    assert box.output.outputs == ()
    box.seed_dropdown.value = 2  # still no crash
    assert box.frames is None and box.last_error == "not implemented"

    def broken(data, **kwargs):
        raise RuntimeError("shapes do not match")

    box = widgets.gan_training_explorer(broken, solution["X_ring"])
    assert box.frames is None and "RuntimeError" in box.status.value
    box = widgets.gan_training_explorer(broken, frames=widgets.SnapshotRecorder(solution["X_ring"]))
    assert box.frames is None and "No snapshots yet" in box.status.value


# ------------------------------------------------------------------ drivers


def test_module_probe_keeps_the_torch_random_state(solution):
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    result = drivers.module_probe(solution, "Generator", [2, 4, 2], np.zeros((3, 2)), seed=9)
    assert torch.equal(torch.rand(3), expected)
    assert [p.shape for p in result["params"]] == [(4, 2), (4,), (4, 4), (4,), (2, 4), (2,)]
    assert result["dtype"] == "float32" and all(result["received_grad"])


def test_driver_networks():
    weights = [np.eye(2), np.zeros(2), np.ones((1, 2)), np.zeros(1)]
    net = drivers.MLP(weights, "relu", squeeze=True)
    out = net(torch.tensor([[1.0, -2.0]], dtype=torch.float64))
    assert out.shape == (1,) and out.item() == 1.0
    critic = drivers.QuadraticCritic(shift=1.0, scale=2.0)
    probs = torch.sigmoid(critic(torch.randn(5, 1, dtype=torch.float64)))
    assert torch.equal(probs, torch.full((5,), 0.5, dtype=torch.float64))
    with pytest.raises(ValueError):
        drivers.MLP(weights[:3])


def test_coverage_oracle_matches_the_reference(solution):
    rng = np.random.default_rng(0)
    for _ in range(5):
        samples, centres, radius, share = hidden._coverage_problem(rng)
        assert hidden.coverage_oracle(samples, centres, radius, share) == solution["mode_coverage"](
            samples, centres, radius, min_share=share)


def test_public_modules_hold_no_solutions():
    for module in ("drivers.py", "widgets.py", "data.py", "__init__.py"):
        text = (Path(dlcourse_gan.__file__).parent / module).read_text()
        for name in ("discriminator_loss", "generator_loss", "discriminator_step", "generator_step",
                     "mode_coverage", "train_gan"):
            assert f"def {name}" not in text, (module, name)
        if module != "__init__.py":  # only the check hook imports hidden/, guarded by ImportError
            assert "hidden" not in re.findall(r"from dlcourse_gan\.(\w+)", text), module


# --------------------------------------------------------------------- data


def test_loaders_are_offline_and_deterministic(monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access in a data loader")

    monkeypatch.setattr(socket, "socket", no_network)
    X1 = data.sample_ring(300, seed=3)
    X2, modes = data.sample_ring(300, seed=3, return_modes=True)
    assert X1.shape == (300, 2) and X1.dtype == np.float32 and np.array_equal(X1, X2)
    assert modes.dtype == np.int64 and set(np.unique(modes)) <= set(range(8))
    centres = data.ring_centres()
    assert centres.shape == (8, 2) and np.allclose(np.linalg.norm(centres, axis=1), 2.0)
    assert np.allclose(centres[0], [2.0, 0.0])
    assert np.max(np.linalg.norm(X1 - centres[modes], axis=1)) < 0.3  # std 0.05
    assert not np.array_equal(X1, data.sample_ring(300, seed=4))
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32 and y.dtype == np.int64
    assert X.min() == -1.0 and X.max() == 1.0 and set(np.unique(y)) == set(range(10))
    assert data.load_digits(scale="unit")[0].min() == 0.0
    with pytest.raises(ValueError):
        data.load_digits(scale="pixels")


# ------------------------------------------------------------------- hooks


def test_hooks_register_the_topic(pm):
    (topic,) = [t for group in pm.hook.dlcourse_register_topics(course=None) for t in group]
    assert isinstance(topic, Topic) and (topic.slug, topic.order) == ("gan", 80)
    (sources,) = pm.hook.dlcourse_register_notebooks(course=None, topic=topic)
    assert all(isinstance(s, NotebookSource) and s.path.exists() and s.time_limit == 60.0 for s in sources)
    assert {(s.assignment, s.name, s.kind) for s in sources} == {
        ("gan", "gan", "assignment"),
        ("gan_lesson", "lesson", "lesson"),
    }
    (checks,) = pm.hook.dlcourse_register_checks(course=None, topic=topic)
    assert {c.id for c in checks} == set(CHECKS_BY_ID)
    (visualisers,) = pm.hook.dlcourse_register_visualisers(course=None)
    assert [(v.name, v.topic) for v in visualisers] == [("gan_training", "gan")]
    assert isinstance(visualisers[0], Visualiser) and visualisers[0].compute is widgets.training_frames
    (datasets,) = pm.hook.dlcourse_register_datasets(course=None)
    assert all(isinstance(d, Dataset) for d in datasets)
    assert {d.name for d in datasets} == {"ring", "digits"}
    assert datasets[0].load().shape == (2000, 2)
