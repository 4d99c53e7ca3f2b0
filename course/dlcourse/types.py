"""Frozen value types that plugins return from the catalogue hooks.

Every hook in :mod:`dlcourse.hookspecs` speaks in these types, so a topic
plugin never needs to know how the course is built or graded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Mapping

if TYPE_CHECKING:  # pragma: no cover - imported for type checkers only
    import numpy as np

    from dlcourse.checking import Student

NotebookKind = Literal["assignment", "lesson"]


@dataclass(frozen=True)
class Topic:
    """One topic of the course, contributed by one plugin.

    ``slug`` is the topic's id (``"perceptron"``); it is also the id of the
    topic's main assignment.
    """

    slug: str
    title: str
    summary: str = ""
    order: int = 100
    plugin: str = ""


@dataclass(frozen=True)
class NotebookSource:
    """A jupytext percent source that ``dlcourse build`` turns into a notebook.

    ``assignment`` is the nbgrader assignment id the notebook belongs to,
    ``name`` the notebook's file stem inside it, and ``time_limit`` the wall
    time in seconds that the reference solution must stay within (also the
    grading wall limit per submission, with a start-up allowance). ``limits``
    overrides the grading sandbox's defaults for this notebook's assignment
    (keys of ``dlcourse_graders.sandbox.SandboxLimits``, e.g.
    ``{"address_space": 8 * 2**30}``).
    """

    topic: str
    path: Path
    assignment: str
    name: str
    kind: NotebookKind = "assignment"
    time_limit: float = 60.0
    limits: Mapping[str, float] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Visualiser:
    """An ipywidgets visualiser over a pure function.

    ``build`` returns the widget; ``compute`` is the pure function the widget
    draws (unit-tested without a browser).
    """

    topic: str
    name: str
    title: str
    build: Callable[..., Any]
    compute: Callable[..., Any]


@dataclass(frozen=True)
class CaseResult:
    """The verdict on one case of a check.

    ``message`` is shown to the student, so it explains what is wrong without
    revealing expected values or the check's code.
    """

    passed: bool
    message: str
    weight: float = 1.0


CheckFunction = Callable[["Student", "np.random.Generator"], Iterable[CaseResult]]


@dataclass(frozen=True)
class Check:
    """A trusted hidden check.

    ``run(student, rng)`` sends challenge inputs through ``student`` and yields
    one :class:`CaseResult` per case; the fraction of passed case weight is the
    check's share of its grade cell's points.
    """

    id: str
    topic: str
    title: str
    run: CheckFunction = field(compare=False)


@dataclass(frozen=True)
class Dataset:
    """An offline dataset a topic ships or generates (never downloaded)."""

    topic: str
    name: str
    description: str
    load: Callable[..., Any] = field(compare=False)
