"""BALANCE, seed 001's DQN balancer (section III-D, Fig. 5), as a controller.

Fig. 5: "The DQN balancer takes the current state (generator output and discriminator score) as
input, selects actions to optimize the performance of the generator, and updates the strategy
based on rewards"; "the discriminator evaluates the generated image and calculates the reward".
Each tick the agent sees that state, is rewarded for the previous tick's action, learns from a
random replay minibatch (the experience playback pool), and picks the next action.

State: G's output batch (`G(z)/mean`, `G(z)/std`, `G(z)/diversity`: families/base.py), D's
scores and accuracies on real and generated samples, and where the balancer's own knobs stand.

Actions (the paper's "learning rate and decay rate", and steps per side):

    no-op, extra D step, extra G step, lr_G up, lr_G down, lr_D up, lr_D down,
    EMA slower, EMA faster

Extra steps add to the family's repeats of that phase (capped at `max_extra_steps`; an extra
step for one side first takes one away from the other); learning-rate moves multiply that
side's own factor by `lr_factor` or divide by it (within [0.25, 4]); EMA moves multiply or
divide 1 − decay of the generator's weight average by `ema_factor` (decay within [0.9, 0.99999];
no-ops in a run without EMA).

Reward, from the discriminator's verdict (our reading: the paper names its source, not its form):

    r = fooled − balance_weight·|ā − target_accuracy| + quality_weight·tanh(Δquality)

with fooled = 1 − acc/fake, the share of G's batch D takes for real, and ā D's mean accuracy.
The first term alone pays for a D too weak to teach; the second keeps D in the game, and with
balance_weight > 2 the reward peaks at ā = target_accuracy. The quality term (off by default)
pays for a rise of the periodic metric. The agent first only watches (no-op) until its replay holds
one minibatch (`warmup_ticks`): a random move made before it has learned anything would stand.
It then explores over the first 30% of the run (by
steps or by the time limit) and can start from another run's agent (`--balancer-from RUN`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from mspgsen.config import RunConfig
from mspgsen.contracts import Controller, Knobs, run_progress
from mspgsen.controllers.base import quality_signal, register_controller
from mspgsen.controllers.dqn import DQNAgent
from mspgsen.errors import UserError
from mspgsen.support.checkpoint import load_state
from mspgsen.support.rundir import existing_run_dir

ACTIONS = ("no-op", "extra-d", "extra-g", "lr-g-up", "lr-g-down", "lr-d-up", "lr-d-down", "ema-slower", "ema-faster")
GENERATOR_OUTPUT = ("G(z)/mean", "G(z)/std", "G(z)/diversity")
DISCRIMINATOR_SCORES = ("D(x)", "D(G(z))", "acc/real", "acc/fake")
STATE_DIM = len(GENERATOR_OUTPUT) + len(DISCRIMINATOR_SCORES) + 5  # + own knobs: 2 lr moves, 2 extra steps, EMA
EXPLORATION_SHARE = 0.3
LR_SCALE_LIMITS = (0.25, 4.0)  # the balancer's own factor on a learning rate stays within these
EMA_DECAY_LIMITS = (0.9, 0.99999)


@register_controller
class Balance(Controller):
    name = "balance"
    levers = frozenset({"lr", "repeats", "ema_decay"})

    def __init__(self, config: RunConfig):
        super().__init__(config)
        self.cfg = config.train.balance
        self.agent = DQNAgent(STATE_DIM, len(ACTIONS), self.cfg, seed=config.train.seed)
        self.extra = {"D": 0, "G": 0}
        self.lr_moves = {"G": 1.0, "D": 1.0}
        self.base_ema = config.model.ema_decay if config.model.ema_decay > 0 else None
        self.ema_decay = self.base_ema
        if self.base_ema is None:  # no EMA kept: its actions are never taken
            self.levers = frozenset({"lr", "repeats"})
        self.base_repeats: dict[str, int] | None = None
        self.previous: tuple[torch.Tensor, int] | None = None
        self.last_quality: float | None = None
        if self.cfg.load_from:
            self.agent.load_state_dict(_checked(agent_of_run(self.cfg.load_from), self.cfg.load_from), same_run=False)

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        if self.base_repeats is None:
            self.base_repeats = {"D": knobs.repeats.get("D", 1), "G": knobs.repeats.get("G", 1)}
        state = self.observe(indicators)
        reward = self.reward(indicators)
        loss = None
        if self.previous is not None:
            self.agent.remember(self.previous[0], self.previous[1], reward, state)
            loss = self.agent.learn()
        warming_up = self.agent.memory.size < self.warmup_ticks()
        epsilon = 0.0 if warming_up else self.epsilon(run_progress(indicators, step, self.config))
        action = ACTIONS.index("no-op") if warming_up else self.agent.act(state, epsilon=epsilon)
        self.apply(ACTIONS[action], knobs)
        self.previous = (state, action)
        report = {"action": float(action), "reward": reward, "epsilon": epsilon, "warming_up": float(warming_up),
                  "extra_d": float(self.extra["D"]), "extra_g": float(self.extra["G"]),
                  "lr_g_move": self.lr_moves["G"], "lr_d_move": self.lr_moves["D"]}
        if self.ema_decay is not None:
            report["ema_decay"] = self.ema_decay
        return report if loss is None else {**report, "q_loss": loss}

    def warmup_ticks(self) -> int:
        """Transitions the agent watches before acting: a random move before the agent has learned
        anything would stand (a 10-minute image run gives it ~18 ticks, fewer than one minibatch)."""
        return self.cfg.warmup_ticks or self.cfg.batch_size

    def epsilon(self, progress: float) -> float:
        """ε-greedy's ε: over `epsilon_decay` ticks when set, else over the first 30% of the run."""
        if self.cfg.epsilon_decay:
            return self.agent.epsilon()
        cfg = self.cfg
        return cfg.epsilon_start + min(1.0, progress / EXPLORATION_SHARE) * (cfg.epsilon_end - cfg.epsilon_start)

    def observe(self, indicators: dict[str, float]) -> torch.Tensor:
        """G's output batch, D's scores (tanh: raw critic values are unbounded), the own knobs."""
        output = [_finite(indicators.get(name, 0.0)) for name in GENERATOR_OUTPUT]
        scores = [math.tanh(_finite(indicators.get(name, 0.0))) for name in DISCRIMINATOR_SCORES]
        ema = math.log((1 - self.ema_decay) / (1 - self.base_ema)) if self.ema_decay is not None else 0.0
        own = [math.log(self.lr_moves["G"]), math.log(self.lr_moves["D"]), self.extra["D"] / 3, self.extra["G"] / 3, ema]
        return torch.tensor(output + scores + own, dtype=torch.float32)

    def reward(self, indicators: dict[str, float]) -> float:
        """r = fooled − balance_weight·|ā − target| + quality_weight·tanh(Δquality) (module docstring)."""
        if "acc/fake" not in indicators:
            return 0.0
        fooled = 1.0 - indicators["acc/fake"]
        accuracies = [indicators[k] for k in ("acc/real", "acc/fake") if k in indicators]
        balance = abs(sum(accuracies) / len(accuracies) - self.cfg.target_accuracy)
        quality, gain = quality_signal(indicators, periodic=self.config.train.eval_every > 0), 0.0
        if quality is not None and quality != self.last_quality:
            gain = 0.0 if self.last_quality is None else math.tanh(quality - self.last_quality)
            self.last_quality = quality
        return fooled - self.cfg.balance_weight * balance + self.cfg.quality_weight * gain

    def apply(self, action: str, knobs: Knobs) -> None:
        cap, factor = self.cfg.max_extra_steps, self.cfg.lr_factor
        if action in ("extra-d", "extra-g"):
            side, other = ("D", "G") if action == "extra-d" else ("G", "D")
            if self.extra[other] > 0:
                self.extra[other] -= 1
            else:
                self.extra[side] = min(cap, self.extra[side] + 1)
        elif action.startswith("lr-"):
            side = action[3].upper()
            move = self.lr_moves[side] * (factor if action.endswith("up") else 1 / factor)
            self.lr_moves[side] = min(max(move, LR_SCALE_LIMITS[0]), LR_SCALE_LIMITS[1])
        elif action.startswith("ema-") and self.ema_decay is not None:
            gap = (1 - self.ema_decay) * (1 / self.cfg.ema_factor if action == "ema-slower" else self.cfg.ema_factor)
            self.ema_decay = min(max(1 - gap, EMA_DECAY_LIMITS[0]), EMA_DECAY_LIMITS[1])
        for side in ("D", "G"):
            knobs.repeats[side] = self.base_repeats[side] + self.extra[side]
        knobs.lr_factors[self.name] = dict(self.lr_moves)
        knobs.ema_decay = self.ema_decay

    def state_dict(self) -> dict[str, Any]:
        return {"agent": self.agent.state_dict(), "extra": dict(self.extra), "lr_moves": dict(self.lr_moves),
                "ema_decay": self.ema_decay, "base_repeats": self.base_repeats, "last_quality": self.last_quality,
                "previous": None if self.previous is None else {"state": self.previous[0], "action": self.previous[1]}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.agent.load_state_dict(_checked(state["agent"], "this run"))
        self.extra, self.lr_moves = dict(state["extra"]), dict(state["lr_moves"])
        self.ema_decay = state.get("ema_decay", self.base_ema)  # absent in runs from before the EMA action
        self.base_repeats, self.last_quality = state["base_repeats"], state["last_quality"]
        previous = state["previous"]
        self.previous = None if previous is None else (previous["state"], int(previous["action"]))


def agent_of_run(run_dir: str | Path) -> dict[str, Any]:
    """The balancer's agent state saved in another run's checkpoint."""
    run = existing_run_dir(run_dir, need_checkpoint=True)
    saved = load_state(run.checkpoint).get("controllers", {})
    if "balance" not in saved:
        raise UserError(f"the run {run.path} was trained without the balance controller; "
                        "--balancer-from needs a run whose train.controllers include balance.")
    return saved["balance"]["agent"]


def _checked(agent: dict[str, Any], source: Any) -> dict[str, Any]:
    """An agent saved with another state or action set cannot drive this one: say so, not a size mismatch."""
    weights = [value for key, value in agent["q"].items() if key.endswith("weight")]
    first, last = weights[0], weights[-1]
    if tuple(first.shape[1:]) != (STATE_DIM,) or last.shape[0] != len(ACTIONS):
        raise UserError(f"the balancer saved in {source} sees {first.shape[1]} state features and {last.shape[0]} "
                        f"actions; this version's sees {STATE_DIM} and {len(ACTIONS)} (seed 001's state: G's output "
                        "and D's scores). Resume without it (--set model.balance=false, or drop balance from "
                        "train.controllers), or start a new run.")
    return agent


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0
