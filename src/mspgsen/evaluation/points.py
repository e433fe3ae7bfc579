"""2-D evaluation: the mode metrics of samples from a Gaussian mixture (metrics/modes2d.py)."""
from __future__ import annotations

from typing import Any

import torch

from mspgsen.metrics.modes2d import mode_coverage


class PointEvaluator:
    """Modes covered, high-quality share and KL of samples against the mixture's centres and σ."""

    def __init__(self, source):
        self.centers, self.std = source.centers, source.std

    def __call__(self, samples: torch.Tensor) -> dict[str, Any]:
        return mode_coverage(samples, self.centers, self.std).as_dict()
