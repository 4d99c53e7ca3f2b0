"""What every topic promises (DESIGN §5), checked for every installed topic, third-party ones included.

The generic promises come from the shipped test kit (:mod:`dlcourse.testing`),
the same assertions a third-party topic's own tests make; the built-in
topics also promise a lesson, a widget and a dataset each.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import run_cli
from dlcourse.build import build_course
from dlcourse.coursedir import init_course
from dlcourse.manager import BUILTIN_TOPICS, Hooks
from dlcourse.testing import assert_topic_contract
from dlcourse.types import Topic

HOOKS = Hooks.load()
#: every installed topic: the built-in ones and any installed through the ``dlcourse`` entry-point group
SLUGS = [t.slug for t in HOOKS.topics()]
BUILTIN_SLUGS = [t.slug for t in HOOKS.topics() if t.plugin in BUILTIN_TOPICS]


def test_every_builtin_topic_is_found():
    assert len(BUILTIN_SLUGS) == len(BUILTIN_TOPICS)
    assert set(BUILTIN_SLUGS) <= set(SLUGS)


@pytest.mark.parametrize("slug", SLUGS)
def test_topic_meets_the_test_kit_contract(slug):
    """Check sources found without importing, reference full marks, release 0 without leaks,
    no exercise written = 0, no message reveals a value (dlcourse.testing.assert_topic_contract)."""
    assert_topic_contract(slug, HOOKS)


@pytest.mark.parametrize("slug", BUILTIN_SLUGS)
def test_topic_supplies_lesson_assignment_widget_data_and_checks(slug):
    topic = HOOKS.topic(slug)
    sources = HOOKS.notebooks(topic)
    assert any(s.kind == "assignment" and s.assignment == slug for s in sources), "main assignment id is the slug"
    assert any(s.kind == "lesson" for s in sources)
    assert all(s.time_limit <= 60 for s in sources), "budget: 60 s on 2 CPU cores"
    assert [v for v in HOOKS.visualisers() if v.topic == slug]
    assert [d for d in HOOKS.datasets() if d.topic == slug]
    checks = {c.id for c in HOOKS.checks(topic)}
    assert checks and all(c.startswith(f"{slug}.") for c in checks)


def _plugin_of(topic: Topic):
    """The registered plugin that contributes ``topic`` (an entry point registers it under its own name)."""
    return next(plugin for plugin in HOOKS.pm.get_plugins()
                if topic in (getattr(plugin, "dlcourse_register_topics", lambda course: [])(course=None) or []))


@pytest.mark.parametrize("slug", SLUGS)
def test_hooks_ignore_other_topics_and_missing_hidden(slug, monkeypatch):
    topic = HOOKS.topic(slug)
    plugin = _plugin_of(topic)
    other = Topic("some_other_topic", "Another topic")
    assert plugin.dlcourse_register_notebooks(course=None, topic=other) == []
    assert plugin.dlcourse_register_checks(course=None, topic=other) == []
    assert plugin.dlcourse_check_sources(course=None, topic=other) == []
    monkeypatch.setitem(sys.modules, f"{topic.plugin}.hidden.checks", None)  # as if hidden/ were not shipped
    assert plugin.dlcourse_register_checks(course=None, topic=topic) == []


@pytest.mark.parametrize("slug", SLUGS)
def test_check_sources_hold_the_checks(slug):
    topic = HOOKS.topic(slug)
    sources = HOOKS.check_sources(topic)
    checks_file = {inspect.getsourcefile(c.run) for c in HOOKS.checks(topic)}
    assert {str(Path(f).resolve()) for f in checks_file} <= {str(p) for p in sources}
    assert all("hidden" in p.parts for p in sources)


@pytest.mark.parametrize("slug", SLUGS)
def test_every_check_is_used_by_a_grade_cell(slug, tmp_path):
    course = init_course(tmp_path / "c")
    build_course(course, [slug])
    used = set()
    for path in course.source_dir(slug).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            used |= set(cell.metadata.get("dlcourse", {}).get("checks", []))
    assert used == {c.id for c in HOOKS.checks(HOOKS.topic(slug))}


@pytest.mark.slow
@pytest.mark.parametrize("slug", BUILTIN_SLUGS)
def test_demo_grades_the_simulated_class_as_expected(slug, tmp_path):
    """validate (solution full marks, release 0, no leak, time budget) + five simulated students."""
    result = run_cli("demo", "--course", str(tmp_path / "demo"), slug)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "PASSED" in result.stdout and "all outcomes as expected" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("slug", BUILTIN_SLUGS)
def test_lessons_run_clean_under_nbval(slug, tmp_path):
    course = init_course(tmp_path / "c")
    lessons = [p for p in build_course(course, [slug]) if nbformat.read(p, as_version=4).metadata["dlcourse"]["kind"]
               == "lesson"]
    assert lessons
    result = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-p",
                             "no:xdist", "-q", *map(str, lessons)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout
