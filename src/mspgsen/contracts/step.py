"""One step: the knobs controllers turn, what a phase may use, and the phases themselves."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

import torch
from torch import nn

from mspgsen.contracts.data import Batch, BatchStream


# --- a step -----------------------------------------------------------------------------------
@dataclass
class Knobs:
    """What controllers may change while a run goes on; saved in every checkpoint."""

    lr_scale: dict[str, float] = field(default_factory=dict)  # per optimiser (each has one), set by schedules
    # Feedback controllers own a factor each (controller → optimiser → factor) instead of
    # rewriting lr_scale, so several can act on one learning rate without compounding.
    lr_factors: dict[str, dict[str, float]] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)  # per phase: runs per step (n_critic for "D")
    loss_weights: dict[str, float] = field(default_factory=dict)  # per named term; 1 when absent
    noise_std: float = 0.0  # instance noise added to the discriminator's inputs (set by schedules)
    noise_extra: dict[str, float] = field(default_factory=dict)  # controller → noise it adds on top
    level: float | None = None  # progressive growth: active scale + fade-in fraction; None: full size
    scales: int = 1  # how many scales `level` moves over (set by the family, read by controllers)
    ema_decay: float | None = None  # decay of the EMA of G's weights; None: model.ema_decay (BALANCE moves it)

    def optimizers(self) -> list[str]:
        """The optimisers a learning-rate controller can act on (the run lists each in lr_scale)."""
        return list(self.lr_scale)

    def weight(self, term: str) -> float:
        return self.loss_weights.get(term, 1.0)

    def lr(self, optimizer: str, base_lr: float) -> float:
        """base lr × schedule scale × every controller's factor."""
        lr = base_lr * self.lr_scale.get(optimizer, 1.0)
        for factors in self.lr_factors.values():
            lr *= factors.get(optimizer, 1.0)
        return lr

    def noise(self) -> float:
        """The instance-noise std D's inputs get: the schedule's plus what controllers add."""
        return max(0.0, self.noise_std + sum(self.noise_extra.values()))

    def state_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            if key in self.__dataclass_fields__:  # a key older versions kept elsewhere is not a knob
                setattr(self, key, value)


class Ranks(Protocol):
    """The processes of a run as a step sees them (training/distributed.World in a torchrun run)."""

    rank: int
    size: int

    @property
    def distributed(self) -> bool: ...


@dataclass(frozen=True)
class OneProcess:
    rank: int = 0
    size: int = 1
    distributed: bool = False


class Reporter(Protocol):
    def report(self, name: str, value: torch.Tensor | float) -> None: ...


Terms = dict[str, torch.Tensor]


@dataclass
class StepContext:
    """What a phase may use: the networks, the knobs, real batches, latents, the stats stream."""

    nets: Mapping[str, nn.Module]  # in a distributed run: DDP views of the networks the phase trains
    knobs: Knobs
    stream: BatchStream
    latent_dim: int
    batch_size: int
    device: torch.device
    stats: Reporter
    world: Ranks = OneProcess()
    step: int = 0  # the step being taken (the loop sets it): what a term run every N steps reads

    def due(self, every: int) -> bool:
        """Whether a term run every `every` steps (StyleGAN2's lazy regularisation) runs in this one."""
        return self.step % every == 0

    def real(self) -> Batch:
        return self.stream.next()

    def latents(self, n: int | None = None) -> torch.Tensor:
        """`n` latents (the local batch by default). In a distributed run every process draws the
        global batch's latents and keeps its slice, so together they are the one-process draw."""
        n = n or self.batch_size
        if not self.world.distributed:
            return torch.randn(n, self.latent_dim, device=self.device)
        every = torch.randn(n * self.world.size, self.latent_dim, device=self.device)
        return every[self.world.rank * n:(self.world.rank + 1) * n]

    def report(self, name: str, value: torch.Tensor) -> None:
        self.stats.report(name, value)


@dataclass(frozen=True)
class Phase:
    """One part of a step (after stylegan2-ada's `accumulate_gradients(phase, …)`): n_critic,
    weight clipping, extra networks and skipped phases are data here, never branches in the loop."""

    name: str  # also the key of its repeat count in Knobs.repeats
    optimizer: str
    trains: tuple[str, ...]  # networks whose parameters take gradients in this phase
    compute: Callable[[StepContext], Terms]  # named, unweighted loss terms
    after_step: Callable[[StepContext], None] | None = None
