"""A standard topic plugin, described by data instead of five hand-written hooks.

Most topics register the same things the same way: one topic, a lesson and
an assignment, some visualisers, some datasets and the hidden checks (absent
where ``hidden/`` is not shipped). :class:`TopicPlugin` implements the five
``dlcourse_register_*`` hooks from such a description. A topic module then
holds a single ``plugin = TopicPlugin(...)``; the manager registers that
object (and an entry point may name it: ``"mytopic:plugin"``). Topics with
special needs still write module-level hooks, as in ``writing_a_topic.md``.

Widgets, data loaders and checks are named as ``"module:attribute"`` and
imported only when their hook runs, so loading the plugin manager never
imports matplotlib, scikit-learn or the checks.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from dlcourse import hookimpl
from dlcourse.coursedir import CourseError
from dlcourse.types import Check, Dataset, NotebookSource, Topic, Visualiser


def resolve(reference: str) -> Callable[..., Any]:
    """The object named by ``"package.module:attribute"``."""
    module, _, attribute = reference.partition(":")
    if not attribute:
        raise ValueError(f"{reference!r} should name an attribute as 'module:attribute'")
    return getattr(importlib.import_module(module), attribute)


class BrokenChecksError(CourseError):
    """A topic's hidden checks are installed but do not import.

    ``str()`` is one line (it may reach a grading status); ``details`` holds the
    traceback, which the instructor's commands print after it.
    """

    def __init__(self, summary: str, details: str = "") -> None:
        super().__init__(summary)
        self.details = details


def checks_installed(module: str) -> bool:
    """Whether the checks module ``module`` is present (found without importing it).

    Absent (a student's install, without ``hidden/``) is normal; present is
    a promise that it imports.
    """
    if module in sys.modules:  # imported already (None: blocked, as if absent)
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing: no hidden/ here
        return False


def load_checks(module: str, topic: str = "") -> list[Check]:
    """The ``CHECKS`` of ``module``: none where it is not installed, :class:`BrokenChecksError`
    (with the traceback) where it is installed but fails to import.

    A topic whose ``hidden/`` exists but does not import must not look like one
    without hidden checks: it would build, validate and grade everything as 0.
    """
    if not checks_installed(module):
        return []
    try:
        loaded = importlib.import_module(module)
        return list(loaded.CHECKS)
    except Exception as error:  # noqa: BLE001 - any failure is the author's to see, with its traceback
        raise BrokenChecksError(f"topic {topic or module!r}: its hidden checks {module} exist but do not import "
                                f"({type(error).__name__}: {error})", _author_traceback(error)) from error


def _author_traceback(error: BaseException) -> str:
    """The traceback of ``error`` with the import machinery's own frames left out: the author's code remains."""
    summary = traceback.TracebackException.from_exception(error)
    machinery = {importlib.__file__, __file__}
    summary.stack = traceback.StackSummary.from_list(
        [frame for frame in summary.stack
         if not frame.filename.startswith("<frozen importlib") and frame.filename not in machinery])
    return "".join(summary.format())


@dataclass(frozen=True)
class VisualiserRef:
    """A visualiser whose ``build`` and ``compute`` are imported when asked for."""

    name: str
    title: str
    build: str
    compute: str


@dataclass(frozen=True)
class DatasetRef:
    """A dataset whose loader is imported when asked for."""

    name: str
    description: str
    load: str


def lesson_and_assignment(slug: str, folder: Path, time_limit: float = 60.0) -> tuple[NotebookSource, ...]:
    """The usual pair: ``folder/lesson.py`` (assignment ``SLUG_lesson``) and ``folder/SLUG.py`` (``SLUG``).

    Without a ``lesson.py`` (an assignment-only topic) only the assignment.
    A student's install has no ``notebooks/`` at all: both are then named, as
    the topic declares them, and nothing reads them there.
    """
    lesson = folder / "lesson.py"
    assignment = NotebookSource(slug, folder / f"{slug}.py", slug, slug, "assignment", time_limit)
    try:
        assignment_only = folder.is_dir() and not lesson.is_file()
    except OSError:  # the grading sandbox masks notebooks/ (and nothing there reads the sources)
        assignment_only = False
    if assignment_only:
        return (assignment,)
    return (NotebookSource(slug, lesson, f"{slug}_lesson", "lesson", "lesson", time_limit), assignment)


@dataclass(frozen=True)
class TopicPlugin:
    """The ``dlcourse_register_*`` hooks of one topic, from its description.

    ``checks`` names the module that holds the topic's ``CHECKS``; where that
    module is absent (students' installs have no ``hidden/``), the topic
    registers no checks; where it is present but does not import, asking for
    the checks raises :class:`BrokenChecksError` with the traceback.
    """

    topic: Topic
    notebooks: tuple[NotebookSource, ...]
    visualisers: tuple[VisualiserRef, ...] = ()
    datasets: tuple[DatasetRef, ...] = ()
    checks: str = ""

    @property
    def __name__(self) -> str:  # what ``dlcourse plugins`` shows as the module
        return self.topic.plugin or self.topic.slug

    def _mine(self, topic: Topic) -> bool:
        return topic.slug == self.topic.slug

    @hookimpl
    def dlcourse_register_topics(self, course: Any) -> list[Topic]:
        """This plugin's topic."""
        return [self.topic]

    @hookimpl
    def dlcourse_register_notebooks(self, course: Any, topic: Topic) -> list[NotebookSource]:
        """The lesson and assignment sources of this topic (nothing for other topics)."""
        return list(self.notebooks) if self._mine(topic) else []

    @hookimpl
    def dlcourse_register_visualisers(self, course: Any) -> list[Visualiser]:
        """The visualisers, with their widget modules imported now."""
        return [Visualiser(self.topic.slug, v.name, v.title, build=resolve(v.build), compute=resolve(v.compute))
                for v in self.visualisers]

    @hookimpl
    def dlcourse_register_checks(self, course: Any, topic: Topic) -> list[Check]:
        """The hidden checks, or none where the checks module is not installed (an error where it is broken)."""
        if not self._mine(topic) or not self.checks:
            return []
        return load_checks(self.checks, self.topic.slug)

    @hookimpl
    def dlcourse_check_sources(self, course: Any, topic: Topic) -> list[Path]:
        """Every Python file of the package that holds the checks module, found without importing it."""
        if not self._mine(topic) or not self.checks:
            return []
        try:
            spec = importlib.util.find_spec(self.checks)
        except ImportError:  # a parent package is missing: no hidden/ here
            return []
        if spec is None or not spec.origin:
            return []
        return sorted(Path(spec.origin).resolve().parent.rglob("*.py"))

    @hookimpl
    def dlcourse_register_datasets(self, course: Any) -> list[Dataset]:
        """The offline datasets, with their loaders imported now."""
        return [Dataset(self.topic.slug, d.name, d.description, resolve(d.load)) for d in self.datasets]
