"""JupyterHub configuration for a dlcourse class on one machine.

The test suite runs this very file (tests/hub/test_first_week.py) with a real
hub, real Unix accounts and a real browser; docs/operations.md#hub walks
through the setup step by step.

What it sets up:

- JupyterHub on http://127.0.0.1:8000 (put a TLS reverse proxy in front of
  it, or change the bind URL once TLS is configured here);
- log in with the machine's own accounts (PAM), one Unix user per person;
- ``LocalProcessSpawner``: each user's JupyterLab runs as that Unix user.
  (``SimpleLocalProcessSpawner`` runs every server as the hub's user and is
  for testing only: students could read each other's files and the course.)
- the single-user servers run from the same environment as the hub, built
  by ``kernels/hub/install-env.sh`` so that every account can execute it;
  it has the ``dlcourse-py3`` kernel ("Deep Learning (PyTorch)") and
  nbgrader's Assignment List;
- students see no instructor tools (that environment's etc/jupyter turns
  off formgrader, Create Assignment and the course list); instructors get
  them back through ``etc/dlcourse-instructor`` on their config path, with
  formgrader pointed at their course directory.

Everything that differs between one class and the next is read from the
environment, so the same file serves a course and the test suite:

=========================  ==============================================
DLCOURSE_HUB_URL           where the hub listens (http://127.0.0.1:8000)
DLCOURSE_HUB_INSTRUCTORS   comma-separated accounts (instructor)
DLCOURSE_HUB_STUDENTS      comma-separated accounts (alice,bob)
DLCOURSE_HUB_EXCHANGE      the nbgrader exchange (/srv/nbgrader/exchange)
DLCOURSE_HUB_COURSE        each instructor's course folder (~/course)
DLCOURSE_HUB_STATE         the hub's database and cookie secret (.)
DLCOURSE_HUB_SERVICE_COURSE  the course `dlcourse serve` grades on submit
                           (unset: no service); absolute or ``~/...``
                           (the service account's home)
DLCOURSE_HUB_SERVICE_USER  the account it runs as (the first instructor)
DLCOURSE_HUB_SERVICE_SRC   that account's checkout of the course
                           repository (``~/dlcourse-src``)
DLCOURSE_HUB_SERVICE_PORT  its local port (10101)
=========================  ==============================================

Run it as root (PAM and spawning other users need it) from a directory only
root can read:

    cd /srv/jupyterhub && /opt/dlcourse/env/bin/jupyterhub -f /path/to/kernels/hub/jupyterhub_config.py

Prerequisites: ``kernels/hub/install-env.sh /opt/dlcourse/env``,
``npm install -g configurable-http-proxy``, one Unix account per person,
and the instructor's course (``dlcourse init ~/course --exchange
/srv/nbgrader/exchange``, which creates the exchange with mode 1777).
"""

import os
import sys

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file


def _accounts(variable: str, default: str) -> set[str]:
    return {name.strip() for name in os.environ.get(variable, default).split(",") if name.strip()}


ENV_PREFIX = sys.prefix
INSTRUCTORS = _accounts("DLCOURSE_HUB_INSTRUCTORS", "instructor")
STUDENTS = _accounts("DLCOURSE_HUB_STUDENTS", "alice,bob")
EXCHANGE = os.environ.get("DLCOURSE_HUB_EXCHANGE", "/srv/nbgrader/exchange")
COURSE = os.environ.get("DLCOURSE_HUB_COURSE", "~/course")
STATE = os.environ.get("DLCOURSE_HUB_STATE", ".")

# ------------------------------------------------------------------- network
c.JupyterHub.bind_url = os.environ.get("DLCOURSE_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.hub_ip = "127.0.0.1"

# -------------------------------------------------------------- who logs in
c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
c.Authenticator.allowed_users = STUDENTS | INSTRUCTORS
# Instructors administer the hub; formgrader and `dlcourse` act on their own
# course folder, which nobody else can read.
c.Authenticator.admin_users = INSTRUCTORS

# ------------------------------------------------- one server per Unix user
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [os.path.join(ENV_PREFIX, "bin", "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {
    # `dlcourse.device()` picks cuda, then mps, then cpu; pin a GPU with e.g. "cuda:0".
    "DLCOURSE_DEVICE": "auto",
    # read by ENV_PREFIX/etc/jupyter/nbgrader_config.py
    "NBGRADER_EXCHANGE_ROOT": EXCHANGE,
}
# Enforced only by spawners that support limits (LocalProcessSpawner does
# not: use systemdspawner or containers for that).
c.Spawner.mem_limit = "4G"
c.Spawner.cpu_limit = 2.0
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120


def give_instructors_their_tools(spawner) -> None:
    """Instructors' servers read etc/dlcourse-instructor: formgrader and
    Create Assignment on, and formgrader opened on their course folder."""
    if spawner.user.name in INSTRUCTORS:
        spawner.environment["JUPYTER_CONFIG_PATH"] = os.path.join(ENV_PREFIX, "etc", "dlcourse-instructor")
        spawner.environment["DLCOURSE_COURSE"] = COURSE


c.Spawner.pre_spawn_hook = give_instructors_their_tools

# A server running as root refuses to start unless told otherwise. Only if an
# account that logs in is root (do not do this for students):
# c.Spawner.args = ["--allow-root"]

# -------------------------------------------------------------- hub storage
c.JupyterHub.db_url = "sqlite:///" + os.path.join(STATE, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(STATE, "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = os.path.join(STATE, "jupyterhub-proxy.pid")

# Stop servers idle for an hour (pip install jupyterhub-idle-culler first;
# it assigns the lists: keep it above the dlcourse service, which appends):
# c.JupyterHub.services = [{
#     "name": "idle-culler",
#     "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3600"],
# }]
# c.JupyterHub.load_roles = [{
#     "name": "idle-culler",
#     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
#     "services": ["idle-culler"],
# }]

# ------------------------------------------- grading on submit: dlcourse serve
# A managed service: the hub starts `dlcourse serve` and proxies its pages at
# /services/dlcourse/ (the instructors' dashboard and each student's /me).
# The course belongs to the instructor and nobody else can read it, so the
# service runs as that instructor (not as root, the hub's user), from the
# instructor's checkout (solutions and hidden checks are not in the shared
# environment), exactly like `dlcourse grade` in the instructor's terminal.
SERVICE_COURSE = os.environ.get("DLCOURSE_HUB_SERVICE_COURSE", "")
if SERVICE_COURSE:
    SERVICE_USER = os.environ.get("DLCOURSE_HUB_SERVICE_USER") or sorted(INSTRUCTORS)[0]

    def _in_service_home(path: str) -> str:
        # the hub runs as root: "~/x" must mean the service account's home, not root's
        return os.path.expanduser(f"~{SERVICE_USER}{path[1:]}" if path.startswith("~/") else path)

    SERVICE_SRC = _in_service_home(os.environ.get("DLCOURSE_HUB_SERVICE_SRC", "~/dlcourse-src"))
    SERVICE_PATH = _in_service_home(SERVICE_COURSE)
    # append, not assign: other services (the idle culler below) keep their entries
    c.JupyterHub.services.append({
        "name": "dlcourse",
        "command": [sys.executable, "-m", "dlcourse.cli", "serve", "--course", SERVICE_PATH],
        "user": SERVICE_USER,
        "cwd": SERVICE_PATH,
        "url": "http://127.0.0.1:" + os.environ.get("DLCOURSE_HUB_SERVICE_PORT", "10101"),
        "environment": {
            "PYTHONPATH": os.pathsep.join(os.path.join(SERVICE_SRC, d) for d in ("course", "graders", "plugins")),
            "PATH": os.path.join(ENV_PREFIX, "bin") + os.pathsep + "/usr/local/bin:/usr/bin:/bin",
            "NBGRADER_EXCHANGE_ROOT": EXCHANGE,
            # who sees the dashboard; everyone else gets their own page only
            "DLCOURSE_SERVICE_INSTRUCTORS": ",".join(sorted(INSTRUCTORS)),
        },
        # The service only needs to know who is visiting: its OAuth tokens
        # identify people and may do nothing on their behalf.
        "oauth_client_allowed_scopes": [],
        # our own service: no "authorize dlcourse?" page on the first visit
        "oauth_no_confirm": True,
        "display": True,
    })
    # Every student and instructor may open the service (the hub sends the
    # others away with 403); what each may see is decided by the service.
    # The service itself gets no role: it calls nothing in the hub's API.
    c.JupyterHub.load_roles.append({
        "name": "dlcourse-service-users",
        "description": "open the dlcourse grading pages",
        "scopes": ["access:services!service=dlcourse"],
        "users": sorted(STUDENTS | INSTRUCTORS),
    })
