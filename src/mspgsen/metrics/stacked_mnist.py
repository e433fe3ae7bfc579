"""Stacked MNIST mode counting (VEEGAN / PacGAN protocol): a digit classifier reads each channel;
the mode is the triple of digits; report modes covered of 1000 and KL (natural log) of the mode
histogram from uniform."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from mspgsen.metrics.extractors import adapt_images
from mspgsen.metrics.modes2d import kl_from_uniform

PROTOCOL_SAMPLES = 26_000
NUM_MODES = 1000


@dataclass(frozen=True)
class StackedModes:
    modes_covered: int
    kl: float
    num_samples: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def line(self) -> str:
        return f"Stacked MNIST modes {self.modes_covered}/{NUM_MODES}, KL {self.kl:.3f} ({self.num_samples} samples)"


@torch.no_grad()
def stacked_mnist_modes(images: torch.Tensor, digit_classifier: nn.Module, batch_size: int = 1000) -> StackedModes:
    """`images`: uint8 `[N, 3, H, W]`; `digit_classifier`: MNIST logits for `[N, 1, 28, 28]` in [-1, 1]."""
    digit_classifier.eval()
    device = next(digit_classifier.parameters()).device
    modes = []
    for chunk in images.split(batch_size):
        digits = []
        for channel in range(3):
            plane = adapt_images(chunk[:, channel:channel + 1].to(device), (1, 28, 28)).float() / 127.5 - 1
            digits.append(digit_classifier(plane).argmax(1).cpu())
        modes.append(digits[0] * 100 + digits[1] * 10 + digits[2])
    counts = torch.bincount(torch.cat(modes), minlength=NUM_MODES).double()
    return StackedModes(int((counts > 0).sum()), kl_from_uniform(counts), len(images))
