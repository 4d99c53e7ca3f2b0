"""A warm fork server for sandbox children.

Starting a fresh interpreter per submission costs the imports of every
submission again (``import torch`` alone is 1-2 s). The zygote imports the
assignment's libraries once, then forks one child per submission; each child
becomes a new session, takes the pipes the grader passed over a UNIX socket
(SCM_RIGHTS) and runs :func:`dlcourse_graders.sandbox_child.main`, which
applies every sandbox defence before any student code, exactly as a fresh
process would. An intermediate process waits for the child and writes its
exit code to a status pipe, since only a parent can reap a child.

With bubblewrap, the zygote itself runs inside the allow-list view
(:mod:`dlcourse_graders.sandbox_fs`), with a work root bound read-write that
holds the children's private directories; each child then mounts its own
/tmp and sees only its own directory. The zygote's PID namespace means a
child's pid there is not the host's: :meth:`Zygote.spawn` translates it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterable

from dlcourse_graders import sandbox_fs

_STATUS = struct.Struct("!i")
#: Set in a bwrap-run zygote's environment: it makes itself non-dumpable, so that children
#: running as the same uid (non-root grading) cannot read or write its memory through /proc.
PRIVATE_ENV = "DLCOURSE_ZYGOTE_PRIVATE"


class ForkedChild:
    """What the sandbox needs of a process it did not start itself (a Popen look-alike)."""

    def __init__(self, pid: int, stdin_fd: int, stdout_fd: int, status_fd: int) -> None:
        self.pid = pid
        self.stdin = os.fdopen(stdin_fd, "wb", buffering=0)
        self.stdout = os.fdopen(stdout_fd, "rb", buffering=0)
        self._status_fd = status_fd
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.wait(0) if self.returncode is None else self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is not None:
            return self.returncode
        ready, _, _ = select.select([self._status_fd], [], [], timeout)
        if not ready:
            if timeout == 0:
                return None
            raise subprocess.TimeoutExpired("sandbox child", timeout or 0)
        data = os.read(self._status_fd, _STATUS.size)
        self.returncode = _STATUS.unpack(data)[0] if len(data) == _STATUS.size else -signal.SIGKILL
        os.close(self._status_fd)
        return self.returncode


class Zygote:
    """One fork server, with ``preload`` imported and ``threads`` set for numeric libraries."""

    def __init__(self, preload: Iterable[str], threads: int = 1,
                 view: sandbox_fs.FilesystemView | None = None) -> None:
        """``view``: run inside bubblewrap with that allow list (its work root holds the children's folders)."""
        self.preload = tuple(preload)
        self.view = view
        self.workroot = Path(view.workroot) if view else None
        self._zygote_pid: int | None = None  # the zygote's own host pid, below bwrap's processes
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        count = str(max(1, threads))
        env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
               "MPLBACKEND": "Agg", "OMP_NUM_THREADS": count, "MKL_NUM_THREADS": count,
               "OPENBLAS_NUM_THREADS": count}
        command = [sys.executable, "-s", "-P", "-m", "dlcourse_graders.zygote", str(theirs.fileno()), *self.preload]
        options = dict(pass_fds=[theirs.fileno()], cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       start_new_session=True)
        if view is None:
            self.process = subprocess.Popen(command, env=env, **options)  # type: ignore[call-overload]
        else:
            self.process = sandbox_fs.popen_in_bwrap(view, command, env={**env, PRIVATE_ENV: "1"}, **options)
        theirs.close()
        self.socket = ours
        self.lock = threading.RLock()
        self.ready = False  # the zygote imports in the background until the first spawn needs it

    def wait_ready(self) -> None:
        """Block until the zygote has imported its preloads (it raises if the zygote failed)."""
        with self.lock:
            if not self.ready:
                if self.socket.recv(64) != b"ready":
                    raise RuntimeError("the sandbox zygote did not start")
                self.ready = True

    def spawn(self, env: dict[str, str], stderr_fd: int) -> ForkedChild:
        """Fork a sandbox child wired to new pipes; it waits for its configuration on stdin."""
        child_in, stdin_w = os.pipe()
        stdout_r, child_out = os.pipe()
        status_r, status_w = os.pipe()
        try:
            with self.lock:
                self.wait_ready()
                socket.send_fds(self.socket, [json.dumps({"env": env}).encode()],
                                [child_in, child_out, stderr_fd, status_w])
                reply = self.socket.recv(256)
        finally:
            for fd in (child_in, child_out, status_w):
                os.close(fd)
        if not reply:
            raise RuntimeError("the sandbox zygote died")
        pid = int(json.loads(reply)["pid"])
        return ForkedChild(self._host_pid(pid) if self.view else pid, stdin_w, stdout_r, status_r)

    def _host_pid(self, pid: int) -> int:
        """The host's pid of the zygote's child ``pid`` (a pid in bwrap's PID namespace).

        The child is a grandchild of the zygote (through its intermediate):
        walking ``/proc/PID/task/*/children`` from the zygote reads a handful
        of files, where scanning every process of the host would cost tens of
        milliseconds per submission on a busy machine.
        """
        if self._zygote_pid is None:  # bwrap's own processes carry the same words after its options
            zygote_argv = "\0".join([sys.executable, "-s", "-P", "-m", "dlcourse_graders.zygote"]).encode()
            self._zygote_pid = next((p for p in _descendants(self.process.pid)
                                     if _read(f"/proc/{p}/cmdline").startswith(zygote_argv)), 0)
        for intermediate in _children(self._zygote_pid) if self._zygote_pid else ():
            for child in _children(intermediate):
                ids = next((line.split()[1:] for line in _read(f"/proc/{child}/status").splitlines()
                            if line.startswith(b"NSpid:")), [])
                if len(ids) > 1 and int(ids[-1]) == pid:
                    return child
        raise RuntimeError(f"the sandbox child {pid} vanished before it started")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.socket.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.process.poll() is None:
            self.process.kill()
        if self.workroot is not None:
            import shutil

            shutil.rmtree(self.workroot, ignore_errors=True)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:  # the process is gone
        return b""


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from every thread of it)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    return [int(child) for task in tasks for child in _read(f"/proc/{pid}/task/{task}/children").split()]


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        children = _children(queue.pop())
        found += children
        queue += children
    return found


_zygotes: dict[tuple[object, ...], Zygote] = {}
_zygotes_lock = threading.Lock()


def zygote_for(preload: Iterable[str], threads: int, *, isolated: bool | None = None, network: bool = False,
               hide: Iterable[str] = ()) -> Zygote:
    """This process's zygote for ``preload`` and ``threads`` (started on first use).

    ``isolated``: inside bubblewrap's allow list (default: where this host can);
    ``network`` and ``hide`` (paths inside that view to cover) shape that view.
    """
    if isolated is None:
        isolated = not sandbox_fs.probe()
    key = (tuple(preload), int(threads), isolated, network, tuple(sorted(hide)))
    with _zygotes_lock:
        zygote = _zygotes.get(key)
        if zygote is None or zygote.process.poll() is not None:
            if zygote is not None:
                zygote.close()
            view = None
            if isolated:
                import atexit
                import shutil

                workroot = tempfile.mkdtemp(prefix="dlcourse-zygote-")
                atexit.register(shutil.rmtree, workroot, True)  # each child removes its own folder; this the rest
                view = sandbox_fs.FilesystemView(workroot, network=network, hide=tuple(sorted(hide)),
                                                 accounts=sandbox_fs.sandbox_accounts("dlcourse-sandbox"))
            zygote = _zygotes[key] = Zygote(tuple(preload), int(threads), view)
        return zygote


# ------------------------------------------------------------------ the server


def _serve(channel: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # intermediates are reaped by the kernel
    channel.send(b"ready")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 4)
        except OSError:
            return
        if not message:
            return
        env = json.loads(message)["env"]
        pid_r, pid_w = os.pipe()
        if os.fork() == 0:
            _intermediate(channel, env, fds, pid_w)
        os.close(pid_w)
        for fd in fds:
            os.close(fd)
        pid = _STATUS.unpack(os.read(pid_r, _STATUS.size))[0]
        os.close(pid_r)
        channel.send(json.dumps({"pid": pid}).encode())


def _intermediate(channel: socket.socket, env: dict[str, str], fds: list[int], pid_w: int) -> None:
    """Fork the sandbox child, report its pid, wait for it and report its exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    stdin_fd, stdout_fd, stderr_fd, status_fd = fds
    child = os.fork()
    if child == 0:
        os.setsid()
        for target, fd in ((0, stdin_fd), (1, stdout_fd), (2, stderr_fd)):
            os.dup2(fd, target)
        os.closerange(3, 65536)  # nothing of the zygote's (its socket) reaches student code
        os.environ.clear()
        os.environ.update(env)
        from dlcourse_graders import sandbox_child

        sandbox_child.main()
        os._exit(99)
    channel.close()
    for fd in (stdin_fd, stdout_fd, stderr_fd):
        os.close(fd)
    os.write(pid_w, _STATUS.pack(child))
    os.close(pid_w)
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            status = 0
            break
        except InterruptedError:
            continue
    with contextlib.suppress(OSError):
        os.write(status_fd, _STATUS.pack(os.waitstatus_to_exitcode(status)))
    os._exit(0)


def main() -> None:
    if os.environ.pop(PRIVATE_ENV, None):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    channel = socket.socket(fileno=int(sys.argv[1]))
    for module in sys.argv[2:]:
        with contextlib.suppress(Exception):  # a missing library is the student's problem later
            loaded = importlib.import_module(module)
            # a topic's module may fill its caches of public data here once, so that no submission pays for it
            warm = getattr(loaded, "dlcourse_zygote_warm", None)
            if callable(warm):
                warm()
    from dlcourse_graders import sandbox_child  # noqa: F401 - imported before any fork

    _serve(channel)


if __name__ == "__main__":
    main()
