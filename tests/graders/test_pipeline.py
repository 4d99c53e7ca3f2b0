"""The course pipeline end to end, on the fast toy topic, with real nbgrader and kernels."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import run_cli
from dlcourse.nbgrader_ops import generate_assignment, tool_env
from dlcourse_graders.grade import grade_assignment
from dlcourse_graders.results import Status

pytestmark = pytest.mark.slow


def test_toy_demo_runs_the_whole_cycle(tmp_path, toy_env):
    result = run_cli("demo", "--course", str(tmp_path / "demo"), "toy", env=toy_env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "all outcomes as expected" in result.stdout
    course = tmp_path / "demo" / "course"
    rows = {r["student"]: r for r in csv.DictReader((course / "grades.csv").open())}
    assert rows["perfect"]["score"] == "5" and rows["perfect"]["status"] == "graded"
    assert rows["untouched"]["score"] == "0" and rows["untouched"]["status"] == "graded"
    assert rows["crasher"]["status"] == "crashed" and rows["looper"]["status"] == "timed out"
    feedback = sorted(course.glob("feedback/*/toy/*.html"))
    assert len(feedback) == 5
    for page in feedback:
        text = page.read_text()
        assert "HIDDEN TESTS" not in text and "run_hidden_checks" not in text, page
    assert "relu([-1, 2]) should be [0, 2]" in (course / "feedback/untouched/toy/toy.html").read_text() or \
        "NotImplementedError" in (course / "feedback/untouched/toy/toy.html").read_text()
    # nbgrader's own export reads what dlcourse grade wrote
    exported = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "nb.csv"], cwd=course,
                              env=tool_env(), capture_output=True, text=True)
    assert exported.returncode == 0, exported.stderr
    nb_rows = {r["student_id"]: r for r in csv.DictReader((course / "nb.csv").open())}
    assert float(nb_rows["perfect"]["score"]) == 5.0 and float(nb_rows["partial"]["score"]) == 2.0
    # ...and so does nbgrader export through the status-aware bridge
    bridged = subprocess.run([sys.executable, "-m", "nbgrader", "export", "--to", "st.csv",
                              "--exporter", "dlcourse.nbgrader_bridge.StatusExportPlugin"],
                             cwd=course, env=tool_env(), capture_output=True, text=True)
    assert bridged.returncode == 0, bridged.stderr
    st_rows = {r["student"]: r for r in csv.DictReader((course / "st.csv").open())}
    assert st_rows["looper"]["status"] == "timed out"
    # formgrader's backend (NbGraderAPI) reads the same grades
    assert _formgrader_scores(course) == {"perfect": 5.0, "untouched": 0.0, "partial": 2.0, "crasher": 2.0,
                                          "looper": 2.0}


def _formgrader_scores(course: Path) -> dict[str, float]:
    code = (
        "import json, sys\n"
        "from nbgrader.apps.api import NbGraderAPI\n"
        "from nbgrader.coursedir import CourseDirectory\n"
        "from traitlets.config.loader import PyFileConfigLoader\n"
        "config = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()\n"
        "coursedir = CourseDirectory(config=config)\n"
        "api = NbGraderAPI(coursedir, config=config)\n"
        "rows = api.get_submissions('toy')\n"
        "print(json.dumps({r['student']: r['score'] for r in rows if r['autograded'] and not r['needs_manual_grade']}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=course, env=tool_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_broken_submissions_get_a_status_and_the_batch_goes_on(toy_course):
    generate_assignment(toy_course, "toy")
    source = toy_course.source_dir("toy") / "toy.ipynb"
    good = toy_course.submitted_dir("good", "toy")
    good.mkdir(parents=True)
    (good / "toy.ipynb").write_bytes(source.read_bytes())
    corrupt = toy_course.submitted_dir("corrupt", "toy")
    corrupt.mkdir(parents=True)
    (corrupt / "toy.ipynb").write_text("{ this is not json", encoding="utf-8")
    renamed = toy_course.submitted_dir("renamed", "toy")
    renamed.mkdir(parents=True)
    (renamed / "toy (1).ipynb").write_bytes(source.read_bytes())
    other = toy_course.submitted_dir("other", "toy")
    other.mkdir(parents=True)
    foreign = nbformat.read(source, as_version=4)
    foreign.metadata["dlcourse"]["assignment"] = "cnn"
    nbformat.write(foreign, other / "toy.ipynb")
    results = {r.student: r for r in grade_assignment(toy_course, "toy")}
    assert results["good"].status is Status.GRADED and results["good"].score == 5
    assert results["corrupt"].status is Status.INVALID and "not a readable notebook" in results["corrupt"].message
    assert results["renamed"].status is Status.INVALID and "toy.ipynb is missing" in results["renamed"].message
    assert "toy (1).ipynb" in results["renamed"].message
    assert results["other"].status is Status.INVALID and "belongs to assignment 'cnn'" in results["other"].message


def test_release_fetch_submit_collect_grade_through_the_exchange(toy_course, tmp_path, toy_env):
    assert run_cli("release", "toy", "--course", str(toy_course.root), env=toy_env).returncode == 0
    home = tmp_path / "student"
    home.mkdir()
    exchange = toy_course.root.parent / "exchange"
    (home / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = 'toycourse'\nc.Exchange.root = {str(exchange)!r}\n")
    env = tool_env()

    def student(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=home, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    student("fetch_assignment", "toy")
    fetched = home / "toy" / "toy.ipynb"
    notebook = nbformat.read(fetched, as_version=4)
    solution = nbformat.read(toy_course.source_dir("toy") / "toy.ipynb", as_version=4)
    for index, cell in enumerate(notebook.cells):  # the student answers the first exercise only
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "double":
            notebook.cells[index] = solution.cells[index]
    nbformat.write(notebook, fetched)
    student("submit", "toy")
    collected = run_cli("collect", "toy", "--course", str(toy_course.root), env=toy_env)
    assert collected.returncode == 0, collected.stderr
    login = os.environ.get("USER") or __import__("getpass").getuser()
    assert login in collected.stdout
    graded = run_cli("grade", "toy", "--course", str(toy_course.root), env=toy_env)
    assert graded.returncode == 0, graded.stderr
    assert f"{login}: graded 2/5" in graded.stdout


def test_hooks_are_called_in_pipeline_order(tmp_path, toy_env):
    record = tmp_path / "hooks.log"
    env = {**toy_env, "DLCOURSE_PLUGINS": "dlcourse_toytopic,dlcourse_recorder",
           "DLCOURSE_RECORD_FILE": str(record)}
    course = tmp_path / "course"
    steps = [("init", str(course)), ("build", "--course", str(course)), ("release", "toy", "--course", str(course))]
    for step in steps:
        assert run_cli(*step, env=env).returncode == 0
    perfect = course / "submitted" / "ann" / "toy"
    perfect.mkdir(parents=True)
    (perfect / "toy.ipynb").write_bytes((course / "source" / "toy" / "toy.ipynb").read_bytes())
    assert run_cli("grade", "toy", "--course", str(course), env=env).returncode == 0
    assert run_cli("export", "--course", str(course), env=env).returncode == 0
    calls = [line.split()[1] for line in record.read_text().splitlines()]
    build = calls[: calls.index("modify_notebook") + 1]
    assert build[0] == "configure"
    assert build.index("register_topics") < build.index("register_notebooks") < build.index(
        "register_checks") < build.index("kernel_name") < build.index("modify_notebook")
    after = calls[calls.index("modify_notebook"):]
    assert "register_checks" in after, "the grade cells look up their checks through the hook"
    assert after.index("check_sources") < after.index("grading_finished"), "grading fingerprints the checks' files"
    assert after.index("grading_finished") < after.index("export_grades")


def test_late_penalty_reaches_nbgrader_through_the_bridge(monkeypatch):
    from dlcourse.nbgrader_bridge import LatePenalty

    class Halve:
        @__import__("dlcourse").hookimpl
        def dlcourse_late_penalty(self, submission, score, seconds_late):
            return score / 2 if seconds_late > 0 else None

    import dlcourse.manager as manager

    real = manager.get_plugin_manager

    def with_halve():
        pm = real()
        pm.register(Halve())
        return pm

    monkeypatch.setattr(manager, "get_plugin_manager", with_halve)
    assert LatePenalty().late_submission_penalty("ann", 8.0, 3600) == 4.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("build", "--course", "{tmp}/nowhere"), "no such course directory"),
        (("release", "nope", "--course", "{course}"), "unknown assignment 'nope'"),
        (("grade", "toy", "--course", "{course}"), "no submissions of 'toy'"),
        (("init", "{course}"), "a course already exists here"),
        (("build", "nope", "--course", "{course}"), "unknown topic 'nope'"),
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message(toy_course, tmp_path, toy_env, args, message):
    filled = [a.format(tmp=tmp_path, course=toy_course.root) for a in args]
    result = run_cli(*filled, env=toy_env)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_collect_without_exchange_is_an_error(tmp_path, toy_env):
    assert run_cli("init", str(tmp_path / "c"), env=toy_env).returncode == 0
    result = run_cli("collect", "toy", "--course", str(tmp_path / "c"), env=toy_env)
    assert result.returncode == 2 and "no exchange configured" in result.stderr


def test_feedback_scan_withholds_pages_with_secrets(toy_course, monkeypatch):
    from dlcourse_graders.feedback import FeedbackLeakError, assert_no_leak

    monkeypatch.setenv("GRADER_API_TOKEN", "s3cr3t-value-123")
    page = toy_course.feedback_dir("eve", "toy") / "toy.html"
    page.parent.mkdir(parents=True)
    page.write_text("<pre>s3cr3t-value-123</pre>")
    clean = toy_course.feedback_dir("ann", "toy") / "toy.html"
    clean.parent.mkdir(parents=True)
    clean.write_text("<p>2/5</p>")
    with pytest.raises(FeedbackLeakError, match="eve"):
        assert_no_leak(toy_course, [page, clean])
    assert not page.exists() and clean.exists()


def test_a_bug_in_a_check_leaves_its_traceback_in_the_instructors_log_only(toy_course):
    """The toy relu check indexes what relu returns: a scalar answer makes the check itself raise TypeError."""
    generate_assignment(toy_course, "toy")
    notebook = nbformat.read(toy_course.source_dir("toy") / "toy.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "relu":
            cell.source = "def relu(x):\n    return 0.0\n"
    folder = toy_course.submitted_dir("scalar", "toy")
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / "toy.ipynb")
    (result,) = grade_assignment(toy_course, "toy", ["scalar"])
    assert result.status is Status.GRADED and result.score == 2  # double earns its 2 points, relu none
    log = json.loads((toy_course.root / "logs" / "toy" / "scalar.log").read_text())
    text = "\n".join(log["checks"])
    assert "toy.ipynb, cell relu_tests: 0/3" in text and "check toy.relu: 0/1 cases passed" in text
    assert "hidden check toy.relu raised an exception" in text and "Traceback" in text and "TypeError" in text
    graded = (toy_course.autograded_dir("scalar", "toy") / "toy.ipynb").read_text()
    assert "could not be checked (TypeError)" in graded  # what the student is told
    assert "Traceback" not in graded and "dlcourse_toytopic" not in graded
