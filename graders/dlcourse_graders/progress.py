"""Progress of a grading run: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from dlcourse_graders.results import SubmissionResult


class ProgressReporter:
    """Count, rate and ETA; one rewritten line on a terminal, one line per submission elsewhere."""

    def __init__(self, total: int, stream: TextIO = sys.stdout, tty: bool | None = None,
                 started: float | None = None) -> None:
        self.total, self.stream = total, stream
        self.tty = stream.isatty() if tty is None else tty
        self.started = time.monotonic() if started is None else started
        self.done = 0

    def __call__(self, index: int, total: int, result: SubmissionResult) -> None:
        self.done = index
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = index / elapsed
        eta = (total - index) / rate if rate > 0 else 0.0
        score = "-" if result.score is None else f"{result.score:g}"
        if self.tty:
            width = 30
            filled = int(width * index / max(total, 1))
            line = (f"\r[{'#' * filled}{'.' * (width - filled)}] {index}/{total} {rate:.2f}/s "
                    f"ETA {_clock(eta)}  {result.student}: {result.status}")
            self.stream.write(line[:120].ljust(120))
            if index == total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{index}/{total}] {result.student}: {result.status} {score}/{result.max_score:g} "
                              f"({result.seconds:.1f} s; {rate:.2f}/s, ETA {_clock(eta)})\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"
