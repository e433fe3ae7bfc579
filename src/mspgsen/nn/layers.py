"""Small helpers for building G and D from a norm / spectral-norm policy."""
from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from mspgsen.nn.spectral_norm import spectral_norm

Norm = Literal["batch", "layer", "none"]


def spectral(module: nn.Module, enabled: bool) -> nn.Module:
    return spectral_norm(module) if enabled else module


def norm2d(kind: Norm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # normalises over C, H, W per sample: a batch-free norm for critics
        return nn.GroupNorm(1, channels)
    return nn.Identity()


def norm1d(kind: Norm, features: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.LayerNorm(features)
    return nn.Identity()


def dcgan_init(module: nn.Module) -> None:
    """DCGAN's initialisation: conv weights N(0, 0.02), batch-norm scales N(1, 0.02)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(layer.weight, 0.0, 0.02)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


def minibatch_std(x: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """The mean over features of the batch's standard deviation, appended as one more feature or
    channel (Karras et al. 2018): a collapsed batch has a telling value here. The 1e-8 keeps the
    square root differentiable where a feature does not vary (their code has it too). With
    `groups`, the batch is that many equal consecutive parts, each with its own spread, so a real
    and a generated batch judged in one call see the values two calls would."""
    if len(x) % groups:
        raise ValueError(f"a batch of {len(x)} does not split into {groups} equal groups")
    parts = x.float().reshape(groups, len(x) // groups, -1)
    spread = (parts.var(dim=1, unbiased=False) + 1e-8).sqrt().mean(dim=1).to(x.dtype)  # [groups]
    spread = spread.repeat_interleave(len(x) // groups).view(len(x), *([1] * (x.dim() - 1)))
    return torch.cat([x, spread.expand(len(x), 1, *x.shape[2:])], dim=1)
