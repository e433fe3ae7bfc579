"""APFL, the adaptive feedback loop of seed 001 (section III-C, eq. 8-14), as a controller.

Once per tick it reads D's accuracy, the trend of G's loss and the latest periodic metric, and
turns four knobs: its own factor on each side's learning rate, the instance noise it adds, and
the weight of the feature-matching loss L_FM (eq. 12). Training moves through three phases by step:

- early: simplified discriminator feedback: the rules below held back, and an instance-noise floor
  where `early_noise` sets one (off by default: on Stacked MNIST it cost mspgsen modes);
- middle: full strength, with the rules below;
- late: regularisation and annealing, an L_FM floor (`late_fm`) and the noise it added fading out.

Rules, every tick from the middle phase on (the rules need a D that has learned something, and in
the first ticks any D is "too accurate"):
η ← η·γ^(1/t) on both sides (eq. 8-9, t the tick count) times a StepLR
factor when `step_every` is set; a discriminator more accurate than `d_strong_accuracy` has its
learning rate cut and the noise raised, one less accurate than `d_weak_accuracy` gets them back;
a generator whose loss has not fallen and whose metric has not improved for `g_stall_ticks`
ticks gets more L_FM, which fades again once it moves. Every threshold is a `train.apfl.*` key.

The meta-learning module (Fig. 3-4, controllers/meta.py) is the outer level over these rules:
every `meta_every` ticks it moves the strength of the D-side rules (the lr cut's exponent and
the noise step) or of the G-side rule (the L_FM step) the way that raised the quality signal.
"""
from __future__ import annotations

import math
from typing import Any

from mspgsen.config import RunConfig
from mspgsen.contracts import Controller, Knobs, run_progress
from mspgsen.controllers.base import quality_signal, register_controller
from mspgsen.controllers.meta import SignHillClimb


@register_controller
class APFL(Controller):
    name = "apfl"
    levers = frozenset({"lr", "noise", "G/fm"})

    def __init__(self, config: RunConfig):
        super().__init__(config)
        self.cfg = config.train.apfl
        self.ticks = 0
        self.eta = 1.0  # the cumulative γ^(1/t) factor of eq. 8-9
        self.d_scale = 1.0  # the cut of a too-strong D's learning rate
        self.noise_boost = 0.0
        self.fm_weight = 0.0
        self.stalled_ticks = 0
        self.best_quality: float | None = None
        self.meta = SignHillClimb(("d", "g"), self.cfg.meta_every, self.cfg.meta_lr)

    def phase(self, fraction: float) -> str:
        """early / middle / late by the share of the run done."""
        return "early" if fraction < self.cfg.early_fraction else "late" if fraction >= self.cfg.late_fraction else "middle"

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        fraction = run_progress(indicators, step, self.config)
        cfg, phase = self.cfg, self.phase(fraction)
        self.ticks += 1
        self.eta *= cfg.lr_gamma ** (1.0 / self.ticks)
        step_lr = cfg.step_gamma ** (step // cfg.step_every) if cfg.step_every else 1.0
        quality = quality_signal(indicators, periodic=self.config.train.eval_every > 0)
        actions: dict[str, float] = self.meta.observe(quality) or {}  # the outer level first
        d_strength, g_strength = self.meta.strength("d"), self.meta.strength("g")

        accuracy = None if phase == "early" else _mean_accuracy(indicators)
        d_factor, noise_step = cfg.d_lr_factor ** d_strength, cfg.noise_step * d_strength
        if accuracy is not None and accuracy > cfg.d_strong_accuracy:
            self.d_scale = max(cfg.min_lr_scale, self.d_scale * d_factor)
            self.noise_boost = min(cfg.max_noise, self.noise_boost + noise_step)
            actions["d_too_strong"] = 1.0
        elif accuracy is not None and accuracy < cfg.d_weak_accuracy:
            self.d_scale = min(1.0, self.d_scale / d_factor)
            self.noise_boost = max(0.0, self.noise_boost - noise_step)

        if phase == "early" or self._generator_moves(indicators, quality):
            self.stalled_ticks = 0
            self.fm_weight *= cfg.fm_decay
        else:
            self.stalled_ticks += 1
            if self.stalled_ticks >= cfg.g_stall_ticks:
                self.fm_weight = min(cfg.fm_max, self.fm_weight + cfg.fm_step * g_strength)
                actions["g_stalled"] = 1.0

        fm_weight, noise_boost = self.fm_weight, self.noise_boost
        if phase == "late":
            fm_weight = max(fm_weight, cfg.late_fm)
            remaining = max(0.0, 1.0 - (fraction - cfg.late_fraction) / (1.0 - cfg.late_fraction))
            noise_boost *= remaining  # annealed to nothing by the last step
        knobs.lr_factors[self.name] = {optimizer: self.eta * step_lr * (self.d_scale if optimizer == "D" else 1.0)
                                       for optimizer in knobs.optimizers()}
        floor = cfg.early_noise if phase == "early" else 0.0
        knobs.noise_extra[self.name] = max(noise_boost, floor - knobs.noise_std)
        knobs.loss_weights["G/fm"] = fm_weight
        return {**actions, "phase": {"early": 0.0, "middle": 1.0, "late": 2.0}[phase], "lr_factor": self.eta * step_lr,
                "d_lr_scale": self.d_scale, "noise_added": knobs.noise_extra[self.name], "fm_weight": fm_weight}

    def _generator_moves(self, indicators: dict[str, float], quality: float | None) -> bool:
        falling = indicators.get("trend/G/adv", 0.0) < 0
        improved = quality is not None and (self.best_quality is None or quality > self.best_quality)
        if improved:
            self.best_quality = quality
        return falling or improved

    def state_dict(self) -> dict[str, Any]:
        return {"ticks": self.ticks, "eta": self.eta, "d_scale": self.d_scale, "noise_boost": self.noise_boost,
                "fm_weight": self.fm_weight, "stalled_ticks": self.stalled_ticks,
                "best_quality": self.best_quality, "meta": self.meta.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("ticks", "eta", "d_scale", "noise_boost", "fm_weight", "stalled_ticks", "best_quality"):
            setattr(self, key, state[key])
        if "meta" in state:  # absent in runs from before the outer level
            self.meta.load_state_dict(state["meta"])


def _mean_accuracy(indicators: dict[str, float]) -> float | None:
    values = [indicators[k] for k in ("acc/real", "acc/fake") if k in indicators and math.isfinite(indicators[k])]
    return sum(values) / len(values) if values else None
