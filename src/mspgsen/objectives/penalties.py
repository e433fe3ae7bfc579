"""Constraints on the critic: gradient penalty (WGAN-GP), R1 (Mescheder et al. 2018) and weight
clipping (WGAN)."""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Callable

import torch
from torch import nn


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, pack: int = 1) -> torch.Tensor:
    """Gulrajani et al. 2017 (seed 002, eq. 4): E[(‖∇D(x̂)‖₂ − 1)²] on random interpolates x̂.

    Unweighted: λ is the loop's weight for the term `D/gp`. A critic judging packs of `pack`
    samples (PacGAN) is a function of the whole pack: the norm is taken over each pack.
    """
    alpha = torch.rand(real.shape[0], *[1] * (real.dim() - 1), device=real.device, dtype=real.dtype)
    mixed = alpha * real.detach() + (1 - alpha) * fake.detach()
    return ((_per_pack(_input_gradient(critic, mixed), pack).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, pack: int = 1) -> torch.Tensor:
    """Mescheder et al. 2018's R1: E[‖∇D(x)‖₂²] on real samples, zero-centred, so D stays flat
    on the data and training settles instead of circling (their Theorem 4).

    Unweighted: γ/2 is the loop's weight for the term `D/r1`; the norm is over each pack of a
    packed critic, as for the gradient penalty.
    """
    return _per_pack(_input_gradient(critic, real.detach()), pack).pow(2).sum(dim=1).mean()


def r1_of_scores(scores: torch.Tensor, real: torch.Tensor, pack: int = 1) -> torch.Tensor:
    """R1 from the scores D gave `real` (a leaf that requires grad) in the forward its loss uses:
    one D forward serves both, as in stylegan2-ada's Dreal phase (in fp32)."""
    (grad,) = torch.autograd.grad(scores.sum(), real, create_graph=True)
    return _per_pack(grad.float(), pack).pow(2).sum(dim=1).mean()


def eager() -> AbstractContextManager:
    """Compiled graphs (torch.compile's AOTAutograd) have no double backward, so a forward whose
    input gradient a penalty trains on runs eagerly."""
    return torch.compiler.set_stance("force_eager")


def _per_pack(grad: torch.Tensor, pack: int) -> torch.Tensor:
    """One row per pack of `pack` consecutive samples (one per sample when `pack` is 1)."""
    return grad.reshape(len(grad) // pack, -1)


def _input_gradient(critic: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """∇ₓ of the critic's scores, kept in the graph so a penalty on it trains D (in fp32)."""
    x = x.requires_grad_(True)
    with eager():
        scores = critic(x)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    return grad.float()


@torch.no_grad()
def clip_weights(module: nn.Module, limit: float) -> None:
    """WGAN's weight clipping to [-c, c], applied after each critic update."""
    for parameter in module.parameters():
        parameter.clamp_(-limit, limit)
