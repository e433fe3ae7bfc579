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


@register_controller
class LinearNoise(Controller):
    """Instance noise on D's inputs falls linearly from `model.instance_noise` to 0 at `train.steps`
    (the paper's linear noise plan): strong early, when the two distributions barely overlap."""

    name = "linear-noise"

    def __init__(self, config: RunConfig):
        self.start = getattr(config.model, "instance_noise", 0.0)
        self.total_steps = config.train.steps

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        knobs.noise_std = self.start * max(0.0, 1.0 - step / self.total_steps)
        return {"noise_std": knobs.noise_std}


@register_controller
class ProgressiveGrowth(Controller):
    """Grows the active scale of a multi-scale generator over the first `model.grow_fraction` of
    the run. Each of the S scales gets an equal period; from the second on, the first half of
    the period fades the new scale in linearly and the second half trains it at full strength."""

    name = "progressive-growth"

    def __init__(self, config: RunConfig):
        self.grow_steps = config.train.steps * getattr(config.model, "grow_fraction", 0.5)

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        if knobs.level is None:  # nothing to grow: the family runs at full size
            return {}
        knobs.level = progressive_level(step, self.grow_steps, knobs.scales)
        return {"level": knobs.level}


def progressive_level(step: int, grow_steps: float, scales: int) -> float:
    """0 during the first period, k-1 → k over the first half of period k, S-1 after growth."""
    top = scales - 1
    if top <= 0 or step >= grow_steps:
        return float(top)
    period = grow_steps / scales
    stage, into = divmod(step / period, 1.0)
    if stage < 1:
        return 0.0
    return min(float(top), stage - 1 + min(1.0, 2 * into))
