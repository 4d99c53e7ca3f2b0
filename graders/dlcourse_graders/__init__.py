"""dlcourse's grading engine: statuses, gradebook, feedback and export.

The seam is :func:`dlcourse_graders.grade.grade_assignment`: it grades every
submission of an assignment with an :class:`~dlcourse_graders.engine.Engine`
and records status and score next to nbgrader's own tables.
"""

__all__: list[str] = []
