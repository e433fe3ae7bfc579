"""DynGAN's partitioner: turns the samples the generator does not reach into a new partition.

It reads the per-sample smoothed D probabilities the `dyngan` family keeps in `Knobs.partition`
and, every `model.repartition_every` steps, gives the collapsed ones (probability above
1/(1+δ)) a partition of their own when they are at least `model.min_flagged` of the set and
fewer than `model.max_partitions` partitions exist. The smoothing starts afresh after a split.
"""
from __future__ import annotations

from typing import Any

from mspgsen.config import RunConfig
from mspgsen.metrics.collapse import DEFAULT_DELTA, collapse_threshold
from mspgsen.controllers.base import Controller, register_controller
from mspgsen.training.knobs import Knobs


@register_controller
class Partitioner(Controller):
    name = "dyngan-partitioner"

    def __init__(self, config: RunConfig):
        model = config.model
        self.every = getattr(model, "repartition_every", 3000)
        self.threshold = collapse_threshold(getattr(model, "delta", DEFAULT_DELTA))
        self.min_flagged = getattr(model, "min_flagged", 0.01)
        self.max_partitions = getattr(model, "max_partitions", 30)
        self.last_split_check = 0

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        partition = knobs.partition
        if partition is None or step // self.every == self.last_split_check // self.every:
            return {}
        self.last_split_check = step
        flagged = partition["seen"] & (partition["scores"] > self.threshold)
        share = float(flagged.float().mean())
        actions = {"flagged_share": share}
        if share >= self.min_flagged and partition["count"] < self.max_partitions:
            partition["labels"][flagged] = partition["count"]
            partition["count"] += 1
            actions["split"] = 1.0
        partition["seen"].zero_()
        partition["scores"].zero_()
        return {**actions, "partitions": float(partition["count"])}

    def state_dict(self) -> dict[str, Any]:
        return {"last_split_check": self.last_split_check}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_split_check = int(state["last_split_check"])
