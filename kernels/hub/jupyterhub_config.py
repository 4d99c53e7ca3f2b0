"""JupyterHub configuration for a dlcourse class on one machine.

A STARTING POINT, not exercised by the test suite: read it, adapt it, try it
with two test accounts before the first class. See docs/operations.md.

What it sets up:

- JupyterHub 6 on http://127.0.0.1:8000 (put a TLS reverse proxy in front
  of it, or change ``bind_url`` once TLS is configured here);
- log in with the machine's own accounts (PAM), one Unix user per student;
- ``LocalProcessSpawner``: each user's JupyterLab runs as that Unix user.
  (``SimpleLocalProcessSpawner`` runs every server as the hub's user and is
  for testing only: students could read each other's files and the course.)
- the single-user servers use the environment dlcourse is installed in, so
  the ``dlcourse-py3`` kernel ("Deep Learning (PyTorch)") and nbgrader's
  JupyterLab extensions (Assignment List) are there.

Run it as root from a directory only root can read (the hub writes its
cookie secret and database there):

    cd /srv/jupyterhub && jupyterhub -f /path/to/repo/kernels/hub/jupyterhub_config.py

Prerequisites: ``pip install jupyterhub`` into the dlcourse environment,
``npm install -g configurable-http-proxy``, and the nbgrader exchange
(``dlcourse init COURSE --exchange /srv/nbgrader/exchange`` creates it with
mode 1777).
"""

import os
import sys

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file

# ------------------------------------------------------------------- network
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.hub_ip = "127.0.0.1"

# -------------------------------------------------------------- who logs in
c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
# Unix accounts allowed in; create them first (useradd -m alice ...).
c.Authenticator.allowed_users = {"alice", "bob"}
# Instructors: hub admins, and they run `dlcourse` / formgrader on the course.
c.Authenticator.admin_users = {"instructor"}

# ------------------------------------------------- one server per Unix user
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
# The single-user server of the same environment as the hub (and dlcourse).
c.Spawner.cmd = [os.path.join(os.path.dirname(sys.executable), "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# `dlcourse.device()` picks cuda, then mps, then cpu; pin a GPU with e.g. "cuda:0".
c.Spawner.environment = {"DLCOURSE_DEVICE": "auto"}
# Generous limits for torch; enforced only by spawners that support them
# (LocalProcessSpawner does not: use systemdspawner or containers for that).
c.Spawner.mem_limit = "4G"
c.Spawner.cpu_limit = 2.0
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120

# A server running as root refuses to start unless told otherwise. Only if an
# account that logs in is root (do not do this for students):
# c.Spawner.args = ["--allow-root"]

# -------------------------------------------------------------- hub storage
c.JupyterHub.db_url = "sqlite:///jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "jupyterhub_cookie_secret"

# Stop servers idle for an hour (pip install jupyterhub-idle-culler first):
# c.JupyterHub.services = [{
#     "name": "idle-culler",
#     "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3600"],
# }]
# c.JupyterHub.load_roles = [{
#     "name": "idle-culler",
#     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
#     "services": ["idle-culler"],
# }]
