"""DynGAN (seed 004) as DESIGN.md reads it: a conditional GAN over a growing partition of the
training set.

Every `repartition_every` steps the `dyngan-partitioner` controller has the family score the whole
training set with D (a full pass in eval mode, batched; `model.detector=ema` keeps the older
per-sample EMA of the probabilities seen in training batches instead) and split its `Partition`
(families/partition.py, saved in the checkpoint): in each source partition, the samples whose
probability exceeds 1/(1+δ) (δ = 0.2: D is sure they are real, so the generator does not reach
them) become a partition of their own when they are at least `min_flagged` of the set (up to
`max_partitions`); score-weighted k-means on D's penultimate features then refines the partitions.
G and D are conditioned on the partition index; G is sampled in proportion to partition sizes.
The networks are DCGAN's (MLPs on points), with a one-hot condition on G and a projection term
on D; like the seed-002 families it takes `g_norm`, `d_norm`, `spectral_norm` and `r1_weight`, so
the 2-D recipe of configs/demo-grid25.yaml applies. The training set must be
finite: image sets are; for ring8 / grid25 set `data.size`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from mspgsen.config import setting
from mspgsen.contracts import DataShape, Phase, StepContext, Terms
from mspgsen.errors import UserError
from mspgsen.families.adversarial import AdversarialConfig, AdversarialFamily
from mspgsen.families.base import FAMILIES, discriminator_loss, register_family
from mspgsen.families.partition import Partition
from mspgsen.metrics.collapse import DEFAULT_DELTA
from mspgsen.nn import NetSpec
from mspgsen.nn.conditional import OneHotConditionalGenerator, ProjectionDiscriminator
from mspgsen.objectives import NonSaturating, r1_penalty

FULL_PASS_BATCH = 500

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
    # how collapsed samples are found: a full pass over the training set (the authors'), or the EMA
    # of D's probabilities on the samples of training batches
    detector: Literal["full-pass", "ema"] = "full-pass"
    # set by `mspgsen repair`: the family whose networks (its NetSpec) this run's G and D are, and the
    # run whose weights they started from
    base_model: str | None = None
    repaired_from: str | None = None


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
        self._context: StepContext | None = None

    def check_shape(self, shape: DataShape) -> None:
        super().check_shape(shape)
        if shape.samples == 0:
            raise UserError("dyngan partitions a finite training set; for ring8 / grid25 set one with "
                            "--set data.size=10000 (image data sets are finite already).")

    def check_batch(self, batch_size: int) -> None:
        if self.config.pack > 1:
            raise UserError("dyngan's projection D scores each sample against its own partition label, so it "
                            "cannot judge packs of samples; leave model.pack at 1.")

    def networks_spec(self) -> NetSpec:
        """DynGAN's own NetSpec, or for a repaired run its base family's (so its weights fit)."""
        if not self.config.base_model:
            return super().networks_spec()
        base = FAMILIES.get(self.config.base_model)
        if not issubclass(base, AdversarialFamily) or issubclass(base, DynGAN):
            raise UserError(f"model.base_model {self.config.base_model!r}: a repaired run's networks must be those of "
                            "a one-G, one-D family (dcgan, wgan, wgan-gp, sagan, sagan-wgangp).")
        return super().networks_spec(base.net_spec)

    def build_networks(self) -> dict[str, nn.Module]:
        partitions = self.config.max_partitions
        g, d = self.plain_networks(self.latent_dim() + partitions)  # z and a one-hot partition
        return {"G": OneHotConditionalGenerator(g, partitions),
                "D": ProjectionDiscriminator(d, partitions, d.head.in_features)}

    def default_controllers(self) -> dict[str, dict[str, Any]]:
        return {"dyngan-partitioner": {"split": self.repartition, "every": self.config.repartition_every}}

    def repartition(self, step: int = 0, ctx: StepContext | None = None) -> dict[str, float]:
        """Detect (full pass or EMA), split per source partition, refine; one timeline entry.
        `ctx`: the networks and data to score with (default: those of the last D phase)."""
        self._context = ctx or self._context
        began, features, modes = time.perf_counter(), None, None
        if self.config.detector == "full-pass" and self._context is not None:
            features, modes = self.score_training_set(self._context)
        actions = self.partition.split(features)
        if features is not None:
            actions["full_pass_seconds"] = time.perf_counter() - began
        entry = {"step": step, "sizes": self.partition.sizes()[:self.partition.count].tolist(), **actions}
        if modes is not None:  # labelled data: which modes (grid25's Gaussians, Stacked MNIST's triples) each holds
            entry["modes"] = self.partition.modes_held(modes)
        self.partition.history.append(entry)
        return actions

    @torch.no_grad()
    def score_training_set(self, ctx: StepContext) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's probability on every training sample under its own partition (recorded in the
        partition); returns D's penultimate features (spatially averaged) and the data's labels
        where it has them, in index order."""
        discriminator, partition = ctx.nets["D"], self.partition.to(ctx.device)
        was_training = discriminator.training
        discriminator.eval()
        probabilities, features, labels = [], [], []
        try:
            for batch in ctx.stream.in_order(FULL_PASS_BATCH):
                score, feature = discriminator.score_and_features(batch.x, partition.labels[batch.index])
                probabilities.append(torch.sigmoid(score.float()))
                features.append(feature.float().flatten(2).mean(dim=2) if feature.dim() > 2 else feature.float())
                if batch.y is not None:
                    labels.append(batch.y)
        finally:
            discriminator.train(was_training)
        partition.record_scores(torch.cat(probabilities))
        return torch.cat(features), torch.cat(labels) if labels else None

    def state_dict(self) -> dict[str, Any]:
        return {"partition": self.partition.state_dict()}

    def timelines(self) -> dict[str, list[dict[str, Any]]]:
        return {"partitions": self.partition.history}

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
        self._context = ctx  # what a repartition's full pass scores the training set with
        batch = ctx.real()
        partition = self.partition.to(ctx.device)
        real_labels = partition.labels[batch.index]
        fake_labels = self._sample_labels(ctx, len(batch.x))
        with torch.no_grad():
            fake = ctx.nets["G"](ctx.latents(len(batch.x)), fake_labels)
        real_scores, fake_scores = ctx.nets["D"](batch.x, real_labels), ctx.nets["D"](fake, fake_labels)
        if self.config.detector == "ema":
            partition.observe(batch.index, torch.sigmoid(real_scores.detach().float()))
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
