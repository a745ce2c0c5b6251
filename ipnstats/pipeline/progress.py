"""Progress for long steps: one line per step, and a bar only on a terminal.

Off a terminal (``make`` in CI, a log file) the bar stays quiet and only the step
lines are printed, so logs stay readable and identical between runs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")


class Progress:
    """Step messages and progress bars for one stage.

    Parameters
    ----------
    stage
        The prefix of every line (``"h1"``).
    mode
        ``"auto"`` (bars on a terminal only), ``"always"`` or ``"never"`` (not even step
        lines).
    stream
        Where to write; standard error by default.
    """

    def __init__(self, stage: str, mode: str = "auto", stream: TextIO | None = None):
        self.stage, self.mode = stage, mode
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()

    @property
    def bars(self) -> bool:
        if self.mode == "always":
            return True
        return self.mode == "auto" and getattr(self.stream, "isatty", lambda: False)()

    def __call__(self, message: str) -> None:
        """Print one step line (``[h1] fitting ...``)."""
        if self.mode != "never":
            print(f"[{self.stage}] {message}", file=self.stream, flush=True)

    def bar(self, items: Iterable[T], total: int, label: str) -> Iterator[T]:
        """Yield ``items``, drawing ``label [#####-----] k/total`` while on a terminal."""
        done = 0
        for item in items:
            done += 1
            self.count(done, total, label)
            yield item

    def count(self, done: int, total: int, label: str) -> None:
        """Draw ``label [#####-----] done/total`` (on a terminal); a new line at the end."""
        if not self.bars:
            return
        width = 30
        filled = int(width * done / max(total, 1))
        print(f"\r[{self.stage}] {label} [{'#' * filled}{'-' * (width - filled)}] "
              f"{done}/{total}", end="\n" if done >= total else "", file=self.stream,
              flush=True)

    def done(self) -> None:
        self(f"done in {time.perf_counter() - self.start:.1f} s")


__all__ = ["Progress"]
