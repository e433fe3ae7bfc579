"""Class-conditional wrappers around any G and D of this package.

The generator reads its condition as a one-hot vector appended to z (or through its own class
embedding, mspgsen's); the discriminator adds a projection term <embed(y), features(x)> to its
head (Miyato & Koyama 2018), its embedding starting at zero so that it starts as the unconditional
D. `ProjectionDiscriminator` wraps the MLP and conv networks, which share the `features` / `head`
layout; `ProjectedCritic` wraps mspgsen's critics, which read pyramids (`embed` / `head`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConditionalGenerator(nn.Module):
    """G(z, y) = base([z, onehot(y)]), or with `one_hot` off base(z, y) (a G with its own class
    embedding); `class_weights` (a buffer) says how to sample y when no labels are given."""

    def __init__(self, base: nn.Module, num_classes: int, one_hot: bool = True):
        super().__init__()
        self.base = base
        self.num_classes, self.one_hot = num_classes, one_hot
        weights = torch.zeros(num_classes)
        weights[0] = 1.0
        self.register_buffer("class_weights", weights)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None):
        if labels is None:
            labels = torch.multinomial(self.class_weights, len(z), replacement=True)
        if not self.one_hot:
            return self.base(z, labels)
        return self.base(torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], dim=1))


class ProjectionDiscriminator(nn.Module):
    def __init__(self, base: nn.Module, num_classes: int, feature_dim: int):
        super().__init__()
        self.base = base
        self.embed = nn.Embedding(num_classes, feature_dim)
        nn.init.zeros_(self.embed.weight)  # starts as the unconditional D

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.base.head_input(x)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.score_and_features(x, labels)[0]

    def score_and_features(self, x: torch.Tensor, labels: torch.Tensor | None = None
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """D's score and its last feature map (or hidden layer), before the head flattens it:
        what DynGAN's partitions are refined on."""
        last = self.base.features(x)
        return self.score_of(last, labels), last

    def score_of(self, last: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The score of the base's last feature map, with the projection term under `labels`."""
        features = self.base.head_input_of(last)  # once: with minibatch_std on, it is a batch statistic
        score = self.base.head(features).squeeze(1)
        if labels is not None:
            score = score + (self.embed(labels) * features).sum(dim=1)
        return score


class ProjectedCritic(nn.Module):
    """One of mspgsen's critics (MultiScaleDiscriminator, PointDiscriminator: `embed`, `head`,
    `layer_features`) with a projection term from an unnormalised embedding that starts at zero.
    Its own conditional D puts spectral norm on the embedding, which cannot start from zero; this
    one starts as exactly the unconditional critic, as `mspgsen repair` needs."""

    def __init__(self, base: nn.Module, num_classes: int):
        super().__init__()
        self.base = base
        self.projection = nn.Embedding(num_classes, base.head.in_features)
        nn.init.zeros_(self.projection.weight)

    @property
    def read_scales(self) -> list[int]:
        return self.base.read_scales

    def forward(self, x, labels: torch.Tensor | None = None, **options) -> torch.Tensor:
        return self.score_and_features(x, labels, **options)[0]

    def score_and_features(self, x, labels: torch.Tensor | None = None, **options
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """The score and the pooled features the head reads; `options`: the base's (`level`)."""
        features = self.base.embed(x, **options)
        score = self.base.head(features).squeeze(1)
        if labels is not None:
            score = score + (self.projection(labels) * features).sum(dim=1)
        return score, features

    def layer_features(self, *args, **options) -> list[torch.Tensor]:
        return self.base.layer_features(*args, **options)
