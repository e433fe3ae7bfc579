"""BALANCE, seed 001's DQN balancer (section III-D), as a controller.

Each tick the agent sees the state of the game as a vector of indicators, is rewarded for the
previous tick's action, learns from a random replay minibatch, and picks the next action:

    no-op, extra D step, extra G step, lr_G up, lr_G down, lr_D up, lr_D down

Extra steps add to the family's repeats of that phase (capped at `max_extra_steps`; an extra
step for one side first takes one away from the other); learning-rate moves multiply that
side's own factor by `lr_factor` or divide by it (within [0.25, 4]).

Reward: −|mean D accuracy − `target_accuracy`| (the balance term), plus `quality_weight` ×
the rise of the periodic metric whenever a new evaluation arrives (the quality term; between
evaluations the balance term is the proxy). The agent can start from another run's agent
(`train.balance.load_from`, or `--balancer-from RUN`).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mspgsen.config import RunConfig, setting
from mspgsen.contracts import Controller, Knobs
from mspgsen.controllers.base import quality_signal, register_controller
from mspgsen.controllers.dqn import DQNAgent
from mspgsen.errors import UserError

ACTIONS = ("no-op", "extra-d", "extra-g", "lr-g-up", "lr-g-down", "lr-d-up", "lr-d-down")
STATE_FEATURES = ("D(x)", "D(G(z))", "acc/real", "acc/fake", "trend/G/adv", "trend/D/adv")
STATE_DIM = len(STATE_FEATURES) + 4  # + log lr scales of G and D, extra steps of D and G
EXPLORATION_SHARE = 0.3
LR_SCALE_LIMITS = (0.25, 4.0)  # the balancer's own factor on a learning rate stays within these


@dataclass
class BalanceConfig:
    """The DQN balancer (seed 001, BALANCE); read by the `balance` controller."""

    target_accuracy: float = setting(0.7, high=1)  # reward peaks when D's mean accuracy is here
    quality_weight: float = 1.0  # weight of the quality term of the reward
    hidden: int = setting(64, low=1)  # Q-network width
    gamma: float = setting(0.9, high=1)  # discount
    lr: float = setting(1e-3, low_open=True)
    batch_size: int = setting(32, low=1)  # replay minibatch
    replay_size: int = setting(10_000, low=1)
    target_sync: int = setting(50, low=1)  # learning updates between target-network copies
    epsilon_start: float = setting(1.0, high=1)
    epsilon_end: float = setting(0.05, high=1)
    epsilon_decay: int = 0  # ticks over which ε falls linearly; 0: the first 30% of the run's ticks
    lr_factor: float = setting(1.25, low=1)  # what lr up / down multiply or divide by
    max_extra_steps: int = 3  # cap on extra D or G steps per step
    # a run whose balancer (weights and replay) to start from
    load_from: str | None = setting(None, flag="balancer_from")


@register_controller
class Balance(Controller):
    name = "balance"
    settings = BalanceConfig  # the train.balance section

    def __init__(self, config: RunConfig):
        super().__init__(config)
        self.cfg = config.train.balance
        if not self.cfg.epsilon_decay:  # explore over the first 30% of the run's ticks
            ticks = config.train.steps // config.train.log_every
            self.cfg = dataclasses.replace(self.cfg, epsilon_decay=max(1, int(EXPLORATION_SHARE * ticks)))
        self.agent = DQNAgent(STATE_DIM, len(ACTIONS), self.cfg, seed=config.train.seed)
        self.extra = {"D": 0, "G": 0}
        self.lr_moves = {"G": 1.0, "D": 1.0}
        self.base_repeats: dict[str, int] | None = None
        self.previous: tuple[torch.Tensor, int] | None = None
        self.last_quality: float | None = None
        if self.cfg.load_from:
            self.agent.load_state_dict(agent_of_run(self.cfg.load_from), same_run=False)

    def act(self, step: int, indicators: dict[str, float], knobs: Knobs) -> dict[str, float]:
        if self.base_repeats is None:
            self.base_repeats = {"D": knobs.repeats.get("D", 1), "G": knobs.repeats.get("G", 1)}
        state = self.observe(indicators)
        reward = self.reward(indicators)
        loss = None
        if self.previous is not None:
            self.agent.remember(self.previous[0], self.previous[1], reward, state)
            loss = self.agent.learn()
        action = self.agent.act(state)
        self.apply(ACTIONS[action], knobs, indicators)
        self.previous = (state, action)
        report = {"action": float(action), "reward": reward, "epsilon": self.agent.epsilon(),
                  "extra_d": float(self.extra["D"]), "extra_g": float(self.extra["G"]),
                  "lr_g_move": self.lr_moves["G"], "lr_d_move": self.lr_moves["D"]}
        return report if loss is None else {**report, "q_loss": loss}

    def observe(self, indicators: dict[str, float]) -> torch.Tensor:
        values = [_finite(indicators.get(name, 0.0)) for name in STATE_FEATURES]
        values[4:6] = [math.tanh(v) for v in values[4:6]]  # trends of unbounded losses
        values += [math.log(self.lr_moves["G"]), math.log(self.lr_moves["D"]), self.extra["D"] / 3, self.extra["G"] / 3]
        return torch.tensor(values, dtype=torch.float32)

    def reward(self, indicators: dict[str, float]) -> float:
        accuracies = [indicators[k] for k in ("acc/real", "acc/fake") if k in indicators]
        balance = -abs(sum(accuracies) / len(accuracies) - self.cfg.target_accuracy) if accuracies else 0.0
        quality, gain = quality_signal(indicators, periodic=self.config.train.eval_every > 0), 0.0
        if quality is not None and quality != self.last_quality:
            gain = 0.0 if self.last_quality is None else math.tanh(quality - self.last_quality)
            self.last_quality = quality
        return balance + self.cfg.quality_weight * gain

    def apply(self, action: str, knobs: Knobs, indicators: dict[str, float]) -> None:
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
        for side in ("D", "G"):
            knobs.repeats[side] = self.base_repeats[side] + self.extra[side]
        knobs.lr_factors[self.name] = dict(self.lr_moves)

    def state_dict(self) -> dict[str, Any]:
        return {"agent": self.agent.state_dict(), "extra": dict(self.extra), "lr_moves": dict(self.lr_moves),
                "base_repeats": self.base_repeats, "last_quality": self.last_quality,
                "previous": None if self.previous is None else {"state": self.previous[0], "action": self.previous[1]}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.agent.load_state_dict(state["agent"])
        self.extra, self.lr_moves = dict(state["extra"]), dict(state["lr_moves"])
        self.base_repeats, self.last_quality = state["base_repeats"], state["last_quality"]
        previous = state["previous"]
        self.previous = None if previous is None else (previous["state"], int(previous["action"]))


def agent_of_run(run_dir: str | Path) -> dict[str, Any]:
    """The balancer's agent state saved in another run's checkpoint."""
    from mspgsen.training.checkpoint import load_state
    from mspgsen.training.rundir import existing_run_dir

    run = existing_run_dir(run_dir, need_checkpoint=True)
    saved = load_state(run.checkpoint).get("controllers", {})
    if "balance" not in saved:
        raise UserError(f"the run {run.path} was trained without the balance controller; "
                        "--balancer-from needs a run whose train.controllers include balance.")
    return saved["balance"]["agent"]


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0
