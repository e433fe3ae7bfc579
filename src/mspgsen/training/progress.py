"""How far a run is: one fraction that every schedule reads, and the time limit's stop rule.

A schedule keyed to `train.steps` alone never moves in a run that ends on its time limit
(`--set train.time_limit=1200 --steps 1000000`): growth, noise and lr decay would stay at
their start. So the fraction is the larger of the steps done and the time used, and a
time-limited run finishes its schedules as the clock runs out. Without a time limit it is
step / steps: deterministic, so a resumed run acts exactly like a straight one.

Training time is counted across resumes (it is saved in the checkpoint), so a 30-minute
budget means 30 minutes of training however often the run was stopped.
"""
from __future__ import annotations

import math
import time
from typing import Any

STEP_TIME_SMOOTHING = 0.2  # weight of the newest step in the running step-time estimate


class TrainingProgress:
    def __init__(self, steps: int, time_limit: float = 0.0):
        self.steps, self.time_limit = steps, time_limit
        self.elapsed_before = 0.0  # training seconds of earlier processes of this run
        self._started: float | None = None
        self._last_mark: float | None = None
        self.step_seconds: float | None = None  # running estimate of one step's wall time

    def start(self) -> None:
        self._started = self._last_mark = time.monotonic()

    def elapsed(self) -> float:
        """Training seconds so far, this process's and the earlier ones'."""
        return self.elapsed_before + (time.monotonic() - self._started if self._started is not None else 0.0)

    def fraction(self, step: int) -> float:
        """max(steps done / steps, time used / time limit), at most 1."""
        by_time = self.elapsed() / self.time_limit if self.time_limit > 0 else 0.0
        return min(1.0, max(step / self.steps, by_time))

    def mark_step(self) -> None:
        """Called after each step (and its logging): updates the step-time estimate."""
        now = time.monotonic()
        if self._last_mark is not None:
            took = now - self._last_mark
            self.step_seconds = took if self.step_seconds is None else (
                (1 - STEP_TIME_SMOOTHING) * self.step_seconds + STEP_TIME_SMOOTHING * took)
        self._last_mark = now

    def last_step_due(self) -> bool:
        """True when the step about to run is the last that fits: the one after it would end past
        the time limit. So a run ends within one step of its limit, and before it where the
        step-time estimate holds."""
        if self.time_limit <= 0:
            return False
        return self.elapsed() + 2 * (self.step_seconds or 0.0) >= self.time_limit

    def seconds_left(self, step: int) -> float:
        """Estimated seconds to the end of the run (the time limit or the steps, whichever is first)."""
        by_steps = (self.steps - step) * self.step_seconds if self.step_seconds else math.inf
        by_time = self.time_limit - self.elapsed() if self.time_limit > 0 else math.inf
        return max(0.0, min(by_steps, by_time))

    def state_dict(self) -> dict[str, Any]:
        return {"elapsed": self.elapsed()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.elapsed_before = float(state.get("elapsed", 0.0))
        self._started = self._last_mark = None
