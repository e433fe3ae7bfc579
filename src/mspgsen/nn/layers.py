"""Small helpers for building G and D from a norm / spectral-norm policy."""
from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

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


def minibatch_std(x: torch.Tensor) -> torch.Tensor:
    """The mean over features of the batch's standard deviation, appended as one more feature or
    channel (Karras et al. 2018): a collapsed batch has a telling value here. The 1e-8 keeps the
    square root differentiable where a feature does not vary (their code has it too)."""
    spread = (x.float().var(dim=0, unbiased=False) + 1e-8).sqrt().mean().to(x.dtype)
    return torch.cat([x, spread.expand(len(x), 1, *x.shape[2:])], dim=1)
