"""Hook specifications: every extension point of dlcourse, grouped by phase.

A plugin implements any subset of these with :data:`dlcourse.hookimpl`.
Arguments are passed by keyword, so an implementation may accept only the
ones it needs (pluggy's rule); new arguments are only ever added, so existing
plugins keep working.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from dlcourse import hookspec

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

    from dlcourse.coursedir import Course
    from dlcourse.types import Check, Dataset, NotebookSource, Topic, Visualiser
    from dlcourse_graders.results import SubmissionResult

# ---------------------------------------------------------------- setup


@hookspec(historic=True)
def dlcourse_configure(course: Course | None) -> None:
    """Configure a plugin once the plugin manager is ready.

    :param course: the course being worked on, or ``None`` when a command runs
        outside a course (``dlcourse plugins``).

    Historic: a plugin registered later is called too.

    Called by: :func:`dlcourse.manager.get_plugin_manager` callers, through
    ``Hooks.configure``, before any other hook.
    """


# ------------------------------------------------------------ catalogue


@hookspec
def dlcourse_register_topics(course: Course | None) -> Iterable[Topic]:
    """Return the topics this plugin contributes.

    :param course: the course being worked on, or ``None``.
    :return: an iterable of :class:`dlcourse.types.Topic`; the results of all
        plugins are concatenated.

    Called by: ``dlcourse topics``, ``dlcourse build``, ``dlcourse demo``.
    """


@hookspec
def dlcourse_register_notebooks(course: Course | None, topic: Topic) -> Iterable[NotebookSource]:
    """Return the notebook sources (lessons and assignments) of ``topic``.

    :param course: the course being worked on, or ``None``.
    :param topic: one topic returned by :func:`dlcourse_register_topics`; a
        plugin returns nothing for topics that are not its own.
    :return: an iterable of :class:`dlcourse.types.NotebookSource`.

    Called by: ``dlcourse build`` once per topic.
    """


@hookspec
def dlcourse_register_visualisers(course: Course | None) -> Iterable[Visualiser]:
    """Return the ipywidgets visualisers this plugin contributes.

    :param course: the course being worked on, or ``None``.
    :return: an iterable of :class:`dlcourse.types.Visualiser`.

    Called by: ``dlcourse plugins`` and the widget tests.
    """


@hookspec
def dlcourse_register_checks(course: Course | None, topic: Topic) -> Iterable[Check]:
    """Return the trusted hidden checks of ``topic``.

    Checks live in the topic's ``hidden/`` package, which is not shipped to
    students: return nothing when it is not installed, and raise when it is
    installed but does not import (:func:`dlcourse.topic_plugin.load_checks`
    does both), so that commands show the traceback instead of "0 checks".

    :param course: the course being worked on, or ``None``.
    :param topic: the topic whose checks are wanted.
    :return: an iterable of :class:`dlcourse.types.Check`.

    Called by: the grader, once per grade cell that names checks; ``dlcourse
    build``, ``validate``, ``topics`` and ``doctor``.
    """


@hookspec
def dlcourse_check_sources(course: Course | None, topic: Topic) -> Iterable[Path]:
    """Return the files that the hidden checks of ``topic`` are made of, without importing them.

    The grader fingerprints these files (a submission is regraded when they
    change) and hides their folders from student code. Answering from where
    the files lie, not by importing the checks, keeps the coordinator and the
    workers from importing every topic's checks and their libraries.

    :param course: the course being worked on, or ``None``.
    :param topic: the topic whose check files are wanted; a plugin returns
        nothing for topics that are not its own, or when ``hidden/`` is absent.
    :return: an iterable of paths to source files. Where no plugin answers for
        a topic, the grader imports its checks and asks each for its source file.

    Called by: the grader's coordinator (fingerprints) and its workers (what to hide).
    """


@hookspec
def dlcourse_register_datasets(course: Course | None) -> Iterable[Dataset]:
    """Return the offline datasets this plugin provides.

    :param course: the course being worked on, or ``None``.
    :return: an iterable of :class:`dlcourse.types.Dataset`.

    Called by: ``dlcourse plugins`` and ``dlcourse doctor``.
    """


# ----------------------------------------------------------------- build


@hookspec
def dlcourse_modify_notebook(notebook: NotebookNode, source: NotebookSource, stage: str) -> None:
    """Change a notebook in place while it is built.

    :param notebook: the nbformat notebook, already carrying nbgrader metadata.
    :param source: the source it was built from.
    :param stage: the build stage, ``"source"`` for ``COURSE/source``.

    Every implementation is called (core defaults last).

    Called by: :func:`dlcourse.build.build_notebook`.
    """


@hookspec(firstresult=True)
def dlcourse_kernel_name(topic: Topic, source: NotebookSource) -> str | None:
    """Return the kernelspec name that a built notebook pins.

    :param topic: the topic the notebook belongs to.
    :param source: the notebook's source.
    :return: a kernelspec name, or ``None`` to leave the choice to others.

    Stops at first non-None result; the core default is ``"dlcourse-py3"``.

    Called by: :func:`dlcourse.build.build_notebook`.
    """


# --------------------------------------------------------------- grading


@hookspec(firstresult=True)
def dlcourse_late_penalty(submission: Any, score: float, seconds_late: float) -> float | None:
    """Return the penalty (points to subtract) for a late submission.

    :param submission: the id of the student whose notebook is scored (what
        nbgrader's late-submission plugins receive).
    :param score: the notebook's score before the penalty.
    :param seconds_late: how late the submission was, in seconds (> 0).
    :return: points to subtract, or ``None`` to leave the choice to others.

    Stops at first non-None result; the core default is no penalty (0).

    Called by: nbgrader, through :class:`dlcourse.nbgrader_bridge.LatePenalty`.
    """


@hookspec
def dlcourse_grading_finished(results: Sequence[SubmissionResult], course: Course) -> None:
    """Be told that ``dlcourse grade`` has finished a batch.

    :param results: one :class:`dlcourse_graders.results.SubmissionResult` per
        submission graded in this run, with status and score.
    :param course: the course that was graded.

    Called by: ``dlcourse grade`` after the gradebook is written.
    """


@hookspec(firstresult=True)
def dlcourse_export_grades(
    results: Sequence[Mapping[str, Any]], destination: Path, format: str
) -> bool | None:
    """Write the course's grades to ``destination``.

    :param results: one row per (assignment, student) with keys ``assignment``,
        ``student``, ``score``, ``max_score``, ``status`` and ``message``.
    :param destination: the file to write.
    :param format: the format asked for (``"csv"`` is built in).
    :return: ``True`` once written, ``None`` if this plugin does not handle
        ``format``.

    Stops at first non-None result; the core default writes CSV.

    Called by: ``dlcourse export`` and nbgrader's ``nbgrader export`` through
    :class:`dlcourse.nbgrader_bridge.StatusExportPlugin`.
    """
