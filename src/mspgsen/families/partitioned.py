"""What every partition-conditioned family shares: DynGAN (seed 004), and the runs `mspgsen repair`
makes of other families.

Such a family conditions G and D on the partition index of a `Partition` of the training set
(families/partition.py, saved in the checkpoint). Every `repartition_every` steps the
`dyngan-partitioner` controller has it score the whole training set with D (a full pass in eval
mode, batched; `model.detector=ema` keeps the older per-sample EMA of the probabilities seen in
training batches instead), split each source partition on the samples D is sure are real (the
ones the generator does not reach) and refine by score-weighted k-means on D's penultimate
features. G is sampled in proportion to partition sizes.

A family in this mould mixes `PartitionedTraining` in before its base class (which makes the
partition when the family is built, and keeps the family to one process), takes the settings of
`PartitionSettings` in its config, and, where its D is not a `ProjectionDiscriminator`, says how
its D scores a batch of real samples against their partitions (`score_and_features`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from mspgsen.config import setting
from mspgsen.contracts import Batch, DataShape, StepContext
from mspgsen.errors import UserError
from mspgsen.families.partition import Partition
from mspgsen.metrics.collapse import DEFAULT_DELTA

FULL_PASS_BATCH = 500


@dataclass
class PartitionSettings:
    max_partitions: int = setting(30, low=1)
    repartition_every: int = setting(3000, low=1)  # steps between partition splits
    # λ: weight of the newest D probability in a sample's smoothed score (detector "ema")
    score_ema: float = setting(0.1, low_open=True, high=1)
    # a sample is collapsed when its probability exceeds 1/(1+δ) (metrics/collapse.py)
    delta: float = setting(DEFAULT_DELTA, low_open=True)
    min_flagged: float = setting(0.01, high=1)  # a new partition needs at least this share of the training set
    # how collapsed samples are found: a full pass over the training set (the authors'), or the EMA
    # of D's probabilities on the samples of training batches
    detector: Literal["full-pass", "ema"] = "full-pass"
    # set by `mspgsen repair`: the run whose weights this run's networks started from
    repaired_from: str | None = None


class PartitionedTraining:
    """Mixin: the partition, its detector and splits, its timeline and its place in the checkpoint."""

    name: str
    config: PartitionSettings
    repaired_as = None  # it partitions itself already: trained further with --resume
    single_process_only = ("it scores every training sample in its partition knob, and each process would "
                           "score only its own share")

    def __init__(self, config: PartitionSettings, shape: DataShape):
        super().__init__(config, shape)  # the family's own (the next class in its bases)
        self.init_partition(shape)

    def levers(self) -> frozenset[str]:
        return super().levers() | {"partition"}  # the partitioner controller's

    def init_partition(self, shape: DataShape) -> None:
        if shape.samples == 0:
            raise UserError(f"{self.name} partitions a finite training set; for ring8 / grid25 set one with "
                            "--set data.size=10000 (image data sets are finite already).")
        cfg = self.config
        self.partition = Partition(shape.samples, cfg.delta, cfg.min_flagged, cfg.max_partitions, cfg.score_ema)
        self._context: StepContext | None = None

    def score_and_features(self, nets, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D's scores of real samples `x` under their partitions, and the features the partitions are
        refined on (D's penultimate layer; a feature map is averaged over its positions). This
        default is a `ProjectionDiscriminator`'s; a family whose D reads something else overrides it."""
        return nets["D"].score_and_features(x, labels)

    def partitioner(self) -> dict[str, dict[str, Any]]:
        """The controller that repartitions, for `default_controllers`."""
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
        partition); returns D's features and the data's labels where it has them, in index order."""
        discriminator, partition = ctx.nets["D"], self.partition.to(ctx.device)
        was_training = discriminator.training
        discriminator.eval()
        probabilities, features, labels = [], [], []
        try:
            for batch in ctx.stream.in_order(FULL_PASS_BATCH):
                score, feature = self.score_and_features(ctx.nets, batch.x, partition.labels[batch.index])
                probabilities.append(torch.sigmoid(score.float()))
                features.append(pooled(feature))
                if batch.y is not None:
                    labels.append(batch.y)
        finally:
            discriminator.train(was_training)
        partition.record_scores(torch.cat(probabilities))
        return torch.cat(features), torch.cat(labels) if labels else None

    def remember_context(self, ctx: StepContext) -> None:
        """What a repartition's full pass scores the training set with: the last D phase's networks."""
        self._context = ctx

    def real_partitions(self, ctx: StepContext, batch: Batch) -> torch.Tensor:
        return self.partition.to(ctx.device).labels[batch.index]

    def observe_real(self, batch: Batch, real_scores: torch.Tensor) -> None:
        """The EMA detector's update from a D phase's scores of its real batch."""
        if self.config.detector == "ema":
            self.partition.observe(batch.index, torch.sigmoid(real_scores.detach().float()))

    def sample_partitions(self, ctx: StepContext, n: int, generator: nn.Module) -> torch.Tensor:
        """Partition indices in proportion to partition sizes (kept in G's `class_weights`, so
        samplers see them too)."""
        sizes = self.partition.to(ctx.device).sizes()
        generator.class_weights[:len(sizes)].copy_(sizes)  # a null label, where G has one, is never drawn
        return torch.multinomial(sizes, n, replacement=True)

    def sample_conditions(self, n: int, rng: torch.Generator, generator: nn.Module | None = None
                          ) -> torch.Tensor | None:
        weights = generator.class_weights.detach().cpu() if generator is not None else None
        return None if weights is None else torch.multinomial(weights, n, replacement=True, generator=rng)

    def state_dict(self) -> dict[str, Any]:
        return {"partition": self.partition.state_dict()}

    def timelines(self) -> dict[str, list[dict[str, Any]]]:
        return {"partitions": self.partition.history}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "partition" in state:
            self.partition.load_state_dict(state["partition"])


def pooled(features: torch.Tensor) -> torch.Tensor:
    """One vector per sample: a feature map averaged over its positions (a vector as it is)."""
    return features.float().flatten(2).mean(dim=2) if features.dim() > 2 else features.float()
