"""The declarative topic plugin: the five registration hooks from a description."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pluggy
import pytest

from dlcourse import PROJECT_NAME, hookspecs
from dlcourse.manager import Hooks, get_plugin_manager, plugin_object
from dlcourse.topic_plugin import (BrokenChecksError, DatasetRef, TopicPlugin, VisualiserRef, lesson_and_assignment,
                                   resolve)
from dlcourse.types import Topic

TOPIC = Topic("demo_topic", "A demo topic", order=5, plugin="demo_topic_module")


def _plugin(checks: str = "") -> TopicPlugin:
    return TopicPlugin(
        TOPIC,
        notebooks=lesson_and_assignment("demo_topic", Path("/nowhere")),
        visualisers=(VisualiserRef("v", "A view", build="os.path:join", compute="os.path:basename"),),
        datasets=(DatasetRef("d", "Some data", "os.path:dirname"),),
        checks=checks,
    )


def _manager(plugin: TopicPlugin) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(plugin, name="demo_topic_module")
    pm.check_pending()
    return pm


def test_hooks_come_from_the_description():
    import os.path

    pm = _manager(_plugin())
    assert pm.hook.dlcourse_register_topics(course=None) == [[TOPIC]]
    (sources,) = pm.hook.dlcourse_register_notebooks(course=None, topic=TOPIC)
    assert [(s.assignment, s.name, s.kind, s.path.name) for s in sources] == [
        ("demo_topic_lesson", "lesson", "lesson", "lesson.py"), ("demo_topic", "demo_topic", "assignment",
                                                                 "demo_topic.py")]
    (visualisers,) = pm.hook.dlcourse_register_visualisers(course=None)
    assert visualisers[0].build is os.path.join and visualisers[0].topic == "demo_topic"
    (datasets,) = pm.hook.dlcourse_register_datasets(course=None)
    assert datasets[0].load is os.path.dirname and datasets[0].name == "d"
    other = Topic("other", "Other")
    assert pm.hook.dlcourse_register_notebooks(course=None, topic=other) == [[]]
    assert pm.hook.dlcourse_register_checks(course=None, topic=other) == [[]]


def test_checks_load_when_present_and_vanish_when_hidden_is_missing(monkeypatch):
    module = types.ModuleType("demo_topic_checks")
    module.CHECKS = ("c1", "c2")
    monkeypatch.setitem(sys.modules, "demo_topic_checks", module)
    assert _manager(_plugin("demo_topic_checks")).hook.dlcourse_register_checks(course=None, topic=TOPIC) == [
        ["c1", "c2"]]
    monkeypatch.setitem(sys.modules, "demo_topic_checks", None)  # as if hidden/ were not shipped
    assert _manager(_plugin("demo_topic_checks")).hook.dlcourse_register_checks(course=None, topic=TOPIC) == [[]]


def test_resolve_names_bad_references():
    with pytest.raises(ValueError, match="module:attribute"):
        resolve("os.path.join")
    with pytest.raises(AttributeError):
        resolve("os.path:no_such_function")


def test_the_manager_registers_a_modules_plugin_object(monkeypatch):
    module = types.ModuleType("demo_topic_module")
    module.plugin = _plugin()
    monkeypatch.setitem(sys.modules, "demo_topic_module", module)
    monkeypatch.setenv("DLCOURSE_PLUGINS", "demo_topic_module")
    assert plugin_object(module) is module.plugin
    assert plugin_object(types) is types  # a module without a plugin object is its own plugin
    pm = get_plugin_manager()
    assert pm.get_plugin("demo_topic_module") is module.plugin
    assert "demo_topic" in [t.slug for t in Hooks(pm).topics()]


def test_check_sources_are_found_without_importing_the_checks(tmp_path, monkeypatch):
    package = tmp_path / "demo_topic_pkg"
    (package / "hidden").mkdir(parents=True)
    for name in ("__init__.py", "hidden/__init__.py", "hidden/helpers.py"):
        (package / name).write_text("")
    (package / "hidden" / "checks.py").write_text("raise RuntimeError('checks were imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    hook = _manager(_plugin("demo_topic_pkg.hidden.checks")).hook
    (found,) = hook.dlcourse_check_sources(course=None, topic=TOPIC)
    assert [p.name for p in found] == ["__init__.py", "checks.py", "helpers.py"]
    assert "demo_topic_pkg.hidden.checks" not in sys.modules
    assert hook.dlcourse_check_sources(course=None, topic=Topic("other", "Other")) == [[]]
    missing = _manager(_plugin("no_such_topic_pkg.hidden.checks")).hook
    assert missing.dlcourse_check_sources(course=None, topic=TOPIC) == [[]]


def test_a_hidden_package_that_does_not_import_is_an_error_with_its_traceback(tmp_path, monkeypatch):
    package = tmp_path / "demo_broken_topic"
    (package / "hidden").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "hidden" / "__init__.py").write_text("")
    (package / "hidden" / "checks.py").write_text("import numpy as np\nfrom .oracles import table\nCHECKS = []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin = _plugin("demo_broken_topic.hidden.checks")
    with pytest.raises(BrokenChecksError) as raised:
        plugin.dlcourse_register_checks(course=None, topic=TOPIC)
    message, details = str(raised.value), raised.value.details
    assert "exist but do not import" in message and "No module named 'demo_broken_topic.hidden.oracles'" in message
    assert "\n" not in message, "one line: it may become a grading status"
    assert "Traceback" in details and "checks.py" in details and "from .oracles import table" in details
    # absent (a student's install) is still no checks, not an error
    assert _plugin("demo_broken_topic.elsewhere.checks").dlcourse_register_checks(course=None, topic=TOPIC) == []
    assert _plugin("no_such_topic_package.hidden.checks").dlcourse_register_checks(course=None, topic=TOPIC) == []


def test_an_assignment_only_topic_needs_no_lesson(tmp_path):
    (tmp_path / "solo.py").write_text("# %% [markdown]\n# An assignment\n")
    (only,) = lesson_and_assignment("solo", tmp_path)
    assert (only.kind, only.assignment, only.path) == ("assignment", "solo", tmp_path / "solo.py")
    (tmp_path / "lesson.py").write_text("# %% [markdown]\n# A lesson\n")
    assert [s.kind for s in lesson_and_assignment("solo", tmp_path)] == ["lesson", "assignment"]
