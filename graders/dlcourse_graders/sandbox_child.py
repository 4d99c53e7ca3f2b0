"""The sandboxed child: one submission's interpreter, and the data-only channel.

Run as ``python -m dlcourse_graders.sandbox_child``. The grader sends a
configuration frame on stdin; the child then, before any student code:

1. moves the channel to private fds and points fd 0/1/2 at /dev/null and
   files in the working directory (student prints cannot corrupt the channel);
2. inside bubblewrap's allow list (:mod:`dlcourse_graders.sandbox_fs`): enters
   its own mount namespace, mounts a private /tmp and shows only its own
   working directory there; in the weaker sandbox: enters new network/mount
   namespaces where allowed, exposes the interpreter to the sandbox user and
   hides the instructor paths it is told of;
3. drops to the sandbox user (root) or drops every capability (bwrap without
   root), sets rlimits, preloads modules, seeds random/numpy/torch;
4. serves ``exec`` / ``has`` / ``call`` / ``run`` / ``shutdown`` requests.

The wire format is shared with the grader: an 8-byte big-endian length, then
UTF-8 JSON. Arrays travel as base64 ``.npy`` written and read with
``allow_pickle=False``; only numbers, strings, bools, None, lists, tuples,
dicts and numeric arrays are encodable. Nothing is ever unpickled.
"""

from __future__ import annotations

import base64
import ctypes
import importlib
import importlib.util
import io
import json
import os
import random
import resource
import signal
import struct
import sys
import traceback
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from dlcourse.plain_data import refusal

MAX_MESSAGE = 64 * 2**20
CELL_OUTPUT_CAP = 64 * 2**10
_HEADER = struct.Struct(">Q")
_MAX_DEPTH = 32

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
_MS_BIND, _MS_REC, _MS_PRIVATE, _MS_RDONLY, _MS_REMOUNT = 4096, 16384, 1 << 18, 1, 32
_MS_NOSUID, _MS_NODEV = 2, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class ChannelError(Exception):
    """A frame was oversized, truncated, malformed or held a non-plain value."""


# ------------------------------------------------------------------ wire format


def encode_value(value: Any, _depth: int = 0) -> Any:
    """``value`` as JSON-ready data; raises :class:`ChannelError` for anything not plain.

    Types are matched exactly, never with ``isinstance``: a subclass of
    ``int``, ``list``, ``ndarray`` or ``Tensor`` may redefine ``__eq__``,
    ``__bool__``, ``__len__`` or ``__iter__``, and is refused with a message
    naming it. (This runs in the student's process, so it only gives honest
    mistakes a clear message: the grader's :func:`decode_value` builds fresh
    plain values from the JSON whatever this function sent.)
    """
    if _depth > _MAX_DEPTH:
        raise ChannelError("a structure nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    if kind is complex:
        return {"__complex__": [value.real, value.imag]}
    np = sys.modules.get("numpy")
    torch = sys.modules.get("torch")
    if torch is not None and kind in (torch.Tensor, torch.nn.Parameter):
        return {"__tensor__": _npy(torch.Tensor.numpy(torch.Tensor.cpu(torch.Tensor.detach(value))))}
    if np is not None and kind in _numpy_scalar_types(np):
        return encode_value(value.item(), _depth + 1)
    if np is not None and kind is np.ndarray:
        return {"__nd__": _npy(value)}
    if kind is list or kind is tuple or (torch is not None and kind is torch.Size):
        items = [encode_value(item, _depth + 1) for item in list.__iter__(value)] if kind is list else \
            [encode_value(item, _depth + 1) for item in tuple.__iter__(value)]
        return items if kind is list else {"__tuple__": items}
    if kind is dict or kind is OrderedDict:  # a state_dict is an OrderedDict
        return {"__dict__": {_key(k): encode_value(v, _depth + 1) for k, v in dict.items(value)}}
    raise ChannelError(refusal(value))


def _key(key: Any) -> str:
    if type(key) not in (str, int):  # str() of a student object runs its code
        raise ChannelError(f"a dict with a key of type {type(key).__name__}; use strings")
    return str(key)


def _numpy_scalar_types(np: Any) -> frozenset[type]:
    """NumPy's own scalar types (``np.float64``, ``np.bool_``, ...), not subclasses of them."""
    return frozenset(t for t in np.sctypeDict.values() if t.__module__ == "numpy")


def _npy(array: Any) -> str:
    import numpy as np

    if type(array) is not np.ndarray:  # a tensor's .numpy() of a subclass, say
        raise ChannelError(refusal(array))
    if array.dtype.kind not in "biufc":
        raise ChannelError(f"an array of dtype {array.dtype}; expected numbers")
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(np.asarray(array)), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_value(data: Any, *, tensors: bool = False, _depth: int = 0) -> Any:
    """Inverse of :func:`encode_value`; unknown tags and non-numeric arrays are refused."""
    if _depth > _MAX_DEPTH:
        raise ChannelError("a structure nested too deeply")
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if isinstance(data, list):
        return [decode_value(item, tensors=tensors, _depth=_depth + 1) for item in data]
    if isinstance(data, dict) and len(data) == 1:
        (tag, payload), = data.items()
        if tag == "__tuple__" and isinstance(payload, list):
            return tuple(decode_value(item, tensors=tensors, _depth=_depth + 1) for item in payload)
        if tag == "__dict__" and isinstance(payload, dict):
            return {str(k): decode_value(v, tensors=tensors, _depth=_depth + 1) for k, v in payload.items()}
        if tag == "__complex__" and isinstance(payload, list) and len(payload) == 2:
            return complex(float(payload[0]), float(payload[1]))
        if tag in ("__nd__", "__tensor__") and isinstance(payload, str):
            array = _load_npy(payload)
            if tag == "__tensor__" and tensors and _torch_available():
                import torch

                return torch.from_numpy(array)
            return array
    raise ChannelError("a malformed value")


def _load_npy(payload: str) -> Any:
    import numpy as np

    try:
        array = np.load(io.BytesIO(base64.b64decode(payload, validate=True)), allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - pickled object arrays land here too
        raise ChannelError(f"a malformed array ({type(error).__name__})") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biufc":
        raise ChannelError("an array that is not numeric")
    return np.array(array, subok=False, copy=True)


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True


def write_frame(fd: int, message: dict[str, Any]) -> None:
    """Send one message (blocking); raises :class:`ChannelError` when it is too large."""
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) > MAX_MESSAGE:
        raise ChannelError(f"a message of {len(body)} bytes exceeds the {MAX_MESSAGE}-byte cap")
    view = memoryview(_HEADER.pack(len(body)) + body)
    while view:
        view = view[os.write(fd, view):]


def parse_body(body: bytes) -> dict[str, Any]:
    """Parse one frame's body into a message dict, or raise :class:`ChannelError`."""
    try:
        message = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as error:
        raise ChannelError(f"a malformed message ({type(error).__name__})") from None
    if not isinstance(message, dict):
        raise ChannelError("a message that is not an object")
    return message


def _read_exact(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("channel closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> dict[str, Any]:
    """Blocking read of one message (the child's side)."""
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size))
    if size > MAX_MESSAGE:
        raise ChannelError("oversized message")
    return parse_body(_read_exact(fd, size))


# ------------------------------------------------------------------ bootstrap


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _unshare(flags: int) -> str:
    """Enter new namespaces; '' on success, else the reason."""
    if _libc().unshare(flags) != 0:
        return os.strerror(ctypes.get_errno())
    return ""


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = (lambda s: s.encode() if s is not None else None)
    if _libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)) != 0:
        raise OSError(ctypes.get_errno(), f"mount {target}: {os.strerror(ctypes.get_errno())}")


def _arrange_mounts(expose: dict[str, list[str]], hide: list[str]) -> None:
    """In the private mount namespace: replace each blocking directory (e.g. a 0700
    /root holding the interpreter) by an empty tmpfs that shows only the paths the
    interpreter needs, and cover instructor paths with empty read-only tmpfs."""
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    for blocker, paths in expose.items():
        # O_PATH fds keep the real directories reachable once the tmpfs covers them.
        fds = {path: os.open(path, os.O_PATH) for path in paths}
        _mount("tmpfs", blocker, "tmpfs", 0, "mode=0755,size=1m")
        for path, fd in fds.items():
            os.makedirs(path, mode=0o755, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, _MS_BIND | _MS_REC)
            os.close(fd)
        _mount(None, blocker, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY)
    for path in hide:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", _MS_RDONLY, "mode=0000,size=4k")
        elif os.path.exists(path):
            _mount("/dev/null", path, None, _MS_BIND)


def _private_mounts(workdir: str, tmp_bytes: int) -> None:
    """Inside bubblewrap: a mount namespace of this child's own, where /tmp and /dev/shm
    are fresh tmpfs and the work root (shared by the zygote's children) shows only ``workdir``.

    bwrap built everything else; this is the one step it cannot do for a
    forked child. The work root lies under /tmp, so one tmpfs covers both.
    """
    error = _unshare(CLONE_NEWNS)
    if error:
        raise OSError(f"a private mount namespace: {error}")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing mounted here reaches the zygote or siblings
    # Opened in the new namespace (a bind needs a source there); stays reachable once the tmpfs covers it.
    fd = os.open(workdir, os.O_PATH | os.O_DIRECTORY)
    # /dev/shm too: torch's shared-memory tensors need it, and it must not pass notes between submissions
    covers = ["/tmp", "/dev/shm"] + ([] if workdir.startswith("/tmp/") else [os.path.dirname(workdir)])
    size = tmp_bytes if tmp_bytes > 0 else 1 << 30
    for folder in covers:
        _mount("tmpfs", folder, "tmpfs", _MS_NOSUID | _MS_NODEV, f"mode=1777,size={size}")
    os.makedirs(workdir, mode=0o755, exist_ok=True)
    _mount(f"/proc/self/fd/{fd}", workdir, None, _MS_BIND)
    os.close(fd)


def _drop_capabilities() -> None:
    """Give up every capability (bwrap without root lends CAP_SYS_ADMIN for :func:`_private_mounts`).

    bwrap set no_new_privs, so nothing can raise them again.
    """
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable for both 32-bit halves: all zero
    if _libc().capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), f"capset: {os.strerror(ctypes.get_errno())}")


def _map_user_namespace(uid: int, gid: int) -> None:
    """Non-root: map our own uid/gid into the fresh user namespace (files stay ours).

    The ids must be read before ``unshare``: inside the new namespace, until
    the map is written, the process is the overflow user 65534, and mapping
    that is refused (EPERM).
    """
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)


def _set_limits(limits: dict[str, int]) -> None:
    """Hard and soft limits alike, so unprivileged code cannot raise them again."""
    cpu = limits["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    for name, key in (("RLIMIT_AS", "address_space"), ("RLIMIT_NPROC", "max_processes"),
                      ("RLIMIT_FSIZE", "max_file_bytes")):
        if limits[key] > 0:  # 0: no limit (CUDA reserves far more address space than it uses)
            resource.setrlimit(getattr(resource, name), (limits[key], limits[key]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _seed(seed: int) -> None:
    """Seed random now, numpy and torch now if loaded, else right after their first import
    (so a child that never uses torch does not pay its 1-2 s import)."""
    random.seed(seed)
    pending = {}
    for name, seeder in (("numpy", _seed_numpy), ("torch", _seed_torch)):
        if name in sys.modules:
            seeder(seed)
        else:
            pending[name] = seeder
    if pending:
        sys.meta_path.insert(0, _SeedOnImport(seed, pending))


def _seed_numpy(seed: int) -> None:
    import numpy as np

    np.random.seed(seed % 2**32)


def _seed_torch(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


class _SeedOnImport:
    """A meta-path hook that seeds a library right after its first import."""

    def __init__(self, seed: int, pending: dict[str, Callable[[int], None]]) -> None:
        self.seed, self.pending, self.busy = seed, pending, False

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in self.pending or self.busy:
            return None
        seeder = self.pending.pop(name)
        self.busy = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.busy = False
        if spec is None or spec.loader is None:
            return spec
        exec_module, seed = spec.loader.exec_module, self.seed

        def exec_and_seed(module: Any) -> None:
            exec_module(module)
            seeder(seed)

        spec.loader.exec_module = exec_and_seed  # type: ignore[method-assign]
        return spec


def _bootstrap(config: dict[str, Any]) -> dict[str, Any]:
    """Everything before student code; returns the defences that took effect."""
    report: dict[str, Any] = {}
    if config.get("isolation") == "allow-list":
        _private_mounts(config["workdir"], int(config["limits"]["max_file_bytes"]))
        if config.get("uid") is None:
            _drop_capabilities()
        report["filesystem"] = "allow-list"
    flags = (CLONE_NEWNET if config["network_namespace"] else 0) | (CLONE_NEWNS if config["mount_namespace"] else 0)
    if flags and os.geteuid() != 0:
        flags |= CLONE_NEWUSER
    if flags:
        outside_ids = os.getuid(), os.getgid()
        error = _unshare(flags)
        if error:
            report["namespaces"] = f"unshare failed: {error}"
        else:
            if flags & CLONE_NEWUSER:
                _map_user_namespace(*outside_ids)
            if flags & CLONE_NEWNS and os.geteuid() == 0:
                _arrange_mounts(config["expose"], config["hide"])
            report["namespaces"] = "ok"
    if config.get("uid") is not None:
        os.setgroups([])
        os.setgid(config["gid"])
        os.setuid(config["uid"])
    _set_limits(config["limits"])
    os.chdir(config["workdir"])
    # Student writes to fd 1/2 (print via sys.__stdout__, subprocesses) land in capped files.
    for fd, name in ((1, ".stdout.txt"), (2, ".stderr.txt")):
        target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails (EFBIG) instead of killing
    for module in config["preload"]:
        importlib.import_module(module)
    _seed(int(config["seed"]))
    report.update(uid=os.getuid(), pid=os.getpid())
    return report


# ------------------------------------------------------------------ requests


class _CappedText(io.TextIOBase):
    """A text sink keeping the first ``cap`` characters and counting the rest."""

    def __init__(self, cap: int = CELL_OUTPUT_CAP) -> None:
        self.parts: list[str] = []
        self.kept = self.dropped = 0
        self.cap = cap

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = self.cap - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        note = f"\n[output truncated: {self.dropped} more characters]" if self.dropped else ""
        return "".join(self.parts) + note


class Server:
    """Serves one submission's requests against its namespace."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in, self.fd_out = fd_in, fd_out
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        self.cells = 0
        self.guard: dict[str, Callable[..., Any]] | None = None  # see arm()

    def arm(self, pristine: Any) -> None:
        """Take the bound methods of a :class:`~dlcourse_graders.pristine.Pristine` made
        before any student code ran."""
        self.guard = {name: getattr(pristine, name)
                      for name in ("enter_test", "leave_test", "record_instructor_cell", "plain")}

    def serve(self, read: Callable[[int], dict[str, Any]] = read_frame,
              write: Callable[[int, dict[str, Any]], None] = write_frame) -> None:
        """Answer requests until shutdown; ``read`` and ``write`` are bound before any student
        code runs, so rebinding this module's globals cannot forge a reply."""
        handlers = {name: getattr(self, name) for name in dir(type(self)) if name.startswith("op_")}
        while True:
            request = read(self.fd_in)
            op = request.get("op")
            if op == "shutdown":
                write(self.fd_out, {"ok": True})
                return
            handler: Callable[[dict[str, Any]], dict[str, Any]] | None = handlers.get(f"op_{op}")
            reply = handler(request) if handler else {"ok": False, "error": f"unknown op {op!r}"}
            try:
                write(self.fd_out, reply)
            except ChannelError as error:
                write(self.fd_out, {"ok": False, "error": f"returned {error}"})

    def op_exec(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run one cell. ``owner`` says whose cell it is (the instructor's cells bind the names
        tests may rely on), ``test`` that it is a plain nbgrader test (run hardened, see
        :mod:`dlcourse_graders.pristine`), ``value`` that its last expression's value is wanted."""
        self.cells += 1
        # a Jupyter kernel shows a repeated warning again in each cell (stderr fails an nbgrader test)
        warnings._filters_mutated()  # type: ignore[attr-defined]
        test, instructor = bool(request.get("test")), request.get("owner") == "instructor"
        guard = self.guard  # bound methods, taken when it was armed: patching its class changes nothing
        before = dict(self.namespace) if instructor else {}  # what this cell binds is the instructor's
        refusal = guard["enter_test"](self.namespace) if test and guard is not None else ""
        out, err = _CappedText(), _CappedText()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        error, value = None, None
        try:
            if refusal:
                raise RuntimeError(refusal)
            result = run_cell(str(request["source"]), f"<cell {self.cells}>", self.namespace,
                              bool(request.get("value")))
            if result is not None:
                value = describe_value(guard["plain"](result, "the cell") if guard is not None else result)
            del result
        except BaseException as exc:  # noqa: BLE001 - SystemExit/KeyboardInterrupt too: the cell failed
            error = {"ename": type(exc).__name__, "evalue": _short(exc),
                     "traceback": _student_traceback(exc)[-CELL_OUTPUT_CAP:]}
        finally:
            sys.stdout, sys.stderr = saved
            if guard is not None:
                if test:
                    guard["leave_test"](self.namespace)
                if instructor:
                    guard["record_instructor_cell"](before, self.namespace)
        return {"ok": True, "stdout": out.text(), "stderr": err.text(), "error": error, "value": value}

    def op_has(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "value": callable(self.namespace.get(str(request["name"])))}

    def op_call(self, request: dict[str, Any]) -> dict[str, Any]:
        name = str(request["name"])
        function = self.namespace.get(name)
        if not callable(function):
            return {"ok": False, "error": f"`{name}` is not defined as a function in your notebook"}
        return self._guarded(name, function, request)

    def op_run(self, request: dict[str, Any]) -> dict[str, Any]:
        module_name, _, function_name = str(request["driver"]).partition(":")
        try:
            function = getattr(importlib.import_module(module_name), function_name)
        except Exception as exc:  # noqa: BLE001
            return {"ok": False, "error": f"driver {module_name}:{function_name} unavailable ({type(exc).__name__})"}
        return self._guarded(function_name, function, request, namespace=self.namespace)

    def _guarded(self, label: str, function: Callable[..., Any], request: dict[str, Any],
                 namespace: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            args = decode_value(request.get("args", []), tensors=True)
            kwargs = decode_value(request.get("kwargs", {"__dict__": {}}), tensors=True)
        except ChannelError as error:
            return {"ok": False, "error": f"bad arguments: {error}"}
        if namespace is not None:
            args = [namespace, *args]
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _CappedText(), _CappedText()
        try:
            result = function(*args, **kwargs)
        except NotImplementedError as exc:
            return {"ok": False, "error": f"`{_failing_function(exc) or label}` is not implemented yet"}
        except BaseException as exc:  # noqa: BLE001 - any student error becomes a message
            return {"ok": False,
                    "error": f"`{_failing_function(exc) or label}` raised {type(exc).__name__}: {_short(exc)}"}
        finally:
            sys.stdout, sys.stderr = saved
        try:
            return {"ok": True, "value": encode_value(result)}
        except ChannelError as error:
            return {"ok": False, "error": f"`{label}` returned {error}"}
        except Exception as exc:  # noqa: BLE001 - e.g. a tensor whose .numpy() raises
            return {"ok": False, "error": f"`{label}` returned an unusable value ({type(exc).__name__})"}


def run_cell(source: str, label: str, namespace: dict[str, Any], want_value: bool) -> Any:
    """Run ``source`` in ``namespace``; with ``want_value``, return the value of a final
    expression as IPython would display it (None when there is none or it ends in ``;``)."""
    import ast

    tree = ast.parse(source, label)
    last = None
    if want_value and tree.body and isinstance(tree.body[-1], ast.Expr) and not source.rstrip().endswith(";"):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, label, "exec"), namespace)  # noqa: S102
    return eval(compile(last, label, "eval"), namespace) if last is not None else None  # noqa: S307


def describe_value(value: Any) -> dict[str, Any]:
    """A cell's value as data for nbgrader's partial-credit rule: plain numbers and
    strings as themselves, NumPy scalars with their type, anything else by type name only
    (the grader renders the text; no ``repr`` of a student object runs here)."""
    kind = type(value)
    if kind in (bool, int, float, str, complex):
        return {"kind": "python", "value": encode_value(value)}
    np = sys.modules.get("numpy")
    if np is not None and kind in _numpy_scalar_types(np):
        return {"kind": "numpy", "type": kind.__name__, "value": encode_value(value.item())}
    return {"kind": "other", "type": str(type.__getattribute__(kind, "__qualname__"))}


def _short(error: BaseException, limit: int = 200) -> str:
    try:
        text = str(error).strip()
    except Exception:  # noqa: BLE001 - a hostile __str__
        return ""
    return text.splitlines()[0][:limit] if text else ""


def _failing_function(error: BaseException) -> str | None:
    """The innermost function of the notebook's own code where ``error`` was raised.

    A driver calls the student's functions for a check; the message should
    name the student's function that failed, not the driver.
    """
    names = []
    try:
        for frame, _ in traceback.walk_tb(error.__traceback__):
            code = frame.f_code
            if code.co_filename.startswith("<cell"):
                qualified = getattr(code, "co_qualname", code.co_name)  # Class.method
                names.append(code.co_name if "<" in qualified else qualified)
    except Exception:  # noqa: BLE001 - never let a report fail
        return None
    names = [name for name in names if not name.startswith("<")]
    return names[-1] if names else None


def _student_traceback(error: BaseException) -> str:
    """The traceback without this module's frames (keeps instructor paths out of feedback)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<cell")]
    return "".join(traceback.format_list(frames)) + f"{type(error).__name__}: {_short(error)}\n"


def main() -> None:
    """Entry point: bootstrap, say hello, serve until shutdown or EOF."""
    # Private, non-inheritable channel fds; fd 0 becomes /dev/null so student reads see EOF.
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    try:
        report = _bootstrap(read_frame(fd_in))
    except BaseException as exc:  # noqa: BLE001 - reported to the grader, which treats it as a crash
        write_frame(fd_out, {"ok": False, "error": f"sandbox setup failed: {type(exc).__name__}: {exc}"})
        os._exit(3)
    write_frame(fd_out, {"ok": True, "report": report})
    server = Server(fd_in, fd_out)
    from dlcourse_graders.pristine import Pristine

    server.arm(Pristine())  # after the preloads, before any student code
    try:
        server.serve()
    except EOFError:
        pass
    os._exit(0)  # skip atexit hooks the student may have registered


if __name__ == "__main__":
    main()
