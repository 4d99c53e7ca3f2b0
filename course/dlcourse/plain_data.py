"""Words for a value that is not plain data (stdlib only: the sandbox imports it before NumPy)."""

from __future__ import annotations

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
