"""The web pages of ``dlcourse serve``: the instructors' dashboard and each student's own page.

URL layout under ``base_url`` (the hub's ``/services/dlcourse/``, or ``/``):

=================================  ==============================================
``dashboard``                      every assignment: counts per state (instructors)
``dashboard/<assignment>``         submissions, histogram, failing checks, slowest,
                                   failed; regrade and release buttons (instructors)
``dashboard/<assignment>/regrade`` POST ``student``: a regrade request (instructors)
``dashboard/<assignment>/release`` POST ``student`` (empty: everyone) (instructors)
``me``                             the logged-in person's own submissions
``oauth_callback``                 behind the hub: the end of the hub's OAuth login
``login`` / ``logout``             standalone: the token form
=================================  ==============================================

Who is who. Behind JupyterHub the handlers are ``HubOAuthenticated``: the hub
logs the person in and names them, and the hub's role for the service
decides who reaches it at all. Standalone there is no hub, so the server
binds 127.0.0.1 only and a person logs in with a token from
``COURSE/.dlcourse/service/web-tokens`` (one ``TOKEN NAME`` per line; the
first start writes one for the account running the service, mode 0600).
Either way, the dashboard is for the names in ``instructors`` only, and
``/me`` shows the named person's rows and nobody else's.

Buttons never act directly: they write a request file that the engine
consumes (``COURSE/.dlcourse/service/requests/*.json``), so grading stays in
one process with its sandbox, rate limits and feedback filters.
"""

from __future__ import annotations

import asyncio
import getpass
import hmac
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

import tornado.httpserver
import tornado.web

from dlcourse.coursedir import Course
from dlcourse_graders import servicedata
from dlcourse_graders.service import plots
from dlcourse_graders.service.requests import write_request
from dlcourse_graders.service.state import service_dir

log = logging.getLogger("dlcourse.serve.web")

TEMPLATES = Path(__file__).with_name("templates")
TOKENS_FILE = "web-tokens"
INSTRUCTORS_ENV = "DLCOURSE_SERVICE_INSTRUCTORS"
HUB_ENV = ("JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_SERVICE_URL", "JUPYTERHUB_API_TOKEN")
USER_COOKIE = "dlcourse-user"

#: Resolves the person making a request (their account name), or ``None`` when nobody is logged in.
UserResolver = Callable[[tornado.web.RequestHandler], "str | None"]


# ----------------------------------------------------------------- identity
def default_instructors() -> set[str]:
    """``$DLCOURSE_SERVICE_INSTRUCTORS`` (comma-separated), else the account running the service.

    The service runs as the course's owner (the hub config starts it as the
    instructor), so that account is the one instructor it knows by default.
    """
    names = {n.strip() for n in os.environ.get(INSTRUCTORS_ENV, "").split(",") if n.strip()}
    return names or {getpass.getuser()}


def tokens_path(course: Course) -> Path:
    return service_dir(course) / TOKENS_FILE


def ensure_token(course: Course, name: str | None = None) -> Path:
    """Create the standalone token file (mode 0600) with one token for ``name`` unless it exists."""
    path = tokens_path(course)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_EXCL: two starts at once cannot both write, and the mode is set before any byte lands
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(f"{secrets.token_urlsafe(32)} {name or getpass.getuser()}\n")
    return path


def read_tokens(course: Course) -> dict[str, str]:
    """Token -> account name, from the token file (blank lines and ``#`` comments skipped)."""
    path = tokens_path(course)
    if not path.is_file():
        return {}
    tokens = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and not parts[0].startswith("#"):
            tokens[parts[0]] = parts[1]
    return tokens


def name_for_token(course: Course, token: str) -> str | None:
    """The account a token belongs to; compared in constant time."""
    found = None
    for known, name in read_tokens(course).items():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = name
    return found


def cookie_user(handler: tornado.web.RequestHandler) -> str | None:
    """Standalone resolver: the name in the signed cookie the token login set."""
    value = handler.get_signed_cookie(USER_COOKIE, max_age_days=1)
    return value.decode() if value else None


# ------------------------------------------------------------- requests
# ------------------------------------------------------------- handlers
class BaseHandler(tornado.web.RequestHandler):
    """Identity, access rules and page rendering shared by every page."""

    @property
    def course(self) -> Course:
        return self.settings["dlcourse_course"]

    @property
    def instructors(self) -> set[str]:
        return self.settings["dlcourse_instructors"]

    def get_current_user(self) -> Any:
        return self.settings["dlcourse_resolver"](self)

    @property
    def user_name(self) -> str | None:
        """The account name: hub user models are dicts, the standalone resolver gives a string."""
        user = self.current_user
        if isinstance(user, dict):
            return user.get("name")
        return user or None

    def require_instructor(self) -> None:
        if self.user_name not in self.instructors:
            raise tornado.web.HTTPError(403, "the dashboard is for the course's instructors")

    def url(self, *parts: str) -> str:
        return self.settings["dlcourse_base_url"] + "/".join(parts)

    def page(self, template: str, **values: Any) -> None:
        self.set_header("Cache-Control", "no-store")  # pages hold grades: never from a shared cache
        self.render(template, user=self.user_name, is_instructor=self.user_name in self.instructors,
                    url=self.url, standalone=not self.settings["dlcourse_hub_auth"], **values)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason = self._reason
        error = kwargs.get("exc_info", (None, None))[1]
        if isinstance(error, tornado.web.HTTPError) and error.log_message:
            reason = error.log_message % error.args if error.args else error.log_message
        self.render("error.html", status=status_code, reason=reason, url=self.url,
                    user=None, is_instructor=False, standalone=False)


class HomeHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.redirect(self.url("dashboard" if self.user_name in self.instructors else "me"))


class DashboardHandler(BaseHandler):
    """Every assignment with its counts per state."""

    @tornado.web.authenticated
    def get(self) -> None:
        self.require_instructor()
        views = [servicedata.assignment_view(self.course, name)
                 for name in servicedata.assignment_names(self.course)]
        self.page("dashboard.html", views=views, states=servicedata.STATES)


class AssignmentHandler(BaseHandler):
    """One assignment: submissions, plots, failing checks, slowest and failed, buttons."""

    @tornado.web.authenticated
    def get(self, assignment: str) -> None:
        self.require_instructor()
        if assignment not in servicedata.assignment_names(self.course):
            raise tornado.web.HTTPError(404, "no assignment %s in this course", assignment)
        view = servicedata.assignment_view(self.course, assignment)
        histogram = plots.score_histogram(view.scores, view.max_score, f"{assignment}: scores")
        checks = [c for c in view.checks if c.graded]
        bars = plots.failure_bars([f"{c.notebook}: {c.cell}" for c in checks], [c.share for c in checks],
                                  f"{assignment}: failing checks") if checks else ""
        self.page("assignment.html", view=view, histogram=histogram, bars=bars, checks=checks,
                  done=self.get_argument("done", ""))


class ActionHandler(BaseHandler):
    """POST: queue a regrade or a feedback release for the engine."""

    @tornado.web.authenticated
    def post(self, assignment: str, action: str) -> None:
        self.require_instructor()
        student = self.get_body_argument("student", "").strip() or None
        if assignment not in servicedata.assignment_names(self.course):
            raise tornado.web.HTTPError(404, "no assignment %s in this course", assignment)
        known = {s.student for s in servicedata.assignment_view(self.course, assignment).submissions}
        if action == "regrade" and student is None:
            raise tornado.web.HTTPError(400, "a regrade names one student")
        if student is not None and student not in known:
            raise tornado.web.HTTPError(400, "%s has no submission of %s", student, assignment)
        path = write_request(self.course, action, assignment, student)
        log.info("%s asked to %s %s for %s (%s)", self.user_name, action, assignment, student or "everyone",
                 path.name)
        # 303: the browser follows with a GET, so reloading the page does not post again
        done = f"{action} of {assignment} for {student or 'everyone'} requested"
        self.redirect(self.url("dashboard", assignment) + "?" + urlencode({"done": done}), status=303)


class MeHandler(BaseHandler):
    """The logged-in person's own submissions, and only theirs."""

    @tornado.web.authenticated
    def get(self) -> None:
        name = self.user_name
        rows = servicedata.student_rows(self.course, name) if name else []
        self.page("me.html", rows=rows, parse_time=servicedata.parse_time)


class LoginHandler(BaseHandler):
    """Standalone only: trade a token from the course's token file for a signed cookie."""

    def get(self) -> None:
        self.page("login.html", next=self.get_argument("next", self.url("")), failed=False)

    def post(self) -> None:
        name = name_for_token(self.course, self.get_body_argument("token", "").strip())
        target = self.get_body_argument("next", "") or self.url("")
        parts = urlsplit(target)
        # only ever back into this service: "//host/..." or "http://host/" would send the cookie's owner away
        if parts.scheme or parts.netloc or "\\" in target or not parts.path.startswith(self.url("")):
            target = self.url("")
        if name is None:
            self.set_status(403)
            self.page("login.html", next=target, failed=True)
            return
        self.set_signed_cookie(USER_COOKIE, name, expires_days=1, httponly=True, samesite="Strict")
        self.redirect(target, status=303)


class LogoutHandler(BaseHandler):
    def post(self) -> None:
        self.clear_cookie(USER_COOKIE)
        self.redirect(self.url("login"), status=303)


def _hub_handler(cls: type[BaseHandler]) -> type:
    """``cls`` authenticated by the hub: HubOAuthenticated comes first so its
    get_current_user, login redirect and xsrf checks win."""
    from jupyterhub.services.auth import HubOAuthenticated

    return type(cls.__name__, (HubOAuthenticated, cls), {})


# ------------------------------------------------------------------ app
def make_web_app(course: Path, *, instructors: set[str] | None, base_url: str, hub_auth: bool,
                 user_resolver: UserResolver | None = None) -> tornado.web.Application:
    """The web application of ``dlcourse serve`` for ``course``.

    ``instructors``: the accounts that see the dashboard (``None``:
    :func:`default_instructors`). ``base_url``: the path prefix, e.g. the
    hub's ``$JUPYTERHUB_SERVICE_PREFIX``. ``hub_auth``: log people in
    through the hub (OAuth); otherwise ``user_resolver`` names them (default:
    the signed cookie of the token login, see :func:`ensure_token`).
    """
    opened = Course.open(course)
    prefix = "/" + base_url.strip("/") + "/" if base_url.strip("/") else "/"
    routes: list[tuple[str, type]] = [
        ("", HomeHandler),
        ("dashboard/?", DashboardHandler),
        ("dashboard/([^/]+)/?", AssignmentHandler),
        ("dashboard/([^/]+)/(regrade|release)", ActionHandler),
        ("me/?", MeHandler),
    ]
    if hub_auth:
        from jupyterhub.services.auth import HubOAuthCallbackHandler

        handlers = [(prefix + path, _hub_handler(cls)) for path, cls in routes]
        handlers.append((prefix + "oauth_callback", HubOAuthCallbackHandler))
    else:
        handlers = [(prefix + path, cls) for path, cls in routes]
        handlers += [(prefix + "login", LoginHandler), (prefix + "logout", LogoutHandler)]
    return tornado.web.Application(
        handlers,
        template_path=str(TEMPLATES),
        # a fresh secret per start: restarting the service logs everyone out, and no secret is stored
        cookie_secret=secrets.token_bytes(32),
        xsrf_cookies=True,
        # standalone: where @authenticated sends a stranger (the hub mixin sends them to the hub instead)
        login_url=prefix + "login",
        dlcourse_course=opened,
        dlcourse_instructors=set(instructors) if instructors is not None else default_instructors(),
        dlcourse_base_url=prefix,
        dlcourse_hub_auth=hub_auth,
        dlcourse_resolver=user_resolver or cookie_user,
    )


@dataclass(frozen=True)
class WebSettings:
    """Where and how the pages are served."""

    address: str
    port: int
    base_url: str
    hub_auth: bool


def web_settings(port: int | None, environ: dict[str, str] | None = None) -> WebSettings | None:
    """Behind the hub when its service variables are set (address and prefix from them);
    standalone on 127.0.0.1:``port`` otherwise; ``None`` when neither asks for pages."""
    env = os.environ if environ is None else environ
    if all(env.get(name) for name in HUB_ENV):
        url = urlsplit(env["JUPYTERHUB_SERVICE_URL"])
        # the hub's proxy forwards to its service URL: that port wins over --port
        return WebSettings(url.hostname or "127.0.0.1", url.port or port or 80,
                           env["JUPYTERHUB_SERVICE_PREFIX"], True)
    if port is None:
        return None
    # without the hub nobody else authenticates people: only this machine may connect
    return WebSettings("127.0.0.1", port, "/", False)


async def start_web(course: Path, settings: WebSettings, *,
                    instructors: set[str] | None = None) -> tornado.httpserver.HTTPServer:
    """Listen in the running event loop; returns the server (``stop()`` it to close the port)."""
    from dlcourse.nbgrader_ops import use_environment_scripts

    use_environment_scripts()  # the gradebook runs `alembic` by name, even from a bare service environment
    if not settings.hub_auth:
        token_file = ensure_token(Course.open(course))
        log.info("dashboard on http://%s:%d/ ; log in with a token from %s", settings.address, settings.port,
                 token_file)
    app = make_web_app(course, instructors=instructors, base_url=settings.base_url, hub_auth=settings.hub_auth)
    server = tornado.httpserver.HTTPServer(app, xheaders=settings.hub_auth)
    server.listen(settings.port, address=settings.address)
    return server


def serve_web(course: Path, port: int | None = None, *, instructors: set[str] | None = None,
              stop: threading.Event | None = None) -> None:
    """Serve the pages until ``stop`` is set (or forever): behind the hub when its
    variables are set, else standalone on 127.0.0.1:``port``. Blocking; run it
    in a thread beside the engine, or await :func:`start_web` in its loop."""
    settings = web_settings(port)
    if settings is None:
        raise ValueError("no port and no JupyterHub service variables: nothing to serve pages on")

    async def run() -> None:
        server = await start_web(course, settings, instructors=instructors)
        try:
            while stop is None or not stop.is_set():
                await asyncio.sleep(0.5)
        finally:
            server.stop()

    asyncio.run(run())
