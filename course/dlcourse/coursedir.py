"""The course directory: nbgrader's layout plus dlcourse's settings."""

from __future__ import annotations

import os
import stat
import textwrap
from dataclasses import dataclass
from pathlib import Path

CONFIG_FILE = "nbgrader_config.py"


class CourseError(Exception):
    """A user mistake about the course (missing directory, unknown assignment)."""


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory (``COURSE``)."""

    root: Path

    @classmethod
    def open(cls, root: str | Path) -> Course:
        """Open an existing course; :class:`CourseError` if it is not one."""
        path = Path(root).resolve()
        if not path.is_dir():
            raise CourseError(f"{path}: no such course directory (create one with `dlcourse init {root}`)")
        if not (path / CONFIG_FILE).is_file():
            raise CourseError(f"{path}: not a course directory ({CONFIG_FILE} missing; run `dlcourse init`)")
        return cls(path)

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def db_url(self) -> str:
        """The gradebook's SQLAlchemy URL (nbgrader's default: ``COURSE/gradebook.db``)."""
        from dlcourse.nbgrader_ops import course_config

        return course_config(self).db_url

    def source_dir(self, assignment: str) -> Path:
        return self.root / "source" / assignment

    def release_dir(self, assignment: str) -> Path:
        return self.root / "release" / assignment

    def submitted_dir(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / student / assignment

    def autograded_dir(self, student: str, assignment: str) -> Path:
        return self.root / "autograded" / student / assignment

    def feedback_dir(self, student: str, assignment: str) -> Path:
        return self.root / "feedback" / student / assignment

    def assignments(self) -> list[str]:
        """Assignments built into ``source/``."""
        source = self.root / "source"
        return sorted(p.name for p in source.iterdir() if p.is_dir()) if source.is_dir() else []

    def require_assignment(self, assignment: str) -> Path:
        """The source folder of ``assignment``; :class:`CourseError` names the known ones."""
        folder = self.source_dir(assignment)
        if not folder.is_dir() or not any(folder.glob("*.ipynb")):
            known = ", ".join(self.assignments()) or "none (run `dlcourse build`)"
            raise CourseError(f"{folder}: unknown assignment {assignment!r}; built assignments: {known}")
        return folder

    def students_with_submissions(self, assignment: str) -> list[str]:
        """Students who have a folder ``submitted/<student>/<assignment>/``."""
        submitted = self.root / "submitted"
        if not submitted.is_dir():
            return []
        return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())


def write_config(root: Path, course_id: str, exchange: Path | None,
                 instructor_group: str | None = None) -> Path:
    """Write ``nbgrader_config.py`` for a new course and return its path."""
    group_lines = "\n" + (
        f"# Instructors share this course through the group {instructor_group!r}, which owns its root\n"
        "# (dlcourse keeps directories 2770 and files 0660; nbgrader keeps its own files group-writable).\n"
        "c.CourseDirectory.groupshared = True\n" if instructor_group else
        "# Only the owner of this folder can read the course (dlcourse keeps it 0700/0600);\n"
        "# to share it with co-instructors, create the course with `dlcourse init --instructor-group GROUP`.\n"
    )
    exchange_lines = (
        f'c.Exchange.root = {str(exchange)!r}\n' if exchange else
        "# c.Exchange.root = '/srv/nbgrader/exchange'  # set to release/collect through an exchange\n"
    )
    text = textwrap.dedent(
        f'''\
        """nbgrader configuration of this dlcourse course (plain nbgrader reads it too)."""

        c = get_config()  # noqa: F821 - provided by traitlets

        c.CourseDirectory.course_id = {course_id!r}
        c.CourseDirectory.root = __file__.rsplit("/", 1)[0]
        # The gradebook; any SQLAlchemy URL works (e.g. postgresql://...).
        # c.CourseDirectory.db_url = "sqlite:///gradebook.db"
        '''
    ) + group_lines + textwrap.dedent(
        '''
        # Exchange: where `dlcourse release` puts assignments and students submit.
        # On a JupyterHub every user must be able to write there (mode 777 + sticky bit).
        '''
    ) + exchange_lines + textwrap.dedent(
        '''
        # Students never see hidden tests in their release, and feedback strips them too.
        c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
        # Late penalties come from the dlcourse_late_penalty hook (default: none).
        c.AssignLatePenalties.plugin_class = "dlcourse.nbgrader_bridge.LatePenalty"
        # Lessons and assignments run on the course kernel.
        c.Execute.timeout = 120

        # Formgrader's buttons go through dlcourse too.
        # "Generate Feedback": no hidden tests or check ids, LaTeX as MathML, no CDN script.
        c.GenerateFeedback.preprocessors = [
            "nbgrader.preprocessors.GetGrades",
            "nbgrader.preprocessors.ClearHiddenTests",
            "dlcourse_graders.feedback_filters.ShortenGradeCellTracebacks",
            "dlcourse_graders.feedback_math.MathToMathML",
            "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
        ]
        c.GenerateFeedback.exporter_class = "dlcourse_graders.feedback_config.OfflineFeedbackExporter"
        # "Autograde": nbgrader's in-kernel autograde is off; it says to use `dlcourse grade`,
        # which grades in the sandbox. (A deliberate stock run passes
        # --Autograde.exporter_class=nbconvert.exporters.NotebookExporter.)
        c.Autograde.exporter_class = "dlcourse_graders.autograde_guard.SandboxOnlyAutograde"

        # `dlcourse serve`: grade submissions as they arrive in the exchange.
        # When feedback reaches the student: "immediate", "after_due" (nbgrader's due date) or "manual".
        # c.DlcourseService.default_policy = "immediate"
        # c.DlcourseService.feedback_policy = {"perceptron": "after_due"}
        # Graded feedback per student and assignment per hour (0: no limit); more submissions wait.
        # c.DlcourseService.max_feedback_per_hour = 3
        # c.DlcourseService.poll_seconds = 1.0
        '''
    )
    path = root / CONFIG_FILE
    path.write_text(text, encoding="utf-8")
    return path


def init_course(root: str | Path, course_id: str | None = None, exchange: str | Path | None = None,
                instructor_group: str | None = None) -> Course:
    """Create a new course directory; refuse to overwrite an existing course.

    The course is private to the owner of its root (the instructor), or shared
    with ``instructor_group`` too (see :mod:`dlcourse.permissions`).
    """
    from dlcourse.permissions import secure_course

    path = Path(root).resolve()
    if (path / CONFIG_FILE).exists():
        raise CourseError(f"{path / CONFIG_FILE}: a course already exists here")
    gid = _group_id(instructor_group) if instructor_group else None
    path.mkdir(parents=True, exist_ok=True)
    if gid is not None:
        try:  # the root's group is the course's group: secure_course gives it to everything inside
            os.chown(path, -1, gid)
        except PermissionError:
            raise CourseError(f"{path}: cannot give it to group {instructor_group!r} "
                              f"(you must be a member of it, or root)") from None
    for sub in ("source", "release", "submitted", "autograded", "feedback"):
        (path / sub).mkdir(exist_ok=True)
    exchange_path = Path(exchange).resolve() if exchange else None
    if exchange_path:
        _prepare_exchange(exchange_path)
    write_config(path, course_id or path.name, exchange_path, instructor_group)
    from dlcourse.course_secret import course_secret

    course_secret(path)  # what hidden check inputs are drawn from: see dlcourse.course_secret
    secure_course(path, everything=True)
    return Course(path)


def _prepare_exchange(exchange: Path) -> None:
    """Create the exchange with mode 1777, or accept one that already has it.

    On a hub the administrator creates the exchange (owned by root) before
    any instructor runs ``init``; only its owner could chmod it again.
    """
    exchange.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(exchange.stat().st_mode)
    if mode == 0o1777:
        return
    try:
        exchange.chmod(0o1777)
    except PermissionError as error:
        raise CourseError(
            f"{exchange}: the exchange has mode {mode:04o} and belongs to someone else; every account must be "
            f"able to write it: ask its owner to run `chmod 1777 {exchange}`"
        ) from error


def _group_id(name: str) -> int:
    """The id of the Unix group ``name``; :class:`CourseError` when there is none."""
    import grp

    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        message = f"--instructor-group {name}: no such group (create it first, e.g. `groupadd {name}`)"
        raise CourseError(message) from None
