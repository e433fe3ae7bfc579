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
                       shown_fake: torch.Tensor | None = None,
                       samples: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """D's adversarial term, after reporting the indicators every family gives controllers:
    D(x), D(G(z)) (of `shown_fake`, when only part of the fake batch is G(z)), accuracy per side,
    and, given the (real, generated) batches D judged, the statistics of G's output batch."""
    if samples is not None:
        report_output_statistics(ctx, *samples)
    ctx.report("D(x)", loss.readout(real_scores))
    ctx.report("D(G(z))", loss.readout(fake_scores if shown_fake is None else shown_fake))
    accuracy_real, accuracy_fake = loss.accuracy(real_scores, fake_scores)
    ctx.report("acc/real", accuracy_real)
    ctx.report("acc/fake", accuracy_fake)
    return loss.discriminator(real_scores, fake_scores)


def with_noise(x: torch.Tensor, std: float) -> torch.Tensor:
    """Instance noise on D's inputs (the `noise` lever: schedules and APFL set its std)."""
    return x + std * torch.randn_like(x) if std > 0 else x


def report_output_statistics(ctx: StepContext, real: torch.Tensor, fake: torch.Tensor) -> None:
    """What G's output batch looks like (BALANCE's state reads it, seed 001 Fig. 5): its mean, its
    std, and its diversity, the mean per-value spread across the batch relative to the real batch's
    (1 when G's batch varies as much as real data; near 0 when it collapsed onto one sample)."""
    fake, real = fake.detach().float().flatten(1), real.detach().float().flatten(1)
    ctx.report("G(z)/mean", fake.mean())
    ctx.report("G(z)/std", fake.std())
    if len(fake) > 1 and len(real) > 1:
        ctx.report("G(z)/diversity", fake.std(dim=0).mean() / real.std(dim=0).mean().clamp_min(1e-8))


FAMILIES: Registry[type[Family]] = Registry("model")


def register_family(cls: type[Family]) -> type[Family]:
    FAMILIES.register(cls.name, cls, cls.aliases)
    return cls
