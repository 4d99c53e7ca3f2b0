"""Hardening for nbgrader-style tests, which run inside the student's interpreter.

A grade cell that names no dlcourse check is a plain nbgrader test: its
asserts run in the sandboxed child next to the student's code, so they are
only as trustworthy as that interpreter. This module takes away the usual
ways a student tilts them (DESIGN §6):

* :class:`Pristine` snapshots, before any student code, the libraries a test
  relies on (builtins, math, operator, NumPy and numpy.testing, torch and
  torch.testing, unittest, json, the grader's own child modules) and puts
  every attribute back before each test cell and after every call a test
  makes into student code; it also clears trace and profile hooks, timers,
  signal handlers, gc callbacks and import hooks the student added, and
  refuses new audit hooks.
* :meth:`Pristine.enter_test` rebinds the module-level names that the
  instructor's cells bound (``np``, ``assert_equal``, expected values) and
  wraps every student function, so that what it returns reaches the test as
  plain data (:func:`plain`): exact ints, floats, strings, lists, arrays and
  tensors, never a subclass or an object with its own comparisons.

What stays possible (documented in docs/grading_security.md): code that digs
into the interpreter itself (``gc.get_objects``, closures, ``ctypes``) can
still reach these defences; only dlcourse checks, whose verdicts are computed
outside this process, are tamper-proof.
"""

from __future__ import annotations

import builtins
import functools
import gc
import importlib
import os
import signal
import sys
import types
from typing import Any, Callable

#: Modules whose attributes a test may rely on; restored to their state before any student code ran.
MODULES = ("dlcourse_graders.pristine", "builtins", "math", "cmath", "operator", "functools", "json", "json.encoder", "json.decoder",
           "hashlib", "unittest", "unittest.case", "numpy", "numpy.testing", "numpy.linalg",
           "numpy.testing._private.utils", "numpy._core.numeric", "numpy._core.fromnumeric",
           "numpy._core.multiarray", "numpy._core.umath", "numpy._core._methods", "numpy._core.arrayprint",
           "torch", "torch.testing", "torch.testing._comparison", "torch.nn.functional",
           "dlcourse_graders.sandbox_child")
#: Submodules imported for the snapshot when their parent library is already loaded (NumPy loads them lazily).
LAZY = {"numpy": ("numpy.testing", "numpy.linalg"), "torch": ("torch.testing", "torch.nn.functional")}
#: Classes whose attribute dictionaries a student could rewrite (C types such as ndarray cannot be changed).
CLASSES = (("torch", "Tensor"), ("unittest.case", "TestCase"), ("dlcourse_graders.sandbox_child", "Server"),
           ("dlcourse_graders.sandbox_child", "_CappedText"), ("json.encoder", "JSONEncoder"),
           ("dlcourse_graders.pristine", "Pristine"), ("dlcourse_graders.pristine", "Refused"))
#: Attributes by which an object decides how it compares, converts, prints or passes isinstance checks.
#: Container protocols (__len__, __getitem__, __iter__) are left out on purpose: honest answers return
#: their own datasets and models, and a test that reads them gets what the student's code computes.
DANGEROUS = frozenset({
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__hash__", "__float__", "__int__",
    "__index__", "__complex__", "__abs__", "__round__", "__neg__", "__pos__", "__add__", "__radd__", "__sub__",
    "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__", "__pow__", "__str__", "__repr__",
    "__format__", "__class__", "__array__", "__array_ufunc__", "__array_function__", "__array_priority__",
    "__array_wrap__", "__array_interface__", "__array_struct__", "__torch_function__", "__torch_dispatch__",
    "__instancecheck__", "__subclasscheck__", "__fspath__",
})
_MISSING = object()


class Refused:
    """What a test receives instead of a value that could fake its own comparisons.

    It equals nothing, is false, and names the class it replaced, so the
    failing assert says what happened.
    """

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        object.__setattr__(self, "reason", reason)

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    def __bool__(self) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<refused: {self.reason}>"

    __str__ = __repr__


def _library_roots() -> tuple[str, ...]:
    """Folders of the Python installation: read-only in the sandbox, so code there is not the student's."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    return tuple(sorted(root + os.sep for root in roots))


def _is_library_code(function: Any, roots: tuple[str, ...]) -> bool:
    code = getattr(function, "__code__", None)
    if type(code) is not types.CodeType:
        return False
    filename = os.path.realpath(code.co_filename) if code.co_filename.startswith(os.sep) else ""
    return bool(filename) and filename.startswith(roots) and not filename.startswith(os.getcwd() + os.sep)


class Pristine:
    """The libraries' and the instructor's objects as they were, and the means to put them back."""

    def __init__(self) -> None:
        # every helper is bound here, before student code, so that rebinding a global cannot disarm it
        self._setattr, self._getattr, self._delattr = builtins.setattr, builtins.getattr, builtins.delattr
        self._items, self._type, self._id, self._vars = dict.items, builtins.type, builtins.id, builtins.vars
        self._builtins = builtins
        self._isinstance, self._callable = builtins.isinstance, builtins.callable
        for parent, children in LAZY.items():
            if parent in sys.modules:
                for child in children:
                    try:
                        importlib.import_module(child)
                    except Exception:  # noqa: BLE001 - an optional submodule that fails to import is not needed
                        pass
        # this module and builtins come first: restoring them first disarms a patch of what restore() calls
        self.modules: dict[str, tuple[types.ModuleType, dict[str, Any]]] = {
            name: (sys.modules[name], dict(vars(sys.modules[name]))) for name in MODULES if name in sys.modules}
        self._restore = self.restore  # bound now: a patched Pristine.restore is never called
        self.classes: list[tuple[type, dict[str, Any]]] = []
        for module_name, class_name in CLASSES:
            cls = getattr(sys.modules.get(module_name), class_name, None)
            if isinstance(cls, type):
                self.classes.append((cls, dict(vars(cls))))
        self.meta_path = list(sys.meta_path)
        self.path_hooks = list(sys.path_hooks)
        self.gc_callbacks = list(gc.callbacks)
        self.signals = {number: signal.getsignal(number) for number in _signals()}
        self.hooks = {name: getattr(sys, name) for name in ("displayhook", "excepthook", "breakpointhook",
                                                             "unraisablehook")}
        self.roots = _library_roots()
        self.instructor: dict[str, Any] = {}  # names the instructor's cells bound, and to what
        self.instructor_functions: set[int] = set()
        self._keep: list[Any] = []  # keeps the instructor's functions alive, so their ids stay unique
        self.wrapped: dict[int, tuple[Any, Any]] = {}  # id(wrapper) -> (wrapper, original)
        self.displaced: dict[str, tuple[Any, Any]] = {}  # name -> (the student's value, the instructor's)
        try:
            sys.addaudithook(_refuse_new_audit_hooks)
        except Exception:  # noqa: BLE001 - without it a student audit hook could act mid-test
            pass

    # ------------------------------------------------------------ the libraries

    def restore(self) -> None:
        """Put back every snapshotted attribute, hook and handler; clear what the student added."""
        setattr_, items, vars_ = self._setattr, self._items, self._vars
        for name, (module, saved) in items(self.modules):
            current = vars_(module)
            for key, value in items(saved):
                if current.get(key, _MISSING) is not value:
                    current[key] = value
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
        for cls, saved in self.classes:
            current = vars_(cls)
            for key in [k for k in current if k not in saved]:
                try:
                    self._delattr(cls, key)
                except (AttributeError, TypeError):
                    pass
            for key, value in items(saved):
                if current.get(key, _MISSING) is not value:
                    try:
                        setattr_(cls, key, value)
                    except (AttributeError, TypeError):
                        pass
        sys.meta_path[:] = self.meta_path
        sys.path_hooks[:] = self.path_hooks
        gc.callbacks[:] = self.gc_callbacks
        sys.settrace(None)
        sys.setprofile(None)
        for name, hook in items(self.hooks):
            setattr_(sys, name, hook)
        try:
            import threading

            threading.settrace(None)
            threading.setprofile(None)
        except Exception:  # noqa: BLE001
            pass
        for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
            signal.setitimer(timer, 0)
        for number, handler in items(self.signals):
            try:
                if signal.getsignal(number) is not handler and handler is not None:
                    signal.signal(number, handler)
            except (OSError, ValueError, TypeError):
                pass

    # ------------------------------------------------------------ the instructor's names

    def record_instructor_cell(self, before: dict[str, Any], namespace: dict[str, Any]) -> None:
        """Remember the names an instructor's cell bound (``before``: the namespace's bindings before it ran)."""
        for name, value in self._items(namespace):
            if name.startswith("__") or before.get(name, _MISSING) is value:
                continue
            original = self.unwrapped(value)
            if original is not value or self._is_student_function(original):
                continue  # a test that rebinds a student function keeps the student's function
            self.instructor[name] = value
            if self._type(value) is types.FunctionType:
                self.instructor_functions.add(self._id(value))
                self._keep.append(value)

    def _is_student_function(self, value: Any) -> bool:
        function = getattr(value, "__func__", value) if self._type(value) is types.MethodType else value
        if self._isinstance(function, functools.partial):
            function = function.func
        if self._type(function) is not types.FunctionType:
            return False
        return self._id(function) not in self.instructor_functions and not _is_library_code(function, self.roots)

    def unwrapped(self, value: Any) -> Any:
        entry = self.wrapped.get(self._id(value))
        return entry[1] if entry is not None and entry[0] is value else value

    # ------------------------------------------------------------ around one test cell

    def enter_test(self, namespace: dict[str, Any]) -> str:
        """Prepare ``namespace`` for an instructor's test cell; returns a reason to fail it, or ''."""
        self._restore()
        gc.collect()  # a student's finalizer runs now, not in the middle of the test
        self._restore()
        namespace["__builtins__"] = self._builtins  # a notebook may have rebound its builtins
        threads = _python_threads()
        if threads:
            return f"{threads} background thread(s) of the notebook were still running; tests run alone"
        self.displaced = {}
        for name, value in self._items(self.instructor):
            current = namespace.get(name, _MISSING)
            if current is not value:
                self.displaced[name] = (current, value)
                namespace[name] = value
        for name, value in list(self._items(namespace)):
            if not name.startswith("__") and self._is_student_function(value):
                namespace[name] = self._wrap(name, value)
        return ""

    def leave_test(self, namespace: dict[str, Any]) -> None:
        """Give the student's functions back to the namespace after a test cell, and the
        student's own bindings of the names the test saw as the instructor bound them
        (the student's later cells go on with their own values)."""
        for name, value in list(self._items(namespace)):
            original = self.unwrapped(value)
            if original is not value:
                namespace[name] = original
        for name, (student_value, instructor_value) in self._items(self.displaced):
            if namespace.get(name, _MISSING) is instructor_value:  # the test did not rebind it
                if student_value is _MISSING:
                    namespace.pop(name, None)
                else:
                    namespace[name] = student_value
        self.displaced = {}
        self.wrapped.clear()
        self._restore()

    def _wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        restore, make_plain = self._restore, self.plain

        @functools.wraps(function)
        def student_function(*args: Any, **kwargs: Any) -> Any:
            try:
                result = function(*args, **kwargs)
            finally:
                restore()  # whatever the student's code patched while the test called it
            value = make_plain(result, name)
            del result
            restore()  # a finalizer of the dropped value ran student code too
            return value

        self.wrapped[self._id(student_function)] = (student_function, function)
        return student_function

    def plain(self, value: Any, label: str = "value") -> Any:
        """``value`` as plain data, see :func:`plain`."""
        return plain(value, label, self.roots)


def plain(value: Any, label: str, roots: tuple[str, ...], _depth: int = 0) -> Any:
    """``value`` with every subclass of a base type turned into the base type, and every
    object that defines its own comparisons, conversions or printing replaced by
    :class:`Refused`; containers are rebuilt only when an item changed.

    Types are read with ``type()`` and ``issubclass``, never ``isinstance``
    (which asks the object's own ``__class__``)."""
    try:
        return _plain(value, label, roots, _depth)
    except Exception as error:  # noqa: BLE001 - a value that cannot even be inspected is refused
        return Refused(f"{label} returned a value that cannot be read ({type(error).__name__})")


def _plain(value: Any, label: str, roots: tuple[str, ...], _depth: int = 0) -> Any:
    from collections import OrderedDict

    kind = type(value)
    if value is None or kind in (bool, int, float, complex, str, bytes, types.ModuleType) or _depth > 32:
        return value
    np, torch = sys.modules.get("numpy"), sys.modules.get("torch")
    if np is not None and kind is np.ndarray:
        return value if value.dtype != object else Refused(f"{label} returned an array of Python objects")
    if np is not None and issubclass(kind, np.generic):
        return value if kind.__module__ == "numpy" else np.generic.item(value)
    if torch is not None and issubclass(kind, torch.Tensor):
        if kind in (torch.Tensor, torch.nn.Parameter):
            return value
        with torch._C.DisableTorchFunctionSubclass():
            return torch.Tensor.as_subclass(value, torch.Tensor)
    if np is not None and issubclass(kind, np.ndarray):
        return _plain(np.ndarray.view(value, np.ndarray), label, roots, _depth + 1)
    for base, convert in ((bool, bool.__bool__), (int, int.__int__), (float, float.__float__),
                          (str, str.__str__), (bytes, lambda v: bytes.__getitem__(v, slice(None))),
                          (complex, lambda v: complex(complex.real.__get__(v), complex.imag.__get__(v)))):
        if issubclass(kind, base):
            return convert(value)
    if issubclass(kind, (list, tuple, set, frozenset)):
        base = next(b for b in (list, tuple, set, frozenset) if issubclass(kind, b))
        items = list(base.__iter__(value))
        plained = [_plain(item, label, roots, _depth + 1) for item in items]
        if kind is base and all(a is b for a, b in zip(items, plained)):
            return value
        return base(plained)
    if issubclass(kind, dict):
        pairs = list(dict.items(value))
        plained = [(_plain(k, label, roots, _depth + 1), _plain(v, label, roots, _depth + 1)) for k, v in pairs]
        if (kind is dict or kind is OrderedDict) and all(a is c and b is d for (a, b), (c, d) in zip(pairs, plained)):
            return value
        return dict(plained)
    for cls in kind.__mro__[:-1]:  # not object
        for key in sorted(DANGEROUS.intersection(vars(cls))):  # sorted: the same message every run
            attribute = vars(cls)[key]
            function = getattr(attribute, "__func__", attribute)
            if not _is_library_code(function, roots):
                return Refused(f"{label} returned a {kind.__name__}, which defines its own {key}")
    return value


def _signals() -> list[int]:
    found = []
    for number in signal.valid_signals():
        if number in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.getsignal(number)
        except (OSError, ValueError):
            continue
        found.append(number)
    return found


def _python_threads() -> int:
    """Python threads other than this one, whether started with threading or _thread."""
    import _thread

    try:
        return int(_thread._count())
    except Exception:  # noqa: BLE001
        import threading

        return max(0, threading.active_count() - 1)


def _refuse_new_audit_hooks(event: str, args: tuple[Any, ...]) -> None:
    """An audit hook can never be removed: one added by the student could act in the middle of a test."""
    if event == "sys.addaudithook":
        raise RuntimeError("audit hooks are not available while grading")
