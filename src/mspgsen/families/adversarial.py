"""The common shape of the seed-002 families: one G, one D, an adversarial loss and its regularisers.

A family in this mould declares a NetSpec (norms, spectral norm, attention), a loss and, where
it has them, a gradient-penalty weight or a clipping limit. Everything else is shared.
"""
from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import nn

from mspgsen.config import FamilyConfig, setting
from mspgsen.contracts import DataShape, Family, Knobs, Phase, StepContext, Terms
from mspgsen.errors import UserError
from mspgsen.families.base import discriminator_loss, with_noise
from mspgsen.nn import ConvDiscriminator, ConvGenerator, MLPDiscriminator, MLPGenerator, NetSpec
from mspgsen.nn.packing import PackedDiscriminator, packed_shape
from mspgsen.objectives import (AdversarialLoss, clip_weights, eager, feature_matching, gradient_penalty,
                                 r1_of_scores)


@dataclass
class AdversarialConfig(FamilyConfig):
    """Keys of every family in this mould, on top of FamilyConfig's."""

    g_norm: Literal["family", "batch", "layer", "none"] = "family"  # G's norm layers; "family": its paper's
    d_norm: Literal["family", "batch", "layer", "none"] = "family"  # D's norm layers, likewise
    r1_weight: float = 0.0  # γ of the R1 penalty (γ/2)·E‖∇D(x)‖² on real samples; 0: off
    # R1 on every N-th step only, weighted N×: StyleGAN2's lazy regularisation (Karras et al. 2020,
    # sec. 3.1), which saves its double backward on the other N−1 steps
    r1_every: int = setting(1, low=1)
    spectral_norm: Literal["family", "both", "g", "d", "none"] = "family"  # which sides get it; "family": its paper's
    bias: bool = True  # biases in the conv layers; false gives pytorch/examples' DCGAN layout exactly
    pack: int = setting(1, low=1)  # PacGAN: D judges this many samples at once (1: one, as published)
    minibatch_std: bool = False  # D's head also reads the batch's feature spread (Karras et al. 2018)
    # D's conv width where it differs from G's (model.width); a small D is VEEGAN's and PacGAN's
    # deliberately collapsing Stacked MNIST baseline (a quarter of G's width)
    d_width: int | None = setting(None, low=1)


class AdversarialFamily(Family):
    net_spec: ClassVar[NetSpec] = NetSpec()
    loss: ClassVar[AdversarialLoss]
    applies = frozenset({"noise", "G/fm"})
    repaired_as = "dyngan"

    def gp_weight(self) -> float:
        return getattr(self.config, "gp_weight", 0.0)

    def clip_value(self) -> float:
        return getattr(self.config, "clip_value", 0.0)

    def networks_spec(self, paper: NetSpec | None = None) -> NetSpec:
        """The family's NetSpec (or `paper`) with the norm layers and spectral norm the config chose
        in place of the paper's."""
        cfg = self.config
        chosen = {side: getattr(cfg, side) for side in ("g_norm", "d_norm") if getattr(cfg, side) != "family"}
        if cfg.spectral_norm != "family":
            chosen.update(g_spectral_norm=cfg.spectral_norm in ("both", "g"),
                          d_spectral_norm=cfg.spectral_norm in ("both", "d"))
        return dataclasses.replace(paper or self.net_spec, bias=cfg.bias, minibatch_std=cfg.minibatch_std, **chosen)

    def check_batch(self, batch_size: int) -> None:
        pack = self.config.pack
        if batch_size % pack:
            raise UserError(f"model.pack={pack} makes D judge packs of {pack} samples, so the batch must hold whole "
                            f"packs; a process's batch is {batch_size}. Choose a batch size divisible by {pack}.")

    def build_networks(self) -> dict[str, nn.Module]:
        generator, discriminator = self.plain_networks(self.latent_dim())
        return {"G": generator, "D": discriminator}

    def discriminate(self, nets, samples: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """One score per sample; under packing, each sample gets its pack's."""
        discriminator = nets["D"]
        if isinstance(discriminator, PackedDiscriminator):
            return discriminator.per_sample(samples)
        return discriminator(samples)

    def plain_networks(self, generator_inputs: int) -> tuple[nn.Module, nn.Module]:
        """G (reading `generator_inputs` numbers) and D for this data: MLPs on points, convs on images."""
        cfg, spec, shape = self.config, self.networks_spec(), self.shape
        if shape.kind == "points":
            generator = MLPGenerator(generator_inputs, shape.dims[0], cfg.mlp_width, cfg.mlp_depth, spec)
        else:
            generator = ConvGenerator(shape, generator_inputs, cfg.width, spec)
        return generator, self._discriminator(packed_shape(shape, cfg.pack), spec)

    def _discriminator(self, shape: DataShape, spec: NetSpec) -> nn.Module:
        """D for `shape` (a pack's shape when packing), wrapped to take samples when packing."""
        cfg = self.config
        if shape.kind == "points":
            discriminator = MLPDiscriminator(shape.dims[0], cfg.mlp_width, cfg.mlp_depth, spec)
        else:
            discriminator = ConvDiscriminator(shape, cfg.d_width or cfg.width, spec)
        return PackedDiscriminator(discriminator, cfg.pack) if cfg.pack > 1 else discriminator

    def default_knobs(self) -> Knobs:
        knobs = super().default_knobs()
        if self.gp_weight():
            knobs.loss_weights["D/gp"] = self.gp_weight()
        if self.config.r1_weight:
            knobs.loss_weights["D/r1"] = self.config.r1_weight / 2 * self.config.r1_every
        return knobs

    def phases(self) -> list[Phase]:
        clip = self._clip if self.clip_value() else None
        return [Phase("D", "D", ("D",), self.discriminator_terms, after_step=clip),
                Phase("G", "G", ("G",), self.generator_terms)]

    def discriminator_terms(self, ctx: StepContext) -> Terms:
        real = ctx.real().x
        with torch.no_grad():
            fake = ctx.nets["G"](ctx.latents(len(real)))
        real_in, fake_in = with_noise(real, ctx.knobs.noise()), with_noise(fake, ctx.knobs.noise())
        r1_due = self.config.r1_weight > 0 and ctx.due(self.config.r1_every)
        if r1_due:  # R1 reads the gradient of the forward D's loss uses, so D reads the real batch once
            real_in = real_in.detach().requires_grad_(True)
        with eager() if r1_due else nullcontext():  # compiled graphs have no double backward
            real_scores = ctx.nets["D"](real_in)
        fake_scores = ctx.nets["D"](fake_in)
        terms = {"D/adv": discriminator_loss(ctx, self.loss, real_scores, fake_scores, samples=(real, fake))}
        if self.gp_weight():
            terms["D/gp"] = gradient_penalty(ctx.nets["D"], real_in, fake_in, self.config.pack)
        if r1_due:
            terms["D/r1"] = r1_of_scores(real_scores, real_in, self.config.pack)
        return terms

    def generator_terms(self, ctx: StepContext) -> Terms:
        fake = ctx.nets["G"](ctx.latents())
        terms = {"G/adv": self.loss.generator(ctx.nets["D"](with_noise(fake, ctx.knobs.noise())))}
        if ctx.knobs.weight("G/fm") > 0:
            features = ctx.nets["D"].features
            terms["G/fm"] = feature_matching(features(ctx.real().x).flatten(1), features(fake).flatten(1))
        return terms

    def _clip(self, ctx: StepContext) -> None:
        clip_weights(ctx.nets["D"], self.clip_value())

