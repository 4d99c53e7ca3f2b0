"""Words for a value that is not plain data (stdlib only: the sandbox imports it before NumPy)."""

from __future__ import annotations

import sys
from typing import Any

#: The plain types a student's class might derive from to pass for data.
PLAIN_NAMES = frozenset({"int", "float", "complex", "str", "list", "tuple", "dict", "ndarray", "Tensor",
                         "generic", "number", "floating", "integer"})


def refusal(value: Any) -> str:
    """Why ``value`` is not plain data, in words a student can act on (after "returned ")."""
    kind = type(value)
    name = getattr(kind, "__name__", "?")
    plain = [base.__name__ for base in kind.__mro__[1:-1]
             if base.__module__ in ("builtins", "numpy", "torch") and base.__name__ in PLAIN_NAMES]
    if plain:
        return (f"an object of type {name}, a subclass of {plain[0]}; return a plain {plain[0]} "
                f"(values are compared as data, not with your class's methods)")
    return f"an object of type {name}; expected numbers, strings, arrays or tensors"


# Helpers for the sandbox-side drivers, which call a student's functions and turn what they return into
# plain data. Types are matched exactly, never converted first: ``float()``, ``np.asarray()`` or
# ``.numpy()`` of a student's object would run its ``__float__``, ``__array__`` or ``numpy`` and let it
# become whatever it likes. NumPy and PyTorch are looked up lazily: this module is imported before them.

_NUMBER_TYPES: frozenset[type] | None = None


def not_data(value: Any) -> TypeError:
    """The error for a student's ``value`` that is not plain data (the words of :func:`refusal`)."""
    return TypeError(f"returned {refusal(value)}")


def is_tensor(value: Any) -> bool:
    """Exactly a ``torch.Tensor`` or ``nn.Parameter``: a subclass may redefine ``__eq__``, ``numpy``, ..."""
    torch = sys.modules.get("torch")  # not imported: nothing can be a tensor
    if torch is None:
        return False
    return type(value) in (torch.Tensor, torch.nn.Parameter)


def is_number(value: Any) -> bool:
    """Exactly a bool, int, float or NumPy number (a subclass of any of them is not one)."""
    global _NUMBER_TYPES
    kind = type(value)
    if kind in (bool, int, float):
        return True
    np = sys.modules.get("numpy")
    if np is None:
        return False
    if _NUMBER_TYPES is None:
        _NUMBER_TYPES = frozenset(t for t in set(np.sctypeDict.values())
                                  if isinstance(t, type) and issubclass(t, (np.number, np.bool_)))
    return kind in _NUMBER_TYPES


def plain_array(value: Any, dtype: Any = None) -> Any:
    """A NumPy array from an exact array, tensor, number, or (nested) list or tuple of those.

    Anything else, a subclass included, raises :func:`not_data`; so does an
    array of Python objects. ``dtype`` converts the plain array afterwards.
    """
    import numpy as np

    if is_tensor(value):
        array = value.detach().cpu().numpy()
    elif type(value) is np.ndarray:
        if value.dtype.hasobject:
            raise TypeError("returned an array of Python objects (dtype object); expected an array of numbers")
        array = value
    elif is_number(value):
        array = np.asarray(value)
    elif type(value) in (list, tuple):
        array = np.asarray([plain_array(item) for item in value])
    else:
        raise not_data(value)
    return array if dtype is None else array.astype(dtype, copy=False)


def plain_float(value: Any) -> float:
    """A Python float from an exact number, or a one-element exact tensor or array."""
    if is_number(value):
        return float(value)
    import numpy as np

    if is_tensor(value) or type(value) is np.ndarray:
        array = plain_array(value)
        if array.size != 1:
            raise TypeError(f"returned a {type(value).__name__} of shape {tuple(array.shape)}; "
                            "expected a single number")
        return float(array.reshape(-1)[0])
    raise not_data(value)
