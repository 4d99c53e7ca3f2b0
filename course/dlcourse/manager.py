"""The plugin manager and a typed facade over its hooks.

:func:`get_plugin_manager` builds a fresh manager on every call (no module
state), so tests and long-running processes always see what is installed and
what ``DLCOURSE_DISABLE_PLUGINS`` says.
"""

from __future__ import annotations

import importlib
import inspect
import os
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import pluggy

from dlcourse import PROJECT_NAME, hookspecs
from dlcourse.types import Check, Dataset, NotebookSource, Topic, Visualiser

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

    from dlcourse.coursedir import Course
    from dlcourse_graders.results import SubmissionResult

DISABLE_ENV = "DLCOURSE_DISABLE_PLUGINS"
EXTRA_ENV = "DLCOURSE_PLUGINS"
ENTRY_POINT_GROUP = "dlcourse"
CORE_PLUGIN = "dlcourse.defaults"

#: Topics that ship with dlcourse, registered by module name.
BUILTIN_TOPICS: tuple[str, ...] = (
    "dlcourse_perceptron",
    "dlcourse_optimizers",
    "dlcourse_regularisation",
    "dlcourse_cnn",
    "dlcourse_rnn",
    "dlcourse_autoencoders",
    "dlcourse_vae",
    "dlcourse_gan",
)


def disabled_plugins() -> set[str]:
    """Names listed in ``DLCOURSE_DISABLE_PLUGINS`` (comma separated)."""
    raw = os.environ.get(DISABLE_ENV, "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def extra_plugins() -> list[str]:
    """Modules listed in ``DLCOURSE_PLUGINS`` (comma separated): local plugins
    a course uses without packaging them."""
    raw = os.environ.get(EXTRA_ENV, "")
    return [name.strip() for name in raw.split(",") if name.strip()]


def get_plugin_manager() -> pluggy.PluginManager:
    """Build a new plugin manager with the core defaults and every topic.

    Order: hookspecs, plugins from the ``dlcourse`` entry-point group
    (third-party topics), modules named in ``DLCOURSE_PLUGINS``, the built-in
    topics, then the core defaults (whose
    hookimpls are ``trylast``). Plugins named in ``DLCOURSE_DISABLE_PLUGINS``
    are blocked; ``check_pending`` rejects hookimpls with a misspelt name.
    """
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for name in disabled_plugins():
        pm.set_blocked(name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for module_name in (*extra_plugins(), *BUILTIN_TOPICS, CORE_PLUGIN):
        if pm.is_blocked(module_name) or pm.has_plugin(module_name):
            continue
        pm.register(plugin_object(importlib.import_module(module_name)), name=module_name)
    pm.check_pending()
    return pm


def plugin_object(module: Any) -> Any:
    """What to register for a module: its ``plugin`` object (a
    :class:`~dlcourse.topic_plugin.TopicPlugin`) if it has one, else the module's own hooks."""
    plugin = getattr(module, "plugin", None)
    return module if plugin is None or isinstance(plugin, types.ModuleType) else plugin


@dataclass
class Hooks:
    """Typed calls to the hooks, so call sites get real types back."""

    pm: pluggy.PluginManager
    course: Course | None = None

    @classmethod
    def load(cls, course: Course | None = None) -> Hooks:
        """A facade over a fresh plugin manager, configured for ``course``."""
        hooks = cls(get_plugin_manager(), course)
        hooks.pm.hook.dlcourse_configure.call_historic(kwargs={"course": course})
        return hooks

    def topics(self) -> list[Topic]:
        """All topics, in course order (``Topic.order``, then slug)."""
        found = _flatten(self.pm.hook.dlcourse_register_topics(course=self.course))
        return sorted(found, key=lambda t: (t.order, t.slug))

    def topic(self, slug: str) -> Topic:
        """The topic called ``slug``; ``KeyError`` names the known ones."""
        for topic in self.topics():
            if topic.slug == slug:
                return topic
        known = ", ".join(t.slug for t in self.topics()) or "none"
        raise KeyError(f"unknown topic {slug!r} (installed topics: {known})")

    def notebooks(self, topic: Topic) -> list[NotebookSource]:
        """The notebook sources of ``topic``."""
        return _flatten(self.pm.hook.dlcourse_register_notebooks(course=self.course, topic=topic))

    def visualisers(self) -> list[Visualiser]:
        """Every visualiser of every topic."""
        return _flatten(self.pm.hook.dlcourse_register_visualisers(course=self.course))

    def checks(self, topic: Topic) -> list[Check]:
        """The hidden checks of ``topic`` (empty where hidden/ is not installed)."""
        return _flatten(self.pm.hook.dlcourse_register_checks(course=self.course, topic=topic))

    def all_checks(self) -> dict[str, Check]:
        """Every hidden check of every topic, by id."""
        return {check.id: check for topic in self.topics() for check in self.checks(topic)}

    def check_sources(self, topic: Topic) -> list[Path]:
        """The files of ``topic``'s hidden checks: as its plugin declares them, else found by importing them."""
        declared = _flatten(self.pm.hook.dlcourse_check_sources(course=self.course, topic=topic))
        if declared:
            return sorted({Path(p).resolve() for p in declared})
        found = set()
        for check in self.checks(topic):
            source = inspect.getsourcefile(check.run) if callable(check.run) else None
            if source:
                found.add(Path(source).resolve())
        return sorted(found)

    def datasets(self) -> list[Dataset]:
        """Every offline dataset."""
        return _flatten(self.pm.hook.dlcourse_register_datasets(course=self.course))

    def modify_notebook(self, notebook: NotebookNode, source: NotebookSource, stage: str) -> None:
        """Let every plugin change ``notebook`` in place."""
        self.pm.hook.dlcourse_modify_notebook(notebook=notebook, source=source, stage=stage)

    def kernel_name(self, topic: Topic, source: NotebookSource) -> str:
        """The kernelspec a built notebook pins."""
        name = self.pm.hook.dlcourse_kernel_name(topic=topic, source=source)
        assert name, "the core default always names a kernel"
        return str(name)

    def late_penalty(self, submission: Any, score: float, seconds_late: float) -> float:
        """Points to subtract for a late submission (0 when no plugin says)."""
        penalty = self.pm.hook.dlcourse_late_penalty(
            submission=submission, score=score, seconds_late=seconds_late
        )
        return float(penalty or 0.0)

    def grading_finished(self, results: Sequence[SubmissionResult], course: Course) -> None:
        """Tell every plugin that a grading batch ended."""
        self.pm.hook.dlcourse_grading_finished(results=list(results), course=course)

    def export_grades(
        self, results: Sequence[Mapping[str, Any]], destination: Path, format: str
    ) -> None:
        """Write grades; ``ValueError`` when no plugin handles ``format``."""
        done = self.pm.hook.dlcourse_export_grades(
            results=list(results), destination=destination, format=format
        )
        if not done:
            raise ValueError(f"no plugin can export grades as {format!r}")


def _flatten(per_plugin: Iterable[Iterable[Any] | None]) -> list[Any]:
    return [item for items in per_plugin if items for item in items]


def describe_plugins(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """One record per registered plugin: name, distribution, version, hooks."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    records = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: str(item[0])):
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        records.append(
            {
                "name": name,
                "module": getattr(plugin, "__name__", type(plugin).__name__),
                "distribution": dist.project_name if dist else PROJECT_NAME,
                "version": dist.version if dist else _own_version(),
                "hooks": hooks,
            }
        )
    return records


def _own_version() -> str:
    from dlcourse import __version__

    return __version__
