"""Knobs: the only state that training controllers may change while a run goes on."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Knobs:
    lr_scale: dict[str, float] = field(default_factory=dict)  # per optimiser, set by schedules
    # Feedback controllers own a factor each (controller → optimiser → factor) instead of
    # rewriting lr_scale, so several can act on one learning rate without compounding.
    lr_factors: dict[str, dict[str, float]] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)  # per phase: runs per step (n_critic for "D")
    loss_weights: dict[str, float] = field(default_factory=dict)  # per named term; 1 when absent
    noise_std: float = 0.0  # instance noise added to the discriminator's inputs (set by schedules)
    noise_extra: dict[str, float] = field(default_factory=dict)  # controller → noise it adds on top
    level: float | None = None  # progressive growth: active scale + fade-in fraction; None: full size
    scales: int = 1  # how many scales `level` moves over (set by the family, read by controllers)
    # DynGAN's data partition: labels (partition of each training sample), scores (EMA of D's
    # probability on it), seen (scored since the last split), count (partitions so far).
    partition: dict[str, Any] | None = None

    def weight(self, term: str) -> float:
        return self.loss_weights.get(term, 1.0)

    def lr(self, optimizer: str, base_lr: float) -> float:
        """base lr × schedule scale × every controller's factor."""
        lr = base_lr * self.lr_scale.get(optimizer, 1.0)
        for factors in self.lr_factors.values():
            lr *= factors.get(optimizer, 1.0)
        return lr

    def noise(self) -> float:
        """The instance-noise std D's inputs get: the schedule's plus what controllers add."""
        return max(0.0, self.noise_std + sum(self.noise_extra.values()))

    def state_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)
