"""Knobs: the only state that training controllers may change while a run goes on."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Knobs:
    lr_scale: dict[str, float] = field(default_factory=dict)  # per optimiser; lr = base lr × scale
    repeats: dict[str, int] = field(default_factory=dict)  # per phase: runs per step (n_critic for "D")
    loss_weights: dict[str, float] = field(default_factory=dict)  # per named term; 1 when absent
    noise_std: float = 0.0  # instance noise added to the discriminator's inputs
    level: float | None = None  # progressive growth: active scale + fade-in fraction; None: full size
    scales: int = 1  # how many scales `level` moves over (set by the family, read by controllers)

    def weight(self, term: str) -> float:
        return self.loss_weights.get(term, 1.0)

    def lr(self, optimizer: str, base_lr: float) -> float:
        return base_lr * self.lr_scale.get(optimizer, 1.0)

    def state_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)
