"""A training step is a list of phases (after stylegan2-ada's `accumulate_gradients(phase, …)`).

Each phase names the networks it trains and the optimiser that steps them, and computes a
dict of named, unweighted loss terms. n_critic, weight clipping, extra networks and skipped
phases are all data here, never branches in the loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from mspgsen.data.base import Batch, BatchStream
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

    def real(self) -> Batch:
        return self.stream.next()

    def latents(self, n: int | None = None) -> torch.Tensor:
        return torch.randn(n or self.batch_size, self.latent_dim, device=self.device)

    def report(self, name: str, value: torch.Tensor) -> None:
        self.stats.report(name, value)


@dataclass(frozen=True)
class Phase:
    name: str  # also the key of its repeat count in Knobs.repeats
    optimizer: str
    trains: tuple[str, ...]  # networks whose parameters take gradients in this phase
    compute: Callable[[StepContext], Terms]
    after_step: Callable[[StepContext], None] | None = None
