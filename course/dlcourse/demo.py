"""``dlcourse demo``: the whole course cycle on a simulated class.

init → build → validate → release → five simulated students per assignment
→ grade → feedback → export, then a table of expected against actual
statuses and scores. Exits non-zero on any mismatch.

By default the demo runs one topic (:data:`DEFAULT_TOPIC`): a first look
must fit in a few minutes on a 2-core machine, and every topic goes through
the same cycle. ``--all-topics`` runs the full tour of every installed topic
(about 25 minutes on 2 loaded cores).
"""

from __future__ import annotations

import time
from pathlib import Path

from dlcourse.build import build_course
from dlcourse.coursedir import CourseError, init_course
from dlcourse.manager import Hooks
from dlcourse.nbgrader_ops import generate_assignment, release_to_exchange


#: The topic the demo runs when none is named: the first of the course and the quickest to grade.
DEFAULT_TOPIC = "perceptron"


def demo_topics(topics: list[str] | None, all_topics: bool = False) -> list[str] | None:
    """The topics the demo runs: those named, every topic (``None``) with ``all_topics``,
    else :data:`DEFAULT_TOPIC`."""
    if topics and all_topics:
        raise CourseError("name topics or give --all-topics, not both")
    if all_topics:
        return None
    return list(topics) if topics else [DEFAULT_TOPIC]


def run_demo(directory: Path, topics: list[str] | None = None, all_topics: bool = False) -> int:
    """Run the demo in the new directory ``directory``; return the exit code.

    ``topics`` names the topics to run; with none, the demo runs :data:`DEFAULT_TOPIC`,
    or every installed topic when ``all_topics`` is true.
    """
    from dlcourse_graders.export import grade_rows
    from dlcourse_graders.feedback import generate_feedback
    from dlcourse_graders.grade import grade_assignment, print_progress
    from dlcourse_graders.gradebook import open_gradebook
    from dlcourse_graders.simulate import simulate_class
    from dlcourse_graders.validate import validate_assignment

    if directory.exists() and any(directory.iterdir()):
        raise CourseError(f"{directory}: not empty; the demo needs a new directory")
    topics = demo_topics(topics, all_topics)
    started = time.monotonic()
    course = init_course(directory / "course", "dlcourse-demo", exchange=directory / "exchange")
    hooks = Hooks.load(course)
    built = build_course(course, topics, hooks)
    print(f"built {len(built)} notebook(s) in {time.monotonic() - started:.1f} s")
    chosen = [hooks.topic(slug) for slug in topics] if topics else hooks.topics()
    assignments = sorted({s.assignment for t in chosen for s in hooks.notebooks(t) if s.kind == "assignment"})
    mismatches: list[str] = []
    table = [f"{'assignment':<16} {'student':<10} {'expected':>22} {'actual':>22}  ok"]
    for assignment in assignments:
        report = validate_assignment(course, assignment)
        print(report.render())
        if not report.passed:
            mismatches.append(f"{assignment}: validation failed")
            continue
        generate_assignment(course, assignment)
        release_to_exchange(course, assignment)
        students = simulate_class(course, assignment)
        # The slowest honest submission is the solution: leave it room, stop loops early.
        wall = max(10.0, 3 * report.grading_seconds + 5)
        results = grade_assignment(course, assignment, [s.student for s in students], hooks=hooks,
                                   wall_limit=wall, progress=print_progress())
        by_student = {r.student: r for r in results}
        for simulated in students:
            actual = by_student[simulated.student]
            score_ok = actual.score is not None and abs(actual.score - simulated.expected_score) < 1e-6
            ok = actual.status is simulated.expected_status and score_ok
            table.append(f"{assignment:<16} {simulated.student:<10} "
                         f"{_outcome(simulated.expected_status, simulated.expected_score):>22} "
                         f"{_outcome(actual.status, actual.score):>22}  {'yes' if ok else 'NO'}")
            if not ok:
                mismatches.append(f"{assignment}/{simulated.student}: expected "
                                  f"{_outcome(simulated.expected_status, simulated.expected_score)}, got "
                                  f"{_outcome(actual.status, actual.score)} {actual.message}")
        files = generate_feedback(course, assignment)
        print(f"feedback: {len(files)} file(s), no hidden test text")
    with open_gradebook(course) as gradebook:
        rows = grade_rows(gradebook)
    hooks.export_grades(rows, course.root / "grades.csv", "csv")
    print(f"exported {len(rows)} row(s) to {course.root / 'grades.csv'}")
    print("\n".join(table))
    print(f"demo finished in {time.monotonic() - started:.0f} s")
    if mismatches:
        print("MISMATCHES:\n  " + "\n  ".join(mismatches))
        return 1
    print("all outcomes as expected")
    return 0


def _outcome(status: object, score: float | None) -> str:
    return f"{status} {'-' if score is None else f'{score:g}'}"
