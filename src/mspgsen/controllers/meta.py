"""APFL's outer level (seed 001, Fig. 3-4: "optimizes the inner and outer layers through a
meta-learning module"): it tunes how hard APFL's rules act, from what the quality signal did.

The inner level is the G and D steps with APFL's rules applied at the current strengths; the
outer level, once every `period` ticks, compares the mean quality of the period just ended with
the one before, which tells whether the strength it moved last helped, and moves the next one
(coordinate by coordinate, in turn) by sign hill-climbing:

    d_k ← d_k if Δq̄ > 0 else −d_k  (k: the strength moved last),  θ_j ← θ_j + lr · d_j  (j: the next)

with θ = log strength, within [1/4, 4]: a strength keeps moving the way that raised the quality
and turns back when it fell. Consecutive periods also differ by training's own progress, which
this credits to the move; the signal's noise is averaged over the period. It needs
no gradient through training (the signal is a metric or D's calibration) and no random state, so
a resumed run takes the same outer steps.
"""
from __future__ import annotations

import math
from typing import Any

STRENGTH_LIMITS = (0.25, 4.0)


class SignHillClimb:
    def __init__(self, names: tuple[str, ...], period: int, lr: float):
        self.names, self.period, self.lr = names, period, lr
        self.log_strength = {name: 0.0 for name in names}
        self.direction = {name: 1.0 for name in names}
        self.turn = 0  # the coordinate the next outer step moves
        self.moved: str | None = None  # the one the last outer step moved (the period now running tests it)
        self.quality_sum, self.quality_count = 0.0, 0
        self.previous_mean: float | None = None

    def strength(self, name: str) -> float:
        return math.exp(self.log_strength[name])

    def observe(self, quality: float | None) -> dict[str, float] | None:
        """Count one tick's quality; at the end of a period take an outer step and return what moved."""
        if quality is None or not self.period:
            return None
        self.quality_sum += quality
        self.quality_count += 1
        if self.quality_count < self.period:
            return None
        mean = self.quality_sum / self.quality_count
        self.quality_sum, self.quality_count = 0.0, 0
        if self.moved is not None and self.previous_mean is not None and mean <= self.previous_mean:
            self.direction[self.moved] = -self.direction[self.moved]  # the last move did not help: turn back
        name = self.names[self.turn]
        low, high = (math.log(limit) for limit in STRENGTH_LIMITS)
        self.log_strength[name] = min(high, max(low, self.log_strength[name] + self.lr * self.direction[name]))
        self.moved, self.turn = name, (self.turn + 1) % len(self.names)
        self.previous_mean = mean
        return {f"meta_{n}": self.strength(n) for n in self.names}

    def state_dict(self) -> dict[str, Any]:
        return {"log_strength": dict(self.log_strength), "direction": dict(self.direction), "turn": self.turn,
                "moved": self.moved, "quality_sum": self.quality_sum, "quality_count": self.quality_count,
                "previous_mean": self.previous_mean}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.log_strength, self.direction = dict(state["log_strength"]), dict(state["direction"])
        self.turn, self.moved, self.previous_mean = int(state["turn"]), state["moved"], state["previous_mean"]
        self.quality_sum, self.quality_count = float(state["quality_sum"]), int(state["quality_count"])
