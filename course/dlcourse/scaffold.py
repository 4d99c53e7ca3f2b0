"""``dlcourse new-topic``: a complete, installable topic package that validates out of the box.

The files come from the templates shipped in ``dlcourse/topic_template``
(package data, no real topic's solutions or checks): a ``pyproject.toml``
with the ``dlcourse`` entry point and the wheel and sdist exclusions, a
``TopicPlugin``, an assignment with one worked exercise, its hidden check
against a PyTorch oracle, offline data, a widget over a pure function, and
tests on :mod:`dlcourse.testing`.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from dlcourse.coursedir import CourseError

#: template file -> where it goes in the new project (``{slug}`` and ``{package}`` filled in).
FILES: dict[str, str] = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "plugin.py.tmpl": "{package}/__init__.py",
    "data.py.tmpl": "{package}/data.py",
    "widgets.py.tmpl": "{package}/widgets.py",
    "assignment.py.tmpl": "{package}/notebooks/{slug}.py",
    "hidden_init.py.tmpl": "{package}/hidden/__init__.py",
    "checks.py.tmpl": "{package}/hidden/checks.py",
    "test_topic.py.tmpl": "tests/test_{slug}.py",
}
SLUG = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ScaffoldError(CourseError):
    """The topic cannot be created (a bad name, a folder in the way, a topic of that name installed)."""


def topic_names(name: str) -> dict[str, str]:
    """The names a topic called ``name`` gets: slug, package, distribution and title."""
    if not SLUG.match(name):
        raise ScaffoldError(f"{name!r} is not a topic name: use lowercase letters, digits and underscores, "
                            "starting with a letter (it becomes the package dlcourse_NAME)")
    return {"slug": name, "package": f"dlcourse_{name}", "dist": f"dlcourse-{name.replace('_', '-')}",
            "title": name.replace("_", " ").capitalize()}


def render(template: str, names: dict[str, str]) -> str:
    """``template`` with every ``{{key}}`` replaced by its name."""
    for key, value in names.items():
        template = template.replace("{{" + key + "}}", value)
    return template


def new_topic(name: str, directory: Path | None = None, installed: set[str] | None = None) -> Path:
    """Write the project of topic ``name`` into ``directory/name`` (the current folder by default).

    ``installed`` are the slugs of installed topics: a new topic must not
    take one of them. Returns the project folder; refuses to write into a
    folder that exists and is not empty.
    """
    names = topic_names(name)
    if installed and name in installed:
        raise ScaffoldError(f"a topic called {name!r} is installed already: choose another name")
    project = (directory or Path.cwd()) / name
    if project.exists() and any(project.iterdir()):
        raise ScaffoldError(f"{project} exists and is not empty")
    templates = resources.files("dlcourse") / "topic_template"
    for template, target in FILES.items():
        path = project / target.format(**names)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(templates.joinpath(template).read_text(encoding="utf-8"), names), encoding="utf-8")
    return project
