"""The service's settings: a ``DlcourseService`` section of the course's ``nbgrader_config.py``.

Example (all optional)::

    # dlcourse serve: when a graded submission's feedback reaches the student
    c.DlcourseService.default_policy = "immediate"   # "immediate", "after_due" or "manual"
    c.DlcourseService.feedback_policy = {"perceptron": "after_due"}   # per assignment
    # graded feedback per student and assignment per window (0: no limit); more
    # submissions wait, recorded "rate_limited", and the latest is graded when the window allows
    c.DlcourseService.max_feedback_per_hour = 3
    c.DlcourseService.rate_window_seconds = 3600
    c.DlcourseService.poll_seconds = 1.0              # how often the exchange is looked at
    c.DlcourseService.batch_size = 0                  # per round of grading (0: four per worker)
"""

from __future__ import annotations

from traitlets import Dict, Enum, Float, Int, TraitError, Unicode, validate
from traitlets.config import Configurable

from dlcourse.coursedir import Course, CourseError

POLICIES = ("immediate", "after_due", "manual")


class DlcourseService(Configurable):
    """Settings of ``dlcourse serve`` for one course."""

    default_policy = Enum(POLICIES, default_value="immediate", config=True,
                          help="When feedback is released for assignments not in feedback_policy: "
                               "'immediate' (as soon as graded), 'after_due' (once nbgrader's due date of the "
                               "assignment has passed) or 'manual' (when an instructor releases it).")
    feedback_policy = Dict(value_trait=Unicode(), key_trait=Unicode(), default_value={}, config=True,
                           help="Per-assignment release policy, e.g. {'perceptron': 'manual'}.")
    max_feedback_per_hour = Int(0, min=0, config=True,
                                help="Graded feedback per student and assignment within rate_window_seconds "
                                     "(0: no limit). Submissions over it are recorded 'rate_limited' and the "
                                     "latest is graded when the window allows.")
    rate_window_seconds = Float(3600.0, min=1.0, config=True,
                                help="The window of max_feedback_per_hour (an hour unless shortened for a demo).")
    poll_seconds = Float(1.0, min=0.05, config=True, help="Seconds between two looks at the exchange.")
    batch_size = Int(0, min=0, config=True,
                     help="The most submissions of one assignment graded in one round before their feedback "
                          "goes out and the exchange is looked at again (0: four per worker). A burst at a "
                          "deadline is graded in rounds, so early submitters get feedback during it and a "
                          "new submission waits at most one round.")

    @validate("feedback_policy")
    def _known_policies(self, proposal: dict) -> dict:
        wrong = {name: policy for name, policy in proposal["value"].items() if policy not in POLICIES}
        if wrong:
            raise TraitError(f"c.DlcourseService.feedback_policy: unknown policy {wrong}; use one of {POLICIES}")
        return proposal["value"]

    def policy(self, assignment: str) -> str:
        """The release policy of ``assignment``."""
        return self.feedback_policy.get(assignment, self.default_policy)


def service_config(course: Course) -> DlcourseService:
    """Read the ``DlcourseService`` section of the course's ``nbgrader_config.py`` with traitlets."""
    from traitlets.config.loader import PyFileConfigLoader

    loader = PyFileConfigLoader(course.config_file.name, path=str(course.root))
    try:
        config = loader.load_config()
        return DlcourseService(config=config)
    except TraitError as error:
        raise CourseError(f"{course.config_file}: {error}") from error
    except Exception as error:  # noqa: BLE001 - a broken config file is the user's to fix
        raise CourseError(f"{course.config_file}: cannot be read ({error})") from error
