"""Progress for every long command: a tqdm bar on a terminal, plain lines in a file or pipe.

tqdm redraws its bar with carriage returns; written to a log file that became one line of
900 KB. Where stderr is not a terminal the same calls print one ordinary line every
`PLAIN_EVERY_SECONDS` (and at the end) instead.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Any

PLAIN_EVERY_SECONDS = 30.0


def progress_bar(total: int | None, description: str, unit: str = "it", initial: int = 0, enabled: bool = True,
                 plain_every: float = PLAIN_EVERY_SECONDS, stream: Any = None):
    """A tqdm bar when `stream` (stderr by default) is a terminal, else a PlainProgress."""
    stream = stream or sys.stderr
    if enabled and _is_terminal(stream):
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=description, unit=unit, dynamic_ncols=True, file=stream)
    return PlainProgress(total, description, unit, initial, enabled, plain_every, stream)


def _is_terminal(stream: Any) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class PlainProgress:
    """The part of tqdm's interface the commands use, printing whole lines now and then."""

    def __init__(self, total: int | None, description: str, unit: str, initial: int, enabled: bool,
                 every: float, stream: Any):
        self.total, self.description, self.unit = total, description, unit
        self.n, self._start_n = initial, initial
        self.enabled, self.every, self.stream = enabled, every, stream
        self._started = self._printed = time.monotonic()
        self.postfix = ""

    def update(self, count: int = 1) -> None:
        self.n += count
        if self.enabled and time.monotonic() - self._printed >= self.every:
            self._print()

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def write(self, text: str) -> None:
        """An event line, to stdout like tqdm.write's."""
        print(text, flush=True)

    def refresh(self) -> None: ...

    def close(self) -> None:
        if self.enabled and self.n > self._start_n:
            self._print()
        self.enabled = False

    def line(self) -> str:
        elapsed = time.monotonic() - self._started
        rate = (self.n - self._start_n) / elapsed if elapsed > 0 else 0.0
        done = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        left = ""
        if self.total and rate > 0 and self.n < self.total:
            left = f", about {duration((self.total - self.n) / rate)} left"
        postfix = f"  {self.postfix}" if self.postfix else ""
        return f"{self.description}: {done} {self.unit} ({rate:.3g} {self.unit}/s{left}){postfix}"

    def _print(self) -> None:
        self._printed = time.monotonic()
        print(self.line(), file=self.stream, flush=True)

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def duration(seconds: float) -> str:
    """12s, 3m05s, 1h02m."""
    if not math.isfinite(seconds):
        return "?"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
