"""A course team's first week on one JupyterHub, in a real browser.

Real Unix accounts (an instructor and two students), JupyterHub with PAM,
LocalProcessSpawner and configurable-http-proxy on 127.0.0.1, started from
the shipped ``kernels/hub/jupyterhub_config.py``; every account runs the
environment the shipped ``kernels/hub/install-env.sh`` builds; Debian's
chromium driven by Playwright. The instructor works with ``dlcourse`` as
their own account, from their own checkout of the course repository.

Screenshots and the measured times land in ``test-artifacts/hub/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from hub_support import (
    ARTIFACTS,
    CHROMIUM,
    ROOT,
    Account,
    Hub,
    missing_requirements,
    running_hub,
    shared_environment,
    unix_accounts,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from unix_accounts import open_folder

MISSING = missing_requirements()
# No skip: `make test` runs as root (it installs system packages) and installs chromium,
# configurable-http-proxy and playwright, so anything missing is a failure that names it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hub")]

INSTRUCTOR, ALICE, BOB = "dlc-teach", "dlc-alice", "dlc-bob"
ASSIGNMENT = "perceptron"
KERNEL_NAME = "Deep Learning (PyTorch)"
#: What must never reach a student: hidden regions and the check ids they name.
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "dlcourse_check(")
#: Probing from bob's own kernel: each line tries one thing bob must not be able to do.
PROBE = '''\
import json, os
def attempt(label, action):
    try:
        action()
        return label, "ALLOWED"
    except OSError as error:
        return label, type(error).__name__
course = {course!r}
results = dict([
    attempt("alice's home", lambda: os.listdir({alice_home!r})),
    attempt("alice's notebook", lambda: open({alice_notebook!r}).read()),
    attempt("course folder", lambda: os.listdir(course)),
    attempt("source with solutions", lambda: open(course + "/source/{assignment}/{assignment}.ipynb").read()),
    attempt("gradebook", lambda: open(course + "/gradebook.db", "rb").read()),
    attempt("submitted", lambda: os.listdir(course + "/submitted")),
    attempt("exchange inbound", lambda: os.listdir({inbound!r})),
    attempt("exchange feedback", lambda: os.listdir({feedback!r})),
])
print("PROBE " + json.dumps(results))
'''


class Timer:
    """Wall times of the week's steps, written as an artifact and printed."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def measure(self, name: str):
        timer = self

        class _Span:
            def __enter__(self):
                self.start = time.monotonic()

            def __exit__(self, *exc):
                timer.times[name] = round(time.monotonic() - self.start, 1)

        return _Span()


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # The flags keep chromium from reaching for the network at start.
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shared_tmp() -> Iterator[Path]:
    """A folder every account can enter (pytest's own tmp is root's, mode 0700)."""
    with open_folder() as folder:
        yield folder


# ------------------------------------------------------------ the instructor


def instructor_checkout(teach: Account) -> dict[str, str]:
    """The instructor's own copy of the course repository (solutions, hidden
    checks), private to them; returns the environment their commands run in."""
    src = teach.home / "dlcourse-src"
    for top in ("course", "graders", "plugins"):
        shutil.copytree(ROOT / top, src / top, ignore=shutil.ignore_patterns("__pycache__"))
    uid, gid = teach.ids
    for path in [src, *src.rglob("*")]:
        shutil.chown(path, uid, gid)
    src.chmod(0o700)
    return {"PYTHONPATH": ":".join(str(src / top) for top in ("course", "graders", "plugins"))}


def dlcourse(teach: Account, env_prefix: Path, env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    done = teach.run([str(env_prefix / "bin" / "dlcourse"), *args], cwd=cwd, env=env)
    return done.stdout + done.stderr


# ---------------------------------------------------------------- the browser


def log_in(browser, hub: Hub, account: Account):
    """A fresh browser session logged in as ACCOUNT, on its JupyterLab."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{hub.url}/hub/login")
    page.fill("input[name=username]", account.name)
    page.fill("input[name=password]", account.password)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(rf"/user/{account.name}/lab"), timeout=150_000)
    page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
    return page


def api(page, hub: Hub, account: Account, method: str, path: str, data: dict | None = None) -> dict:
    """Call the user's Jupyter server REST API with the browser's own session."""
    xsrf = next((c["value"] for c in page.context.cookies() if c["name"] == "_xsrf"), "")
    reply = page.request.fetch(
        f"{hub.url}/user/{account.name}/api/{path}", method=method,
        headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"},
        data=json.dumps(data) if data is not None else None,
    )
    assert reply.ok, f"{method} {path}: {reply.status} {reply.text()[:500]}"
    return reply.json() if reply.text() else {}


def open_menu_item(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}")).first.click()


def menu_items(page, menu: str) -> list[str]:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{menu}$")).click()
    labels = page.locator(".lm-Menu-content .lm-Menu-itemLabel").all_inner_texts()
    page.keyboard.press("Escape")
    return labels


def open_and_run_all(page, hub: Hub, account: Account, path: str) -> None:
    """Open the notebook in JupyterLab, check its kernel, and Run All Cells once the kernel is idle."""
    page.goto(f"{hub.url}/user/{account.name}/lab/tree/{path}")
    page.locator(".jp-Notebook").first.wait_for()
    expect(page.locator(".jp-KernelName, .jp-Toolbar-kernelName").first).to_contain_text(
        KERNEL_NAME, timeout=60_000)
    expect(page.locator("#jp-main-statusbar").get_by_text(f"{KERNEL_NAME} | Idle").first).to_be_visible(
        timeout=120_000)
    page.locator(".jp-Notebook .jp-Cell").first.click()
    open_menu_item(page, "Run", "Run All Cells")
    # The first code cell's prompt leaves "[ ]:" once the kernel has taken the run.
    expect(page.locator(".jp-CodeCell .jp-InputPrompt").first).not_to_have_text(
        re.compile(r"^\[ \]:$"), timeout=60_000)


def assignment_list(page) -> None:
    open_menu_item(page, "Nbgrader", "Assignment List")


def solve_with_the_reference(page, hub: Hub, student: Account, source: Path, path: str) -> int:
    """Put the reference solution into each of the student's solution cells
    through the contents API, as if the student had typed it; returns how many."""
    reference = {c.metadata["nbgrader"]["grade_id"]: c.source
                 for c in nbformat.read(source, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    model = api(page, hub, student, "GET", f"contents/{path}?content=1")
    filled = 0
    for cell in model["content"]["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and grade_id in reference:
            cell["source"] = reference[grade_id]
            filled += 1
    api(page, hub, student, "PUT", f"contents/{path}", {"type": "notebook", "format": "json",
                                                       "content": model["content"]})
    return filled


# -------------------------------------------------------------------- the week


def test_first_week_on_one_hub(browser, shared_tmp: Path, artifacts: Path) -> None:
    assert MISSING is None, f"the hub test cannot run: {MISSING}"
    env_prefix = shared_environment()
    timer = Timer()
    with unix_accounts(INSTRUCTOR, ALICE, BOB) as accounts:
        teach, alice, bob = accounts[INSTRUCTOR], accounts[ALICE], accounts[BOB]
        exchange = shared_tmp / "exchange"  # made by the administrator, as in docs/operations.md
        exchange.mkdir()
        exchange.chmod(0o1777)
        env = instructor_checkout(teach)
        course = teach.home / "course"

        # Monday: the instructor sets up the course as their own account.
        dlcourse(teach, env_prefix, env, "init", str(course), "--course-id", "dl101", "--exchange", str(exchange))
        dlcourse(teach, env_prefix, env, "build", ASSIGNMENT, cwd=course)
        dlcourse(teach, env_prefix, env, "release", ASSIGNMENT, cwd=course)

        with running_hub(env_prefix, shared_tmp / "hub-state", instructors=[INSTRUCTOR],
                         students=[ALICE, BOB], exchange=exchange, course="~/course") as hub:
            try:
                week(hub, browser, env_prefix, env, teach, alice, bob, course, exchange, artifacts, timer)
            except Exception:
                print("--- hub log ---\n" + hub.log_tail(120))
                for number, page in enumerate(p for c in browser.contexts for p in c.pages):
                    page.screenshot(path=str(artifacts / f"failure-{number}.png"))
                raise
        # The next week the course grades on submit: the same hub runs `dlcourse serve`.
        with running_hub(env_prefix, shared_tmp / "hub-state", instructors=[INSTRUCTOR],
                         students=[ALICE, BOB], exchange=exchange, course="~/course",
                         service_course="~/course") as hub:
            try:
                graded_on_submit(hub, browser, teach, alice, bob, course, artifacts, timer)
                sigkill_during_a_burst(hub, browser, alice, bob, course, timer)
            except Exception:
                print("--- hub log ---\n" + hub.log_tail(200))
                for number, page in enumerate(p for c in browser.contexts for p in c.pages):
                    page.screenshot(path=str(artifacts / f"failure-service-{number}.png"))
                raise
    (artifacts / "timings.json").write_text(json.dumps(timer.times, indent=2))
    print("hub first week, seconds: " + ", ".join(f"{k} {v}" for k, v in timer.times.items()))


def week(hub: Hub, browser, env_prefix: Path, env: dict[str, str], teach: Account, alice: Account,
         bob: Account, course: Path, exchange: Path, artifacts: Path, timer: Timer) -> None:
    # ------------------------------------------------ Tuesday: alice works
    with timer.measure("login to lab"):
        page = log_in(browser, hub, alice)
    student_menu = menu_items(page, "Nbgrader")
    assert "Assignment List" in student_menu
    assert not {"Formgrader", "Create assignment", "Course List"} & set(student_menu), student_menu

    assignment_list(page)
    with timer.measure("fetch"):
        released = page.locator(".nbgrader-released-assignment-list, #released_assignments_list").first
        row = released.locator("div, li").filter(has_text=ASSIGNMENT).first
        row.get_by_role("button", name=re.compile("Fetch", re.IGNORECASE)).click()
        page.locator("#fetched_assignments_list, .nbgrader-fetched-assignment-list").first \
            .get_by_text(ASSIGNMENT).first.wait_for()
    page.screenshot(path=str(artifacts / "assignment-list-fetched.png"))

    notebook_path = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    # Untouched, Run All goes past the failing public tests to the widget,
    # which says what to implement first.
    open_and_run_all(page, hub, alice, notebook_path)
    hint = page.locator(".jp-OutputArea .widget-html, .jp-OutputArea .jupyter-widgets",
                        has_text=re.compile("Implement .* to see")).first
    hint.wait_for(timeout=240_000)
    hint.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "student-untouched-widget.png"))
    expect(page.locator("#jp-main-statusbar").get_by_text(f"{KERNEL_NAME} | Idle").first).to_be_visible(
        timeout=120_000)
    page.goto(f"{hub.url}/user/{alice.name}/lab")  # leave the notebook before its file changes on disk
    page.locator("#jp-main-dock-panel").wait_for()
    filled = solve_with_the_reference(page, hub, alice, course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                      notebook_path)
    assert filled >= 5, f"only {filled} solution cells found in the released notebook"

    open_and_run_all(page, hub, alice, notebook_path)
    slider = page.locator(".jp-OutputArea .widget-slider").first
    slider.wait_for(timeout=240_000)
    plot = page.locator(".jp-OutputArea .jupyter-widgets-output-area img, .jp-OutputArea .widget-output img").first
    plot.wait_for(timeout=240_000)
    assert page.locator(".jp-OutputArea .widget-slider").count() >= 3
    slider.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "student-notebook-widget.png"))

    assignment_list(page)
    with timer.measure("submit"):
        fetched = page.locator("#fetched_assignments_list, .nbgrader-fetched-assignment-list").first
        fetched.get_by_role("button", name=re.compile("^Submit$", re.IGNORECASE)).first.click()
        page.locator("#submitted_assignments_list, .nbgrader-submitted-assignment-list").first \
            .get_by_text(ASSIGNMENT).first.wait_for()
    page.screenshot(path=str(artifacts / "assignment-list-submitted.png"))

    # ---------------------------------- Wednesday: the instructor grades
    with timer.measure("collect"):
        dlcourse(teach, env_prefix, env, "collect", ASSIGNMENT, cwd=course)
    with timer.measure("grade"):
        graded = dlcourse(teach, env_prefix, env, "grade", ASSIGNMENT, cwd=course)
    assert alice.name in graded, graded
    with timer.measure("feedback"):
        dlcourse(teach, env_prefix, env, "feedback", ASSIGNMENT, cwd=course)
    exported = dlcourse(teach, env_prefix, env, "export", "--to", str(course / "grades.csv"), cwd=course)
    row = next(line for line in (course / "grades.csv").read_text().splitlines() if alice.name in line)
    assert "graded" in row, (row, exported)

    # ----------------------------------- Thursday: alice reads feedback
    with timer.measure("feedback visible"):
        page.goto(f"{hub.url}/user/{alice.name}/lab")
        page.locator("#jp-main-dock-panel").wait_for()
        assignment_list(page)
        page.get_by_role("button", name=re.compile("Fetch Feedback", re.IGNORECASE)).first.click()
        link = page.get_by_text(re.compile("view feedback", re.IGNORECASE)).first
        link.wait_for()
        feedback_files = api(page, hub, alice, "GET", f"contents/{ASSIGNMENT}/feedback")["content"]
        stamp = feedback_files[0]["name"]
        feedback_url = f"{hub.url}/user/{alice.name}/files/{ASSIGNMENT}/feedback/{stamp}/{ASSIGNMENT}.html"
        feedback = page.context.new_page()
        feedback.goto(feedback_url)
        feedback.get_by_text(re.compile(r"Score")).first.wait_for()
    text = feedback.content()
    for marker in HIDDEN_MARKERS:
        assert marker not in text, f"feedback shows {marker!r}"
    assert re.search(r"Score:\s*\d", feedback.inner_text("body")), "the feedback page shows no score"
    feedback.screenshot(path=str(artifacts / "student-feedback.png"), full_page=False)
    feedback.close()

    # -------------------------- bob, from his own kernel, tries to look around
    bob_page = log_in(browser, hub, bob)
    inbound = exchange / "dl101" / "inbound"
    probe = PROBE.format(course=str(course), alice_home=str(alice.home),
                         alice_notebook=str(alice.home / notebook_path), assignment=ASSIGNMENT,
                         inbound=str(inbound), feedback=str(exchange / "dl101" / "feedback"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(probe)])
    notebook.metadata["kernelspec"] = {"name": "dlcourse-py3", "display_name": KERNEL_NAME, "language": "python"}
    api(bob_page, hub, bob, "PUT", "contents/probe.ipynb",
        {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(notebook))})
    open_and_run_all(bob_page, hub, bob, "probe.ipynb")
    output = bob_page.locator(".jp-OutputArea-output", has_text="PROBE").first
    output.wait_for(timeout=120_000)
    results = json.loads(output.inner_text().split("PROBE", 1)[1])
    assert len(results) == 8
    allowed = {label: verdict for label, verdict in results.items() if verdict == "ALLOWED"}
    assert not allowed, f"bob could read: {allowed}"

    # ---------------------- Friday: formgrader, for the instructor only
    teach_page = log_in(browser, hub, teach)
    assert {"Formgrader", "Create assignment"} <= set(menu_items(teach_page, "Nbgrader"))
    open_menu_item(teach_page, "Nbgrader", "Formgrader")
    frame = teach_page.frame_locator("iframe").first
    frame.get_by_text(ASSIGNMENT).first.wait_for()
    teach_page.screenshot(path=str(artifacts / "formgrader-tab.png"))
    teach_page.goto(f"{hub.url}/user/{teach.name}/formgrader/manage_submissions/{ASSIGNMENT}")
    submission = teach_page.locator("tr", has_text=alice.name).first
    submission.wait_for()
    score = float(re.search(r"(\d+(?:\.\d+)?)\s*/\s*\d+", submission.inner_text()).group(1))
    expected = float(row.split(",")[[c.strip() for c in (course / "grades.csv").read_text().splitlines()[0]
                                     .split(",")].index("score")])
    assert score == pytest.approx(expected), (submission.inner_text(), row)
    teach_page.screenshot(path=str(artifacts / "formgrader-submissions.png"))

    forbidden = page.goto(f"{hub.url}/user/{teach.name}/formgrader/")
    assert forbidden is not None and forbidden.status == 403, forbidden and forbidden.status
    own = page.request.get(f"{hub.url}/user/{alice.name}/formgrader/")
    assert own.status in (403, 404), own.status


def graded_on_submit(hub: Hub, browser, teach: Account, alice: Account, bob: Account, course: Path,
                     artifacts: Path, timer: Timer) -> None:
    """Bob submits; with no instructor command his feedback reaches his Assignment List; the
    instructor's dashboard shows it; students get 403 there and see only their own page."""
    for context in list(browser.contexts):
        context.close()
    page = log_in(browser, hub, bob)
    assignment_list(page)
    released = page.locator(".nbgrader-released-assignment-list, #released_assignments_list").first
    released.locator("div, li").filter(has_text=ASSIGNMENT).first.get_by_role(
        "button", name=re.compile("Fetch", re.IGNORECASE)).click()
    fetched = page.locator("#fetched_assignments_list, .nbgrader-fetched-assignment-list").first
    fetched.get_by_text(ASSIGNMENT).first.wait_for()
    notebook_path = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    solve_with_the_reference(page, hub, bob, course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                             notebook_path)
    page.reload()
    page.locator("#jp-main-dock-panel").wait_for()
    assignment_list(page)
    fetched = page.locator("#fetched_assignments_list, .nbgrader-fetched-assignment-list").first
    fetched.get_by_role("button", name=re.compile("^Submit$", re.IGNORECASE)).first.click()
    submitted = time.monotonic()
    page.locator("#submitted_assignments_list, .nbgrader-submitted-assignment-list").first \
        .get_by_text(ASSIGNMENT).first.wait_for()
    # No instructor command from here: the service collects, grades and releases.
    deadline = submitted + 300
    while True:
        page.reload()
        page.locator("#jp-main-dock-panel").wait_for()
        assignment_list(page)
        button = page.get_by_role("button", name=re.compile("Fetch Feedback", re.IGNORECASE)).first
        button.wait_for()
        button.click()
        with contextlib.suppress(PlaywrightTimeout):
            page.get_by_text(re.compile("view feedback", re.IGNORECASE)).first.wait_for(timeout=5_000)
            break
        assert time.monotonic() < deadline, "no feedback reached the student within 300 s of Submit"
        time.sleep(3)
    timer.times["submit to feedback fetched, graded on submit"] = round(time.monotonic() - submitted, 1)
    page.screenshot(path=str(artifacts / "assignment-list-feedback-on-submit.png"))

    own = page.goto(f"{hub.url}/services/dlcourse/me")
    assert own is not None and own.status == 200, own and own.status
    mine = page.inner_text("body")
    assert bob.name in mine and alice.name not in mine, mine
    refused = page.goto(f"{hub.url}/services/dlcourse/dashboard")
    assert refused is not None and refused.status == 403, refused and refused.status

    teach_page = log_in(browser, hub, teach)
    dashboard = teach_page.goto(f"{hub.url}/services/dlcourse/dashboard/{ASSIGNMENT}")
    assert dashboard is not None and dashboard.status == 200, dashboard and dashboard.status
    row = teach_page.locator("tr", has_text=bob.name).first
    row.wait_for()
    assert re.search(r"20(\.0)?\s*/\s*20", row.inner_text()), row.inner_text()
    assert teach_page.locator("svg").count() >= 1, "the dashboard draws its histogram on the server"
    teach_page.screenshot(path=str(artifacts / "service-dashboard.png"), full_page=True)


def submit_from_the_assignment_list(page, hub: Hub, student: Account, course_id: str) -> None:
    """What the Assignment List's Submit button sends: a POST to the student's own server."""
    xsrf = next((c["value"] for c in page.context.cookies() if c["name"] == "_xsrf"), "")
    reply = page.request.post(f"{hub.url}/user/{student.name}/assignments/submit",
                              headers={"X-XSRFToken": xsrf},
                              form={"assignment_id": ASSIGNMENT, "course_id": course_id})
    assert reply.ok and json.loads(reply.text()).get("success"), f"submit as {student.name}: {reply.text()[:500]}"


def sigkill_during_a_burst(hub: Hub, browser, alice: Account, bob: Account, course: Path, timer: Timer) -> None:
    """Both students submit at once; the service is SIGKILLed while it holds them; the hub starts
    it again and each submission is graded exactly once, its feedback released."""
    from dlcourse.coursedir import Course
    from dlcourse_graders.service.state import history, service_dir

    grader = Course(course)
    before = {(e["student"], e["submitted_at"]) for e in history(grader)}
    for student in (alice, bob):
        submit_from_the_assignment_list(log_in(browser, hub, student), hub, student, "dl101")

    def new_rows(*states: str) -> set[tuple[str, str]]:
        latest: dict[tuple[str, str], str] = {}
        for event in history(grader):
            latest[(event["student"], event["submitted_at"])] = event["state"]
        return {key for key, state in latest.items() if key not in before and (not states or state in states)}

    deadline = time.monotonic() + 120
    while len(new_rows()) < 2:  # the service has seen both: they are its to lose now
        assert time.monotonic() < deadline, f"the service never saw the burst:\n{hub.log_tail(60)}"
        time.sleep(0.2)
    holder = (service_dir(grader) / "service.lock").read_text().split()
    os.kill(int(holder[-1]), signal.SIGKILL)
    killed = time.monotonic()
    caught = new_rows("queued", "grading")
    assert caught, "the burst was graded before the SIGKILL; nothing was at stake"
    deadline = killed + 300
    while len(new_rows("feedback_released")) < 2:
        assert time.monotonic() < deadline, f"not all graded after the SIGKILL:\n{hub.log_tail(80)}"
        time.sleep(1)
    timer.times["service SIGKILLed to burst released (hub restarts it)"] = round(time.monotonic() - killed, 1)
    assert re.search(r"Service dlcourse exited with status -?9", hub.log.read_text()), hub.log_tail(80)
    graded = [(e["student"], e["submitted_at"]) for e in history(grader)
              if e["state"] == "graded" and (e["student"], e["submitted_at"]) not in before]
    assert sorted(graded) == sorted(new_rows()), (graded, caught)
