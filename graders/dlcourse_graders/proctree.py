"""Kill a process and everything it started (kernels included)."""

from __future__ import annotations

import contextlib
import signal

import psutil


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and all its descendants, children first seen first."""
    try:
        root = psutil.Process(pid)
        processes = root.children(recursive=True) + [root]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGKILL)
    psutil.wait_procs(processes, timeout=5)
