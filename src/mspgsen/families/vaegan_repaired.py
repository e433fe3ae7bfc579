"""`mspgsen repair` of a vaegan run: the VAE-GAN trained on over DynGAN's partitions.

The networks are the base run's (the same model config). G, the decoder, reads a one-hot
partition index beside its latent code, and D gets a projection head (`ProjectionDiscriminator`,
starting at zero); the encoder E and the reconstruction network R are kept as they are. A
reconstruction G(E(x)) is decoded under x's own partition, a prior sample under one drawn in
proportion to partition sizes; D judges each under the label it was made with. So before its
first step the repaired run computes exactly what the base run did, and every loss term of
seed 003 stays. `mspgsen reconstruct` gives a new image the partition of its nearest centroid in
D's feature space (`Partition.assign`).

The partition, its detector and its splits are those of families/partitioned.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mspgsen.contracts import StepContext, Terms
from mspgsen.families.base import register_family
from mspgsen.families.partitioned import PartitionedTraining, PartitionSettings, pooled
from mspgsen.families.vaegan import VAEGAN, VAEGANConfig
from mspgsen.nn.conditional import ConditionalGenerator, ProjectionDiscriminator


@dataclass
class RepairedVAEGANConfig(PartitionSettings, VAEGANConfig):
    name: str = "vaegan-repaired"


@register_family
class RepairedVAEGAN(PartitionedTraining, VAEGAN):
    name = "vaegan-repaired"
    rank = 91
    aliases = ()
    made_by_repair = True  # left out of studies of every family (families.study_families)
    summary = "a vaegan run trained on over the partitions its generator misses (made by `mspgsen repair`)"
    Config = RepairedVAEGANConfig

    def build_networks(self) -> dict[str, nn.Module]:
        partitions = self.config.max_partitions
        nets = self.networks(g_extra_inputs=partitions)
        discriminator = nets["D"]
        nets["G"] = ConditionalGenerator(nets["G"], partitions)
        nets["D"] = ProjectionDiscriminator(discriminator, partitions, discriminator.head.in_features)
        return nets

    def default_controllers(self) -> dict[str, dict[str, Any]]:
        return self.partitioner()

    @torch.no_grad()
    def generate(self, nets, latents: torch.Tensor, conditions: torch.Tensor | None = None) -> torch.Tensor:
        return nets[self.generator_key](latents, conditions)

    @torch.no_grad()
    def reconstruct(self, nets, x: torch.Tensor) -> torch.Tensor:
        """x decoded under the partition of its nearest centroid in D's features."""
        _, features = nets["D"].score_and_features(x)
        return self.generate(nets, self.encode(nets, x), self.partition.assign(pooled(features)))

    def discriminator_terms(self, ctx: StepContext) -> Terms:
        self.remember_context(ctx)
        return super().discriminator_terms(ctx)

    def _real_labels(self, ctx: StepContext, batch) -> torch.Tensor:
        return self.real_partitions(ctx, batch)

    def _prior_labels(self, ctx: StepContext, n: int) -> torch.Tensor:
        return self.sample_partitions(ctx, n, ctx.nets["G"])

    def _decode(self, nets, latents: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return nets["G"](latents, labels)

    def _judge(self, nets, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return nets["D"](x, labels)

    def _score_of(self, nets, last: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return nets["D"].score_of(last, labels)

    def _critic_body(self, nets) -> nn.Module:
        return nets["D"].base

    def _observe_real(self, batch, real_scores: torch.Tensor) -> None:
        self.observe_real(batch, real_scores)
