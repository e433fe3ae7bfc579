"""Learning-rate schedules as controllers: they act through `Knobs.lr_scale` like any other."""
from __future__ import annotations

from mspgsen.config import RunConfig
from mspgsen.controllers.base import Controller, register_controller
from mspgsen.training.knobs import Knobs


@register_controller
class LinearLRDecay(Controller):
    """Every optimiser's learning rate falls linearly from its base value to 0 at `train.steps`.

    Late in a run a smaller step lets the generator settle on the modes instead of hopping
    between them; on 2-D mixtures it is what brings samples within 3σ of their centres.
    """

    name = "linear-lr-decay"

    def __init__(self, config: RunConfig):
        self.total_steps = config.train.steps

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        scale = max(0.0, 1.0 - step / self.total_steps)
        for optimizer in [name.removeprefix("lr/") for name in indicators if name.startswith("lr/")]:
            knobs.lr_scale[optimizer] = scale
        return {"lr_scale": scale}
