"""Run one submission in a sandboxed child process and talk to it with plain data.

Defences, and what each needs from the OS (see :meth:`Sandbox.capabilities`):

* filesystem allow list (:mod:`dlcourse_graders.sandbox_fs`): bubblewrap
  builds a root holding only the system's libraries, the Python environment
  (read-only; an editable install's packages without ``hidden/`` and
  ``notebooks/``), the private working directory, a private /tmp, a minimal
  /dev and a fresh /proc; needs ``bwrap`` and, without root, unprivileged
  user namespaces. Without it :class:`SandboxUnavailable` is raised unless
  the caller allows the weaker sandbox below (``allow_weak``);
* own session/process group (``start_new_session``): any POSIX system;
* rlimits on address space, CPU, processes, file size, no core files: any
  Linux; ``RLIMIT_NPROC`` only binds a non-root uid and counts *all* that
  uid's processes, so each parallel grading worker needs its own sandbox user;
* scrubbed environment and a private working directory: always;
* privilege drop to ``dlcourse-sandbox``: the grader runs as root (created with
  ``useradd`` if missing). The course root must not be world-readable
  (:mod:`dlcourse.permissions`, which every writing command applies); without
  root the child runs as the grader's own user;
* network cut: bwrap's network namespace; in the weaker sandbox the child's own
  ``unshare`` (root, or unprivileged user namespaces), which also hides the
  instructor paths it is told of (a deny list) and exposes an interpreter
  under a 0700 directory; where unsupported, the child keeps the host network;
* wall limit per submission: the whole process tree, the process group and
  every leftover process of the sandbox user are SIGKILLed.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import itertools
import os
import pwd
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from dlcourse.checking import StudentError
from dlcourse_graders import sandbox_child as wire
from dlcourse_graders import sandbox_fs
from dlcourse_graders.proctree import kill_tree
from dlcourse_graders.results import Status

SANDBOX_USER = "dlcourse-sandbox"
#: Sandboxes running at once each get their own user, so that one submission's
#: process limit and leftover sweep (kill -1 as that user) never touch another's.
USER_POOL_SIZE = 64
_slot_counter = itertools.count()
#: The only variables the grader may add to the scrubbed environment: the device to use.
PASSED_ENV = frozenset({"DLCOURSE_DEVICE", "CUDA_VISIBLE_DEVICES"})
GiB, MiB = 2**30, 2**20


@dataclass(frozen=True)
class SandboxLimits:
    """Per-submission limits; an assignment may override any of them."""

    address_space: int = 4 * GiB  # 0: unlimited (a GPU run needs it)
    cpu_seconds: int = 600
    max_processes: int = 256
    max_file_bytes: int = 64 * MiB
    wall_seconds: float = 900.0
    threads: int = 1


#: What :attr:`Sandbox.isolation` and the gradebook's status table say of each kind of sandbox.
ALLOW_LIST, WEAK = "allow-list", "weak"


class SandboxUnavailable(RuntimeError):
    """This host cannot give the allow-list filesystem, and the weaker sandbox was not allowed."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"refusing to grade: this machine cannot give student code an allow-list filesystem ({reason}). "
            "Without it, submissions can read whatever the grader's account can (other courses, their "
            "gradebooks and solutions). Install bubblewrap (apt-get install bubblewrap), or pass "
            "--weak-sandbox to grade with a deny list and file permissions only (each result records which "
            "sandbox it had).")
        self.reason = reason


class SandboxCrash(StudentError):
    """The submission's process died, timed out or broke the channel.

    A :class:`StudentError` so checks fail their case; ``status`` tells the engine why.
    """

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------ host setup


def ensure_sandbox_user(name: str = SANDBOX_USER) -> tuple[int, int] | None:
    """(uid, gid) of the sandbox user, creating it when root; None when unavailable."""
    with contextlib.suppress(KeyError):
        entry = pwd.getpwnam(name)
        # uid 0 would make the leftover sweep (kill -1 as that user) kill the whole machine.
        return (entry.pw_uid, entry.pw_gid) if entry.pw_uid != 0 else None
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        return None
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                   check=False, capture_output=True, timeout=30)
    with contextlib.suppress(KeyError):
        entry = pwd.getpwnam(name)
        return (entry.pw_uid, entry.pw_gid) if entry.pw_uid != 0 else None
    return None


def acquire_pool_user(base: str = SANDBOX_USER) -> tuple[str, int]:
    """Lock a free sandbox user of the pool: (name, lock fd); close the fd to release it.

    The first slot is ``base`` itself, then ``base1``, ``base2``, ...; the locks
    live in the system temp directory and vanish with the holding process.
    """
    folder = Path(tempfile.gettempdir()) / "dlcourse-sandbox-users"
    folder.mkdir(mode=0o700, exist_ok=True)
    # Start at a slot that differs between graders and between calls, so a user
    # released a moment ago is not reused at once by someone else.
    start = (os.getpid() * 7 + next(_slot_counter)) % USER_POOL_SIZE
    for offset in range(USER_POOL_SIZE):
        slot = (start + offset) % USER_POOL_SIZE
        name = base if slot == 0 else f"{base}{slot}"
        fd = os.open(folder / f"{name}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return name, fd
    raise RuntimeError(f"all {USER_POOL_SIZE} sandbox users are busy")


def orphaned_processes(base: str = SANDBOX_USER) -> list[psutil.Process]:
    """Processes of pool users whose slot is free: leftovers no sandbox owns."""
    folder = Path(tempfile.gettempdir()) / "dlcourse-sandbox-users"
    free = set()
    for lock in folder.glob(f"{base}*.lock"):
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            free.add(lock.stem)
        except BlockingIOError:
            pass
        finally:
            os.close(fd)  # closing drops the probe's lock
    return [p for p in psutil.process_iter(["username"]) if p.info["username"] in free]


def harden_course_permissions(course_root: Path) -> int:
    """Make the whole course private to its instructor (see :func:`dlcourse.permissions.secure_course`).

    The sandbox user can then not read source/, the gradebook or submissions
    even without a mount namespace. Every dlcourse command that writes into
    the course already does this; this is for a course touched by hand.
    Returns how many entries changed.
    """
    from dlcourse.permissions import secure_course

    return secure_course(course_root, everything=True)


@functools.cache  # a property of the host, not of the sandbox user: probed once per process
def _probe_namespaces() -> str:
    """'' when the child will be able to unshare net+mount namespaces, else why not."""
    flags = wire.CLONE_NEWNET | wire.CLONE_NEWNS
    if os.geteuid() != 0:
        flags |= wire.CLONE_NEWUSER
    code = ("import ctypes,os,sys;l=ctypes.CDLL(None,use_errno=True);"
            f"sys.exit(0) if l.unshare({flags})==0 else print(os.strerror(ctypes.get_errno()))")
    try:
        done = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=30,
                              env={"PATH": os.defpath}, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    return "" if done.returncode == 0 else (done.stdout.strip() or f"exit {done.returncode}")


@functools.cache
def _capabilities(user: str) -> dict[str, dict[str, Any]]:
    root = os.geteuid() == 0
    ids = ensure_sandbox_user(user) if root else None
    unavailable = sandbox_fs.probe()
    if not unavailable:
        return _isolated_capabilities(user, ids)
    namespaces = _probe_namespaces()
    blocked = _blocked_paths() if ids else {}
    drop_reason = (f"runs as uid {ids[0]} ({user})" if ids else
                   "grader is not root: the child runs as the grader's user" if not root else
                   f"could not create user {user}")
    if ids and blocked and namespaces:
        ids, drop_reason = None, "interpreter is under a 0700 directory and no mount namespace is available"
    return {
        "filesystem": {"active": False, "kind": WEAK,
                       "reason": f"no allow list: {unavailable}; a deny list of known folders and file permissions "
                                 "only (grading needs --weak-sandbox)"},
        "process_group": {"active": True, "reason": "own session (start_new_session)"},
        "rlimits": {"active": True, "reason": "RLIMIT_AS/CPU/FSIZE/CORE set in the child" +
                    ("; RLIMIT_NPROC binds" if ids else "; RLIMIT_NPROC does not bind root") if root
                    else "RLIMIT_AS/CPU/NPROC/FSIZE/CORE set in the child (NPROC counts all your processes)"},
        "drop_privileges": {"active": ids is not None, "reason": drop_reason, "ids": ids},
        "network_namespace": {"active": not namespaces,
                              "reason": "unshare(CLONE_NEWNET): loopback down, no interfaces" if not namespaces
                              else f"unshare failed ({namespaces}): the child keeps the host network"},
        "mount_namespace": {"active": not namespaces,
                            "reason": "private mounts: instructor paths hidden" if not namespaces
                            else f"unshare failed ({namespaces}): rely on file permissions"},
    }


def _isolated_capabilities(user: str, ids: tuple[int, int] | None) -> dict[str, dict[str, Any]]:
    """The defences with bubblewrap's allow-list view (the interpreter is bound in, wherever it lives)."""
    root = os.geteuid() == 0
    how = "as root, without a user namespace" if root else "in a user namespace mapping the grader's uid"
    return {
        "filesystem": {"active": True, "kind": ALLOW_LIST,
                       "reason": f"allow list via {sandbox_fs.bwrap_version() or 'bwrap'} ({how}): system "
                                 "libraries and the Python environment read-only, the private working directory, "
                                 "a private /tmp, a minimal /dev, a fresh /proc"},
        "process_group": {"active": True, "reason": "own session (start_new_session)"},
        "rlimits": {"active": True, "reason": "RLIMIT_AS/CPU/FSIZE/CORE set in the child" +
                    ("; RLIMIT_NPROC binds" if ids else "; RLIMIT_NPROC does not bind root") if root
                    else "RLIMIT_AS/CPU/NPROC/FSIZE/CORE set in the child (NPROC counts all your processes)"},
        "drop_privileges": {"active": ids is not None, "ids": ids,
                            "reason": f"runs as uid {ids[0]} ({user})" if ids else
                            "grader is not root: the child runs as the grader's user" if not root else
                            f"could not create user {user}"},
        "network_namespace": {"active": True, "reason": "bwrap --unshare-net: loopback only, no interfaces"},
        "mount_namespace": {"active": True, "reason": "bwrap: only the allow list is mounted"},
    }


def require_allow_list() -> None:
    """Raise :class:`SandboxUnavailable` unless this host can give the allow-list filesystem."""
    reason = sandbox_fs.probe()
    if reason:
        raise SandboxUnavailable(reason)


def _blocked_paths() -> dict[str, list[str]]:
    """Paths the interpreter needs, grouped under the topmost directory others cannot enter."""
    needed = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, os.path.dirname(sys.executable),
                                            *sys.path) if p and os.path.exists(p)}
    needed = {p for p in needed if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in needed)}
    groups: dict[str, list[str]] = {}
    for path in sorted(needed):
        parts = Path(path).parts
        for depth in range(1, len(parts)):
            ancestor = str(Path(*parts[:depth]))
            if not os.stat(ancestor).st_mode & stat.S_IXOTH:
                groups.setdefault(ancestor, []).append(path)
                break
    return groups


# ------------------------------------------------------------------ the sandbox


class Sandbox:
    """One submission's child process; use as a context manager.

    ``files`` maps names in the private working directory to host paths or bytes.
    ``hide`` lists host paths the sandbox must not see: outside the allow list
    they are not there anyway, inside it (a package's hidden checks) they are
    covered by an empty mount; in the weaker sandbox (``allow_weak``, where
    bubblewrap is unavailable) they are the deny list.
    """

    def __init__(self, files: Mapping[str, Path | bytes] | None = None, *, limits: SandboxLimits = SandboxLimits(),
                 seed: int = 0, preload: Iterable[str] = ("numpy",), user: str = SANDBOX_USER,
                 hide: Iterable[Path] = (), network: bool = False, warm: bool = True,
                 env: Mapping[str, str] | None = None, allow_weak: bool = False) -> None:
        self.allow_weak = allow_weak
        #: ALLOW_LIST or WEAK once started: which sandbox the submission had
        self.isolation = ""
        self.limits, self.seed, self.user = limits, int(seed), user
        self.files = dict(files or {})
        self.preload, self.hide, self.network = tuple(preload), [str(p) for p in hide], network
        # warm: fork the child from a zygote that has ``preload`` imported already
        self.warm = warm
        unknown = set(env or {}) - PASSED_ENV
        if unknown:
            raise ValueError(f"the sandbox accepts only {sorted(PASSED_ENV)} from the grader, not {sorted(unknown)}")
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.workdir: Path | None = None
        self.report: dict[str, Any] = {}
        self.failure: SandboxCrash | None = None
        self.startup_seconds = 0.0
        self._deadline = 0.0
        self._ids: tuple[int, int] | None = None
        self._user_lock: int | None = None
        self._workroot: Path | None = None  # the cold child's own bwrap-bound folder, removed at close

    @staticmethod
    def capabilities(user: str = SANDBOX_USER) -> dict[str, dict[str, Any]]:
        """Which defences are active on this host and why not (probed once per process)."""
        return _capabilities(user)

    def __enter__(self) -> Sandbox:  # noqa: PYI034 - subclasses are not expected
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Create the working directory, spawn the child and wait for its hello."""
        filesystem = self.capabilities()["filesystem"]
        if not filesystem["active"] and not self.allow_weak:
            raise SandboxUnavailable(sandbox_fs.probe())
        isolated = bool(filesystem["active"])
        self.isolation = ALLOW_LIST if isolated else WEAK
        extra_hide = sandbox_fs.uncovered(self.hide) if isolated else ()
        zygote = None
        if self.warm:  # started once per process and preload; not charged to this submission
            from dlcourse_graders.zygote import zygote_for

            zygote = zygote_for(self.preload, self.limits.threads, isolated=isolated, network=self.network,
                                hide=extra_hide)
            zygote.wait_ready()
        began = time.monotonic()
        if self.user == SANDBOX_USER and os.geteuid() == 0:
            self.user, self._user_lock = acquire_pool_user()
        caps = self.capabilities(self.user)
        self._ids = caps["drop_privileges"]["ids"]
        namespaces = caps["network_namespace"]["active"] and not isolated  # bwrap made them already
        if zygote is not None and zygote.workroot is not None:
            parent = zygote.workroot
        elif isolated:
            parent = self._workroot = Path(tempfile.mkdtemp(prefix="dlcourse-sandbox-root-"))
        else:
            parent = None
        self.workdir = Path(tempfile.mkdtemp(prefix="dlcourse-sandbox-", dir=parent))
        for name, content in self.files.items():
            target = self.workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if isinstance(content, bytes) else Path(content).read_bytes())
        if self._ids:
            for path in [self.workdir, *self.workdir.rglob("*")]:
                os.chown(path, *self._ids)
        env = {"PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
               "HOME": str(self.workdir), "LANG": "C.UTF-8", "PYTHONHASHSEED": str(self.seed % 2**32),
               "OMP_NUM_THREADS": str(self.limits.threads), "MKL_NUM_THREADS": str(self.limits.threads),
               "DLCOURSE_GRADING_SEED": str(self.seed), **self.extra_env}
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child; closed in close()
        if zygote is not None:
            self.process = zygote.spawn(env, self._log.fileno())  # type: ignore[assignment]
        else:
            # -s: no user site; -P: the working directory does not shadow the bootstrap's imports.
            command = [sys.executable, "-s", "-P", "-m", "dlcourse_graders.sandbox_child"]
            options: dict[str, Any] = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env,
                                           cwd="/", start_new_session=True, close_fds=True)
            if isolated:
                assert self._workroot is not None
                view = sandbox_fs.FilesystemView(str(self._workroot), network=self.network, hide=extra_hide,
                                                 accounts=sandbox_fs.sandbox_accounts(SANDBOX_USER))
                self.process = sandbox_fs.popen_in_bwrap(view, command, **options)
            else:
                self.process = subprocess.Popen(command, **options)
        self._deadline = began + self.limits.wall_seconds
        config = {"limits": {k: int(v) for k, v in asdict(self.limits).items()}, "workdir": str(self.workdir),
                  "uid": self._ids[0] if self._ids else None, "gid": self._ids[1] if self._ids else None,
                  "seed": self.seed, "preload": list(self.preload),
                  "network_namespace": namespaces and not self.network, "mount_namespace": namespaces,
                  "expose": _blocked_paths() if self._ids and not isolated else {}, "hide": self.hide,
                  "isolation": self.isolation}
        hello = self._request(config)
        if not hello.get("ok"):
            self._fail(Status.CRASHED, str(hello.get("error", "the sandbox did not start"))[:300])
        self.report = hello["report"]
        self.startup_seconds = time.monotonic() - began

    def close(self) -> None:
        """Ask the child to stop, then kill whatever the submission left behind."""
        if self.process is not None:
            if self.failure is None and self.process.poll() is None:
                with contextlib.suppress(SandboxCrash):
                    self._request({"op": "shutdown"}, limit=2.0)
            self._kill_everything()
            for stream in (self.process.stdin, self.process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()  # type: ignore[union-attr]
            self._log.close()
            self.process = None
        for folder in (self.workdir, self._workroot):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        self._release_user()

    def _release_user(self) -> None:
        if self._user_lock is not None:  # only now may another sandbox use this user
            os.close(self._user_lock)
            self._user_lock = None

    def _kill_everything(self) -> None:
        assert self.process is not None
        pid = self.process.pid
        kill_tree(pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        for _ in range(5):
            left = self.leftovers()
            if not left:
                return
            if self._ids:  # kill(-1) as the sandbox user: one sweep that a fork loop cannot outrun
                subprocess.run(["kill", "-9", "-1"], preexec_fn=self._become_user, check=False,
                               capture_output=True, timeout=10)
            for process in left:
                with contextlib.suppress(psutil.Error):
                    process.kill()
            psutil.wait_procs(left, timeout=2)

    def _become_user(self) -> None:
        assert self._ids is not None
        os.setgroups([])
        os.setgid(self._ids[1])
        os.setuid(self._ids[0])

    def leftovers(self) -> list[psutil.Process]:
        """Processes of this submission still alive: the sandbox user's, or its session's."""
        found = []
        session = self.process.pid if self.process else -1
        for process in psutil.process_iter(["uids", "pid"]):
            with contextlib.suppress(psutil.Error, OSError):
                if self._ids and process.info["uids"].real == self._ids[0] or os.getsid(process.info["pid"]) == session and process.status() != psutil.STATUS_ZOMBIE:
                    found.append(process)
        return found

    # -------------------------------------------------------------- requests

    def exec(self, source: str, *, owner: str = "student", test: bool = False,
             value: bool = False) -> dict[str, Any]:
        """Run one code cell; {'stdout', 'stderr', 'error': None | {ename, evalue, traceback}, 'value'}.

        ``owner`` is ``"instructor"`` for the course's protected cells (the names
        they bind are restored before each test), ``test`` runs a plain nbgrader
        test cell hardened (:mod:`dlcourse_graders.pristine`), ``value`` asks for
        the value of its last expression (see ``sandbox_child.describe_value``).
        """
        reply = self._request({"op": "exec", "source": source, "owner": owner, "test": test, "value": value})
        if not reply.get("ok"):
            self._fail(Status.CRASHED, "the sandbox refused a cell")
        return {key: reply.get(key) for key in ("stdout", "stderr", "error", "value")}

    def student(self) -> SandboxStudent:
        """The :class:`~dlcourse.checking.Student` that hidden checks use."""
        return SandboxStudent(self)

    def _request(self, message: dict[str, Any], limit: float | None = None) -> dict[str, Any]:
        if self.failure is not None:
            raise self.failure
        assert self.process is not None and self.process.stdin and self.process.stdout
        deadline = self._deadline if limit is None else min(self._deadline, time.monotonic() + limit)
        try:
            _write_all(self.process.stdin.fileno(), _frame(message), deadline)
            size = int.from_bytes(_read_exact(self.process.stdout.fileno(), 8, deadline), "big")
            if size > wire.MAX_MESSAGE:
                self._fail(Status.CRASHED, "your notebook sent an oversized reply")
            return wire.parse_body(_read_exact(self.process.stdout.fileno(), size, deadline))
        except TimeoutError:
            self._fail(Status.TIMED_OUT, f"the notebook ran longer than its {self.limits.wall_seconds:g} s limit")
        except wire.ChannelError:
            self._fail(Status.CRASHED, "your notebook sent a malformed reply")
        except (EOFError, BrokenPipeError, ConnectionError):
            self._fail(*self._death())
        raise AssertionError("unreachable")

    def _death(self) -> tuple[Status, str]:
        assert self.process is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        code = self.process.returncode
        if code == -signal.SIGXCPU:
            return Status.RESOURCE_LIMIT, f"the notebook used more than {self.limits.cpu_seconds} s of CPU time"
        if code == -signal.SIGKILL:  # we had not killed it yet: the hard CPU limit or the OOM killer
            return Status.RESOURCE_LIMIT, "the notebook was killed for exceeding its CPU or memory limit"
        if code == -signal.SIGXFSZ:
            return Status.RESOURCE_LIMIT, "the notebook wrote a file larger than the limit"
        return Status.CRASHED, f"the notebook's process exited unexpectedly (exit code {code})"

    def _fail(self, status: Status, message: str) -> None:
        self.failure = SandboxCrash(status, message)
        if self.process is not None:
            self._kill_everything()
        raise self.failure


def _frame(message: dict[str, Any]) -> bytes:
    import json

    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > wire.MAX_MESSAGE:
        raise StudentError("challenge input too large for the sandbox channel")
    return len(body).to_bytes(8, "big") + body


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    """Write with a deadline: a child that stops reading cannot hang the grader."""
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        _, ready, _ = select.select([], [fd], [], left)
        if ready:
            os.set_blocking(fd, False)
            try:
                view = view[os.write(fd, view[: 1 << 16]):]
            except BlockingIOError:
                pass
            finally:
                os.set_blocking(fd, True)


def _read_exact(fd: int, size: int, deadline: float) -> bytes:
    chunks, left = [], size
    while left:
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise TimeoutError
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            continue
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class SandboxStudent:
    """A :class:`~dlcourse.checking.Student` whose objects live in a :class:`Sandbox`."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def has(self, name: str) -> bool:
        return bool(self._ask({"op": "has", "name": name}))

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return self._ask({"op": "call", "name": name, **_arguments(args, kwargs)})

    def run(self, driver: str, *args: Any, **kwargs: Any) -> Any:
        return self._ask({"op": "run", "driver": driver, **_arguments(args, kwargs)})

    def _ask(self, message: dict[str, Any]) -> Any:
        reply = self._sandbox._request(message)
        if not reply.get("ok"):
            raise StudentError(str(reply.get("error", "failed"))[:300])
        try:
            return wire.decode_value(reply.get("value"))
        except wire.ChannelError as error:
            raise StudentError(f"returned {error}") from None


def _arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"args": wire.encode_value(list(args)), "kwargs": wire.encode_value(dict(kwargs))}
    except wire.ChannelError as error:
        raise TypeError(f"a check passed {error}") from None
