"""Adversarial losses as pairs of (discriminator, generator) terms over raw D scores."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from mspgsen.registry import Registry


class AdversarialLoss:
    name: str = ""

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def generator(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def readout(self, scores: torch.Tensor) -> torch.Tensor:
        """What the logs call D(x): a probability for the classifier loss, the raw score otherwise."""
        return scores


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


ADVERSARIAL_LOSSES: Registry[type[AdversarialLoss]] = Registry("adversarial loss")
for _loss in (NonSaturating, Hinge, Wasserstein):
    ADVERSARIAL_LOSSES.register(_loss.name, _loss)
