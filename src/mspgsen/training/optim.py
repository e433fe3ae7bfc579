"""Optimisers from their config: Adam, AdamW, RMSprop; fused kernels on CUDA."""
from __future__ import annotations

from typing import Iterable

import torch

from mspgsen.config import OptimizerConfig


def build_optimizer(config: OptimizerConfig, params: Iterable[torch.nn.Parameter] | list[dict],
                    device: torch.device) -> torch.optim.Optimizer:
    """`params` may be parameter groups; a group's `lr_ratio` scales the lr the loop sets for it."""
    params = list(params)
    fast = {"fused": True} if device.type == "cuda" else {"foreach": True}
    if config.name == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay, **fast)
    if config.name == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay, **fast)
    return torch.optim.RMSprop(params, lr=config.lr, weight_decay=config.weight_decay, foreach=True)
