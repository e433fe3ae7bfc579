"""Divergence guard: a NaN or Inf in a loss, a gradient norm or a weight rolls the run back.

The guard keeps a copy of the last state it saw healthy (on the training device, taken at
each clean tick, so it costs one copy per `log_every` steps and no host sync in the step).
On a non-finite value it restores that copy, multiplies every learning rate by
`train.nan_lr_factor` (a knob of its own, so the cut persists through checkpoints) and goes
on; after `train.max_rollbacks` rollbacks with no healthy tick between them it stops with a
clear message, leaving the last good checkpoint on disk untouched.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import torch

from mspgsen.errors import UserError
from mspgsen.training.state import TrainingState

KNOB = "divergence-guard"  # its key in Knobs.lr_factors and its name in controller.jsonl


class DivergenceGuard:
    def __init__(self, lr_factor: float = 0.5, max_rollbacks: int = 3):
        self.lr_factor = lr_factor
        self.max_rollbacks = max_rollbacks
        self.in_a_row = 0
        self._good: dict[str, Any] | None = None

    def remember(self, state: TrainingState) -> None:
        """Keep `state` as the one to come back to; a clean tick also ends a run of rollbacks."""
        self._good = copy.deepcopy({**state.state_dict(), "controllers": state.controller_states()})
        self.in_a_row = 0

    def healthy(self, state: TrainingState, indicators: dict[str, float] | None = None) -> bool:
        """Every indicator finite and every weight finite (one reduction, one host sync)."""
        if indicators and not all(math.isfinite(v) for v in indicators.values()):
            return False
        weights = [p.detach() for p in state.nets.parameters()]
        return bool(torch.isfinite(torch.nn.utils.get_total_norm(weights)))

    def roll_back(self, state: TrainingState, checkpoint: Path | None = None) -> dict[str, float]:
        """Restore the last healthy state with lower learning rates; the action, for the logs.
        `checkpoint`: the run's last saved checkpoint, if any (named when the run stops)."""
        if self._good is None:
            raise UserError("training produced NaN/Inf before any healthy state was recorded; "
                            "lower the learning rates or check the data for NaN values.")
        self.in_a_row += 1
        if self.in_a_row > self.max_rollbacks:
            raise UserError(
                f"training diverged (NaN/Inf) {self.max_rollbacks} times in a row even after lowering the learning "
                f"rates by {self.lr_factor:g} each time; stopped. "
                + (f"The last good checkpoint, {checkpoint}, is kept. " if checkpoint is not None else
                   "No checkpoint had been written yet. ")
                + "Lower the learning rates (model.optim_g.lr, model.optim_d.lr), use --precision fp32, or raise "
                "train.max_rollbacks.")
        failed_at = state.step
        good = copy.deepcopy(self._good)
        state.load_state_dict(good)
        state.load_controller_states(good["controllers"])
        factors = state.knobs.lr_factors.setdefault(KNOB, {})
        for name in state.base_lrs:
            factors[name] = factors.get(name, 1.0) * self.lr_factor
        # the lowered rates become part of the state to come back to, so a second rollback cuts again
        self._good["knobs"] = copy.deepcopy(state.knobs.state_dict())
        return {"failed_at": failed_at, "rolled_back_to": state.step, "lr_factor": factors[next(iter(factors))],
                "in_a_row": self.in_a_row}

