"""MSPG-SEN (seed 001) as we read it in DESIGN.md: multi-scale progressive G of GCTDRN blocks with
DEMA attention, a D that reads every scale, AFE's auxiliary critic, a conditional path, and the
training settings docs/design.md gives with their measurements (AdamW, a fast G against a slow D,
EMA 0.9999, 10% label dropout; the paper's linear instance-noise plan is there, off by default).

Each component is one config flag (`dema`, `gctdrn`, `afe`, `multiscale`, `progressive`,
`conditional`, and the controllers the paper makes part of the model, `apfl` and `balance`), so
an ablation is one `--set` each. The adversarial loss is the paper's
non-saturating one (eq. 10-11, 17); AFE's terms are the sums of eq. 18-20 (eq. 18 repaired: its
first term on real images at the scale D_aux reads), each logged by name; L_LGCL (eq. 7) joins
G's loss.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mspgsen.contracts import DataShape, Family, Knobs, OptimizerPlan, Phase, StepContext, Terms
from mspgsen.errors import UserError
from mspgsen.families.base import discriminator_loss, register_family, with_noise
from mspgsen.families.mspgsen_config import MSPGSENConfig
from mspgsen.nn.multiscale import (AuxiliaryDiscriminator, GeneratorOutput, MultiScaleDiscriminator,
                                   MultiScaleGenerator, middle_scale, scale_sizes)
from mspgsen.nn.pyramid import Pyramid, downsample_pyramid, fade_pyramid
from mspgsen.nn.token_mlp import PointDiscriminator, TokenMLPGenerator
from mspgsen.objectives import NonSaturating, layered_feature_matching, r1_penalty


SMALL_IMAGE_SIDE, SMALL_IMAGE_WIDTH, LARGE_IMAGE_WIDTH = 32, 12, 64
SMALL_IMAGE_D_WIDTH = 16
__all__ = ["MSPGSEN", "MSPGSENConfig"]


@register_family
class MSPGSEN(Family):
    name = "mspgsen"
    rank = 0
    aliases = ("mspg-sen",)
    summary = ("multi-scale progressive G of GCTDRN blocks with DEMA, multi-scale D, AFE auxiliary critic, "
               "conditional path, AdamW, EMA 0.9999")
    Config = MSPGSENConfig
    loss = NonSaturating()
    ablation_components = ("dema", "gctdrn", "afe", "apfl", "balance")
    applies = frozenset({"noise", "G/fm", "level"})
    repaired_as = "mspgsen-repaired"

    def __init__(self, config: MSPGSENConfig, shape: DataShape):
        super().__init__(config, shape)
        self.num_classes = shape.num_classes if config.conditional and shape.kind == "images" else 0

    # --- networks -------------------------------------------------------------------------------

    def build_networks(self) -> dict[str, nn.Module]:
        return self.networks(self.num_classes, self.num_classes)

    def networks(self, g_classes: int, d_classes: int, g_extra_inputs: int = 0) -> dict[str, nn.Module]:
        """G, D (and D_aux): G with a class embedding of `g_classes` labels (images) or reading
        `g_extra_inputs` more inputs beside z (points), D with a projection head of `d_classes`."""
        cfg, shape = self.config, self.shape
        latent, d_spectral_norm = self.latent_dim(), cfg.spectral_norm == "d"
        if shape.kind == "points":
            if cfg.mlp_width % cfg.tokens:
                raise UserError(f"model.mlp_width {cfg.mlp_width} must be a multiple of model.tokens {cfg.tokens}.")
            nets = {"G": TokenMLPGenerator(latent + g_extra_inputs, shape.dims[0], cfg.mlp_width, cfg.mlp_depth,
                                           cfg.tokens, gctdrn=cfg.gctdrn, dema=cfg.dema, afe=cfg.afe,
                                           norm=cfg.g_norm, pre=cfg.g_pre),
                    "D": PointDiscriminator(shape.dims[0], cfg.mlp_width, cfg.mlp_depth,
                                            spectral_norm=d_spectral_norm)}
            if cfg.afe:
                nets["D_aux"] = PointDiscriminator(shape.dims[0], cfg.mlp_width // 2, 2, diversity=True,
                                                   spectral_norm=d_spectral_norm)
            return nets
        sizes = scale_sizes(shape)
        width = self.image_width()
        d_width = cfg.d_width or (SMALL_IMAGE_D_WIDTH if max(shape.size) <= SMALL_IMAGE_SIDE else width)
        every_scale = cfg.multiscale or self.grows()  # progressive fades between neighbouring scales
        heads = set(range(len(sizes))) if every_scale else {len(sizes) - 1}
        if cfg.afe:
            heads.add(middle_scale(sizes))
        nets = {"G": MultiScaleGenerator(shape, latent, width, head_scales=sorted(heads),
                                         num_classes=g_classes, gctdrn=cfg.gctdrn, dema=cfg.dema, afe=cfg.afe,
                                         norm=cfg.g_norm, pre=cfg.g_pre, upsampling=cfg.g_upsample),
                "D": MultiScaleDiscriminator(shape, d_width, multiscale=cfg.multiscale, progressive=self.grows(),
                                             num_classes=d_classes, dema=cfg.dema, spectral_norm=d_spectral_norm,
                                             minibatch_std_group=cfg.minibatch_std_group, batch_norm=cfg.d_norm == "batch")}
        if cfg.afe:
            nets["D_aux"] = AuxiliaryDiscriminator(shape.channels, sizes[middle_scale(sizes)], d_width,
                                                   spectral_norm=d_spectral_norm)
        return nets

    def image_width(self) -> int:
        if self.config.width is not None:
            return self.config.width
        return SMALL_IMAGE_WIDTH if max(self.shape.size) <= SMALL_IMAGE_SIDE else LARGE_IMAGE_WIDTH

    def optimizers(self) -> dict[str, OptimizerPlan]:
        critics = ("D", "D_aux") if self.config.afe else ("D",)
        return {"G": OptimizerPlan(("G",), self.config.optim_g), "D": OptimizerPlan(critics, self.config.optim_d)}

    def default_knobs(self) -> Knobs:
        knobs = super().default_knobs()
        knobs.loss_weights.update({"G/aux_critic": self.config.aux_weight, "G/lgcl": self.config.contrastive_weight})
        knobs.noise_std = self.config.instance_noise
        if self.config.r1_weight:
            knobs.loss_weights["D/r1"] = self.config.r1_weight / 2 * self.config.r1_every
        if self.grows():
            knobs.level, knobs.scales = 0.0, len(self._sizes())
        return knobs

    def default_controllers(self) -> dict[str, dict[str, Any]]:
        controllers = {}
        if self.config.lr_decay:
            controllers["linear-lr-decay"] = {}
        if self.config.instance_noise > 0:
            controllers["linear-noise"] = {"start": self.config.instance_noise}
        if self.grows():
            controllers["progressive-growth"] = {"grow_fraction": self.config.grow_fraction}
        if self.config.apfl:
            controllers["apfl"] = {}
        if self.config.balance:
            controllers["balance"] = {}
        return controllers

    def levers(self) -> frozenset[str]:
        return super().levers() if self.grows() else super().levers() - {"level"}

    def grows(self) -> bool:
        """Whether G grows: `model.progressive`, or when unset, images larger than 32x32."""
        if self.shape.kind != "images":
            return False
        chosen = self.config.progressive
        return max(self.shape.size) > SMALL_IMAGE_SIDE if chosen is None else chosen

    # --- sampling -------------------------------------------------------------------------------

    def sample_conditions(self, n: int, rng: torch.Generator, generator: nn.Module | None = None
                          ) -> torch.Tensor | None:
        return torch.randint(self.num_classes, (n,), generator=rng) if self.num_classes else None

    @torch.no_grad()
    def generate(self, nets, latents: torch.Tensor, conditions: torch.Tensor | None = None) -> torch.Tensor:
        return nets[self.generator_key](latents, conditions).final

    def discriminate(self, nets, samples: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.shape.kind == "points":
            return nets["D"](samples)
        sizes = self._sizes()
        return nets["D"](downsample_pyramid(samples, sizes, nets["D"].read_scales), labels)

    # --- the step -------------------------------------------------------------------------------

    def phases(self) -> list[Phase]:
        return [Phase("D", "D", ("D", "D_aux"), self.discriminator_terms), Phase("G", "G", ("G",), self.generator_terms)]

    def discriminator_terms(self, ctx: StepContext) -> Terms:
        """Eq. 17, L_D = −E[log D_main(x_real)] − E[log(1 − D_main(G(z)))], as `D/adv`; with AFE,
        eq. 18 as `D/aux`. Eq. 18 as printed puts both of its terms on F_gen,
            L_Daux = −E[log D_aux(F_gen)] − E[log(1 − D_aux(F_gen))],
        which any D_aux minimises by answering 1/2; we read its first term on the real side, the
        real images at the scale D_aux reads (real points on 2-D data):
            L_Daux = −E[log D_aux(F_real)] − E[log(1 − D_aux(F_gen))]."""
        batch = ctx.real()
        real_labels = self._real_labels(ctx, batch)
        fake_labels = self._fake_labels(ctx, len(batch.x))
        with torch.no_grad():
            fake = self._generate(ctx, len(batch.x), fake_labels)
        real = self._real_pyramid(ctx, batch.x)
        # Real and generated batches go through each critic in one call: D normalises each half by its
        # own batch statistics and D_aux takes its minibatch spread per half (groups=2), so the scores
        # are those of two calls, while a CPU step, dominated by many small operations, does each once.
        n = len(batch.x)
        both = _noisy(_joined(real, fake.pyramid), ctx.knobs.noise())
        labels = None if real_labels is None else torch.cat([real_labels, fake_labels])
        scores = self._critic(ctx, both, labels, groups=2)
        self._observe_real(batch, scores[:n])
        terms = {"D/adv": discriminator_loss(ctx, self.loss, scores[:n], scores[n:], samples=(batch.x, fake.final))}
        if self.config.afe:
            aux = ctx.nets["D_aux"](torch.cat([self._real_middle(real, batch.x), fake.middle]), groups=2)
            terms["D/aux"] = self.loss.discriminator(aux[:n], aux[n:])
        if self.config.r1_weight and ctx.due(self.config.r1_every):
            terms["D/r1"] = r1_penalty(lambda x: self._critic(ctx, self._real_pyramid(ctx, x), real_labels), batch.x)
        return terms

    def generator_terms(self, ctx: StepContext) -> Terms:
        """Eq. 19, L_G = −E[log D_main(G(z))] − E[log D_aux(F_gen)], as `G/adv` + `G/aux`, and eq. 20,
        L_G^total = L_G + λ_aux·L_Daux, whose second term is `G/aux_critic` (weight λ_aux =
        `model.aux_weight`): D_aux's own loss (eq. 18, real side as read above) on this step's
        samples. Its generated half pulls D_aux(F_gen) down while eq. 19 pushes it up, so the sum
        sets G's target for D_aux(F_gen) at 1/(1 + λ_aux), not 1. Plus L_LGCL (`G/lgcl`, eq. 7) and,
        when APFL asks, L_FM (`G/fm`, eq. 12)."""
        labels = self._fake_labels(ctx, ctx.batch_size)
        fake = self._generate(ctx, ctx.batch_size, labels)
        terms = {"G/adv": self.loss.generator(self._critic(ctx, _noisy(fake.pyramid, ctx.knobs.noise()), labels))}
        needs_real = ctx.knobs.weight("G/fm") > 0 or self.config.afe
        real_x = ctx.real().x if needs_real else None
        real = self._real_pyramid(ctx, real_x) if needs_real else None
        if ctx.knobs.weight("G/fm") > 0:  # eq. 12, asked for by the APFL controller
            terms["G/fm"] = layered_feature_matching(self._critic_layers(ctx, real),
                                                     self._critic_layers(ctx, fake.pyramid))
        if self.config.afe:
            fake_aux = ctx.nets["D_aux"](fake.middle)
            with torch.no_grad():  # the real half of L_Daux has no gradient for G; it is there for its value
                real_aux = ctx.nets["D_aux"](self._real_middle(real, real_x))
            terms["G/aux"] = self.loss.generator(fake_aux)
            terms["G/aux_critic"] = self.loss.discriminator(real_aux, fake_aux)
        if fake.paths:
            blocks = [block.attention for block in self._pyramid_generator(ctx.nets).blocks
                      if block.attention is not None]
            losses = [dema.contrastive_loss(paths, self.config.contrastive_temperature)
                      for dema, paths in zip(blocks, fake.paths)]
            terms["G/lgcl"] = torch.stack(losses).mean()
        return terms

    # --- helpers --------------------------------------------------------------------------------

    def _generate(self, ctx: StepContext, n: int, labels: torch.Tensor | None) -> GeneratorOutput:
        if ctx.knobs.level is not None and self.grows():
            self._pyramid_generator(ctx.nets).level.fill_(ctx.knobs.level)
        return ctx.nets["G"](ctx.latents(n), labels)

    def _pyramid_generator(self, nets) -> nn.Module:
        """The MultiScaleGenerator (or TokenMLPGenerator) in nets["G"] (a repaired run wraps it)."""
        return nets["G"]

    def _growth_level(self, ctx: StepContext) -> float | None:
        """The progressive level D runs at (it skips the scales above it); None: full size."""
        return ctx.knobs.level if self.grows() else None

    def _critic(self, ctx: StepContext, pyramid: Pyramid, labels: torch.Tensor | None, groups: int = 1
                ) -> torch.Tensor:
        """D's scores; `groups`: the batch is that many equal parts (real, generated)."""
        if self.shape.kind == "points":
            return ctx.nets["D"](pyramid, labels)
        return ctx.nets["D"](pyramid, labels, level=self._growth_level(ctx), groups=groups)

    def _critic_layers(self, ctx: StepContext, pyramid: Pyramid) -> list[torch.Tensor]:
        if self.shape.kind == "points":
            return ctx.nets["D"].layer_features(pyramid)
        return ctx.nets["D"].layer_features(pyramid, self._growth_level(ctx))

    def _real_pyramid(self, ctx: StepContext, images: torch.Tensor) -> Pyramid:
        if self.shape.kind == "points":
            return {0: images}
        sizes = self._sizes()
        scales = sorted(set(ctx.nets["D"].read_scales) | set(range(len(sizes)) if self.grows() else ())
                        | ({middle_scale(sizes)} if self.config.afe else set()))
        pyramid = downsample_pyramid(images, sizes, scales)
        return fade_pyramid(pyramid, sizes, ctx.knobs.level) if self.grows() and ctx.knobs.level is not None else pyramid

    def _real_middle(self, real: Pyramid, images: torch.Tensor) -> torch.Tensor:
        """What D_aux reads of a real batch: the images at G's middle scale (2-D data: the points)."""
        return real[middle_scale(self._sizes())] if self.shape.kind == "images" else images

    def _sizes(self) -> list[tuple[int, int]]:
        return scale_sizes(self.shape)

    def _real_labels(self, ctx: StepContext, batch) -> torch.Tensor | None:
        """The labels D judges a real batch under: its classes, some dropped to the null label."""
        return self._drop_labels(batch.y if self.num_classes else None)

    def _fake_labels(self, ctx: StepContext, n: int) -> torch.Tensor | None:
        if not self.num_classes:
            return None
        return self._drop_labels(torch.randint(self.num_classes, (n,), device=ctx.device))

    def _observe_real(self, batch, real_scores: torch.Tensor) -> None:
        """D's scores of the real batch, for a family that tracks them (a repaired run's detector)."""

    def _drop_labels(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        if labels is None or self.config.label_dropout <= 0:
            return labels
        dropped = torch.rand(labels.shape, device=labels.device) < self.config.label_dropout
        return torch.where(dropped, torch.full_like(labels, self.num_classes), labels)


def _joined(real: Pyramid, fake: Pyramid) -> Pyramid:
    """One batch of real then generated images at every scale both pyramids hold."""
    return {i: torch.cat([real[i], fake[i]]) for i in sorted(real.keys() & fake.keys())}


def _noisy(pyramid: Pyramid, std: float) -> Pyramid:
    return pyramid if std <= 0 else {i: with_noise(x, std) for i, x in pyramid.items()}
