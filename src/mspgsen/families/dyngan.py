"""DynGAN (seed 004) as DESIGN.md reads it: a conditional GAN over a growing partition of the
training set.

The partition, its full-pass detector (δ = 0.2: a sample whose probability exceeds 1/(1+δ) is one
D is sure is real, so the generator does not reach it), its per-source splits and k-means
refinement are families/partitioned.py's, shared with the runs `mspgsen repair` makes.
G and D are conditioned on the partition index; G is sampled in proportion to partition sizes.
The networks are DCGAN's (MLPs on points), with a one-hot condition on G and a projection term
on D; like the seed-002 families it takes `g_norm`, `d_norm`, `spectral_norm` and `r1_weight`, so
the 2-D recipe of configs/demo-grid25.yaml applies. The training set must be
finite: image sets are; for ring8 / grid25 set `data.size`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from mspgsen.contracts import Phase, StepContext, Terms
from mspgsen.errors import UserError
from mspgsen.families.adversarial import AdversarialConfig, AdversarialFamily
from mspgsen.families.base import FAMILIES, discriminator_loss, register_family, with_noise
from mspgsen.families.partitioned import PartitionedTraining, PartitionSettings
from mspgsen.nn import NetSpec
from mspgsen.nn.conditional import ConditionalGenerator, ProjectionDiscriminator
from mspgsen.objectives import NonSaturating, feature_matching, gradient_penalty, r1_penalty


@dataclass
class DynGANConfig(PartitionSettings, AdversarialConfig):
    name: str = "dyngan"
    # set by `mspgsen repair`: the family whose networks (its NetSpec) and loss this run's G and D are
    base_model: str | None = None
    gp_weight: float = 0.0  # a repaired wgan-gp / sagan-wgangp run's gradient penalty λ
    clip_value: float = 0.0  # a repaired wgan run's weight clipping c


@register_family
class DynGAN(PartitionedTraining, AdversarialFamily):
    name = "dyngan"
    rank = 70
    summary = ("conditional GAN over a growing partition of the training set: samples D stays sure of "
               "become new partitions (needs a finite set; ring8/grid25 with data.size)")
    Config = DynGANConfig
    net_spec = NetSpec(g_norm="batch", d_norm="none", dcgan_init=True)
    loss = NonSaturating()

    def __init__(self, config: DynGANConfig, shape):
        super().__init__(config, shape)
        if config.base_model:  # a repaired run trains with its base family's loss (Wasserstein for the WGANs)
            self.loss = self._base_family().loss

    def check_batch(self, batch_size: int) -> None:
        if self.config.pack > 1:
            raise UserError("dyngan's projection D scores each sample against its own partition label, so it "
                            "cannot judge packs of samples; leave model.pack at 1.")

    def networks_spec(self) -> NetSpec:
        """DynGAN's own NetSpec, or for a repaired run its base family's (so its weights fit)."""
        if not self.config.base_model:
            return super().networks_spec()
        return super().networks_spec(self._base_family().net_spec)

    def _base_family(self) -> type[AdversarialFamily]:
        base = FAMILIES.get(self.config.base_model)
        if not issubclass(base, AdversarialFamily) or issubclass(base, DynGAN):
            one_g_one_d = sorted(name for name, family in FAMILIES if family.repaired_as == self.name)
            raise UserError(f"model.base_model {self.config.base_model!r}: a repaired run's networks must be those of "
                            f"a one-G, one-D family ({', '.join(one_g_one_d)}).")
        return base

    def build_networks(self) -> dict[str, nn.Module]:
        partitions = self.config.max_partitions
        g, d = self.plain_networks(self.latent_dim() + partitions)  # z and a one-hot partition
        return {"G": ConditionalGenerator(g, partitions),
                "D": ProjectionDiscriminator(d, partitions, d.head.in_features)}

    def default_controllers(self) -> dict[str, dict[str, Any]]:
        return self.partitioner()

    @torch.no_grad()
    def generate(self, nets, latents: torch.Tensor, conditions: torch.Tensor | None = None) -> torch.Tensor:
        return nets[self.generator_key](latents, conditions)

    def discriminate(self, nets, samples: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return nets["D"](samples, labels)

    def phases(self) -> list[Phase]:
        clip = self._clip if self.clip_value() else None
        return [Phase("D", "D", ("D",), self.discriminator_terms, after_step=clip),
                Phase("G", "G", ("G",), self.generator_terms)]

    def discriminator_terms(self, ctx: StepContext) -> Terms:
        self.remember_context(ctx)
        batch = ctx.real()
        real_labels = self.real_partitions(ctx, batch)
        fake_labels = self.sample_partitions(ctx, len(batch.x), ctx.nets["G"])
        with torch.no_grad():
            fake = ctx.nets["G"](ctx.latents(len(batch.x)), fake_labels)
        noise = ctx.knobs.noise()
        real_scores = ctx.nets["D"](with_noise(batch.x, noise), real_labels)
        fake_scores = ctx.nets["D"](with_noise(fake, noise), fake_labels)
        self.observe_real(batch, real_scores)
        terms = {"D/adv": discriminator_loss(ctx, self.loss, real_scores, fake_scores,
                                                 samples=(batch.x, fake))}
        if self.gp_weight():  # on interpolates scored under the real end's partition
            terms["D/gp"] = gradient_penalty(lambda x: ctx.nets["D"](x, real_labels), batch.x, fake)
        if self.config.r1_weight and ctx.due(self.config.r1_every):
            terms["D/r1"] = r1_penalty(lambda x: ctx.nets["D"](x, real_labels), batch.x)
        return terms

    def generator_terms(self, ctx: StepContext) -> Terms:
        labels = self.sample_partitions(ctx, ctx.batch_size, ctx.nets["G"])
        fake = ctx.nets["G"](ctx.latents(), labels)
        terms = {"G/adv": self.loss.generator(ctx.nets["D"](with_noise(fake, ctx.knobs.noise()), labels))}
        if ctx.knobs.weight("G/fm") > 0:  # on D's unconditional features, as the one-D families do
            features = ctx.nets["D"].features
            terms["G/fm"] = feature_matching(features(ctx.real().x).flatten(1), features(fake).flatten(1))
        return terms
