"""The family registry and what several families share (the contract itself, `Family`, is in
mspgsen.contracts).

A family registers itself by name with `@register_family`; the loop only talks to the contract,
so a new family is a new module here and nothing else.
"""
from __future__ import annotations

import torch

from mspgsen.contracts import Family, StepContext
from mspgsen.objectives import AdversarialLoss
from mspgsen.registry import Registry


def discriminator_loss(ctx: StepContext, loss: AdversarialLoss, real_scores: torch.Tensor, fake_scores: torch.Tensor,
                       shown_fake: torch.Tensor | None = None) -> torch.Tensor:
    """D's adversarial term, after reporting the indicators every family gives controllers:
    D(x), D(G(z)) (of `shown_fake`, when only part of the fake batch is G(z)), accuracy per side."""
    ctx.report("D(x)", loss.readout(real_scores))
    ctx.report("D(G(z))", loss.readout(fake_scores if shown_fake is None else shown_fake))
    accuracy_real, accuracy_fake = loss.accuracy(real_scores, fake_scores)
    ctx.report("acc/real", accuracy_real)
    ctx.report("acc/fake", accuracy_fake)
    return loss.discriminator(real_scores, fake_scores)


FAMILIES: Registry[type[Family]] = Registry("model")


def register_family(cls: type[Family]) -> type[Family]:
    FAMILIES.register(cls.name, cls, cls.aliases)
    return cls
