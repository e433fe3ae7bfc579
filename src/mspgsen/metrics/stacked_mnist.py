"""Stacked MNIST mode counting (VEEGAN / PacGAN protocol): a digit classifier reads each channel;
the mode is the triple of digits; report modes covered of 1000 and KL (natural log) of the mode
histogram from uniform.

A mode count alone can flatter noise (a noise image is read as *some* digit), so two quality
figures stand beside it, both from the same classifier pass:
- the confident share: samples whose three digits the classifier reads with probability ≥ 0.9
  each (real Stacked MNIST: about 0.97 with a 99%-accurate classifier);
- classifier FID: the Fréchet distance between the concatenated per-channel penultimate
  features of samples and of real Stacked MNIST (not Inception features: not comparable with
  any published FID).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from mspgsen.metrics.extractors import adapt_images
from mspgsen.metrics.modes2d import kl_from_uniform

PROTOCOL_SAMPLES = 26_000
NUM_MODES = 1000
CONFIDENCE = 0.9  # a digit is read with confidence when its softmax probability is at least this
READ_BATCH = 1000


@dataclass(frozen=True)
class StackedModes:
    modes_covered: int
    kl: float
    num_samples: int
    confident_share: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def line(self) -> str:
        return (f"Stacked MNIST modes {self.modes_covered}/{NUM_MODES}, KL {self.kl:.3f}, "
                f"{100 * self.confident_share:.1f}% confident samples ({self.num_samples} samples)")


class StackedDigitReader:
    """Reads each channel of `[N, 3, H, W]` uint8 images with an MNIST classifier: per-channel
    logits `[N, 3, 10]` and the three penultimate feature vectors side by side `[N, 3F]`."""

    def __init__(self, digit_classifier: nn.Module, name: str = "classifier:mnist"):
        self.model = digit_classifier.eval()
        self.name = f"stacked-digits[{name}]"

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        device = next(self.model.parameters()).device
        features, logits = [], []
        for chunk in images.split(READ_BATCH):
            per_channel = [self._read(chunk[:, c:c + 1].to(device)) for c in range(3)]
            features.append(torch.cat([f for f, _ in per_channel], dim=1).float().cpu())
            logits.append(torch.stack([lg for _, lg in per_channel], dim=1).float().cpu())
        return {"features": torch.cat(features), "logits": torch.cat(logits)}

    def _read(self, plane: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = adapt_images(plane, (1, 28, 28)).float() / 127.5 - 1
        hidden = self.model.features(x)
        return hidden, self.model.head(hidden)


def modes_from_logits(logits: torch.Tensor) -> StackedModes:
    """Modes, KL and confident share from the per-channel digit logits `[N, 3, 10]`."""
    probabilities = logits.softmax(-1)
    digits = probabilities.argmax(-1)
    modes = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    counts = torch.bincount(modes, minlength=NUM_MODES).double()
    confident = (probabilities.amax(-1) >= CONFIDENCE).all(dim=1).float().mean()
    return StackedModes(int((counts > 0).sum()), kl_from_uniform(counts), len(logits), float(confident))


def stacked_mnist_modes(images: torch.Tensor, digit_classifier: nn.Module) -> StackedModes:
    """`images`: uint8 `[N, 3, H, W]`; `digit_classifier`: an MNIST ImageClassifier (features + head)."""
    return modes_from_logits(StackedDigitReader(digit_classifier)(images)["logits"])
