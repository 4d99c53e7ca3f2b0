"""The pages of `dlcourse serve`: a real course, a real gradebook, a real state.db, a real HTTP server.

People log in the standalone way (a token from the course's token file, traded
for a signed cookie), and every form carries tornado's XSRF token as a browser
would send it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import urlencode

import pytest
import tornado.httpserver
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.testing import bind_unused_port

from dlcourse.coursedir import Course, init_course
from dlcourse_graders.results import Status, SubmissionResult
from dlcourse_graders.service import web
from dlcourse_graders.statusdb import StatusStore

SCHEMA = """CREATE TABLE submissions (assignment TEXT, student TEXT, submitted_at TEXT, state TEXT,
    updated_at TEXT, retry_after TEXT, score REAL, max_score REAL, message TEXT,
    PRIMARY KEY (assignment, student, submitted_at))"""


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Course:
    """A course where alice passed one of two checks, bob timed out, carol waits in the queue."""
    from nbgrader.api import Gradebook

    from dlcourse.nbgrader_ops import use_environment_scripts

    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))  # restored after the test
    use_environment_scripts()  # the gradebook runs `alembic` by name

    course = init_course(tmp_path / "course", "webcourse")
    with Gradebook(course.db_url) as gb:
        gb.add_assignment("perceptron")
        gb.add_notebook("perceptron", "perceptron")
        gb.add_grade_cell("check_forward", "perceptron", "perceptron", max_score=2, cell_type="code")
        gb.add_grade_cell("check_training", "perceptron", "perceptron", max_score=3, cell_type="code")
        for student, forward, training in [("alice", 2, 1), ("bob", 0, 0)]:
            gb.add_student(student)
            gb.add_submission("perceptron", student)
            gb.find_grade("check_forward", "perceptron", "perceptron", student).auto_score = forward
            gb.find_grade("check_training", "perceptron", "perceptron", student).auto_score = training
        gb.db.commit()
    store = StatusStore(course.db_url)
    store.record(SubmissionResult("perceptron", "alice", Status.GRADED, 3.0, 5.0, "", 12.5))
    store.record(SubmissionResult("perceptron", "bob", Status.TIMED_OUT, 0.0, 5.0,
                                  "bob-secret: the notebook ran past 600 s", 600.0))
    store.close()
    folder = course.root / ".dlcourse" / "service"
    folder.mkdir(parents=True)
    with sqlite3.connect(folder / "state.db") as db:
        db.execute(SCHEMA)
        db.executemany("INSERT INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            ("perceptron", "alice", "2025-03-01T10:00:00+00:00", "graded", "2025-03-01T10:01:00+00:00",
             None, 3.0, 5.0, ""),
            ("perceptron", "alice", "2025-03-02T09:00:00+00:00", "rate_limited", "2025-03-02T09:00:01+00:00",
             "2025-03-02T10:00:00+00:00", None, None, "one grading per hour"),
            ("perceptron", "bob", "2025-03-01T11:00:00+00:00", "failed", "2025-03-01T11:10:00+00:00",
             None, None, 5.0, "bob-secret: the notebook ran past 600 s"),
            ("perceptron", "carol", "2025-03-02T08:00:00+00:00", "queued", "2025-03-02T08:00:00+00:00",
             None, None, None, ""),
        ])
    db.close()
    web.ensure_token(course, "teacher")
    with web.tokens_path(course).open("a") as tokens:
        tokens.write("alice-token alice\n")
    return course


class Browser:
    """Cookies kept between requests, redirects not followed, forms posted with the XSRF token."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.cookies: SimpleCookie = SimpleCookie()
        self.client = AsyncHTTPClient()

    async def fetch(self, path: str, form: dict[str, str] | None = None, xsrf: bool = True) -> HTTPResponse:
        headers = {"Cookie": "; ".join(f"{k}={v.value}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            fields = dict(form)
            if xsrf and "_xsrf" in self.cookies:
                fields["_xsrf"] = self.cookies["_xsrf"].value
            body = urlencode(fields)
        response = await self.client.fetch(self.base + path, method="POST" if form is not None else "GET",
                                           body=body, headers=headers, follow_redirects=False,
                                           raise_error=False)
        for value in response.headers.get_list("Set-Cookie"):
            self.cookies.load(value)
        return response

    async def log_in(self, token: str, next: str = "/") -> HTTPResponse:
        await self.fetch("/login")  # sets the _xsrf cookie, as the form's page does in a browser
        return await self.fetch("/login", {"token": token, "next": next})


def serve(app: Any, scenario: Callable[[Browser], Awaitable[None]]) -> None:
    """Run ``scenario`` against ``app`` listening on a free local port."""
    async def main() -> None:
        sock, port = bind_unused_port()
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets([sock])
        try:
            await scenario(Browser(port))
        finally:
            server.stop()

    asyncio.run(main())


def standalone_app(course: Course) -> Any:
    return web.make_web_app(course.root, instructors={"teacher"}, base_url="/", hub_auth=False)


def teacher_token(course: Course) -> str:
    return next(token for token, name in web.read_tokens(course).items() if name == "teacher")


def assert_self_contained(page: str) -> None:
    """Nothing for the browser to fetch elsewhere: no URL, no script."""
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}", page, re.IGNORECASE), page
    assert "<script" not in page.lower()


def test_instructor_sees_statuses_scores_plots_checks_slowest_and_failed(course: Course) -> None:
    async def scenario(browser: Browser) -> None:
        assert (await browser.log_in(teacher_token(course))).code == 303
        overview = (await browser.fetch("/dashboard")).body.decode()
        assert 'href="/dashboard/perceptron"' in overview
        assert_self_contained(overview)

        response = await browser.fetch("/dashboard/perceptron")
        assert response.code == 200
        page = response.body.decode()
        assert_self_contained(page)
        assert page.count("<svg") == 2  # score histogram and failing checks, drawn on the server
        assert "perceptron: scores" in page and "perceptron: failing checks" in page
        rows = re.findall(r"<tr>\s*<td>(\w+)</td>\s*<td>([^<]*)</td>", page)
        # the newest submission of each student; bob's crash is not a score
        assert ("alice", "2025-03-02T09:00:00+00:00") in rows and ("carol", "2025-03-02T08:00:00+00:00") in rows
        assert re.search(r"<td>alice</td>.*?rate limited.*?<td class=\"num\">3 / 5</td>", page, re.DOTALL)
        assert re.search(r"<td>bob</td>.*?failed.*?timed out.*?<td class=\"num\">–</td>", page, re.DOTALL)
        # check_training: both graded submissions lost points; check_forward: bob's timeout is not counted
        assert re.search(r"check_training</td><td class=\"num\">1</td><td class=\"num\">1</td>"
                         r"<td class=\"num\">100%", page)
        assert re.search(r"check_forward</td><td class=\"num\">0</td><td class=\"num\">1</td>", page)
        slowest = page.split("<h2>Slowest</h2>")[1].split("<h2>")[0]
        assert slowest.index("bob") < slowest.index("alice") and "600.0" in slowest
        failed = page.split("<h2>Failed</h2>")[1]
        assert "bob-secret: the notebook ran past 600 s" in failed and "alice" not in failed

    serve(standalone_app(course), scenario)


def test_a_student_gets_403_on_the_dashboard_and_sees_only_their_own_rows(course: Course) -> None:
    requests = course.root / ".dlcourse" / "service" / "requests"

    async def scenario(browser: Browser) -> None:
        assert (await browser.log_in("alice-token")).code == 303
        for path in ("/dashboard", "/dashboard/perceptron"):
            assert (await browser.fetch(path)).code == 403
        assert (await browser.fetch("/dashboard/perceptron/regrade", {"student": "alice"})).code == 403
        assert (await browser.fetch("/")).headers["Location"] == "/me"

        page = (await browser.fetch("/me")).body.decode()
        assert_self_contained(page)
        assert "graded; feedback not released yet" in page and "3 / 5" in page
        assert "graded again after 2025-03-02 10:00 UTC" in page
        assert "bob" not in page and "carol" not in page and "ran past" not in page

    serve(standalone_app(course), scenario)
    assert not requests.exists()


def test_regrade_and_release_write_request_files_and_need_the_xsrf_token(course: Course) -> None:
    requests = course.root / ".dlcourse" / "service" / "requests"

    def written() -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted(requests.glob("*.json"))] if requests.exists() else []

    async def scenario(browser: Browser) -> None:
        await browser.log_in(teacher_token(course))
        forged = await browser.fetch("/dashboard/perceptron/regrade", {"student": "bob"}, xsrf=False)
        assert forged.code == 403 and written() == []

        response = await browser.fetch("/dashboard/perceptron/regrade", {"student": "bob"})
        assert response.code == 303 and response.headers["Location"].startswith("/dashboard/perceptron?done=")
        assert written() == [{"action": "regrade", "assignment": "perceptron", "student": "bob"}]

        assert (await browser.fetch("/dashboard/perceptron/release", {"student": ""})).code == 303
        assert {"action": "release", "assignment": "perceptron", "student": None} in written()
        assert (await browser.fetch("/dashboard/perceptron/regrade", {"student": "mallory"})).code == 400
        assert (await browser.fetch("/dashboard/nothing/release", {"student": ""})).code == 404
        assert len(written()) == 2
        assert "requested" in (await browser.fetch(response.headers["Location"])).body.decode()

    serve(standalone_app(course), scenario)
    assert not list(requests.glob(".*.tmp"))


def test_strangers_are_sent_to_the_login_and_a_wrong_token_is_refused(course: Course) -> None:
    assert web.tokens_path(course).stat().st_mode & 0o777 == 0o600

    async def scenario(browser: Browser) -> None:
        response = await browser.fetch("/dashboard")
        assert response.code == 302 and response.headers["Location"].startswith("/login?next=")
        assert (await browser.log_in("not-a-token")).code == 403
        assert (await browser.fetch("/me")).code == 302
        # after the login, only ever back into the service
        for elsewhere in ("//elsewhere.example/", "http://elsewhere.example/me", "/\\elsewhere.example"):
            assert (await browser.log_in("alice-token", next=elsewhere)).headers["Location"] == "/"
        assert (await browser.log_in("alice-token", next="/me")).headers["Location"] == "/me"

    serve(standalone_app(course), scenario)


def test_where_the_pages_listen() -> None:
    hub = {"JUPYTERHUB_SERVICE_PREFIX": "/services/dlcourse/", "JUPYTERHUB_API_TOKEN": "x",
           "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101"}
    assert web.web_settings(None, hub) == web.WebSettings("127.0.0.1", 10101, "/services/dlcourse/", True)
    assert web.web_settings(8123, hub).port == 10101  # where the hub's proxy sends requests
    # standalone binds this machine only, whatever else is around
    assert web.web_settings(8123, {}) == web.WebSettings("127.0.0.1", 8123, "/", False)
    assert web.web_settings(None, {}) is None


def test_behind_the_hub_a_stranger_is_sent_to_the_hubs_oauth(course: Course, monkeypatch) -> None:
    from jupyterhub.services.auth import HubOAuth

    for name, value in {"JUPYTERHUB_SERVICE_PREFIX": "/services/dlcourse/", "JUPYTERHUB_API_TOKEN": "secret",
                        "JUPYTERHUB_SERVICE_NAME": "dlcourse", "JUPYTERHUB_CLIENT_ID": "service-dlcourse",
                        "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api", "JUPYTERHUB_BASE_URL": "/",
                        "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101"}.items():
        monkeypatch.setenv(name, value)
    HubOAuth.clear_instance()  # a singleton: built from the variables above, not an earlier test's
    app = web.make_web_app(course.root, instructors={"teacher"}, base_url="/services/dlcourse/", hub_auth=True)

    async def scenario(browser: Browser) -> None:
        response = await browser.fetch("/services/dlcourse/dashboard")
        assert response.code == 302
        assert response.headers["Location"].startswith("/hub/api/oauth2/authorize?")
        assert "client_id=service-dlcourse" in response.headers["Location"]
        assert (await browser.fetch("/services/dlcourse/login")).code == 404  # no token login behind the hub

    try:
        serve(app, scenario)
    finally:
        HubOAuth.clear_instance()
