"""A real JupyterHub on 127.0.0.1 for the end-to-end test: accounts, the shared
environment, the hub process and the instructor's command line.

Nothing here is mocked: the accounts are Unix users made with ``useradd``,
the hub is JupyterHub with configurable-http-proxy and PAM, started from the
shipped ``kernels/hub/jupyterhub_config.py``, and every account runs the
environment built by the shipped ``kernels/hub/install-env.sh``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HUB_CONFIG = ROOT / "kernels" / "hub" / "jupyterhub_config.py"
INSTALL_ENV = ROOT / "kernels" / "hub" / "install-env.sh"
#: The shared environment lives where every account can enter, and survives
#: between runs: rebuilding torch and JupyterHub costs minutes.
ENV_HOME = Path(os.environ.get("DLCOURSE_HUB_TEST_ENV", "/opt/dlcourse-test-hub"))
CHROMIUM = Path("/usr/bin/chromium")
#: Where screenshots and timings go; CI keeps the folder as the test's artifacts.
ARTIFACTS = Path(os.environ.get("DLCOURSE_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "hub"


def missing_requirements() -> str | None:
    """Why a real hub cannot run on this machine, or None when it can."""
    if os.geteuid() != 0:
        return "needs root: it creates Unix accounts and the hub spawns servers as them"
    for tool in ("useradd", "userdel", "chpasswd", "setpriv", "configurable-http-proxy"):
        if shutil.which(tool) is None:
            return f"{tool} not found (make test installs configurable-http-proxy with npm)"
    if not Path("/usr/bin/python3").is_file():
        return "no system /usr/bin/python3 to build an environment every account can execute"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} not found (make test installs Debian's chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e .[test])"
    return None


# ------------------------------------------------------------ the environment


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _project_files() -> list[Path]:
    files = []
    for top in ("course", "graders", "plugins", "kernels"):
        files += [p for p in (ROOT / top).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted([ROOT / "pyproject.toml", ROOT / "constraints.txt", *files])


def shared_environment() -> Path:
    """The hub's environment, built by the shipped script; reused while the
    project is unchanged, refreshed (project only) when only its code changed."""
    deps = _digest([ROOT / "pyproject.toml", ROOT / "constraints.txt", INSTALL_ENV])
    prefix = ENV_HOME / f"env-{deps}"
    code_stamp = prefix / ".dlcourse-code"
    code = _digest(_project_files())
    if not (prefix / "bin" / "jupyterhub").exists():
        for old in ENV_HOME.glob("env-*"):
            shutil.rmtree(old, ignore_errors=True)
        ENV_HOME.mkdir(parents=True, exist_ok=True)
        ENV_HOME.chmod(0o755)
        subprocess.run([str(INSTALL_ENV), str(prefix)], check=True, env={**os.environ, "PYTHON": "/usr/bin/python3"})
    elif not code_stamp.is_file() or code_stamp.read_text() != code:
        # The code changed, not the dependencies: reinstall dlcourse alone, the
        # way install-env.sh installs it, then its single-user settings.
        subprocess.run([str(prefix / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
                        "--force-reinstall", str(ROOT)], check=True)
        shutil.copytree(ROOT / "kernels" / "hub" / "etc", prefix / "etc", dirs_exist_ok=True)
        subprocess.run(["chmod", "-R", "a+rX", str(prefix)], check=True)
    code_stamp.write_text(code)
    return prefix


# --------------------------------------------------------------- the accounts


@dataclass
class Account:
    """A Unix account made for the test, with a password for PAM."""

    name: str
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @property
    def home(self) -> Path:
        return Path(pwd.getpwnam(self.name).pw_dir)

    @property
    def ids(self) -> tuple[int, int]:
        entry = pwd.getpwnam(self.name)
        return entry.pw_uid, entry.pw_gid

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """A login-like environment for commands run as this account."""
        base = {"HOME": str(self.home), "USER": self.name, "LOGNAME": self.name,
                "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        return {**base, **(extra or {})}

    def run(self, command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run COMMAND as this account (setpriv drops root for good)."""
        uid, gid = self.ids
        done = subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--", *command],
            cwd=cwd or self.home, env=self.env(env), capture_output=True, text=True, timeout=timeout, check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{self.name}: {' '.join(command)} exited {done.returncode}\n"
                                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done


@contextlib.contextmanager
def unix_accounts(*names: str) -> Iterator[dict[str, Account]]:
    """Create the accounts (home 0700, like a class's), yield them, remove them and their homes."""
    for name in names:
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            raise RuntimeError(f"account {name} already exists: refusing to reuse or delete it")
    made: dict[str, Account] = {}
    try:
        for name in names:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True,
                           capture_output=True)
            account = Account(name)
            account.home.chmod(0o700)
            subprocess.run(["chpasswd"], input=f"{name}:{account.password}\n", text=True, check=True)
            made[name] = account
        yield made
    finally:
        for name in made:
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True, check=False)
        time.sleep(0.5)
        for name in made:
            subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)


# ------------------------------------------------------------------- the hub


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Hub:
    """A running JupyterHub; ``url`` is its public address."""

    url: str
    process: subprocess.Popen
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running_hub(env_prefix: Path, state: Path, *, instructors: list[str], students: list[str],
                exchange: Path, course: str, service_course: str | None = None) -> Iterator[Hub]:
    """Start JupyterHub from the shipped config, as root, in STATE; stop it and its servers after.

    With ``service_course`` the hub also runs ``dlcourse serve`` on that course as a managed service.
    """
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PATH": f"{env_prefix / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "DLCOURSE_HUB_URL": url,
        "DLCOURSE_HUB_INSTRUCTORS": ",".join(instructors),
        "DLCOURSE_HUB_STUDENTS": ",".join(students),
        "DLCOURSE_HUB_EXCHANGE": str(exchange),
        "DLCOURSE_HUB_COURSE": course,
        "DLCOURSE_HUB_STATE": str(state),
    }
    if service_course:
        env.update(DLCOURSE_HUB_SERVICE_COURSE=service_course, DLCOURSE_HUB_SERVICE_PORT=str(free_port()))
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    log = state / "jupyterhub.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [str(env_prefix / "bin" / "jupyterhub"), "-f", str(HUB_CONFIG),
             f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}",
             f"--JupyterHub.hub_port={free_port()}"],
            cwd=state, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )
    hub = Hub(url, process, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited {process.returncode}:\n{hub.log_tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/hub/api/", timeout=5) as reply:
                if reply.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterHub did not answer within 120 s:\n{hub.log_tail()}")
            time.sleep(0.5)
        yield hub
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
