"""`mspgsen repair` of an mspgsen run: MSPG-SEN trained on over DynGAN's partitions.

The networks are the base run's (the same model config), and mspgsen's conditional path carries
the partition index instead of a class: G's class embedding on images (a one-hot beside z on
points), and a projection head on D. That head is `ProjectedCritic`'s, unnormalised and starting at
zero, where mspgsen's own conditional D has a spectral-normed embedding, which cannot start at
zero; so before its first step the repaired run computes exactly what the base run did. Label
dropout (`model.label_dropout`) drops partition labels to the null label as it drops classes.

The partition, its detector (a full pass of D over the training set) and its splits are those of
families/partitioned.py. What belongs to the start of the base run is over: the repaired run
trains at full size (no progressive growth) without instance noise; APFL and BALANCE run where the
base config has them, from a fresh state (their counters are the base run's steps).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mspgsen.contracts import DataShape, Knobs, StepContext, Terms
from mspgsen.families.base import register_family
from mspgsen.families.mspgsen import MSPGSEN, MSPGSENConfig
from mspgsen.families.partitioned import PartitionedTraining, PartitionSettings
from mspgsen.nn.conditional import ConditionalGenerator, ProjectedCritic
from mspgsen.nn.pyramid import downsample_pyramid


@dataclass
class RepairedMSPGSENConfig(PartitionSettings, MSPGSENConfig):
    name: str = "mspgsen-repaired"


@register_family
class RepairedMSPGSEN(PartitionedTraining, MSPGSEN):
    name = "mspgsen-repaired"
    rank = 90
    aliases = ()
    made_by_repair = True  # left out of studies of every family (families.study_families)
    summary = "an mspgsen run trained on over the partitions its generator misses (made by `mspgsen repair`)"
    Config = RepairedMSPGSENConfig
    ablation_components = ()

    def __init__(self, config: RepairedMSPGSENConfig, shape: DataShape):
        super().__init__(config, shape)  # with the partition (PartitionedTraining)
        self.num_classes = config.max_partitions  # the partitions are the classes; index max_partitions is null

    def build_networks(self) -> dict[str, nn.Module]:
        labels = self.num_classes + 1  # the partitions and label dropout's null label
        if self.shape.kind == "points":
            nets = self.networks(0, 0, g_extra_inputs=labels)
            generator = ConditionalGenerator(nets["G"], labels)
        else:
            nets = self.networks(self.num_classes, 0)
            generator = ConditionalGenerator(nets["G"], labels, one_hot=False)
        nets["G"], nets["D"] = generator, ProjectedCritic(nets["D"], labels)
        return nets

    def grows(self) -> bool:
        return False  # the base run has grown

    def default_knobs(self) -> Knobs:
        knobs = super().default_knobs()
        knobs.noise_std = 0.0  # the base run's noise plan ended at 0
        return knobs

    def default_controllers(self) -> dict[str, dict[str, Any]]:
        kept = {name: settings for name, settings in super().default_controllers().items()
                if name in ("apfl", "balance")}
        return {**kept, **self.partitioner()}

    def score_and_features(self, nets, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        critic = nets["D"]
        if self.shape.kind == "images":
            x = downsample_pyramid(x, self._sizes(), critic.read_scales)
        return critic.score_and_features(x, labels)

    def discriminator_terms(self, ctx: StepContext) -> Terms:
        self.remember_context(ctx)
        return super().discriminator_terms(ctx)

    def _pyramid_generator(self, nets) -> nn.Module:
        return nets["G"].base

    def _real_labels(self, ctx: StepContext, batch) -> torch.Tensor:
        return self._drop_labels(self.real_partitions(ctx, batch))

    def _fake_labels(self, ctx: StepContext, n: int) -> torch.Tensor:
        return self._drop_labels(self.sample_partitions(ctx, n, ctx.nets["G"]))

    def _observe_real(self, batch, real_scores: torch.Tensor) -> None:
        self.observe_real(batch, real_scores)
