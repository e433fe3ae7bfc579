"""Stacked MNIST: three independently drawn MNIST digits as the R, G, B channels (1000 modes)."""
from __future__ import annotations

import torch

STACK_SEED = {"train": 0, "test": 1}  # fixed: everyone's Stacked MNIST is the same set
DEFAULT_SIZE = 60_000


def stack_digits(images: torch.Tensor, labels: torch.Tensor, size: int, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """`size` samples `[size, 3, 28, 28]` and their modes 100·d_R + 10·d_G + d_B."""
    generator = torch.Generator().manual_seed(STACK_SEED[split])
    picks = torch.randint(len(images), (size, 3), generator=generator)
    stacked = images[picks].squeeze(2)  # [size, 3, 1, 28, 28] → [size, 3, 28, 28]
    digits = labels[picks]
    return stacked.contiguous(), digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
