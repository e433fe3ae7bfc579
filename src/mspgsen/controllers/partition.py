"""DynGAN's partitioner: every `model.repartition_every` steps it asks the family to find the
samples the generator does not reach and give them partitions of their own (families/dyngan.py,
families/partition.py).

The family hands it the split (`DynGAN.default_controllers`); named in the config of another
family, it has nothing to split and does nothing.
"""
from __future__ import annotations

from typing import Any, Callable

from mspgsen.config import RunConfig
from mspgsen.contracts import Controller, Knobs
from mspgsen.controllers.base import register_controller


@register_controller
class Partitioner(Controller):
    name = "dyngan-partitioner"
    levers = frozenset({"partition"})

    def __init__(self, config: RunConfig, split: Callable[[int], dict[str, float]] | None = None, every: int = 3000):
        super().__init__(config)
        self.split, self.every = split, every
        self.last_split_check = 0

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        if self.split is None or step // self.every == self.last_split_check // self.every:
            return {}
        self.last_split_check = step
        return self.split(step)

    def state_dict(self) -> dict[str, Any]:
        return {"last_split_check": self.last_split_check}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_split_check = int(state["last_split_check"])
