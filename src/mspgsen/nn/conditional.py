"""Class-conditional wrappers around any G and D of this package.

The generator reads its condition as a one-hot vector appended to z; the discriminator adds a
projection term <embed(y), features(x)> to its head (Miyato & Koyama 2018). Both work with the
MLP and the conv networks, which share the `features` / `head` layout.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class OneHotConditionalGenerator(nn.Module):
    """G(z, y) = base([z, onehot(y)]); `class_weights` (a buffer) says how to sample y."""

    def __init__(self, base: nn.Module, num_classes: int):
        super().__init__()
        self.base = base
        self.num_classes = num_classes
        weights = torch.zeros(num_classes)
        weights[0] = 1.0
        self.register_buffer("class_weights", weights)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            labels = torch.multinomial(self.class_weights, len(z), replacement=True)
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
        features = self.base.head_input_of(last)
        score = self.base.head(features).squeeze(1)
        if labels is not None:
            score = score + (self.embed(labels) * features).sum(dim=1)
        return score, last
