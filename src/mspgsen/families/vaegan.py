"""The VAE-GAN hybrid of seed 003, as DESIGN.md reads it.

An encoder E maps an image to N(μ, σ²) in a 128-d latent space; the generator G is also the
decoder; D judges real images against both reconstructions G(E(x)) and prior samples G(z).
Multi-head attention (8 heads of 64 dims) sits in G and D. G and E are trained on one summed
objective: adversarial, KL, pixel reconstruction, perceptual and style (Gram) losses on D's
layers (Larsen et al.'s learned similarity; a VGG-16 file can replace D's features via
`model.perceptual_extractor`), and the self-supervised task: a small reconstruction network R
must recover x from G's reconstruction of it. Learning rates of section 4.1: G and D 2e-4,
the VAE's encoder 1e-3, R 1e-4 (one optimiser, one rate per network).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from mspgsen.config import FamilyConfig, OptimizerConfig, setting
from mspgsen.contracts import DataShape, Family, Knobs, OptimizerPlan, Phase, StepContext, Terms
from mspgsen.families.base import discriminator_loss, register_family
from mspgsen.nn import ConvDiscriminator, ConvGenerator, MLPDiscriminator, MLPGenerator, NetSpec
from mspgsen.nn.vae import (ConvEncoder, MLPEncoder, PointReconstructionNet, PretrainedFeatures, ReconstructionNet,
                            kl_to_standard_normal, layer_features, layers_and_last, perceptual_loss, reparameterise,
                            style_loss)
from mspgsen.objectives import NonSaturating

VAEGAN_NETS = NetSpec(g_norm="batch", d_norm="batch", attention=True, attention_heads=8, up_kernel=3, dcgan_init=True)
IMAGE_LATENT = 128


@dataclass
class VAEGANConfig(FamilyConfig):
    name: str = "vaegan"
    optim_g: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(lr=2e-4))
    optim_d: OptimizerConfig = field(default_factory=lambda: OptimizerConfig(lr=2e-4))
    vae_lr: float = setting(1e-3, low_open=True)  # the encoder's learning rate
    reconstruction_lr: float = setting(1e-4, low_open=True)  # the self-supervised reconstruction network's
    kl_weight: float = 1.0
    reconstruction_weight: float = 10.0  # pixel MSE of G(E(x)) against x (ELBO term: outweighs the adversarial one)
    perceptual_weight: float = 1.0
    style_weight: float = 1.0
    self_supervised_weight: float = 1.0
    perceptual_extractor: str | None = None  # a torchvision VGG-16 state dict; default: D's own layers
    attention_heads: int = setting(8, low=1)  # heads of G's and D's attention (seed 003: 8)
    # their q, k and v dims over all heads (seed 003: "all 64"; 8 heads of 8). Runs before 2026-12-07
    # had 8 heads of 64 each: 512
    attention_dim: int = setting(64, low=1)
    # D's attention sits at its largest map of at most this many positions per side (seed 003 does not
    # place it): 8 puts it at 7x7 of a 28x28 image and 8x8 of a 32x32 one, where 32 (SAGAN's rule,
    # which G keeps) put it at 14x14 and 16x16, at 16x the softmax cost for 8 heads. Runs before
    # 2026-12-07 had 32
    d_attention_size: int = setting(8, low=1)


@register_family
class VAEGAN(Family):
    name = "vaegan"
    rank = 60
    aliases = ("vae-gan",)
    summary = ("encoder + generator-as-decoder + D with 8-head attention; adversarial, KL, reconstruction, "
               "perceptual, style and self-supervised losses; lr G/D 2e-4, VAE 1e-3, R 1e-4")
    Config = VAEGANConfig
    loss = NonSaturating()
    repaired_as = "vaegan-repaired"

    def __init__(self, config: VAEGANConfig, shape: DataShape):
        super().__init__(config, shape)
        self.extractor = PretrainedFeatures(config.perceptual_extractor) if config.perceptual_extractor else None

    def latent_dim(self) -> int:
        if self.config.latent_dim is None and self.shape.kind == "images":
            return IMAGE_LATENT
        return super().latent_dim()

    def build_networks(self) -> dict[str, nn.Module]:
        return self.networks()

    def networks(self, g_extra_inputs: int = 0) -> dict[str, nn.Module]:
        """G (reading `g_extra_inputs` more inputs beside z), D, E and R."""
        cfg, shape = self.config, self.shape
        latent = self.latent_dim() + g_extra_inputs
        if shape.kind == "points":
            spec = NetSpec(g_norm="batch", d_norm="none")
            return {"G": MLPGenerator(latent, shape.dims[0], cfg.mlp_width, cfg.mlp_depth, spec),
                    "D": MLPDiscriminator(shape.dims[0], cfg.mlp_width, cfg.mlp_depth, spec),
                    "E": MLPEncoder(shape.dims[0], self.latent_dim(), cfg.mlp_width, cfg.mlp_depth),
                    "R": PointReconstructionNet(shape.dims[0])}
        spec = dataclasses.replace(VAEGAN_NETS, attention_heads=cfg.attention_heads, attention_dim=cfg.attention_dim,
                                   d_attention_positions=cfg.d_attention_size ** 2)
        return {"G": ConvGenerator(shape, latent, cfg.width, spec),
                "D": ConvDiscriminator(shape, cfg.width, spec),
                "E": ConvEncoder(shape, self.latent_dim(), cfg.width),
                "R": ReconstructionNet(shape.channels)}

    def optimizers(self) -> dict[str, OptimizerPlan]:
        cfg = self.config
        ratios = {"E": cfg.vae_lr / cfg.optim_g.lr, "R": cfg.reconstruction_lr / cfg.optim_g.lr}
        return {"G": OptimizerPlan(("G", "E", "R"), cfg.optim_g, ratios), "D": OptimizerPlan(("D",), cfg.optim_d)}

    def default_knobs(self) -> Knobs:
        knobs = super().default_knobs()
        cfg = self.config
        knobs.loss_weights.update({"G/kl": cfg.kl_weight, "G/rec": cfg.reconstruction_weight,
                                   "G/perceptual": cfg.perceptual_weight, "G/style": cfg.style_weight,
                                   "G/ss": cfg.self_supervised_weight})
        return knobs

    def encode(self, nets, x: torch.Tensor) -> torch.Tensor:
        """The latent mean of x: what `mspgsen reconstruct` decodes."""
        return nets["E"](x)[0]

    @torch.no_grad()
    def reconstruct(self, nets, x: torch.Tensor) -> torch.Tensor:
        """G's decoding of x's latent mean (`mspgsen reconstruct`)."""
        return self.generate(nets, self.encode(nets, x))

    def phases(self) -> list[Phase]:
        return [Phase("D", "D", ("D",), self.discriminator_terms), Phase("G", "G", ("G", "E", "R"), self.generator_terms)]

    def discriminator_terms(self, ctx: StepContext) -> Terms:
        batch = ctx.real()
        real, real_labels, prior_labels = batch.x, self._real_labels(ctx, batch), self._prior_labels(ctx, len(batch.x))
        with torch.no_grad():
            reconstructed = self._decode(ctx.nets, reparameterise(*ctx.nets["E"](real)), real_labels)
            sampled = self._decode(ctx.nets, ctx.latents(len(real)), prior_labels)
        real_scores = self._judge(ctx.nets, real, real_labels)
        self._observe_real(batch, real_scores)
        fake_scores = self._judge(ctx.nets, torch.cat([reconstructed, sampled]), _joined(real_labels, prior_labels))
        return {"D/adv": discriminator_loss(ctx, self.loss, real_scores, fake_scores, shown_fake=fake_scores[len(real):],
                                                 samples=(real, sampled))}

    def generator_terms(self, ctx: StepContext) -> Terms:
        nets, batch = ctx.nets, ctx.real()
        real, real_labels, prior_labels = batch.x, self._real_labels(ctx, batch), self._prior_labels(ctx, len(batch.x))
        mean, log_var = nets["E"](real)
        reconstructed = self._decode(nets, reparameterise(mean, log_var), real_labels)
        sampled = self._decode(nets, ctx.latents(len(real)), prior_labels)
        fake_scores, fake_layers = self._judge_and_layers(nets, torch.cat([reconstructed, sampled]),
                                                          _joined(real_labels, prior_labels))
        real_layers = self._layers(nets, real)
        fake_layers = ([layer[:len(real)] for layer in fake_layers] if fake_layers is not None
                       else self._layers(nets, reconstructed))
        pixels = real[0].numel()  # KL per pixel, on the scale of the per-pixel losses
        return {"G/adv": self.loss.generator(fake_scores),
                "G/kl": kl_to_standard_normal(mean, log_var) / pixels,
                "G/rec": F.mse_loss(reconstructed, real),
                "G/perceptual": perceptual_loss(fake_layers, real_layers),
                "G/style": style_loss(fake_layers, real_layers),
                "G/ss": F.l1_loss(nets["R"](reconstructed), real)}

    def _judge_and_layers(self, nets, x: torch.Tensor, labels: torch.Tensor | None
                          ) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
        """D's scores of x and, from the same pass, the activations of D's body that the perceptual
        and style terms compare (so D reads G's batch once per G step; its batch norm sees the
        reconstructed and sampled halves together, as the scores do). None for the layers where a
        pretrained extractor reads them instead."""
        if self.extractor is not None and x.dim() == 4:
            return self._judge(nets, x, labels), None
        layers, last = layers_and_last(self._critic_body(nets), x)
        return self._score_of(nets, last, labels), layers

    def _layers(self, nets, x: torch.Tensor) -> list[torch.Tensor]:
        if self.extractor is not None and x.dim() == 4:
            self.extractor.to(x.device)
            return self.extractor.layers(x)
        return layer_features(self._critic_body(nets), x)

    # --- where a partition-conditioned run (families/vaegan_repaired.py) brings in its labels -------

    def _real_labels(self, ctx: StepContext, batch) -> torch.Tensor | None:
        return None

    def _prior_labels(self, ctx: StepContext, n: int) -> torch.Tensor | None:
        return None

    def _decode(self, nets, latents: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return nets["G"](latents)

    def _judge(self, nets, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return nets["D"](x)

    def _score_of(self, nets, last: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """D's score of the last map of its body (`_critic_body`)."""
        return nets["D"].score_of(last)

    def _critic_body(self, nets) -> nn.Module:
        """The D whose layers the perceptual and style losses compare."""
        return nets["D"]

    def _observe_real(self, batch, real_scores: torch.Tensor) -> None:
        """D's scores of the real batch, for a family that tracks them (a repaired run's detector)."""


def _joined(first: torch.Tensor | None, second: torch.Tensor | None) -> torch.Tensor | None:
    return None if first is None else torch.cat([first, second])
