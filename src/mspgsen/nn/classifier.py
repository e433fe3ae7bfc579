"""A small image classifier for any size: its penultimate features and logits serve as the
domain feature extractor where Inception weights are absent, and it reads Stacked MNIST modes."""
from __future__ import annotations

import torch
from torch import nn

FEATURE_DIM = 128


def _block(in_channels: int, out_channels: int, pool: bool) -> list[nn.Module]:
    layers = [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU()]
    return layers + [nn.MaxPool2d(2)] if pool else layers


class ImageClassifier(nn.Module):
    """Three conv stages, then a 4x4 map (kept, not averaged away: digits need their layout) → features."""

    def __init__(self, channels: int, num_classes: int, width: int = 16):
        super().__init__()
        self.body = nn.Sequential(*_block(channels, width, True), *_block(width, 2 * width, True),
                                  *_block(2 * width, 4 * width, False), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                                  nn.Linear(64 * width, FEATURE_DIM), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(FEATURE_DIM, num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))
