"""The ``dlcourse`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from dlcourse.coursedir import Course, CourseError
from dlcourse.nbgrader_ops import use_environment_scripts
from dlcourse.permissions import secure_course

Command = Callable[[argparse.Namespace], int]


def _course(args: argparse.Namespace) -> Course:
    return Course.open(args.course)


def cmd_init(args: argparse.Namespace) -> int:
    from dlcourse.coursedir import init_course

    course = init_course(args.directory, args.course_id, args.exchange, args.instructor_group)
    print(f"created course {course.root} (config: {course.config_file.name})")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from dlcourse.manager import describe_plugins, get_plugin_manager

    records = describe_plugins(get_plugin_manager())
    if not args.all:
        records = [r for r in records if r["name"] != "dlcourse.defaults"]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    for record in records:
        print(f"{record['name']} ({record['distribution']} {record['version']})")
        for hook in record["hooks"]:
            print(f"    {hook}")
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from dlcourse.manager import Hooks

    from dlcourse.topic_plugin import BrokenChecksError

    hooks = Hooks.load()
    broken = 0
    for topic in hooks.topics():
        notebooks = ", ".join(f"{s.assignment}/{s.name} ({s.kind})" for s in hooks.notebooks(topic))
        try:
            checks = str(len(hooks.checks(topic)))
        except BrokenChecksError as error:  # say so, with the traceback: "0 checks" would hide it
            checks, broken = "BROKEN", broken + 1
            print(f"dlcourse topics: error: {error}\n{error.details}", file=sys.stderr, end="")
        print(f"{topic.slug:<16} {topic.title}\n{'':<16} notebooks: {notebooks}; hidden checks: {checks}")
    return 1 if broken else 0


def cmd_build(args: argparse.Namespace) -> int:
    from dlcourse.build import build_course

    course = _course(args)
    for path in build_course(course, args.topics or None):
        print(f"built {path.relative_to(course.root)}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from dlcourse.nbgrader_ops import generate_assignment, release_to_exchange

    course = _course(args)
    release = generate_assignment(course, args.assignment)
    print(f"generated {release.relative_to(course.root)}")
    if release_to_exchange(course, args.assignment):
        print(f"released {args.assignment} to the exchange")
    else:
        print("no exchange configured: hand out the release folder yourself")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from dlcourse.nbgrader_ops import collect_from_exchange

    students = collect_from_exchange(_course(args), args.assignment)
    print(f"collected {len(students)} submission(s): {', '.join(students) or 'none'}")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from dlcourse_graders.executors import executor_for
    from dlcourse_graders.grade import grade_assignment, make_engine, print_progress, summary_table

    course = _course(args)
    engine = make_engine(args.engine, course, wall_limit=args.wall_limit)
    from dlcourse_graders.sandbox import SandboxUnavailable

    executor = None if engine else executor_for(args.workers, args.scheduler)
    try:
        results = grade_assignment(course, args.assignment, args.student or None, engine=engine,
                                   executor=executor, wall_limit=args.wall_limit, force=args.force,
                                   device=args.device, gpu_slots=args.gpu_slots, progress=print_progress(),
                                   weak_sandbox=args.weak_sandbox)
    except SandboxUnavailable as error:
        print(f"dlcourse grade: {error}", file=sys.stderr)
        return 2
    finally:
        if executor is not None:
            executor.close()
    print(summary_table(results))
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from dlcourse_graders.feedback import generate_feedback, release_feedback

    course = _course(args)
    try:
        files = generate_feedback(course, args.assignment, args.student or None, release=False)
        print(f"wrote {len(files)} feedback file(s) under {(course.root / 'feedback').relative_to(course.root)}/")
        released = release_feedback(course, args.assignment, args.student or None)
    finally:
        secure_course(course.root, [args.assignment])
    if released:
        print(f"released feedback to the exchange for {len(released)} student(s): {', '.join(released)}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from dlcourse_graders.service.loop import configure_logging, run_service

    configure_logging()
    return run_service(_course(args), workers=args.workers, scheduler=args.scheduler, web=_service_pages(args.port))


def _service_pages(port: int | None) -> Callable[..., Callable[[], None] | None] | None:
    """The service's web pages, when ``--port`` or the hub's service variables ask for them."""
    import threading

    from dlcourse_graders.service.web import serve_web, web_settings

    if web_settings(port) is None:
        return None

    def start(course: Course, _config: object) -> Callable[[], None]:
        stop = threading.Event()
        threading.Thread(target=serve_web, args=(course.root, port), kwargs={"stop": stop}, daemon=True,
                         name="dlcourse-pages").start()
        return stop.set

    return start


def cmd_export(args: argparse.Namespace) -> int:
    from dlcourse.manager import Hooks
    from dlcourse_graders.export import grade_rows
    from dlcourse_graders.gradebook import open_gradebook

    course = _course(args)
    with open_gradebook(course) as gradebook:
        rows = grade_rows(gradebook, [args.assignment] if args.assignment else None)
    destination = Path(args.to) if args.to else course.root / "grades.csv"
    Hooks.load(course).export_grades(rows, destination, args.format)
    secure_course(course.root)  # grades.csv, when written into the course
    print(f"wrote {len(rows)} row(s) to {destination}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from dlcourse_graders.validate import validate_assignment

    course = _course(args)
    assignments = args.assignments or [a for a in course.assignments() if not a.endswith("_lesson")]
    ok = True
    for assignment in assignments:
        report = validate_assignment(course, assignment)
        print(report.render(verbose=args.verbose))
        ok = ok and report.passed
    return 0 if ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from dlcourse.demo import run_demo

    return run_demo(Path(args.course), args.topics or None, all_topics=args.all_topics)


def cmd_new_topic(args: argparse.Namespace) -> int:
    from dlcourse.manager import Hooks
    from dlcourse.scaffold import new_topic

    installed = {topic.slug for topic in Hooks.load().topics()}
    project = new_topic(args.name, Path(args.dir) if args.dir else None, installed)
    print(f"created topic {args.name!r} in {project}\n"
          f"next: pip install -e {project} && dlcourse init try-course && "
          f"dlcourse build {args.name} --course try-course && dlcourse validate {args.name} --course try-course")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from dlcourse.doctor import diagnose

    problems = 0
    for check in diagnose(Path(args.course)):
        print(f"[{'ok' if check.ok else '!!'}] {check.name}: {check.detail}")
        problems += 0 if check.ok or check.advisory else 1
    return 1 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dlcourse``."""
    parser = argparse.ArgumentParser(prog="dlcourse", description="An auto-graded deep-learning course.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Command, help_text: str, course: bool = True) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        if course:
            command.add_argument("--course", default=".", metavar="DIR",
                                 help="the course directory (default: the current directory)")
        command.set_defaults(handler=handler)
        return command

    p = add("init", cmd_init, "create an nbgrader course directory", course=False)
    p.add_argument("directory")
    p.add_argument("--course-id", default=None, help="nbgrader course id (default: the folder name)")
    p.add_argument("--exchange", default=None, metavar="DIR", help="a local exchange directory to use")
    p.add_argument("--instructor-group", default=None, metavar="GROUP",
                   help="a Unix group whose members share the course (default: only you can read it)")
    p = add("plugins", cmd_plugins, "list installed plugins and their hooks", course=False)
    p.add_argument("--all", action="store_true", help="include the core defaults")
    p.add_argument("--json", action="store_true", help="print JSON")
    add("topics", cmd_topics, "list installed topics", course=False)
    p = add("build", cmd_build, "build topic notebooks into COURSE/source/")
    p.add_argument("topics", nargs="*", metavar="TOPIC")
    p = add("release", cmd_release, "generate the student version and release it")
    p.add_argument("assignment")
    p = add("collect", cmd_collect, "collect submissions from the exchange")
    p.add_argument("assignment")
    p = add("grade", cmd_grade, "grade every submission of an assignment")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--wall-limit", type=float, default=None, metavar="SECONDS",
                   help="wall time per submission (default: the notebooks' budget + 30 s)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="grade on this Dask cluster instead of locally")
    p.add_argument("--device", choices=("auto", "cpu"), default="auto",
                   help="auto: grade on a worker's GPU when it has one (default); cpu: never")
    p.add_argument("--gpu-slots", type=int, default=1, metavar="N",
                   help="submissions sharing one GPU at once (default 1)")
    p.add_argument("--force", action="store_true",
                   help="regrade submissions that are unchanged since they were last graded")
    p.add_argument("--engine", choices=("sandbox", "nbgrader"), default="sandbox",
                   help="sandbox: checks outside the student's process (default); "
                        "nbgrader: plain nbgrader autograde, checks in the kernel")
    p.add_argument("--weak-sandbox", action="store_true",
                   help="grade even where student code cannot get an allow-list filesystem (no bubblewrap or no "
                        "user namespaces): it is then kept out only by a deny list and file permissions")
    p = add("feedback", cmd_feedback, "write feedback without hidden tests")
    p.add_argument("assignment")
    p.add_argument("--student", action="append")
    p = add("serve", cmd_serve, "grade submissions as they arrive and release feedback by policy")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes, kept warm (default: one per core)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="grade on this Dask cluster instead of locally")
    p.add_argument("--port", type=int, default=None, metavar="PORT",
                   help="serve the dashboard and students' pages on 127.0.0.1:PORT (behind a hub: its service URL)")
    p = add("export", cmd_export, "export grades with a status column")
    p.add_argument("--assignment", default=None)
    p.add_argument("--to", default=None, metavar="FILE", help="destination (default: COURSE/grades.csv)")
    p.add_argument("--format", default="csv")
    p = add("validate", cmd_validate, "check assignments before release")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="show every grade cell, check and failing case (shown anyway when validation fails)")
    p = add("demo", cmd_demo, "build, release and grade a simulated class", course=False)
    p.add_argument("--course", required=True, metavar="DIR", help="a new directory for the demo course")
    p.add_argument("topics", nargs="*", metavar="TOPIC", help="topics to run (default: perceptron)")
    p.add_argument("--all-topics", action="store_true", help="run every installed topic (the full tour)")
    add("doctor", cmd_doctor, "report what this machine needs for dlcourse")
    p = add("new-topic", cmd_new_topic, "write a new topic package that validates out of the box", course=False)
    p.add_argument("name", help="the topic's slug: lowercase letters, digits and underscores")
    p.add_argument("--dir", default=None, metavar="DIR", help="where to create NAME/ (default: the current folder)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dlcourse`` command."""
    args = build_parser().parse_args(argv)
    use_environment_scripts()
    try:
        return int(args.handler(args))
    except CourseError as error:
        print(f"dlcourse {args.command}: error: {error}", file=sys.stderr)
        if getattr(error, "details", ""):  # e.g. the traceback of a topic's hidden checks that do not import
            print(error.details, file=sys.stderr, end="")  # type: ignore[attr-defined]
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
