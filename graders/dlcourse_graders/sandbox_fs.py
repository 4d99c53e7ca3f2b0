"""The sandbox's filesystem as an allow list, built by bubblewrap (``bwrap``).

A deny list of known folders misses what it does not name (other courses,
other courses' gradebooks, a demo course's submissions, instructors' homes).
Here the sandbox starts from an empty root and gets only:

* the system's programs and libraries, read-only (``/usr`` and the
  ``/bin``, ``/lib*``, ``/sbin`` links or folders), and the few files of
  ``/etc`` that programs read to start (the loader cache, time zone);
* a ``/etc/passwd`` and ``/etc/group`` written here, naming only root,
  nobody and the accounts the sandbox runs as;
* the Python environment, read-only: ``sys.base_prefix``, ``sys.prefix`` and
  the folder of the interpreter; for an editable install, only the *packages*
  under the source roots its ``.pth`` files name, each package's ``hidden/``
  and ``notebooks/`` folders (and any other ``hide`` path) covered by an
  empty tmpfs, so solutions, hidden checks, loose files and ``.git`` of the
  checkout stay outside;
* one read-write folder (``workroot``) holding the submissions' private
  working directories; each child then mounts its own ``/tmp`` and sees only
  its own directory there (:func:`dlcourse_graders.sandbox_child._private_mounts`);
* a minimal ``/dev``, a fresh ``/proc`` of a new PID namespace, and new
  network, IPC and UTS namespaces (the network only when not asked for).

bwrap sets ``no_new_privs``, so setuid programs cannot raise privileges.
As root, the sandbox keeps only the capabilities a child needs to mount its
``/tmp`` and drop to its pool user; otherwise bwrap maps the grader's own
uid into a new user namespace (unprivileged user namespaces must be allowed).
"""

from __future__ import annotations

import functools
import grp
import os
import pwd
import shutil
import site
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Path of the bwrap executable; set it empty to run without (only with an explicit weaker sandbox).
BWRAP_SETTING = "DLCOURSE_BWRAP"
#: The system folders that hold programs and libraries; links (``/lib -> usr/lib``) are recreated as links.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: What programs read from /etc to start; nothing that names the host's users, hosts or secrets.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives",
             "/etc/nsswitch.conf")
#: Folders of a topic package that hold solutions or hidden checks (never importable by students).
SECRET_SUBFOLDERS = ("hidden", "notebooks")
#: A GPU needs its device nodes; absent ones are skipped.
GPU_DEVICES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset",
               *(f"/dev/nvidia{i}" for i in range(16)))
#: The capabilities a root-run sandbox keeps until each child drops to its pool user.
ROOT_CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID")


def bwrap_path() -> str | None:
    """The bwrap executable to use, or None (``DLCOURSE_BWRAP`` overrides the search on PATH)."""
    configured = os.environ.get(BWRAP_SETTING)
    if configured is not None:
        return configured if configured and os.access(configured, os.X_OK) else None
    return shutil.which("bwrap")


@dataclass(frozen=True)
class FilesystemView:
    """What a sandbox (a zygote and its children, or one cold child) may see of the host."""

    workroot: str
    network: bool = False
    hide: tuple[str, ...] = ()
    #: (name, uid, gid) of the accounts the sandbox runs as, for its /etc/passwd
    accounts: tuple[tuple[str, int, int], ...] = field(default_factory=tuple)


@functools.cache
def python_roots() -> list[str]:
    """The environment's folders the interpreter needs, outermost only."""
    found = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix,
                                            os.path.dirname(sys.executable),
                                            os.path.dirname(os.path.realpath(sys.executable))) if p}
    return _outermost(p for p in found if os.path.isdir(p))


@functools.cache
def editable_roots() -> list[str]:
    """Source folders that ``.pth`` files of the environment add to ``sys.path`` (editable installs)."""
    roots = set()
    prefixes = python_roots()
    for folder in {*site.getsitepackages(), site.getusersitepackages()}:
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".pth"):
                continue
            try:
                lines = Path(folder, name).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                line = line.strip()
                if not line or line.startswith(("#", "import ")):
                    continue
                path = os.path.realpath(os.path.join(folder, line))
                if os.path.isdir(path) and not any(_inside(path, prefix) for prefix in prefixes):
                    roots.add(path)
    return sorted(roots)


def importable_packages(root: str) -> list[str]:
    """The packages (folders with ``__init__.py``) directly under ``root``: loose files are left out.

    A root removed since the environment was read (an editable project deleted
    while a grader runs) has none, rather than failing every later sandbox.
    """
    if not Path(root).is_dir():
        return []
    return [str(entry) for entry in sorted(Path(root).iterdir())
            if entry.is_dir() and not entry.name.startswith(".") and (entry / "__init__.py").is_file()]


def masked_folders(package: str, hide: Iterable[str]) -> list[str]:
    """Folders of ``package`` to cover: its ``hidden/`` and ``notebooks/``, and ``hide`` paths inside it."""
    found = {str(Path(package, name)) for name in SECRET_SUBFOLDERS if Path(package, name).is_dir()}
    found |= {os.path.realpath(p) for p in hide if _inside(os.path.realpath(p), package) and os.path.isdir(p)}
    return sorted(found)


def bwrap_arguments(view: FilesystemView, *, data_fds: tuple[int, int]) -> list[str]:
    """bwrap's options for ``view`` (without the command); ``data_fds`` carry /etc/passwd and /etc/group."""
    args = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--hostname", "sandbox"]
    if not view.network:
        args.append("--unshare-net")
    if os.geteuid() == 0:
        # No user namespace: each child must be able to become its own pool user.
        args += ["--cap-drop", "ALL", *(a for cap in ROOT_CAPS for a in ("--cap-add", cap))]
    else:
        # The grader's uid mapped to itself; CAP_SYS_ADMIN inside lets each child mount its /tmp, then drops it.
        args += ["--unshare-user", "--disable-userns", "--cap-add", "CAP_SYS_ADMIN"]
    mounted: list[str] = []
    made = {"/"}

    def bind(source: str, dest: str, option: str = "--ro-bind") -> None:
        # bwrap makes missing parents 0700, which would shut the pool user out: make them 0755 first
        missing = []
        for parent in map(str, Path(dest).parents):
            if parent in made or any(_inside(parent, m) for m in mounted):
                break
            missing.append(parent)
        for parent in reversed(missing):
            args.extend(["--perms", "0755", "--dir", parent])
            made.add(parent)
        args.extend([option, source, dest])
        mounted.append(dest)

    for folder in SYSTEM_DIRS:
        if os.path.islink(folder):
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            bind(folder, folder)
    args += ["--perms", "0755", "--dir", "/etc"]
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    args += ["--ro-bind-data", str(data_fds[0]), "/etc/passwd", "--ro-bind-data", str(data_fds[1]), "/etc/group"]
    for root in python_roots():
        if not any(_inside(root, m) for m in mounted):  # a system Python lives in /usr, bound already
            bind(root, root)
    for source in editable_roots():
        for package in importable_packages(source):
            bind(package, package)
            for folder in masked_folders(package, view.hide):
                args += ["--perms", "0000", "--tmpfs", folder, "--remount-ro", folder]
            for path in view.hide:  # a single file inside a package: an empty file in its place
                if os.path.isfile(path) and _inside(os.path.realpath(path), package):
                    args += ["--ro-bind", "/dev/null", os.path.realpath(path)]
    args += ["--dev", "/dev", *(a for dev in GPU_DEVICES if os.path.exists(dev) for a in ("--dev-bind", dev, dev)),
             "--proc", "/proc", "--tmpfs", "/tmp", "--bind", view.workroot, view.workroot, "--chdir", "/"]
    # The root itself is a tmpfs of bwrap's; read-only, so nothing outside /tmp and the work root is writable
    # (without root the sandbox owns that tmpfs and could otherwise create /etc/anything).
    args += ["--remount-ro", "/", "--remount-ro", "/dev"]  # each child mounts its own /dev/shm
    return args


def account_files(accounts: Iterable[tuple[str, int, int]]) -> tuple[bytes, bytes]:
    """The sandbox's /etc/passwd and /etc/group: root, nobody and ``accounts`` only."""
    users = {0: ("root", 0), 65534: ("nobody", 65534)}
    groups = {0: "root", 65534: "nogroup"}
    for name, uid, gid in accounts:
        users[uid] = (name, gid)
        groups.setdefault(gid, _group_name(gid, name))
    passwd = "".join(f"{name}:x:{uid}:{gid}::/tmp:/usr/sbin/nologin\n" for uid, (name, gid) in sorted(users.items()))
    group = "".join(f"{name}:x:{gid}:\n" for gid, name in sorted(groups.items()))
    return passwd.encode(), group.encode()


def sandbox_accounts(pool_prefix: str) -> tuple[tuple[str, int, int], ...]:
    """The accounts a sandbox may run as: the pool users (root) or the grader itself."""
    if os.geteuid() == 0:
        return tuple(sorted((p.pw_name, p.pw_uid, p.pw_gid) for p in pwd.getpwall()
                            if p.pw_name.startswith(pool_prefix) and p.pw_uid != 0))
    uid, gid = os.getuid(), os.getgid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = f"grader{uid}"
    return ((name, uid, gid),)


def popen_in_bwrap(view: FilesystemView, command: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    """Start ``command`` inside bwrap for ``view`` (``popen``: :class:`subprocess.Popen`'s options),
    feeding the sandbox's /etc/passwd and /etc/group through pipes."""
    passwd, group = account_files(view.accounts)
    fds = [_data_pipe(passwd), _data_pipe(group)]
    try:
        args = [bwrap_path() or "bwrap", *bwrap_arguments(view, data_fds=(fds[0], fds[1])), "--", *command]
        extra = tuple(popen.pop("pass_fds", ()))
        return subprocess.Popen(args, pass_fds=(*extra, *fds), **popen)
    finally:
        for fd in fds:
            os.close(fd)


def _data_pipe(data: bytes) -> int:
    """A pipe's read end holding ``data`` (small: it fits in the pipe's buffer)."""
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    return read


@functools.cache  # a property of the host and of this environment: probed once per process
def probe(network: bool = False) -> str:
    """'' when bwrap can build the allow-list view here, else why not (shown by doctor and refusals)."""
    bwrap = bwrap_path()
    if bwrap is None:
        configured = os.environ.get(BWRAP_SETTING)
        return (f"{BWRAP_SETTING}={configured!r} is not an executable" if configured is not None
                else "bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
    workroot = tempfile.mkdtemp(prefix="dlcourse-probe-")
    try:
        view = FilesystemView(workroot, network=network, accounts=sandbox_accounts("dlcourse-sandbox"))
        done = popen_in_bwrap(view, [sys.executable, "-S", "-c", "import os; os.listdir('/')"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              env={"PATH": os.defpath})
        try:
            _, err = done.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            done.kill()
            return "bwrap did not start within 30 s"
    except OSError as error:
        return f"bwrap could not run: {error}"
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    if done.returncode != 0:
        text = err.decode(errors="replace").strip().splitlines()
        return f"bwrap failed ({text[-1] if text else f'exit {done.returncode}'}); it needs " + \
            ("root" if os.geteuid() == 0 else "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1"
             " or user.max_user_namespaces > 0)")
    return ""


def bwrap_version() -> str:
    """bwrap's version line, for reports."""
    bwrap = bwrap_path()
    if bwrap is None:
        return ""
    try:
        return subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "bubblewrap"


def _group_name(gid: int, fallback: str) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return fallback


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _outermost(paths: Iterable[str]) -> list[str]:
    found = sorted(set(paths))
    return [p for p in found if not any(p != q and _inside(p, q) for q in found)]


def uncovered(hide: Iterable[str]) -> tuple[str, ...]:
    """``hide`` paths that the allow list would show: inside a bound package and not already covered.

    Usually none (the course, instructors' folders and a checkout's ``.git``
    are outside the allow list; ``hidden/`` and ``notebooks/`` are covered).
    """
    packages = [p for root in editable_roots() for p in importable_packages(root)]
    found = []
    for path in hide:
        real = os.path.realpath(path)
        for package in packages:
            if _inside(real, package) and not any(_inside(real, m) for m in masked_folders(package, ())):
                found.append(real)
    return tuple(sorted(set(found)))
