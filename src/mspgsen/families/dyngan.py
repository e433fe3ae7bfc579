"""DynGAN (seed 004) as DESIGN.md reads it: a conditional GAN over a growing partition of the
training set.

D's probability on every real sample it sees is smoothed per sample (EMA, λ = 0.1) in the family's
`Partition` (families/partition.py, saved in the checkpoint). Every `repartition_every` steps the
`dyngan-partitioner` controller has it take the samples whose smoothed probability exceeds 1/(1+δ)
(δ = 0.2): D is sure they are real, i.e. the generator does not reach them ("collapsed samples").
If they are at least `min_flagged` of the set, they become a new partition (up to
`max_partitions`). G and D are conditioned on the partition index; G is sampled in proportion to
partition sizes. The networks are DCGAN's (MLPs on points), with a one-hot condition on G and a
projection term on D; like the seed-002 families it takes `g_norm`, `d_norm`, `spectral_norm` and
`r1_weight`, so the 2-D recipe of configs/demo-grid25.yaml applies. The training set must be
finite: image sets are; for ring8 / grid25 set `data.size`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mspgsen.config import setting
from mspgsen.contracts import DataShape, Phase, StepContext, Terms
from mspgsen.errors import UserError
from mspgsen.families.adversarial import AdversarialConfig, AdversarialFamily
from mspgsen.families.base import discriminator_loss, register_family
from mspgsen.families.partition import Partition
from mspgsen.metrics.collapse import DEFAULT_DELTA
from mspgsen.nn import NetSpec
from mspgsen.nn.conditional import OneHotConditionalGenerator, ProjectionDiscriminator
from mspgsen.objectives import NonSaturating, r1_penalty

@dataclass
class DynGANConfig(AdversarialConfig):
    name: str = "dyngan"
    max_partitions: int = setting(30, low=1)
    repartition_every: int = setting(3000, low=1)  # steps between partition splits
    # λ: weight of the newest D probability in a sample's smoothed score
    score_ema: float = setting(0.1, low_open=True, high=1)
    # a sample is collapsed when its smoothed probability exceeds 1/(1+δ) (metrics/collapse.py)
    delta: float = setting(DEFAULT_DELTA, low_open=True)
    min_flagged: float = setting(0.01, high=1)  # a new partition needs at least this share of the training set


@register_family
class DynGAN(AdversarialFamily):
    name = "dyngan"
    summary = ("conditional GAN over a growing partition of the training set: samples D stays sure of "
               "become new partitions (needs a finite set; ring8/grid25 with data.size)")
    Config = DynGANConfig
    net_spec = NetSpec(g_norm="batch", d_norm="none", dcgan_init=True)
    loss = NonSaturating()
    single_process_only = ("it scores every training sample in its partition knob, and each process would "
                           "score only its own share")

    def __init__(self, config: DynGANConfig, shape: DataShape):
        super().__init__(config, shape)
        self.partition = Partition(shape.samples, config.delta, config.min_flagged, config.max_partitions,
                                   config.score_ema)

    def check_shape(self, shape: DataShape) -> None:
        super().check_shape(shape)
        if shape.samples == 0:
            raise UserError("dyngan partitions a finite training set; for ring8 / grid25 set one with "
                            "--set data.size=10000 (image data sets are finite already).")

    def check_batch(self, batch_size: int) -> None:
        if self.config.pack > 1:
            raise UserError("dyngan's projection D scores each sample against its own partition label, so it "
                            "cannot judge packs of samples; leave model.pack at 1.")

    def build_networks(self) -> dict[str, nn.Module]:
        partitions = self.config.max_partitions
        g, d = self.plain_networks(self.latent_dim() + partitions)  # z and a one-hot partition
        return {"G": OneHotConditionalGenerator(g, partitions),
                "D": ProjectionDiscriminator(d, partitions, d.head.in_features)}

    def default_controllers(self) -> dict[str, dict[str, Any]]:
        return {"dyngan-partitioner": {"split": self.partition.split_collapsed, "every": self.config.repartition_every}}

    def state_dict(self) -> dict[str, Any]:
        return {"partition": self.partition.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "partition" in state:
            self.partition.load_state_dict(state["partition"])

    def sample_conditions(self, n: int, rng: torch.Generator, generator: nn.Module | None = None
                          ) -> torch.Tensor | None:
        weights = generator.class_weights.detach().cpu() if generator is not None else None
        return None if weights is None else torch.multinomial(weights, n, replacement=True, generator=rng)

    @torch.no_grad()
    def generate(self, nets, latents: torch.Tensor, conditions: torch.Tensor | None = None) -> torch.Tensor:
        return nets[self.generator_key](latents, conditions)

    def discriminate(self, nets, samples: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return nets["D"](samples, labels)

    def phases(self) -> list[Phase]:
        return [Phase("D", "D", ("D",), self.discriminator_terms), Phase("G", "G", ("G",), self.generator_terms)]

    def discriminator_terms(self, ctx: StepContext) -> Terms:
        batch = ctx.real()
        partition = self.partition.to(ctx.device)
        real_labels = partition.labels[batch.index]
        fake_labels = self._sample_labels(ctx, len(batch.x))
        with torch.no_grad():
            fake = ctx.nets["G"](ctx.latents(len(batch.x)), fake_labels)
        real_scores, fake_scores = ctx.nets["D"](batch.x, real_labels), ctx.nets["D"](fake, fake_labels)
        partition.observe(batch.index, torch.sigmoid(real_scores.detach().float()))  # the collapse detector's input
        terms = {"D/adv": discriminator_loss(ctx, self.loss, real_scores, fake_scores,
                                                 samples=(batch.x, fake))}
        if self.config.r1_weight:
            terms["D/r1"] = r1_penalty(lambda x: ctx.nets["D"](x, real_labels), batch.x)
        return terms

    def generator_terms(self, ctx: StepContext) -> Terms:
        labels = self._sample_labels(ctx, ctx.batch_size)
        fake = ctx.nets["G"](ctx.latents(), labels)
        return {"G/adv": self.loss.generator(ctx.nets["D"](fake, labels))}

    def _sample_labels(self, ctx: StepContext, n: int) -> torch.Tensor:
        """Partition indices in proportion to partition sizes (kept in G, so samplers see them too)."""
        sizes = self.partition.to(ctx.device).sizes()
        ctx.nets["G"].class_weights.copy_(sizes)
        return torch.multinomial(sizes, n, replacement=True)
