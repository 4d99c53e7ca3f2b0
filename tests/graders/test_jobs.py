"""What a grading job needs of the installation: the topics of its checks, their files' digest, nothing more."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pluggy

from dlcourse import PROJECT_NAME, hookspecs
from dlcourse.build import build_course
from dlcourse.coursedir import init_course
from dlcourse.manager import Hooks
from dlcourse.topic_plugin import TopicPlugin, lesson_and_assignment
from dlcourse.types import Topic
from dlcourse_graders.jobs import NOTEBOOK_OUTPUT_CAP, cap_outputs, checks_digest, secret_folders, topics_of_checks


def test_topics_come_from_the_check_ids_prefix():
    hooks = Hooks.load()
    assert topics_of_checks(["perceptron.sigmoid", "perceptron.bce"], hooks) == ("perceptron",)
    assert topics_of_checks(["perceptron.sigmoid", "cnn.conv2d"], hooks) == ("cnn", "perceptron")
    assert topics_of_checks([], hooks) == ()
    # an id without an installed topic's prefix: every topic, so no check can be missed
    assert topics_of_checks(["perceptron.sigmoid", "my_own_check"], hooks) is None


def _hooks_over(tmp_path: Path, monkeypatch, *slugs: str) -> Hooks:
    """Hooks whose topics ``slugs`` keep their checks in packages ``tmp_path/pkg_SLUG``
    (named after the test too, since imported parent packages outlive a test)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for slug in slugs:
        package = f"pkg_{slug}_{tmp_path.name}"
        (tmp_path / f"pkg_{slug}").symlink_to(tmp_path / package, target_is_directory=True)
        hidden = tmp_path / package / "hidden"
        hidden.mkdir(parents=True)
        (hidden.parent / "__init__.py").write_text("")
        (hidden / "__init__.py").write_text("")
        (hidden / "checks.py").write_text("CHECKS = ()\n")
        (hidden / "helpers.py").write_text("TOLERANCE = 1e-6\n")
        pm.register(TopicPlugin(Topic(slug, slug.title()), lesson_and_assignment(slug, tmp_path / "notebooks"),
                                checks=f"{package}.hidden.checks"), name=package)
    return Hooks(pm)


def test_the_digest_follows_every_check_file_of_the_chosen_topics(tmp_path, monkeypatch):
    hooks = _hooks_over(tmp_path, monkeypatch, "alpha", "beta")
    alpha, both = checks_digest(hooks, ("alpha",)), checks_digest(hooks, None)
    assert alpha != both
    (tmp_path / "pkg_beta" / "hidden" / "checks.py").write_text("CHECKS = ()  # changed\n")
    assert checks_digest(hooks, ("alpha",)) == alpha  # another topic's change leaves alpha's grades alone
    assert checks_digest(hooks, None) != both
    (tmp_path / "pkg_alpha" / "hidden" / "helpers.py").write_text("TOLERANCE = 1e-3\n")
    assert checks_digest(hooks, ("alpha",)) != alpha  # a helper of the checks counts, not just the checks


def test_every_topics_check_folder_is_hidden(tmp_path, monkeypatch):
    hooks = _hooks_over(tmp_path, monkeypatch, "alpha", "beta")
    folders = secret_folders(hooks)
    for slug in ("alpha", "beta"):
        assert (tmp_path / f"pkg_{slug}" / "hidden").resolve() in folders
    assert (tmp_path / "notebooks").resolve() in folders


COORDINATOR = """
import json, sys
from pathlib import Path
from dlcourse.coursedir import Course
from dlcourse_graders.sandbox_engine import load_assignment, make_job
course = Course(Path(sys.argv[1]))
spec = load_assignment(course, "perceptron")
job = make_job(course, spec, "someone")
print(json.dumps({"topics": spec.topics, "fingerprint": job.fingerprint,
                  "imported": sorted(m for m in ("torch", "sklearn", "dlcourse_perceptron.hidden.checks",
                                                 "rfc3987_syntax") if sys.modules.get(m) is not None)}))
"""


def test_the_coordinator_builds_jobs_without_importing_checks_or_torch(tmp_path):
    course = init_course(tmp_path / "course")
    build_course(course, ["perceptron"])
    done = subprocess.run([sys.executable, "-c", COORDINATOR, str(course.root)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["topics"] == ["perceptron"]
    assert len(found["fingerprint"]) == 64
    assert found["imported"] == []


def test_the_largest_outputs_go_first_until_the_notebook_fits():
    def cell(text_size: int) -> nbformat.NotebookNode:
        code = nbformat.v4.new_code_cell("print('x')")
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * text_size)]
        return code

    notebook = nbformat.v4.new_notebook(cells=[cell(900_000), cell(300_000), cell(200_000), cell(10)])
    cap_outputs(notebook)
    texts = [c.outputs[0]["text"] for c in notebook.cells]
    assert "over the size cap" in texts[0]
    assert [len(t) for t in texts[1:]] == [300_000, 200_000, 10]
    assert len(nbformat.writes(notebook)) <= NOTEBOOK_OUTPUT_CAP + 10_000
