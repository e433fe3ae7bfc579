"""Learning-rate schedules as controllers: they act through `Knobs.lr_scale` like any other."""
from __future__ import annotations

from mspgsen.config import RunConfig
from mspgsen.contracts import Controller, Knobs, run_progress
from mspgsen.controllers.base import register_controller


@register_controller
class LinearLRDecay(Controller):
    """Every optimiser's learning rate falls linearly from its base value to 0 at the run's end
    (`train.steps`, or `train.time_limit` when that comes first).

    Late in a run a smaller step lets the generator settle on the modes instead of hopping
    between them; on 2-D mixtures it is what brings samples within 3σ of their centres.
    """

    name = "linear-lr-decay"
    levers = frozenset({"lr"})

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        scale = max(0.0, 1.0 - run_progress(indicators, step, self.config))
        for optimizer in knobs.optimizers():
            knobs.lr_scale[optimizer] = scale
        return {"lr_scale": scale}


@register_controller
class LinearNoise(Controller):
    """Instance noise on D's inputs falls linearly from `start` (the family's `model.instance_noise`)
    to 0 at the run's end (the paper's linear noise plan): strong early, when the two distributions
    barely overlap."""

    name = "linear-noise"
    levers = frozenset({"noise"})

    def __init__(self, config: RunConfig, start: float = 0.0):
        super().__init__(config)
        self.start = start

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        knobs.noise_std = self.start * max(0.0, 1.0 - run_progress(indicators, step, self.config))
        return {"noise_std": knobs.noise_std}


@register_controller
class ProgressiveGrowth(Controller):
    """Grows the active scale of a multi-scale generator over the first `grow_fraction` (the
    family's `model.grow_fraction`) of the run (of its steps, or of its time limit when that comes
    first). Each of the S scales gets an equal period; from the second on, the first half of the period fades the new scale in
    linearly and the second half trains it at full strength."""

    name = "progressive-growth"
    levers = frozenset({"level"})

    def __init__(self, config: RunConfig, grow_fraction: float = 0.5):
        super().__init__(config)
        self.grow_fraction = grow_fraction

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        if knobs.level is None:  # nothing to grow: the family runs at full size
            return {}
        knobs.level = progressive_level(run_progress(indicators, step, self.config), self.grow_fraction, knobs.scales)
        return {"level": knobs.level}


def progressive_level(progress: float, grow_until: float, scales: int) -> float:
    """0 during the first period, k-1 → k over the first half of period k, S-1 after growth.

    `progress` and `grow_until` are in the same unit: fractions of the run, or steps."""
    top = scales - 1
    if top <= 0 or progress >= grow_until:
        return float(top)
    period = grow_until / scales
    stage, into = divmod(progress / period, 1.0)
    if stage < 1:
        return 0.0
    return min(float(top), stage - 1 + min(1.0, 2 * into))
