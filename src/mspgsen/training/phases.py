"""A training step is a list of phases (after stylegan2-ada's `accumulate_gradients(phase, …)`).

Each phase names the networks it trains and the optimiser that steps them, and computes a
dict of named, unweighted loss terms. n_critic, weight clipping, extra networks and skipped
phases are all data here, never branches in the loop.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from mspgsen.data.base import Batch, BatchStream
from mspgsen.training.distributed import SINGLE, PhaseNets, World
from mspgsen.training.knobs import Knobs
from mspgsen.training.stats import StatsCollector

Terms = dict[str, torch.Tensor]


@dataclass
class StepContext:
    """What a phase may use: the networks, the knobs, real batches, latents, the stats stream."""

    nets: nn.ModuleDict
    knobs: Knobs
    stream: BatchStream
    latent_dim: int
    batch_size: int
    device: torch.device
    stats: StatsCollector
    world: World = SINGLE  # the processes of a distributed run
    wrapped: dict[str, nn.Module] = field(default_factory=dict)  # DDP wrappers of the trainable networks
    _views: dict[str, "StepContext"] = field(default_factory=dict, repr=False)

    def for_phase(self, phase: "Phase") -> "StepContext":
        """The context a phase computes in: in a distributed run its trained networks answer
        through DDP (gradients averaged over processes), the frozen ones bare."""
        if not self.wrapped:
            return self
        if phase.name not in self._views:
            self._views[phase.name] = dataclasses.replace(
                self, nets=PhaseNets(self.nets, self.wrapped, phase.trains), _views={})
        return self._views[phase.name]

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
    name: str  # also the key of its repeat count in Knobs.repeats
    optimizer: str
    trains: tuple[str, ...]  # networks whose parameters take gradients in this phase
    compute: Callable[[StepContext], Terms]
    after_step: Callable[[StepContext], None] | None = None
