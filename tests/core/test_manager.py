"""The plugin manager: fresh per call, env switches, typed facade, listing."""

from __future__ import annotations

import json
import types

import pluggy
import pytest

from conftest import run_cli
from dlcourse import hookimpl
from dlcourse.manager import BUILTIN_TOPICS, CORE_PLUGIN, Hooks, describe_plugins, get_plugin_manager
from dlcourse.types import Topic


def test_each_call_builds_a_new_manager():
    first, second = get_plugin_manager(), get_plugin_manager()
    assert first is not second
    plugin = types.ModuleType("extra")
    first.register(plugin, name="extra")
    assert second.get_plugin("extra") is None


def test_builtin_topics_and_core_defaults_are_registered():
    pm = get_plugin_manager()
    for name in (*BUILTIN_TOPICS, CORE_PLUGIN):
        assert pm.has_plugin(name), name


def test_disable_env_blocks_a_plugin(monkeypatch):
    monkeypatch.setenv("DLCOURSE_DISABLE_PLUGINS", "dlcourse_perceptron, other")
    pm = get_plugin_manager()
    assert pm.is_blocked("dlcourse_perceptron")
    assert "perceptron" not in [t.slug for t in Hooks(pm).topics()]


def test_extra_plugins_env_registers_local_modules(toy_env):
    slugs = [t.slug for t in Hooks.load().topics()]
    assert "toy" in slugs and "perceptron" in slugs
    assert slugs.index("perceptron") < slugs.index("toy"), "topics are sorted by their order"


def test_check_pending_rejects_a_misspelt_hook(monkeypatch):
    bad = types.ModuleType("dlcourse_badplugin")

    @hookimpl
    def dlcourse_register_topic(course):  # misspelt: no such hookspec
        return []

    bad.dlcourse_register_topic = dlcourse_register_topic
    monkeypatch.setitem(__import__("sys").modules, "dlcourse_badplugin", bad)
    monkeypatch.setenv("DLCOURSE_PLUGINS", "dlcourse_badplugin")
    with pytest.raises(pluggy.PluginValidationError, match="dlcourse_register_topic"):
        get_plugin_manager()


def test_a_plugin_overrides_the_core_kernel_default(toy_env):
    hooks = Hooks.load()
    topic = hooks.topic("toy")
    source = hooks.notebooks(topic)[0]
    assert hooks.kernel_name(topic, source) == "dlcourse-py3"

    class Override:
        @hookimpl
        def dlcourse_kernel_name(self, topic, source):
            return "python3"

    hooks.pm.register(Override())
    assert hooks.kernel_name(topic, source) == "python3"


def test_facade_returns_typed_values(toy_env):
    hooks = Hooks.load()
    topic = hooks.topic("toy")
    assert isinstance(topic, Topic)
    assert {c.id for c in hooks.checks(topic)} == {"toy.double", "toy.relu"}
    assert set(hooks.all_checks()) >= {"toy.double", "perceptron.sigmoid"}
    # a plugin that does not declare its check files: found from the imported checks
    assert [p.name for p in hooks.check_sources(topic)] == ["dlcourse_toytopic.py"]
    assert [p.name for p in hooks.check_sources(hooks.topic("perceptron"))] == ["__init__.py", "checks.py"]
    with pytest.raises(KeyError, match="installed topics: .*perceptron"):
        hooks.topic("nope")
    assert hooks.late_penalty("someone", 10.0, 3600.0) == 0.0
    with pytest.raises(ValueError, match="xlsx"):
        hooks.export_grades([], __import__("pathlib").Path("x.xlsx"), "xlsx")


def test_describe_plugins_lists_hooks_and_versions():
    records = {r["name"]: r for r in describe_plugins(get_plugin_manager())}
    perceptron = records["dlcourse_perceptron"]
    assert "dlcourse_register_checks" in perceptron["hooks"]
    assert perceptron["version"]
    assert "dlcourse_export_grades" in records[CORE_PLUGIN]["hooks"]


def test_cli_plugins_all_json_shows_core_and_perceptron():
    result = run_cli("plugins", "--all", "--json")
    assert result.returncode == 0, result.stderr
    names = {r["name"] for r in json.loads(result.stdout)}
    assert {"dlcourse.defaults", "dlcourse_perceptron"} <= names
    plain = run_cli("plugins")
    assert "dlcourse.defaults" not in plain.stdout and "dlcourse_perceptron" in plain.stdout


def test_cli_topics_lists_perceptron():
    result = run_cli("topics")
    assert result.returncode == 0, result.stderr
    assert "perceptron" in result.stdout and "hidden checks:" in result.stdout
