"""Mode coverage on Gaussian mixtures, the protocol of PacGAN / VEEGAN.

A sample is high quality when it lies within `threshold` standard deviations of its nearest
mode centre; a mode is covered when at least one high-quality sample falls to it. KL is the
divergence (natural log) of the histogram of high-quality samples over modes from the
uniform histogram: 0 when every mode gets the same share, log(K/k) with k modes shared evenly.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

PROTOCOL_SAMPLES = 2500
PROTOCOL_THRESHOLD = 3.0


@dataclass(frozen=True)
class ModeCoverage:
    modes_covered: int
    num_modes: int
    high_quality: float  # fraction of samples within threshold·std of a centre
    kl: float  # KL(generated mode histogram ‖ uniform), natural log; inf with no high-quality sample
    num_samples: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def line(self) -> str:
        return (f"modes covered {self.modes_covered}/{self.num_modes}, high-quality samples "
                f"{100 * self.high_quality:.1f}%, KL {self.kl:.3f} ({self.num_samples} samples)")


def nearest_modes(samples: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """The index of each sample's nearest centre."""
    return torch.cdist(samples.double().cpu(), centers.double().cpu()).argmin(dim=1)


def mode_coverage(samples: torch.Tensor, centers: torch.Tensor, std: float,
                  threshold: float = PROTOCOL_THRESHOLD) -> ModeCoverage:
    samples, centers = samples.double().cpu(), centers.double().cpu()
    distance, nearest = torch.cdist(samples, centers).min(dim=1)
    good = distance <= threshold * std
    counts = torch.bincount(nearest[good], minlength=len(centers)).double()
    return ModeCoverage(
        modes_covered=int((counts > 0).sum()),
        num_modes=len(centers),
        high_quality=float(good.double().mean()) if len(samples) else 0.0,
        kl=kl_from_uniform(counts),
        num_samples=len(samples),
    )


def kl_from_uniform(counts: torch.Tensor) -> float:
    total = float(counts.sum())
    if total == 0:
        return math.inf
    share = counts[counts > 0] / total
    return float((share * torch.log(share * len(counts))).sum())
