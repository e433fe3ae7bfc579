"""The settings of the controllers that have any: typed sections of `train` (`train.apfl`,
`train.balance`), read by controllers/apfl.py and controllers/balance.py. They live here, beside
the other sections, so the whole config (and the command line made from it) is known without torch."""
from __future__ import annotations

from dataclasses import dataclass

from mspgsen.config.fields import setting


@dataclass
class APFLConfig:
    """The APFL feedback loop (seed 001, eq. 8-14); read by the `apfl` controller."""

    early_fraction: float = setting(0.1, high=1)  # share of the run in the early phase (simplified D feedback)
    late_fraction: float = setting(0.7, high=1)  # the late phase (regularisation, noise annealing) starts here
    # instance-noise floor in the early phase; 0: the early phase's simplified feedback is its rules held
    # back. At 0.1, mspgsen's 10-minute Stacked MNIST seeds 1 and 2 covered 485 and 465 of 1000 modes,
    # 704 and 801 without (docs/benchmarks.md, 2026-12-07)
    early_noise: float = 0.0
    lr_gamma: float = setting(0.99, low_open=True, high=1)  # eq. 8-9: lr ← lr·γ^(1/t) at tick t
    step_every: int = 0  # StepLR: multiply the lr by step_gamma every this many steps; 0: off
    step_gamma: float = setting(0.5, low_open=True, high=1)
    # D's mean accuracy above this: D is too strong. A batch-normalised D that teaches well sits at
    # 0.8-0.95 (mspgsen's): at 0.9 the rule slowed it from the first middle-phase tick, and the
    # model covered 735 of 1000 Stacked MNIST modes in 4 minutes where 0.95 gave 870
    d_strong_accuracy: float = 0.95
    d_weak_accuracy: float = 0.55  # below this: D is too weak, its lr is restored towards the base
    # how much a too-strong D's lr is cut per tick (floor: min_lr_scale)
    d_lr_factor: float = setting(0.8, low_open=True, high=1)
    min_lr_scale: float = setting(0.05, low_open=True, high=1)
    noise_step: float = 0.02  # instance noise added per tick while D is too strong
    max_noise: float = 0.3
    g_stall_ticks: int = 4  # ticks without a falling G loss (and no better metric) make a stall
    fm_step: float = 0.5  # L_FM weight added per stalled tick
    fm_max: float = 5.0
    fm_decay: float = setting(0.9, high=1)  # L_FM weight multiplied by this per tick once G moves again
    late_fm: float = 1.0  # L_FM floor in the late phase (feature matching as regulariser)
    meta_every: int = setting(10, low=0)  # ticks per outer (meta-learning) step; 0: the rules keep their strength
    meta_lr: float = setting(0.2, low=0)  # the outer step in log strength


@dataclass
class BalanceConfig:
    """The DQN balancer (seed 001, BALANCE); read by the `balance` controller."""

    target_accuracy: float = setting(0.7, high=1)  # the balance term is 0 when D's mean accuracy is here
    balance_weight: float = setting(4.0, low=0)  # weight of the balance term of the reward
    quality_weight: float = setting(0.0, low=0)  # weight of the quality term (periodic metric) of the reward
    hidden: int = setting(64, low=1)  # Q-network width
    gamma: float = setting(0.9, high=1)  # discount
    lr: float = setting(1e-3, low_open=True)
    batch_size: int = setting(32, low=1)  # replay minibatch
    replay_size: int = setting(10_000, low=1)
    target_sync: int = setting(50, low=1)  # learning updates between target-network copies
    epsilon_start: float = setting(1.0, high=1)
    epsilon_end: float = setting(0.05, high=1)
    epsilon_decay: int = 0  # ticks over which ε falls linearly; 0: the first 30% of the run (steps or time)
    lr_factor: float = setting(1.25, low=1)  # what lr up / down multiply or divide by
    ema_factor: float = setting(2.0, low=1)  # what EMA slower / faster divide or multiply 1 − decay by
    max_extra_steps: int = 3  # cap on extra D or G steps per step
    # ticks the agent only watches (no-op) before it acts; 0: until its replay holds one minibatch
    warmup_ticks: int = setting(0, low=0)
    load_from: str | None = setting(None, flag="balancer_from",
                                    help="a run whose DQN balancer (weights and replay) this run's starts from")
