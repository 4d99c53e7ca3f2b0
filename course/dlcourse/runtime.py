"""Runtime helpers for notebooks: device choice, seeding, and what widgets share."""

from __future__ import annotations

import html
import os
import random
from typing import Any

import numpy as np

DEVICE_ENV = "DLCOURSE_DEVICE"


def device() -> str:
    """Return the torch device to use.

    ``DLCOURSE_DEVICE`` (set by the ``dlcourse-py3`` kernel) may name one
    device (``cpu``, ``cuda``, ``cuda:1``, ``mps``) or ``auto``; ``auto``
    picks cuda, then mps, then cpu.
    """
    wanted = os.environ.get(DEVICE_ENV, "auto").strip() or "auto"
    if wanted != "auto":
        return wanted
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global RNG and torch (all devices).

    On CUDA it also asks cuDNN for deterministic kernels, so two runs with the
    same seed give the same numbers.
    """
    random.seed(seed)
    np.random.seed(seed % (2**32))
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import torch
    except ImportError:  # numpy-only topics still seed
        return
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


# ------------------------------------------------------------------ widgets

#: The ipywidgets style that shows a control's whole description (the default width cuts it off).
READABLE_LABEL = {"description_width": "initial"}


def readable_labels(widget: Any) -> Any:
    """Give ``widget`` and every control inside it a description width that does not truncate.

    ipywidgets gives descriptions a fixed width, so "hidden units" shows as
    "hidden un…"; ``initial`` sizes the label to its text. Returns ``widget``.
    """
    pending = [widget]
    while pending:
        current = pending.pop()
        style = getattr(current, "style", None)
        if style is not None and style.has_trait("description_width"):
            style.description_width = READABLE_LABEL["description_width"]
        pending.extend(getattr(current, "children", ()))
    return widget


def unwritten_name(error: BaseException) -> str | None:
    """What the student has to write first, judging by ``error``; ``None`` when it cannot tell.

    For a NotImplementedError it is the student's function (or ``Class.method``,
    or the class for ``__init__``) whose stub raised: the innermost frame run
    from the notebook's own namespace, so a library's NotImplementedError on the
    way names the student's code that called it. For a NameError it is the name
    that an earlier, unfinished cell should have defined.
    """
    if isinstance(error, NameError) and getattr(error, "name", None):
        return str(error.name)
    if not isinstance(error, NotImplementedError):
        return None
    frames = []
    trace = error.__traceback__
    while trace is not None:
        frames.append(trace.tb_frame)
        trace = trace.tb_next
    # a notebook's code runs in __main__ (or, when a test execs cells, in a namespace without a name)
    for frame in reversed(frames):
        if frame.f_globals.get("__name__") in ("__main__", None) and frame.f_code.co_name != "<module>":
            name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
            return name.removesuffix(".__init__")
    return None


def implement_first_message(names: list[str], goal: str) -> str:
    """The HTML line of a widget that needs the student's ``names`` (functions, classes) to show ``goal``."""
    quoted = [f"<code>{html.escape(name)}</code>" for name in dict.fromkeys(names)]  # each name once
    if not quoted:
        what = "the exercises this widget uses"
    elif len(quoted) == 1:
        what = quoted[0]
    else:
        what = ", ".join(quoted[:-1]) + " and " + quoted[-1]
    cells = "its cell" if len(quoted) == 1 else "their cells"
    return (f"<i>Implement {what} and run {cells} to see {html.escape(goal)}, "
            "then run this cell again or move a control.</i>")


def student_code_message(error: BaseException, goal: str) -> str:
    """The HTML line a widget shows, instead of its picture, when the student's code raised ``error``.

    ``goal`` says what the widget would show (e.g. "the decision boundary").
    A stub names the function to implement first; an undefined name names the
    cell to run; any other error is shown as the student's own.
    """
    name = unwritten_name(error)
    if isinstance(error, NotImplementedError):
        return implement_first_message([name] if name else [], goal)
    goal = html.escape(goal)
    if isinstance(error, NameError) and name:
        return (f"<i><code>{html.escape(name)}</code> is not defined yet: implement the exercises that "
                f"make it and run their cells to see {goal}, then run this cell again.</i>")
    return f"<b>Your code raised</b> {html.escape(type(error).__name__)}: {html.escape(str(error))}"
