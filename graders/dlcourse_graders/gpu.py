"""Sharing a machine's GPUs between sandboxed submissions.

A worker that grades a submission on a GPU first takes one of
``slots_per_gpu`` slots of some GPU (lock files, so the slots are shared by
every worker process of the machine), then runs the sandbox with only that
GPU visible. Without a visible GPU, or with ``device="cpu"``, the submission
runs on the CPU: results must agree within the checks' tolerances either way.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from pathlib import Path
from typing import Iterator

CPU_ENV = {"DLCOURSE_DEVICE": "cpu", "CUDA_VISIBLE_DEVICES": ""}


def visible_gpus() -> int:
    """How many CUDA devices this process sees (0 without torch or CUDA)."""
    try:
        import torch

        return int(torch.cuda.device_count())
    except Exception:  # noqa: BLE001 - no driver, no torch: no GPU
        return 0


def _slot_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "dlcourse-gpu-slots"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def try_acquire_slot(gpus: int, slots_per_gpu: int) -> tuple[int, int] | None:
    """(gpu index, lock fd) of a free slot, or None when every slot is taken."""
    for slot in range(slots_per_gpu):
        for gpu in range(gpus):
            fd = os.open(_slot_folder() / f"gpu{gpu}-slot{slot}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return gpu, fd
            except BlockingIOError:
                os.close(fd)
    return None


@contextlib.contextmanager
def device_env(device: str, slots_per_gpu: int, poll: float = 0.1) -> Iterator[dict[str, str]]:
    """The sandbox environment for one submission: a GPU slot when asked and there is a GPU, else the CPU.

    Waits for a free slot when all are taken (a GPU is much faster than waiting on the CPU).
    """
    gpus = visible_gpus() if device != "cpu" and slots_per_gpu > 0 else 0
    if gpus == 0:
        yield dict(CPU_ENV)
        return
    acquired = try_acquire_slot(gpus, slots_per_gpu)
    while acquired is None:
        time.sleep(poll)
        acquired = try_acquire_slot(gpus, slots_per_gpu)
    gpu, fd = acquired
    try:
        yield {"DLCOURSE_DEVICE": "cuda", "CUDA_VISIBLE_DEVICES": str(gpu)}
    finally:
        os.close(fd)
