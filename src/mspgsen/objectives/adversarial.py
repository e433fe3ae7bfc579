"""Adversarial losses as pairs of (discriminator, generator) terms over raw D scores."""
from __future__ import annotations

import torch
import torch.nn.functional as F



class AdversarialLoss:
    name: str = ""

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def readout(self, scores: torch.Tensor) -> torch.Tensor:
        """What the logs call D(x): a probability for the classifier loss, the raw score otherwise."""
        return scores

    def accuracy(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Share of real and of fake samples D classes right, at a score threshold of 0."""
        return (real > 0).float().mean(), (fake < 0).float().mean()


class NonSaturating(AdversarialLoss):
    """Goodfellow et al. 2014, with G maximising log D(G(z)) (the non-saturating form)."""

    name = "non-saturating"

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake).mean()

    def readout(self, scores: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(scores)


class Hinge(AdversarialLoss):
    """Lim & Ye 2017; the loss of SAGAN."""

    name = "hinge"

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


class Wasserstein(AdversarialLoss):
    """Arjovsky et al. 2017 (seed 002, eq. 2-3): the critic estimates E[D(x)] − E[D(G(z))]."""

    name = "wasserstein"

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return fake.mean() - real.mean()

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()

    def accuracy(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # A critic's scores have no fixed zero: the threshold is halfway between the two means.
        threshold = (real.mean() + fake.mean()) / 2
        return (real > threshold).float().mean(), (fake < threshold).float().mean()


def feature_matching(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """L_FM (seed 001 eq. 12; Salimans et al. 2016): squared distance of the batch-mean D features
    of real and generated samples, divided by the feature count. Real features carry no gradient."""
    return (real_features.detach().float().mean(0) - fake_features.float().mean(0)).pow(2).mean()


def layered_feature_matching(real_layers: list[torch.Tensor], fake_layers: list[torch.Tensor]) -> torch.Tensor:
    """L_FM as seed 001's eq. 12 writes it, over D's layers:
        L_FM = Σ_i (1/N_i)·‖φ_i(x) − φ_i(G(z))‖²,
    φ_i the i-th layer's features (whole maps), N_i their size; x and G(z) are unpaired, so each
    side is its batch mean (Salimans et al.'s reading), as in `feature_matching`."""
    return torch.stack([feature_matching(real, fake) for real, fake in zip(real_layers, fake_layers)]).sum()
