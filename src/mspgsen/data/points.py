"""Embedded 2-D Gaussian mixtures: the mode-collapse benchmarks of PacGAN, VEEGAN and DynGAN."""
from __future__ import annotations

import math
from typing import Any

import torch

from mspgsen.contracts import Batch, DataShape
from mspgsen.data.images import ShuffledStream
from mspgsen.errors import UserError

FIXED_SET_SEED = 7  # a fixed training set is the same for every run, whatever the run's seed


def ring_centers(num_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    # Angles 2πk/n for k < n: linspace(0, 2π, n) would repeat the first mode and give n-1.
    angles = torch.arange(num_modes, dtype=torch.float64) * (2 * math.pi / num_modes)
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid_centers(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    coords = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=1).float()


class GaussianMixture:
    """Equal-weight isotropic Gaussians around fixed centres; sampled fresh every batch."""

    def __init__(self, name: str, centers: torch.Tensor, std: float, size: int = 0):
        """`size` > 0 fixes a training set of that many points (DynGAN's protocol); 0 samples afresh."""
        if std <= 0:
            raise ValueError("std must be positive")
        self.name = name
        self.centers = centers
        self.std = std
        self.shape = DataShape("points", (centers.shape[1],), samples=size)
        self.fixed, self.fixed_modes = (self.sample_with_modes(size, torch.Generator().manual_seed(FIXED_SET_SEED))
                                        if size else (None, None))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.sample_with_modes(n, generator)[0]

    def sample_with_modes(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """n points and the index of the Gaussian each came from."""
        which = torch.randint(len(self.centers), (n,), generator=generator)
        noise = torch.randn(n, self.centers.shape[1], generator=generator)
        return self.centers[which] + self.std * noise, which

    def stream(self, batch_size: int, seed: int, device: torch.device) -> "MixtureStream | ShuffledStream":
        if self.fixed is not None:
            if batch_size > len(self.fixed):
                raise UserError(f"data.size {len(self.fixed)} is smaller than the batch size {batch_size}.")
            # the mode of each point rides along as its label (for bookkeeping such as DynGAN's
            # timeline; the shape declares no classes, so no model conditions on it)
            return ShuffledStream(self.fixed, self.fixed_modes, batch_size, seed, device)
        return MixtureStream(self, batch_size, seed, device)

    def describe(self) -> str:
        fixed = f", a fixed set of {len(self.fixed)} points" if self.fixed is not None else ""
        return f"{self.name}: {len(self.centers)} Gaussians, std {self.std:g}{fixed}"


class MixtureStream:
    def __init__(self, mixture: GaussianMixture, batch_size: int, seed: int, device: torch.device):
        self.mixture = mixture
        self.batch_size = batch_size
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)

    def next(self) -> Batch:
        return Batch(self.mixture.sample(self.batch_size, self.generator).to(self.device))

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
